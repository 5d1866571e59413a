#!/usr/bin/env bash
# The command line: usage errors exit 2 and name the bad flag, --help works
# for every command, a malformed fleet file starts nothing, one daemon per
# data directory, a clean stop on SIGINT and SIGTERM.
source "$(dirname "$0")/lib.sh"
FLEETS="$ROTOR_SOURCE_DIR/tests/data/fleets"

for cmd in "" run status rotate revoke "audit" "audit verify" check apply validate; do
  # shellcheck disable=SC2086
  expect_exit 0 rotor $cmd --help
  expect_output_contains "Usage"
done
pass "--help for every command"

expect_exit 2 rotor
expect_exit 2 rotor run --config "$FLEETS/../../../examples/quickstart.yaml" --bogus-flag
expect_output_contains "--bogus-flag"
expect_exit 2 rotor run
expect_output_contains "--config"
# A misspelt flag is named (with the flag meant), not reported as a missing --config.
expect_exit 2 rotor run --confg x.yaml --data-dir "$WORK/never"
expect_output_contains "unknown option --confg (did you mean --config?)"
expect_exit 2 rotor import --adpot --policy x
expect_output_contains "did you mean --adopt?"
expect_exit 2 rotor status --jsn
expect_output_contains "unknown option --jsn (did you mean --json?)"
expect_exit 2 rotor kek rotate --confg x
expect_output_contains "unknown option --confg (did you mean --config?)"
expect_exit 2 rotor audit
expect_output_contains "audit needs a command: verify, tail"
expect_exit 2 rotor import
expect_output_contains "import needs paths: Files and directories to read"
expect_exit 0 rotor help run
expect_output_contains "--config"
expect_exit 2 rotor run --config x.yaml --duration -5
expect_output_contains "--duration"
expect_exit 2 rotor rotate --data-dir "$WORK/d"
expect_output_contains "--selector"
expect_exit 2 rotor rotate a --all
expect_output_contains "--all"
expect_exit 2 rotor revoke some-id
expect_output_contains "--compromised"
expect_exit 2 rotor rotate --selector nokeyvalue --data-dir "$WORK/d"
expect_output_contains "key=value"
expect_exit 2 rotor rotate "../etc" --data-dir "$WORK/d"
expect_output_contains "not a valid identity id"
expect_exit 2 rotor audit
expect_exit 2 rotor frobnicate
expect_output_contains "frobnicate"
ROTOR_CRASH_AT=sometimes expect_exit 2 rotor run --config "$ROTOR_SOURCE_DIR/examples/quickstart.yaml" --data-dir "$WORK/never"
expect_output_contains "ROTOR_CRASH_AT"
[ ! -e "$WORK/never" ] || fail "a refused start created its data directory"
expect_exit 0 rotor validate --config "$ROTOR_SOURCE_DIR/deploy/fleet.production.yaml"
expect_exit 0 rotor validate --config "$ROTOR_SOURCE_DIR/examples/quickstart.yaml"
expect_output_contains "10516 identities"
pass "usage errors exit 2 and name the flag; the bundled fleet files validate"

