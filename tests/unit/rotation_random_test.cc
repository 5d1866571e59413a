// engine/rotation by random exploration: 100,000 seeded random event
// sequences over random policies, mixing the outcomes of the effects the
// machine asked for (plausible) with crashes, operator commands and
// arbitrary events (implausible). After every step the invariants of
// ARCHITECTURE §3 are checked, plus properties that span steps:
//  - a pending version becomes current only after kDelivered, kVerified and
//    kActivated, in that order, each for that generation;
//  - a generation is never reused;
//  - a failed rotation leaves `current` exactly as it was when it started;
//  - a persisted step carries exactly one audit fact, naming the new phase;
//    a step that is not persisted changes only volatile fields;
//  - a rejected event changes nothing;
//  - retirement happens only at the end of the grace window (or at once for
//    a compromised version, or when the identity retires);
//  - next_due of an active identity never lies at or before its issuance;
//  - the circuit breaker bounds hold; an expired credential is never healthy.
//
// Reproduce a failure with ROTOR_RANDOM_SEED=<seed printed> and
// ROTOR_RANDOM_SEQUENCES=1.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/rotation_explorer.h"

namespace rotor {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

TEST(RotationRandomTest, InvariantsHoldOverRandomSequences) {
  const uint64_t base = EnvOr("ROTOR_RANDOM_SEED", 0x5eed2025);
  const uint64_t sequences = EnvOr("ROTOR_RANDOM_SEQUENCES", 100000);
  const auto start = std::chrono::steady_clock::now();
  uint64_t steps = 0;
  for (uint64_t i = 0; i < sequences; ++i) {
    const uint64_t seed = base + i;
    PrngChoices choices(seed);
    Explorer explorer(seed, choices);
    const std::string err = explorer.Run();
    steps += explorer.steps_taken();
    ASSERT_TRUE(err.empty()) << err << "\nreproduce: ROTOR_RANDOM_SEED=" << seed << " ROTOR_RANDOM_SEQUENCES=1";
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("explored %llu sequences, %llu steps in %.1f s\n", static_cast<unsigned long long>(sequences),
              static_cast<unsigned long long>(steps), secs);
}

}  // namespace
}  // namespace rotor
