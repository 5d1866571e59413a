#!/usr/bin/env bash
# The audit stream to Kafka over the real Kafka protocol on loopback
# (librdkafka's mock cluster, three brokers): rotations stream to the topic,
# every journal event id is there in per-identity order, the chains verify
# through `rotor audit verify --kafka`, and two third-party consumers — kcat
# and a kafkajs consumer group — parse every event and find the documented
# envelope. Unsafe producer settings are refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

start_mock_cluster 12
echo "  mock cluster at $BOOTSTRAP"

cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
groups:
  - name: svc
    count: 40
    policy: {lifetime: 6s, grace: 2s}
  - name: certs
    kind: x509
    count: 10
    policy: {lifetime: 8s, grace: 2s}
    certificate: {key_type: p256, dns: ["{id}.test"]}
YAML
D=$WORK/d

# Unsafe settings: refused before anything starts, naming the setting.
expect_exit 2 "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" --kafka "$BOOTSTRAP" \
  --kafka-setting acks=1 --duration 1
expect_output_contains "refusing acks=1"
expect_exit 2 "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" --kafka "$BOOTSTRAP" \
  --kafka-setting enable.idempotence=false --duration 1
expect_output_contains "refusing enable.idempotence=false"
[ ! -e "$D" ] || fail "a start refused for its Kafka settings created the data directory"
# Kafka flags without --kafka do nothing: refused as usage errors.
expect_exit 2 "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" --kafka-setting acks=all --duration 1
expect_output_contains "--kafka-setting requires --kafka"
expect_exit 2 "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" --kafka-topic audit --duration 1
expect_output_contains "--kafka-topic requires --kafka"
[ ! -e "$D" ] || fail "a start refused for a usage error created the data directory"
expect_exit 2 "$ROTOR_RELAY" produce --data-dir "$D" --bootstrap "$BOOTSTRAP" -X request.required.acks=0
expect_output_contains "refusing request.required.acks=0"
pass "acks other than all and idempotence off are refused, and Kafka flags without --kafka, all before anything is created"

# Rotations stream to the topic while the daemon runs.
start_daemon "$D" "$WORK/fleet.yaml" --kafka "$BOOTSTRAP"
sleep 12
"$ROTOR_BIN" revoke svc-3 --compromised --data-dir "$D" >/dev/null
sleep 3
stop_daemon
grep -q '"rotor-relay started"' "$D.log" || fail "the daemon did not start rotor-relay"
consistent "$D"
summary=$(check_stream "$D") || fail "stream check: $summary"
echo "  $summary"
journal_events=$(wc -l <"$WORK/journal.ids")
[ "$journal_events" -gt 300 ] || fail "only $journal_events events journaled: the fleet did not rotate"
grep -q '"type":"dev.rotor.rotation.committed"' "$WORK/kafka.jsonl" || fail "no rotation.committed event in Kafka"
grep -q '"subject":"svc-3".*"reason":"emergency"\|"reason":"emergency".*"subject":"svc-3"' "$WORK/kafka.jsonl" ||
  fail "the emergency rotation of svc-3 is not in Kafka"
cmp <(sort "$WORK/kafka.jsonl" | uniq) <(cat "$D"/audit/journal-*.jsonl | sort) ||
  fail "Kafka's events are not byte for byte the journal's"
pass "every journal event ($journal_events) is in Kafka, byte for byte, in per-identity order"

expect_exit 0 "$ROTOR_BIN" audit verify --kafka "$BOOTSTRAP"
expect_output_contains "gaps 0, breaks 0"
expect_output_contains "events of 51 identities"
# The topic flag as `rotor run` spells it is accepted too.
expect_exit 0 "$ROTOR_BIN" audit verify --kafka "$BOOTSTRAP" --kafka-topic rotor.audit
expect_output_contains "events of 51 identities"
pass "rotor audit verify --kafka: the chains verify"

expect_exit 0 "$ROTOR_BIN" audit tail --kafka "$BOOTSTRAP" --from-beginning --no-follow --subject svc-3
want=$(grep -c '"subject":"svc-3"' "$D"/audit/journal-*.jsonl)
got=$(grep -c '"subject":"svc-3"' <<<"$OUT")
[ "$got" -ge "$want" ] || fail "audit tail --subject svc-3 printed $got events, the journal has $want"
! grep -v '"subject":"svc-3"' <<<"$OUT" | grep -q . || fail "audit tail --subject printed another identity"
pass "rotor audit tail --subject prints that identity's $got events"

