#!/usr/bin/env bash
# rotor import and rotor inventory, end to end with the real binary: the
# fixture set of tests/data/import/make_fixtures.sh (openssl CLI), the system
# trust store, the JSON/CSV/table outputs, --fail-on exit codes, serial
# lookups as users paste them, and an import that dies inside its
# transaction leaving the inventory exactly as before.
source "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"
bash "$ROTOR_SOURCE_DIR/tests/data/import/make_fixtures.sh" "$WORK/fx" >/dev/null
IN=$WORK/fx/in

# --- The fixture set: one result per item, bad ones named, the rest imported.
D=$WORK/data
expect_exit 1 rotor import --data-dir "$D" --json "$IN"
rotor import --data-dir "$D" --json "$IN" >"$WORK/import.json" 2>/dev/null || true
jq -e 'type == "array" and length > 30' "$WORK/import.json" >/dev/null || fail "import --json is not an array of items"
jq -e 'all(.[]; has("file") and has("position") and has("type") and has("status") and has("error"))' \
  "$WORK/import.json" >/dev/null || fail "an item lacks file, position, type, status or error"
jq -e 'all(.[] | select(.type == "certificate");
           has("subject") and has("serial") and (.not_before | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
           and (.not_after | test("Z$")))' "$WORK/import.json" >/dev/null ||
  fail "a certificate lacks subject, serial or RFC 3339 UTC times"
item() { jq -c --arg f "$IN/$1" --argjson p "$2" '.[] | select(.file == $f and .position == $p)' "$WORK/import.json"; }
[ "$(item truncated_in_bundle.pem 1 | jq -r .type)" = certificate ] || fail "bundle item 1 not imported"
item truncated_in_bundle.pem 2 | jq -e '.type == "error" and (.error | test("base64 is truncated"))' >/dev/null ||
  fail "bundle item 2: $(item truncated_in_bundle.pem 2)"
[ "$(item truncated_in_bundle.pem 3 | jq -r .type)" = certificate ] || fail "bundle item 3 not imported"
item expired.pem 1 | jq -e '.status == "expired" and .not_after == "2021-01-01T00:00:00Z"' >/dev/null ||
  fail "expired.pem: $(item expired.pem 1)"
item not_yet_valid.pem 1 | jq -e '.status == "not_yet_valid"' >/dev/null || fail "not_yet_valid.pem"
item notafter_9999.pem 1 | jq -e '.not_after == "9999-12-31T23:59:59Z"' >/dev/null || fail "notafter_9999.pem"
item encrypted_pkcs8.key 1 | jq -e '.type == "private_key" and .status == "encrypted"' >/dev/null ||
  fail "encrypted_pkcs8.key: $(item encrypted_pkcs8.key 1)"
item cert_and_key.pem 1 | jq -e '.key_present == true' >/dev/null || fail "cert_and_key.pem: key not matched"
item serial_leading_zero.der 1 | jq -e '.serial == "7f" and (.warnings | length) >= 2' >/dev/null ||
  fail "serial_leading_zero.der: $(item serial_leading_zero.der 1)"
item empty.pem 1 | jq -e '.type == "error" and .error == "empty file"' >/dev/null || fail "empty.pem"
pass "import: one result per item, errors named, the rest imported"

# --- The inventory: sorted by expiry, summary per status, CSV, JSON.
expect_exit 0 rotor inventory --data-dir "$D"
expect_output_contains "certificates: valid"
expect_output_contains "expired 1"
expect_output_contains "not_yet_valid 1"
first=$(rotor inventory --data-dir "$D" | sed -n 2p)
grep -q "^expired .*2021-01-01T00:00:00Z" <<<"$first" || fail "first row is not the earliest expiry: $first"
rotor inventory --data-dir "$D" --json >"$WORK/inv.json"
jq -e '[.[] | select(.type == "certificate") | .not_after] | . == sort' "$WORK/inv.json" >/dev/null ||
  fail "inventory --json not sorted by expiry"
rotor inventory --data-dir "$D" --csv >"$WORK/inv.csv"
head -1 "$WORK/inv.csv" | grep -q '^type,status,not_before,not_after,subject' || fail "csv header"
[ "$(grep -c '^certificate,' "$WORK/inv.csv")" = "$(jq '[.[] | select(.type == "certificate")] | length' "$WORK/inv.json")" ] ||
  fail "csv and json disagree on the number of certificates"
pass "inventory: table, JSON and CSV"

