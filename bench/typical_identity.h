// Typical identities for the benchmarks: records, events and audit lines
// shaped like a settled production identity. They are produced by the real
// state machine and the real audit chain, so they stay valid as the engine
// evolves instead of drifting away from it like hand-built records would.
//
// Free functions over values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/policy.h"
#include "engine/ports/credentials.h"
#include "engine/rotation.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor::bench {

// 2026-01-01T00:00:00Z: every benchmark identity is declared then.
inline constexpr Instant kBenchEpoch = Instant::FromSeconds(1767225600);
inline constexpr char kBenchGroup[] = "payments";
inline constexpr char kAuditSource[] = "rotor://bench";

// TypicalId returns "payments-api-<n, 6 digits>": every id has the same
// length, so records and audit lines of different identities have the same
// size.
std::string TypicalId(uint64_t n);

// SuccessOutcome is the event an identity actor feeds back after `effect`
// succeeded at `now` (kGenerate -> kGenerated with a synthetic fingerprint, ...).
Event SuccessOutcome(const Effect& effect, Instant now);

// One step Settle applied: the record it was applied to and the event.
struct AppliedStep {
  RotationRecord before;
  Event event;
};

// Settle applies `first` to `record` at `now`, then the success outcome of
// every effect, in order, until none is outstanding. Each persisted step's
// audit event is chained onto the record with `hasher`; its line is appended
// to `lines` and the step to `steps` when they are set. Fails with Internal
// when a step is rejected or breaks an invariant.
Status Settle(RotationRecord* record, const Event& first, Instant now, const RenewalPolicy& policy,
              const Hasher& hasher, std::vector<std::string>* lines = nullptr,
              std::vector<AppliedStep>* steps = nullptr);

// SettleNextWake wakes a resting `record` with kDue at its next_due, settles
// it there, and returns that instant. From a settled active record: the first
// call rotates it (renewal point), the next retires the previous version (end
// of its grace window).
StatusOr<Instant> SettleNextWake(RotationRecord* record, const RenewalPolicy& policy, const Hasher& hasher,
                                 std::vector<std::string>* lines = nullptr);

// TypicalRecord returns identity `id` as it rests most of its life: declared
// at kBenchEpoch, issued, rotated once at its renewal point, the previous
// version retired at the end of its grace window. Phase kActive, current
// generation 2, nothing retiring, chain head at sequence 11, next_due at its
// next renewal point. Appends the 11 audit lines of that history to `lines`.
StatusOr<RotationRecord> TypicalRecord(const std::string& id, const RenewalPolicy& policy, const Hasher& hasher,
                                       std::vector<std::string>* lines = nullptr);

}  // namespace rotor::bench