# A tampered copy of the stream is caught: one altered event, one duplicate.
python3 - "$WORK/kafka.jsonl" "$WORK/tampered.jsonl" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
lines[5] = lines[5].replace('"phase":"', '"phase":"x', 1)
lines.append(lines[7])
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
"$ROTOR_RELAY" mock-cluster --brokers 1 --partitions 1 </dev/null >"$WORK/mock2.out" 2>/dev/null &
MOCK2=$!
wait_for 10 "second mock cluster" test -s "$WORK/mock2.out"
B2=$(head -1 "$WORK/mock2.out")
kcat -P -b "$B2" -t rotor.audit -l "$WORK/tampered.jsonl"
expect_exit 1 "$ROTOR_BIN" audit verify --kafka "$B2"
kill -TERM "$MOCK2"
wait "$MOCK2" || true
expect_output_contains "duplicates 1, gaps 0, breaks 1"
pass "an altered event counts as a break and a resent one as a duplicate"

# Third-party consumers: kcat (Debian) and a kafkajs consumer group (npm).
kcat -C -b "$BOOTSTRAP" -t rotor.audit -o beginning -e -q -f '%k\t%s\n' >"$WORK/kcat.out"
python3 - "$WORK/kcat.out" "$WORK/journal.ids" <<'PY' || fail "kcat check failed"
import json, sys
envelope = ["data", "datacontenttype", "hash", "id", "prevhash", "sequence", "source", "specversion",
            "subject", "time", "type"]
ids = set()
for line in open(sys.argv[1]):
    key, value = line.rstrip("\n").split("\t", 1)
    ev = json.loads(value)
    assert sorted(ev) == envelope, sorted(ev)
    assert key == ev["subject"], (key, ev["subject"])
    assert ev["id"] == ev["subject"] + "/" + ev["sequence"]
    assert ev["type"].startswith("dev.rotor.") and "phase" in ev["data"]
    ids.add(ev["id"])
missing = set(open(sys.argv[2]).read().split()) - ids
assert not missing, "kcat missed %d events" % len(missing)
print("  kcat: %d distinct events, every one with the documented envelope" % len(ids))
PY
pass "kcat parses every event (key = subject, documented envelope)"

NODE_MODULES=${ROTOR_SOURCE_DIR}/tests/kafka/node_modules
[ -d "$NODE_MODULES/kafkajs" ] || fail "kafkajs is not installed (scripts/install-deps.sh runs npm ci in tests/kafka)"
result=$(node "$ROTOR_SOURCE_DIR/tests/kafka/group_consumer.js" "$BOOTSTRAP" rotor.audit "$journal_events" 60) ||
  fail "kafkajs consumer group: $result"
echo "  kafkajs: $result"
pass "a kafkajs consumer group reads every event with the documented envelope"

# Backlog policy pause-routine: with every broker down the backlog passes its
# bound; scheduled renewals wait, an emergency rotation still runs, and
# renewals resume once Kafka has caught up.
cat >"$WORK/small.yaml" <<'YAML'
version: 1
groups:
  - name: key
    count: 20
    policy: {lifetime: 6s, grace: 1s}
YAML
P=$WORK/paused
commits() { cat "$P"/audit/journal-*.jsonl 2>/dev/null | grep -c '"type":"dev.rotor.rotation.committed"' || true; }
mock_cmd "down all"
start_daemon "$P" "$WORK/small.yaml" --kafka "$BOOTSTRAP" --kafka-backlog-limit 50 \
  --kafka-backlog-policy pause-routine
wait_for 30 "the first issuance of 20 keys" all_active "$P" 20
wait_for 10 "the backlog alert" grep -q '"Kafka backlog passed its bound"' "$P.log"
first=$(commits)
sleep 8  # past every key's renewal point (2/3 of 6 s)
held=$(commits)
[ "$held" -eq "$first" ] || fail "routine renewals ran while paused: $first then $held commits"
"$ROTOR_BIN" revoke key-3 --compromised --data-dir "$P" >/dev/null
emergency_done() { [ "$(commits)" -gt "$held" ]; }
wait_for 15 "the emergency rotation while paused" emergency_done
pass "past the backlog bound, routine renewals wait ($held commits held) and an emergency rotation runs"
mock_cmd "up all"
resumed() { [ "$(commits)" -gt $((held + 10)) ]; }
wait_for 60 "renewals to resume once Kafka caught up" resumed
grep -q '"Kafka backlog back under its bound"' "$P.log" || fail "no 'back under its bound' log line"
stop_daemon
pass "renewals resume once the backlog is back under its bound"
