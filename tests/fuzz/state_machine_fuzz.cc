// Fuzz target: the rotation state machine (engine/rotation.h) fed events the
// fuzzer chooses — effect outcomes, failures, operator commands, removals,
// crashes with recovery from the last persisted record, and arbitrary events —
// with every invariant of ARCHITECTURE §3 and the cross-step properties of
// tests/support/rotation_explorer.h checked after every step.
#include <cstdio>
#include <string>

#include "tests/fuzz/fuzz_target.h"
#include "tests/support/rotation_explorer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rotor::ByteChoices choices(data, size);
  rotor::Explorer explorer(0, choices);
  const std::string err = explorer.Run();
  if (!err.empty()) std::fprintf(stderr, "%s\n", err.c_str());
  rotor::fuzz::FuzzCheck(err.empty(), "the state machine keeps its invariants");
  return 0;
}
