#!/usr/bin/env bash
# Operator commands against a running daemon and without one: rotate by id,
# selector and --all, emergency revoke, commands queued while no daemon runs,
# fleet reloads (SIGHUP and `rotor apply`) that add and retire identities.
source "$(dirname "$0")/lib.sh"
D="$WORK/data"
cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
policies:
  hourly: {lifetime: 1h, grace: 2s, emergency_min_interval: 0}
groups:
  - name: payments
    count: 10
    id_pattern: pay-{n:02}
    policy: hourly
    labels: {team: payments}
  - name: search
    count: 10
    id_pattern: search-{n:02}
    policy: hourly
    labels: {team: search}
YAML
start_daemon "$D" "$WORK/fleet.yaml"
wait_for 20 "first issuance" all_active "$D" 20

expect_exit 0 rotor rotate pay-03 --wait --data-dir "$D"
expect_output_contains "1 accepted"
[ "$(generation "$D" pay-03)" -eq 2 ] || fail "pay-03 is not at generation 2"
[ "$(generation "$D" pay-04)" -eq 1 ] || fail "pay-04 rotated without being asked"
[ "$(readlink "$D/out/pay-03/current")" = "versions/2" ] || fail "current link of pay-03"
# The previous version stays for its grace window (2s), then goes.
[ -f "$D/out/pay-03/versions/1/secret" ] || fail "generation 1 removed inside its grace window"
wait_for 20 "grace window end" test ! -e "$D/out/pay-03/versions/1"
pass "rotate one id; previous version kept for its grace window, then retired"

expect_exit 0 rotor rotate --selector team=search --wait --data-dir "$D"
expect_output_contains "10 accepted"
for i in 00 05 09; do [ "$(generation "$D" "search-$i")" -eq 2 ] || fail "search-$i not rotated"; done
[ "$(generation "$D" pay-00)" -eq 1 ] || fail "the selector matched payments"
expect_exit 0 rotor rotate --all --wait --data-dir "$D"
expect_output_contains "20 of 20 rotations ended"
[ "$(generation "$D" pay-03)" -eq 3 ] || fail "--all missed pay-03"
pass "rotate by selector and --all"

expect_exit 1 rotor rotate no-such-id --data-dir "$D"
expect_output_contains "no-such-id"
pass "rotate of an unknown id is refused"

# Emergency: the compromised version is retired as soon as the replacement commits.
before=$(generation "$D" pay-07)
expect_exit 0 rotor revoke pay-07 --compromised --data-dir "$D"
wait_for 20 "emergency commit" current_is "$D" pay-07 $((before + 1))
wait_for 10 "compromised version removed" test ! -e "$D/out/pay-07/versions/$before"
wait_for 10 "emergency audit events" grep -q '"reason":"compromised"' "$D"/audit/journal-000001.jsonl
pass "revoke --compromised replaces and retires at once"

# Reload: drop `search`, add `billing` (SIGHUP), then `rotor apply` with a bad file keeps the fleet.
cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
policies:
  hourly: {lifetime: 1h, grace: 2s, emergency_min_interval: 0}
groups:
  - name: payments
    count: 9
    id_pattern: pay-{n:02}
    policy: hourly
    labels: {team: payments}
  - name: billing
    identities: [pay-09]
    count: 5
    id_pattern: bill-{n}
    policy: hourly
YAML
kill -HUP "$DAEMON_PID"
retired_all() {
  local s
  s=$(rotor status --json --data-dir "$D")
  [ "$(json_field "$s" 'j["by_phase"].get("retired", 0)')" -eq 10 ] &&
    [ "$(json_field "$s" 'j["by_phase"].get("active", 0)')" -eq 15 ]
}
wait_for 30 "search retired, billing issued" retired_all
[ ! -e "$D/out/search-00/current" ] || fail "a retired identity still has a current link"
[ "$(generation "$D" bill-4)" -eq 1 ] || fail "bill-4 not issued"
in_billing() { [ "$(json_field "$(rotor status --json --data-dir "$D" pay-09)" 'j[0]["group"]')" = billing ]; }
wait_for 10 "pay-09 moved to billing" in_billing
grep -q '"previous_group":"payments"' "$D"/audit/journal-000001.jsonl || fail "no identity.updated for the move"
echo "groups: [" >"$WORK/broken.yaml"
cp "$WORK/fleet.yaml" "$WORK/good.yaml"
cp "$WORK/broken.yaml" "$WORK/fleet.yaml"
expect_exit 1 rotor apply --data-dir "$D"
expect_output_contains "unchanged"
cp "$WORK/good.yaml" "$WORK/fleet.yaml"
expect_exit 0 rotor apply --data-dir "$D"
expect_output_contains "0 identities added, 0 retiring"
pass "reload retires removed identities, declares new ones, moves one between groups; a bad file changes nothing"

stop_daemon
consistent "$D"
pass "consistent after operator commands"

# No daemon: commands are queued and run at the next start.
g=$(generation "$D" pay-01)
expect_exit 0 rotor rotate pay-01 --data-dir "$D"
expect_output_contains "queued"
expect_exit 1 rotor rotate --wait pay-01 --data-dir "$D"
expect_exit 0 rotor run --config "$WORK/fleet.yaml" --data-dir "$D" --no-progress --duration 5
[ "$(generation "$D" pay-01)" -eq $((g + 1)) ] || fail "the queued rotation did not run at start: generation $g -> $(generation "$D" pay-01); $OUT"
grep -q '"msg":"queued command executed"' <<<"$OUT" || fail "no log of the queued command"
consistent "$D"
pass "commands queued without a daemon run at the next start"

# rotate --wait waits for the identities it asked for, not for any rotation:
# 150 identities renewing about every 2 s rotate beside the one requested.
D2="$WORK/churn"
cat >"$WORK/churn.yaml" <<'YAML'
version: 1
policies:
  churn: {lifetime: 3s, circuit_breaker: {max_issuances: 1000, window: 1h}}
  hourly: {lifetime: 1h, emergency_min_interval: 0}
groups:
  - name: churn
    count: 150
    policy: churn
  - name: steady
    count: 3
    id_pattern: steady-{n}
    policy: hourly
YAML
start_daemon "$D2" "$WORK/churn.yaml"
# (Not all_active: with 75 renewals a second some churn identity is always mid-rotation.)
steady_active() {
  local s
  s=$("$ROTOR_BIN" status --json --data-dir "$D2" steady-0 steady-1 steady-2)
  [ "$(json_field "$s" 'sum(1 for r in j if r["phase"] == "active" and r["current"])')" -eq 3 ]
}
wait_for 60 "the steady identities' first issuance" steady_active
for round in 1 2 3; do
  g=$(generation "$D2" steady-1)
  expect_exit 0 rotor rotate steady-1 --wait --data-dir "$D2"
  expect_output_contains "1 of 1 rotations ended"
  [ "$(generation "$D2" steady-1)" -eq $((g + 1)) ] || fail "rotate --wait returned before steady-1 rotated (round $round): $OUT"
done
g0=$(generation "$D2" steady-0)
expect_exit 0 rotor rotate --selector group=steady --wait --data-dir "$D2"
expect_output_contains "3 of 3 rotations ended"
[ "$(generation "$D2" steady-0)" -eq $((g0 + 1)) ] || fail "rotate --selector --wait returned before steady-0 rotated: $OUT"
stop_daemon
pass "rotate --wait waits for exactly the identities it asked for while others renew"
