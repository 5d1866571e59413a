#!/usr/bin/env bash
# Nothing is lost in a Kafka outage: all three brokers go down while
# rotations continue; during the outage the daemon and the relay are both
# SIGKILLed and the daemon restarted; then the brokers come back. Afterwards
# every journal event is in Kafka, no identity's events are reordered, the
# chains verify, and the resends are reported as duplicates.
# KAFKA_OUTAGE_SECONDS (default 15) sets the outage; `make test-long` runs 60.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"
OUTAGE=${KAFKA_OUTAGE_SECONDS:-15}

start_mock_cluster 12
cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
groups:
  - name: svc
    count: 60
    policy: {lifetime: 4s, grace: 1s}
YAML
D=$WORK/d

# alive PID: running (a SIGKILLed child waits as a zombie until init reaps it).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) && [[ "$state" != Z* ]]
}
relay_pids() { grep -o '"msg":"rotor-relay started","pid":"[0-9]*"' "$D.log" | grep -o '[0-9]*' || true; }

start_daemon "$D" "$WORK/fleet.yaml" --kafka "$BOOTSTRAP"
sleep 5
mock_cmd "down all"
outage_start=$SECONDS
echo "  all brokers down"
sleep $((OUTAGE / 3))

relay=$(relay_pids | tail -1)
[ -n "$relay" ] && alive "$relay" || fail "no running rotor-relay to kill"
kill -KILL "$relay" "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=""
sleep 0.5
for p in $(relay_pids); do ! alive "$p" || fail "rotor-relay $p outlived its daemon"; done
echo "  daemon and relay killed during the outage"

before=$(relay_pids | wc -l)
start_daemon "$D" "$WORK/fleet.yaml" --kafka "$BOOTSTRAP"
relay_restarted() { [ "$(relay_pids | wc -l)" -gt "$before" ]; }
wait_for 20 "a new relay" relay_restarted
sleep $((OUTAGE - (SECONDS - outage_start) > 0 ? OUTAGE - (SECONDS - outage_start) : 0))
committed=$(cat "$D"/audit/journal-*.jsonl | grep -c '"type":"dev.rotor.rotation.committed"')
mock_cmd "up all"
echo "  brokers back after $((SECONDS - outage_start)) s; $committed rotations committed so far"

# The daemon keeps rotating; Kafka catches up.
caught_up() { check_stream "$D" >"$WORK/summary" 2>&1; }
wait_for 90 "Kafka to have every journal event" caught_up
echo "  caught up while running: $(cat "$WORK/summary")"
stop_daemon

summary=$(check_stream "$D") || fail "after the stop: $summary"
echo "  $summary"
pass "zero events missing and no identity reordered after the outage"
consistent "$D"
expect_exit 0 "$ROTOR_BIN" audit verify --kafka "$BOOTSTRAP"
expect_output_contains "gaps 0, breaks 0"
echo "  $(grep duplicates <<<"$OUT")"
pass "the chains verify in Kafka; duplicates reported separately"
