#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets of tests/fuzz with clang (ASan and
# UBSan on) into BUILD_DIR (default build-fuzz) and runs each for
# FUZZ_SECONDS (default 60) from its seed corpus. New interesting inputs stay
# in BUILD_DIR/fuzz/corpus/<target>; a crash is saved under
# BUILD_DIR/fuzz/crashes/<target>/ and fails the run: copy it into
# tests/fuzz/regressions/<target>/ so every later `make test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=(${FUZZ_TARGETS:-fleet_loader control_request journal state_machine cert_scan})

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROTOR_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/%/_fuzz}"

failed=0
for t in "${targets[@]}"; do
  work="$build/fuzz/corpus/$t" crashes="$build/fuzz/crashes/$t"
  mkdir -p "$work" "$crashes"
  mapfile -t seeds <"$build/fuzz/$t.seeds"
  log="$build/fuzz/$t.log"
  echo "fuzz: $t for ${seconds}s"
  if ! "$build/fuzz/${t}_fuzz" "$work" "${seeds[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -max_len=8192 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz: $t FAILED; the input is in $crashes/ and the report in $log" >&2
    grep -m 5 -E "ERROR|fuzz property|SUMMARY" "$log" >&2 || true
    failed=1
  fi
  runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
  cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 || true)
  echo "fuzz: $t: $runs executions, $cov, corpus $(find "$work" -type f | wc -l) inputs"
done
exit $failed
