// rotor_bench: every micro-benchmark of bench/ in one executable. See
// bench/README.md for what each measures and how to run a subset.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