# Every malformed fixture: exit 2, "<file>:<line>:<col>:" in the message, nothing created.
n=0
for f in "$FLEETS"/*.yaml; do
  expect_exit 2 rotor run --config "$f" --data-dir "$WORK/bad"
  grep -qE "$(basename "$f")(:[0-9]+:[0-9]+)?: " <<<"$OUT" || fail "$f: message names no file/line: $OUT"
  [ ! -e "$WORK/bad" ] || fail "$f: a refused fleet file created the data directory"
  expect_exit 2 rotor validate --config "$f"
  n=$((n + 1))
done
[ "$n" -ge 20 ] || fail "expected the malformed fixtures, found $n"
expect_exit 2 rotor run --config "$FLEETS/bad_syntax.yaml" --data-dir "$WORK/bad"
grep -qE "bad_syntax.yaml:[0-9]+:[0-9]+: " <<<"$OUT" || fail "no line and column: $OUT"
expect_exit 2 rotor run --config "$WORK/missing.yaml" --data-dir "$WORK/bad"
expect_output_contains "missing.yaml"
pass "$n malformed fleet files refused with file and line, nothing started"

# Read-only commands on a data dir without a store.
expect_exit 3 rotor status --data-dir "$WORK/empty"
expect_output_contains "no store"
expect_exit 3 rotor audit verify --data-dir "$WORK/empty"
pass "read-only commands without a store"

# A small fleet; one daemon per data directory; clean stops.
cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
groups:
  - name: jobs
    count: 20
    policy: {lifetime: 1h}
YAML
# Not enough disk for the fleet's next rotation: refused with the estimate,
# nothing declared. ROTOR_DISK_FREE_BYTES stands in for a small disk.
ROTOR_DISK_FREE_BYTES=100000 expect_exit 3 rotor run --config "$WORK/fleet.yaml" --data-dir "$WORK/small" \
  --no-progress --duration 1
expect_output_contains "not enough disk in $WORK/small"
expect_output_contains "needs about 261.1 kB (store 20.5 kB, audit journal 76.8 kB, delivered versions 163.8 kB)"
expect_output_contains "but 100.0 kB is free"
expect_exit 0 rotor status --json --data-dir "$WORK/small"
[ "$(json_field "$OUT" 'j["identities"]')" -eq 0 ] || fail "a refused start declared identities: $OUT"
pass "a start the disk cannot hold is refused with the estimate"
# While running, the disk is checked again (every 5 s): a reload to 40
# identities needs about 481 kB for their next rotation, more than the 300 kB
# "free": an error in the log and in rotor status, not silence, while
# rotations go on; it clears when the fleet shrinks back.
D="$WORK/shrinking"
cp "$WORK/fleet.yaml" "$WORK/growing.yaml"
ROTOR_DISK_FREE_BYTES=300000 start_daemon "$D" "$WORK/growing.yaml"
wait_for 20 "first issuance" all_active "$D" 20
sleep 6
! grep -q '"msg":"disk short' "$D.log" || fail "disk reported short before the fleet grew"
sed 's/count: 20/count: 40/' "$WORK/fleet.yaml" >"$WORK/growing.yaml"
expect_exit 0 rotor apply --data-dir "$D"
wait_for 15 "the disk-short error" grep -q '"msg":"disk short of the next rotation of the fleet' "$D.log"
grep '"msg":"disk short' "$D.log" | grep -q 'needs about 481.3 kB' || fail "no estimate in: $(grep 'disk short' "$D.log")"
expect_exit 0 rotor status --data-dir "$D"
expect_output_contains "disk        SHORT"
expect_exit 0 rotor status --json --data-dir "$D"
[ "$(json_field "$OUT" 'j["disk_short"]')" = "True" ] || fail "status --json does not say disk_short"
wait_for 20 "the grown fleet's first issuance" all_active "$D" 40
cp "$WORK/fleet.yaml" "$WORK/growing.yaml"
expect_exit 0 rotor apply --data-dir "$D"
wait_for 15 "the disk check to clear" grep -q '"msg":"disk space for the next rotation of the fleet is back' "$D.log"
expect_exit 0 rotor status --json --data-dir "$D"
[ "$(json_field "$OUT" 'j["disk_short"]')" = "False" ] || fail "status --json still says disk_short"
stop_daemon
pass "a disk that gets short while running is an error in the log"
D="$WORK/data"
start_daemon "$D" "$WORK/fleet.yaml"
wait_for 20 "first issuance" all_active "$D" 20
expect_exit 3 rotor run --config "$WORK/fleet.yaml" --data-dir "$D" --no-progress
expect_output_contains "$D"
expect_exit 0 rotor status --data-dir "$D"
expect_output_contains "daemon running"
kill -INT "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=""
[ "$rc" -eq 0 ] || fail "exit $rc after SIGINT"
grep -q '"msg":"rotor stopped"' "$D.log" || fail "no clean-stop log line"
[ ! -e "$D/control.sock" ] || fail "control socket left behind"
expect_exit 0 rotor status --data-dir "$D"
expect_output_contains "no daemon running"
consistent "$D"
pass "one daemon per data dir; SIGINT stops cleanly"

# Logs are JSON lines.
python3 - "$D.log" <<'PY' || fail "a log line is not a JSON object"
import json, sys
for line in open(sys.argv[1]):
    obj = json.loads(line)
    assert isinstance(obj, dict) and "msg" in obj and "level" in obj and "ts" in obj, line
PY
pass "structured JSON logs"
