// engine/: the pure domain — policy maths, one rotation-state-machine Step,
// and the persisted record codec. No I/O; CPU time is the figure.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "bench/typical_identity.h"
#include "connectors/crypto/boring_hasher.h"
#include "engine/model.h"
#include "engine/policy.h"
#include "engine/rotation.h"

namespace rotor::bench {
namespace {

// The renewal point of a 24h credential, by fraction (default 2/3) or by a
// fixed renew_before; both add the per-identity jitter.
void BM_RenewalPoint(benchmark::State& state, bool by_renew_before) {
  RenewalPolicy policy;
  if (by_renew_before) policy.renew_before = Duration::Hours(4);
  std::string id = TypicalId(42);
  Instant issued_at = kBenchEpoch;
  Instant not_after = issued_at + policy.lifetime;
  for (auto _ : state) {
    benchmark::DoNotOptimize(id);
    benchmark::DoNotOptimize(issued_at);
    Instant at = RenewalPoint(policy, id, issued_at, not_after);
    benchmark::DoNotOptimize(at);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_RenewalPoint, fraction, false);
BENCHMARK_CAPTURE(BM_RenewalPoint, renew_before, true);

// The retry delay after the n-th failure (the doubling loop runs n-1 times,
// up to the cap: 9 is past 5 min from 1 s).
void BM_BackoffDelay(benchmark::State& state) {
  RenewalPolicy policy;
  std::string id = TypicalId(42);
  uint32_t failures = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(id);
    benchmark::DoNotOptimize(failures);
    Duration d = BackoffDelay(policy, id, failures);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BackoffDelay)->Arg(1)->Arg(9);

// The most frequent step: the shard's timer wakes an active identity whose
// renewal point is still ahead (nothing persisted, no effect).
void BM_StepDueNotYetDue(benchmark::State& state) {
  RenewalPolicy policy;
  BoringHasher hasher;
  auto record = TypicalRecord(TypicalId(42), policy, hasher);
  if (!record.ok()) return state.SkipWithError(record.status().ToString().c_str());
  const Instant now = record->current->issued_at + Duration::Hours(1);
  Event due;
  due.type = EventType::kDue;
  for (auto _ : state) {
    StepResult res = Step(*record, due, now, policy);
    benchmark::DoNotOptimize(res);
  }
  StepResult check = Step(*record, due, now, policy);
  if (check.persist || !check.effects.empty()) state.SkipWithError("kDue before the renewal point did something");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StepDueNotYetDue);

// The five steps of one scheduled rotation of a typical identity, recorded
// once so that the benchmark replays exactly what the machine asks for.
Status RecordRotation(const RenewalPolicy& policy, std::vector<AppliedStep>* steps, Instant* now) {
  BoringHasher hasher;
  auto record = TypicalRecord(TypicalId(42), policy, hasher);
  if (!record.ok()) return record.status();
  *now = record->next_due;
  Event due;
  due.type = EventType::kDue;
  ROTOR_RETURN_IF_ERROR(Settle(&*record, due, *now, policy, hasher, nullptr, steps));
  const EventType expected[] = {EventType::kDue, EventType::kGenerated, EventType::kDelivered, EventType::kVerified,
                                EventType::kActivated};
  if (steps->size() != std::size(expected)) {
    return Internal("a rotation took " + std::to_string(steps->size()) + " steps");
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    if ((*steps)[i].event.type != expected[i]) return Internal("unexpected rotation step order");
  }
  return Status::Ok();
}

// One Step of a rotation in flight, each event on its own record:
// due (starts the rotation) -> generated -> delivered -> verified -> activated.
void BM_StepRotationEvent(benchmark::State& state, size_t index) {
  RenewalPolicy policy;
  std::vector<AppliedStep> steps;
  Instant now;
  if (Status s = RecordRotation(policy, &steps, &now); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  const AppliedStep& step = steps[index];
  for (auto _ : state) {
    StepResult res = Step(step.before, step.event, now, policy);
    benchmark::DoNotOptimize(res);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_StepRotationEvent, due, 0);
BENCHMARK_CAPTURE(BM_StepRotationEvent, generated, 1);
BENCHMARK_CAPTURE(BM_StepRotationEvent, delivered, 2);
BENCHMARK_CAPTURE(BM_StepRotationEvent, verified, 3);
BENCHMARK_CAPTURE(BM_StepRotationEvent, activated, 4);

// A whole rotation, each step fed the previous step's record. Items are
// steps; the "rotations" counter is whole rotations per second.
void BM_StepRotationSequence(benchmark::State& state) {
  RenewalPolicy policy;
  std::vector<AppliedStep> steps;
  Instant now;
  if (Status s = RecordRotation(policy, &steps, &now); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  const RotationRecord& start = steps.front().before;
  for (auto _ : state) {
    RotationRecord record = start;
    for (const AppliedStep& step : steps) {
      StepResult res = Step(record, step.event, now, policy);
      record = std::move(res.record);
    }
    benchmark::DoNotOptimize(record);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(steps.size()));
  state.counters["rotations"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StepRotationSequence);

// The persisted binary form of a typical resting record (what every
// StateStore::Commit and every load at start pays per identity).
void BM_EncodeRecord(benchmark::State& state) {
  RenewalPolicy policy;
  BoringHasher hasher;
  auto record = TypicalRecord(TypicalId(42), policy, hasher);
  if (!record.ok()) return state.SkipWithError(record.status().ToString().c_str());
  size_t size = 0;
  for (auto _ : state) {
    std::string bytes = EncodeRecord(*record);
    size = bytes.size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  state.counters["record_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_EncodeRecord);

void BM_DecodeRecord(benchmark::State& state) {
  RenewalPolicy policy;
  BoringHasher hasher;
  auto record = TypicalRecord(TypicalId(42), policy, hasher);
  if (!record.ok()) return state.SkipWithError(record.status().ToString().c_str());
  const std::string bytes = EncodeRecord(*record);
  for (auto _ : state) {
    auto decoded = DecodeRecord(bytes);
    benchmark::DoNotOptimize(decoded);
  }
  auto check = DecodeRecord(bytes);
  if (!check.ok() || !(*check == *record)) state.SkipWithError("DecodeRecord does not round-trip");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeRecord);

}  // namespace
}  // namespace rotor::bench
