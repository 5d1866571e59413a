# Kafka helpers for the e2e tests, sourced after lib.sh: librdkafka's mock
# cluster through `rotor-relay mock-cluster`, driven over a FIFO.
: "${ROTOR_RELAY:?ROTOR_RELAY must name the rotor-relay binary}"
export ROTOR_RELAY

MOCK_PID=""
kafka_cleanup() {
  if [ -n "$MOCK_PID" ]; then
    exec 7>&-
    kill -TERM "$MOCK_PID" 2>/dev/null || true
    wait "$MOCK_PID" 2>/dev/null || true
  fi
  cleanup
}
trap kafka_cleanup EXIT

# start_mock_cluster [PARTITIONS]: three brokers; sets BOOTSTRAP.
start_mock_cluster() {
  mkfifo "$WORK/mock.ctl"
  "$ROTOR_RELAY" mock-cluster --brokers 3 --partitions "${1:-12}" <"$WORK/mock.ctl" >"$WORK/mock.out" \
    2>"$WORK/mock.err" &
  MOCK_PID=$!
  exec 7>"$WORK/mock.ctl"
  wait_for 10 "mock cluster bootstrap" test -s "$WORK/mock.out"
  BOOTSTRAP=$(head -1 "$WORK/mock.out")
  [[ "$BOOTSTRAP" == 127.0.0.1:* ]] || fail "mock cluster printed no bootstrap: $(cat "$WORK/mock.out" "$WORK/mock.err")"
}

# mock_cmd "down all" | "up 2" ...: one command; waits for its reply.
lines_more_than() { [ "$(wc -l <"$1")" -gt "$2" ]; }
mock_cmd() {
  local before
  before=$(wc -l <"$WORK/mock.out")
  echo "$1" >&7
  wait_for 10 "mock cluster reply to '$1'" lines_more_than "$WORK/mock.out" "$before"
  tail -1 "$WORK/mock.out" | grep -q '^ok:' || fail "mock cluster refused '$1': $(tail -1 "$WORK/mock.out")"
}

# kafka_events BOOTSTRAP: every event in the topic, one per line, in partition order.
kafka_events() { "$ROTOR_RELAY" consume --bootstrap "$1" --from-beginning; }

# journal_ids DIR: event ids in the journal, in journal order.
journal_ids() { cat "$1"/audit/journal-*.jsonl | python3 -c '
import json, sys
for line in sys.stdin: print(json.loads(line)["id"])'; }

# check_stream DIR: every journal event id is in Kafka, and each identity's
# events appear in Kafka in sequence order (first occurrences; repeats are
# duplicates). Prints "events N duplicates D".
check_stream() {
  kafka_events "$BOOTSTRAP" >"$WORK/kafka.jsonl"
  journal_ids "$1" >"$WORK/journal.ids"
  python3 - "$WORK/kafka.jsonl" "$WORK/journal.ids" <<'PY'
import json, sys
first, dups, last = {}, 0, {}
for n, line in enumerate(open(sys.argv[1])):
    ev = json.loads(line)
    if ev["id"] in first:
        dups += 1
        continue
    first[ev["id"]] = n
    seq = int(ev["sequence"])
    if seq <= last.get(ev["subject"], 0):
        sys.exit("reordered: %s after sequence %d" % (ev["id"], last[ev["subject"]]))
    last[ev["subject"]] = seq
missing = [i for i in open(sys.argv[2]).read().split() if i not in first]
if missing:
    sys.exit("%d journal events missing from Kafka, e.g. %s" % (len(missing), missing[:3]))
print("events %d duplicates %d" % (len(first), dups))
PY
}
