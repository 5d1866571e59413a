#!/usr/bin/env bash
# Delivery, hooks and verify commands: files and modes from creation, the
# hook's environment, and a failing hook or verify command that rolls the
# rotation back, backs off and generates a fresh secret for the next attempt.
source "$(dirname "$0")/lib.sh"
D="$WORK/data"
mkdir -p "$WORK/marks"
# The hook records its environment; the verify command fails the first time
# it sees each identity (a marker file), then passes.
cat >"$WORK/fleet.yaml" <<YAML
version: 1
policies:
  quick: {lifetime: 1h, backoff: {base: 1s, max: 2s}, circuit_breaker: {max_failures: 3}}
groups:
  - name: hooked
    count: 3
    policy: quick
    hook: 'env | grep ^ROTOR_ > "$WORK/marks/hook-\$ROTOR_IDENTITY-\$ROTOR_GENERATION"'
  - name: flaky-verify
    count: 3
    policy: quick
    verify_command: 'test -e "$WORK/marks/seen-\$ROTOR_IDENTITY" || { touch "$WORK/marks/seen-\$ROTOR_IDENTITY"; exit 1; }'
  - name: broken-hook
    count: 1
    policy: quick
    hook: 'exit 7'
YAML
start_daemon "$D" "$WORK/fleet.yaml"
wait_for 30 "hooked and flaky-verify identities active" all_active "$D" 6

# Modes: directories 0700, secrets 0600, and the secret is base64url.
[ "$(stat -c %a "$D/out")" = 700 ] || fail "out/ is not 0700"
for id in hooked-0 flaky-verify-2; do
  g=$(generation "$D" "$id")
  [ "$(stat -c %a "$D/out/$id")" = 700 ] || fail "$id dir mode"
  [ "$(stat -c %a "$D/out/$id/versions/$g")" = 700 ] || fail "$id version dir mode"
  [ "$(stat -c %a "$D/out/$id/versions/$g/secret")" = 600 ] || fail "$id secret mode"
  grep -qE '^[A-Za-z0-9_-]{20,}$' "$D/out/$id/current/secret" || fail "$id secret is not base64url"
done
pass "versioned files, 0700 directories and 0600 secrets"

# Hook environment.
f="$WORK/marks/hook-hooked-1-1"
[ -f "$f" ] || fail "the hook did not run for hooked-1 generation 1"
grep -qx "ROTOR_IDENTITY=hooked-1" "$f" || fail "ROTOR_IDENTITY"
grep -qx "ROTOR_GENERATION=1" "$f" || fail "ROTOR_GENERATION"
grep -qx "ROTOR_SECRET_PATH=$D/out/hooked-1/versions/1/secret" "$f" || fail "ROTOR_SECRET_PATH: $(cat "$f")"
grep -qx "ROTOR_CURRENT_LINK=$D/out/hooked-1/current" "$f" || fail "ROTOR_CURRENT_LINK"
pass "the hook runs once per delivery with the identity, version and paths"

# The verify command failed once per flaky identity: generation 1 rolled back,
# generation 2 committed, and the secret is a fresh one.
for i in 0 1 2; do
  id="flaky-verify-$i"
  [ "$(generation "$D" "$id")" -eq 2 ] || fail "$id: expected generation 2 after one rollback"
  [ ! -e "$D/out/$id/versions/1" ] || fail "$id: the rejected generation 1 is still on disk"
done
python3 - "$D"/audit/journal-000001.jsonl <<'PY' || fail "audit trail of the rollback"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
mine = [e for e in events if e["subject"] == "flaky-verify-0"]
types = [e["type"].removeprefix("dev.rotor.") for e in mine]
assert "rotation.rolled_back" in types, types
failed = [e for e in mine if e["type"].endswith("rotation.failed")][0]
assert failed["data"]["stage"] == "verify" and failed["data"]["retry"] == "new_candidate", failed
issued = [e["data"]["fingerprint"] for e in mine if e["type"].endswith("credential.issued")]
assert len(issued) == 2 and issued[0] != issued[1], issued
PY
pass "a failing verify command rolls back, backs off and regenerates"

# A hook that always fails: never committed, quarantined after 3 failures.
quarantined() {
  local s
  s=$(rotor status --json --data-dir "$D" broken-hook-0)
  [ "$(json_field "$s" 'j[0]["phase"]')" = quarantined ]
}
wait_for 30 "broken-hook-0 quarantined" quarantined
s=$(rotor status --json --data-dir "$D" broken-hook-0)
[ "$(json_field "$s" 'j[0]["current"]')" = None ] || fail "a failing hook's credential became current"
grep -q "exit" <<<"$(json_field "$s" 'j[0]["last_error"]')" || fail "last_error does not say why: $s"
pass "a hook that keeps failing ends in quarantine with its reason"

stop_daemon
consistent "$D"
# No secret reached the logs or the audit trail.
for id in hooked-0 flaky-verify-1; do
  secret=$(cat "$D/out/$id/current/secret")
  ! grep -qF "$secret" "$D.log" "$D"/audit/*.jsonl || fail "a secret leaked into logs or audit"
done
pass "consistent, and no secret in logs or audit events"
