#!/usr/bin/env bash
# Rotation throughput with the Kafka relay on versus off, in one run.
#   bash bench/relay_cost.sh [BUILD_DIR] [IDENTITIES] [ROUNDS]
# For each round, alternately without and with `--kafka` (librdkafka's mock
# cluster, three brokers on loopback): a fresh data directory, the daemon
# issues every identity's first key, then `rotor rotate --all --wait` rotates
# them all and reports its rate. Prints each rate, the medians, and the cost
# of the relay as 1 - on/off. Alternating rounds share the machine's noise.
# On a busy machine the rates swing more than the cost, so it also reports,
# for the runs with the relay, the CPU time the relay used as a share of the
# daemon's (utime+stime from /proc, first issuance and rotation together):
# on a CPU-bound machine that share is what the relay takes from rotations.
set -euo pipefail
build=${1:-build}
count=${2:-5000}
rounds=${3:-3}
rotor=$build/bin/rotor
relay=$build/bin/rotor-relay
work=$(mktemp -d /tmp/rotor-relay-cost.XXXXXX)
mock=""
daemon=""
finish() {
  [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  [ -n "$mock" ] && kill -TERM "$mock" 2>/dev/null && wait "$mock" 2>/dev/null
  rm -rf "$work"
}
trap finish EXIT

"$relay" mock-cluster --brokers 3 --partitions 12 </dev/null >"$work/mock.out" 2>/dev/null &
mock=$!
for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$work/mock.out")

cat >"$work/fleet.yaml" <<YAML
version: 1
groups:
  - name: bench
    count: $count
    policy: {lifetime: 24h}
YAML

active() {
  "$rotor" status --json --data-dir "$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["by_phase"].get("active", 0))'
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_once() { # MODE: off | on
  local dir=$work/d-$1-$RANDOM extra=()
  [ "$1" = on ] && extra=(--kafka "$bootstrap")
  "$rotor" run --config "$work/fleet.yaml" --data-dir "$dir" --no-progress --quiet "${extra[@]}" 2>"$dir.log" &
  daemon=$!
  for _ in $(seq 600); do [ -S "$dir/control.sock" ] && [ "$(active "$dir" 2>/dev/null)" = "$count" ] && break; sleep 0.2; done
  local rate
  rate=$("$rotor" rotate --all --wait --data-dir "$dir" | grep -o '([0-9]* rotations/s)' | grep -o '[0-9]*')
  if [ "$1" = on ]; then
    sleep 2  # let the relay ship the last events
    local relay_pid
    relay_pid=$(ps -o pid= --ppid "$daemon" | tr -d ' ' | head -1)
    echo "$(cpu_ticks "$relay_pid") $(cpu_ticks "$daemon")" >>"$work/cpu"
  fi
  kill -TERM "$daemon"
  wait "$daemon" || true
  daemon=""
  rm -rf "$dir"
  echo "$rate"
}

off=()
on=()
for r in $(seq "$rounds"); do
  off+=("$(run_once off)")
  on+=("$(run_once on)")
  echo "round $r: relay off ${off[-1]} rotations/s, relay on ${on[-1]} rotations/s"
done
python3 - "${off[*]}" "${on[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
mo, mn = statistics.median(off), statistics.median(on)
print("median: relay off %.0f rotations/s, relay on %.0f rotations/s; on/off = %.3f, cost %.1f%%"
      % (mo, mn, mn / mo, 100 * (1 - mn / mo)))
PY
python3 - "$work/cpu" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
share = [r / d for r, d in rows]
print("relay CPU / daemon CPU per run: %s (mean %.1f%%)" % (", ".join("%.1f%%" % (100 * s) for s in share),
                                                        100 * sum(share) / len(share)))
PY