# --- Exit codes for CI pipelines.
expect_exit 1 rotor inventory --data-dir "$D" --fail-on expired
expect_exit 1 rotor inventory --data-dir "$D" --fail-on due
expect_exit 2 rotor inventory --data-dir "$D" --fail-on soon
expect_exit 2 rotor inventory --data-dir "$D" --expiring-within tomorrow
expect_exit 3 rotor inventory --data-dir "$WORK/nothing-here"
C=$WORK/clean
rotor import --data-dir "$C" "$IN/leaf.pem" "$IN/chain_in_order.pem" >/dev/null 2>&1 || fail "clean import"
expect_exit 0 rotor inventory --data-dir "$C" --fail-on expired
expect_exit 0 rotor inventory --data-dir "$C" --fail-on due
expect_exit 1 rotor inventory --data-dir "$C" --fail-on due --renew-before 400d  # the leaf lives 365 days
# A fleet policy names the rule: renew_before 60s (not due) or renew_at 1/2 (the
# leaf was issued today for a year: not due either), and a 400-day policy is.
printf 'version: 1\npolicies:\n  early: {lifetime: 500d, renew_before: 400d}\n  late: {lifetime: 1h, renew_before: 60s}\ngroups:\n  - {name: a, count: 1, policy: early}\n  - {name: b, count: 1, policy: late}\n' >"$WORK/policies.yaml"
expect_exit 0 rotor inventory --data-dir "$C" --fail-on due --config "$WORK/policies.yaml" --policy late
expect_exit 1 rotor inventory --data-dir "$C" --fail-on due --config "$WORK/policies.yaml" --policy early
expect_exit 2 rotor inventory --data-dir "$C" --config "$WORK/policies.yaml" --policy nonesuch
expect_output_contains 'no group of'
expect_exit 2 rotor inventory --data-dir "$C" --policy early
rotor inventory --data-dir "$C" --json --expiring-within 400d >"$WORK/soon.json"
[ "$(jq 'length' "$WORK/soon.json")" = 1 ] || fail "--expiring-within 400d should show the leaf only"
pass "inventory: --fail-on and --expiring-within"

# --- Serials as users paste them.
for pasted in 07:27:7F:52 0x07277f52 07277F52 "07 27 7f 52"; do
  n=$(rotor inventory --data-dir "$C" --json --serial "$pasted" | jq '[.[] | select(.subject == "CN=Fixture Intermediate, O=Acme")] | length')
  [ "$n" = 1 ] || fail "--serial $pasted found $n"
done
expect_exit 2 rotor inventory --data-dir "$C" --serial 07:zz
pass "serial lookups accept pasted forms"

# --- All or nothing: an import that dies inside its transaction changes nothing.
before=$(rotor inventory --data-dir "$C" --json | jq -c '[.[] | .fingerprint] | sort')
set +e
ROTOR_CRASH_AT=import:commit "$ROTOR_BIN" import --data-dir "$C" "$IN" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 86 ] || fail "the crashing import exited $rc, not 86"
after=$(rotor inventory --data-dir "$C" --json | jq -c '[.[] | .fingerprint] | sort')
[ "$before" = "$after" ] || fail "a crashed import changed the inventory"
rotor import --data-dir "$C" "$IN" >/dev/null 2>&1 || true
grown=$(rotor inventory --data-dir "$C" --json | jq 'length')
[ "$grown" -gt "$(jq 'length' <<<"$after")" ] || fail "the import after the crash stored nothing"
pass "a crash inside the import transaction leaves the inventory as before"

# --- Directories: their files, subdirectories only with --recursive; usage errors.
R=$WORK/tree
mkdir -p "$R/a/b"
cp "$IN/leaf.pem" "$R/top.pem"
cp "$IN/pkcs1.key" "$R/a/b/deep.key"
rotor import --data-dir "$WORK/flat" --json "$R" 2>/dev/null >"$WORK/flat.json"
[ "$(jq 'length' "$WORK/flat.json")" = 1 ] || fail "a directory without --recursive: $(cat "$WORK/flat.json")"
rotor import --data-dir "$WORK/deep" --json --recursive "$R" 2>/dev/null >"$WORK/deep.json"
jq -e --arg f "$R/a/b/deep.key" 'length == 2 and any(.[]; .file == $f and .key_format == "pkcs1")' "$WORK/deep.json" \
  >/dev/null || fail "--recursive did not reach a/b/deep.key: $(cat "$WORK/deep.json")"
expect_exit 2 rotor import --data-dir "$WORK/flat"
expect_exit 2 rotor import --data-dir "$WORK/flat" --renew-fraction 2 "$R"
pass "directories, --recursive and usage errors"

# --- Beside a running daemon, which holds the data directory's lock.
cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
groups:
  - name: jobs
    count: 3
    policy: {lifetime: 1h}
YAML
DD=$WORK/daemon-data
start_daemon "$DD" "$WORK/fleet.yaml"
expect_exit 0 rotor import --data-dir "$DD" "$IN/leaf.pem"
expect_exit 0 rotor inventory --data-dir "$DD" --fail-on expired
expect_output_contains "valid 1"
expect_exit 0 rotor status --data-dir "$DD"
stop_daemon
pass "import and inventory beside a running daemon"

# --- The system trust store imports without one error.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  T=$WORK/trust
  expect_exit 0 rotor import --data-dir "$T" /etc/ssl/certs
  expect_output_contains " 0 errors"
  n=$(rotor inventory --data-dir "$T" --json | jq '[.[] | select(.type == "certificate")] | length')
  [ "$n" -gt 100 ] || fail "only $n trust-store certificates in the inventory"
  pass "system trust store: $n certificates, no error"
else
  fail "no /etc/ssl/certs/ca-certificates.crt (scripts/install-deps.sh installs ca-certificates)"
fi
