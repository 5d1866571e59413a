# Shared helpers for rotor's end-to-end tests. Each test is a bash script run
# by ctest with ROTOR_BIN (the rotor binary) and ROTOR_SOURCE_DIR set; it
# exits non-zero on the first failed check. Sourced, not executed.
set -euo pipefail

: "${ROTOR_BIN:?ROTOR_BIN must name the rotor binary}"
: "${ROTOR_SOURCE_DIR:?ROTOR_SOURCE_DIR must name the source tree}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rotor-e2e.XXXXXX")
DAEMON_PID=""
cleanup() {
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill -KILL "$DAEMON_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() { echo "ok: $*"; }

rotor() { "$ROTOR_BIN" "$@"; }

# expect_exit CODE CMD... : runs CMD, captures stdout+stderr in $OUT, checks the exit code.
expect_exit() {
  local want=$1
  shift
  set +e
  OUT=$("$@" 2>&1)
  local got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "expected exit $want, got $got from: $* -- output: $OUT"
}

# expect_output_contains TEXT : checks the last expect_exit output.
expect_output_contains() {
  grep -qF -- "$1" <<<"$OUT" || fail "expected output to contain \"$1\"; got: $OUT"
}

# start_daemon DATA_DIR CONFIG [ARGS...] : runs `rotor run` in the background.
start_daemon() {
  local dir=$1 config=$2
  shift 2
  "$ROTOR_BIN" run --config "$config" --data-dir "$dir" --no-progress "$@" 2>>"$dir.log" &
  DAEMON_PID=$!
  wait_for 20 "daemon control socket" test -S "$dir/control.sock"
}

# stop_daemon : SIGTERM and wait; checks a clean exit.
stop_daemon() {
  kill -TERM "$DAEMON_PID"
  local rc=0
  wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=""
  [ "$rc" -eq 0 ] || fail "daemon exited $rc after SIGTERM"
}

# wait_for SECONDS WHAT CMD... : polls CMD every 0.1 s.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${limit}s waiting for $what"
    sleep 0.1
  done
}

# json_field JSON PYTHON_EXPR : evaluates EXPR with `j` bound to the parsed JSON.
json_field() {
  python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2" <<<"$1"
}

# generation DATA_DIR ID : current generation of ID from `rotor status --json`.
generation() {
  local s
  s=$("$ROTOR_BIN" status --json --data-dir "$1" "$2")
  json_field "$s" 'j[0]["current"]["generation"] if j[0]["current"] else 0'
}

# all_active DATA_DIR N : true when exactly N identities are active.
all_active() {
  local s
  s=$("$ROTOR_BIN" status --json --data-dir "$1")
  [ "$(json_field "$s" 'j["by_phase"].get("active", 0)')" -eq "$2" ]
}

# consistent DATA_DIR : `rotor check` and `rotor audit verify` both pass.
consistent() {
  expect_exit 0 "$ROTOR_BIN" check --data-dir "$1"
  expect_exit 0 "$ROTOR_BIN" audit verify --data-dir "$1"
}

# current_is DATA_DIR ID GENERATION : out/ID/current points at GENERATION.
current_is() { [ "$(readlink "$1/out/$2/current" 2>/dev/null)" = "versions/$3" ]; }
