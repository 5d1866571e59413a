// connectors/files: FileDeliverySink::Deliver then Activate of one batch of
// rotations — per identity a new version directory and 0600 secret, then the
// `current` symlink switched to it; one syncfs per call. Real time: the
// figure is mostly waiting for the device.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/scratch_dir.h"
#include "bench/typical_identity.h"
#include "connectors/crypto/api_key_generator.h"
#include "connectors/files/file_delivery_sink.h"
#include "engine/rotation.h"

namespace rotor::bench {
namespace {

// FirstFailure returns the first failed status of a batch, or OK.
Status FirstFailure(const std::vector<Status>& results) {
  for (const Status& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Deliver + Activate of range(0) identities, each rotating from generation
// g-1 to g. The previous version is retired untimed after each batch (the
// grace window ends), so the tree keeps one or two versions per identity.
// Items are identities rotated.
void BM_FileDeliverActivate(benchmark::State& state) {
  const size_t batch_size = static_cast<size_t>(state.range(0));
  ScratchDir dir("rotor-bench-out");
  if (!dir.status().ok()) return state.SkipWithError(dir.status().ToString().c_str());
  auto sink = FileDeliverySink::Open(dir.path() + "/out");
  if (!sink.ok()) return state.SkipWithError(sink.status().ToString().c_str());

  ApiKeyGenerator generator;
  std::vector<Material> keys;
  std::vector<DeliverySink::DeliverItem> deliver;
  std::vector<DeliverySink::ActivateItem> activate;
  for (size_t i = 0; i < batch_size; ++i) {
    RotationRecord record = NewRecord(TypicalId(i), kBenchGroup, CredentialKind::kApiKey, kBenchEpoch);
    const CredentialVersion version{1, kBenchEpoch, kBenchEpoch, ""};
    auto candidate = generator.Generate(CredentialJob{&record, &version, nullptr, kBenchEpoch});
    if (!candidate.ok()) return state.SkipWithError(candidate.status().ToString().c_str());
    keys.push_back(std::move(candidate->files));
  }
  for (size_t i = 0; i < batch_size; ++i) {
    deliver.push_back({TypicalId(i), 1, &keys[i]});
    activate.push_back({TypicalId(i), 1});
  }
  // Generation 1 is current before the clock starts: every timed batch is a
  // rotation, not a first issuance.
  if (Status s = FirstFailure((*sink)->Deliver(deliver)); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  if (Status s = FirstFailure((*sink)->Activate(activate)); !s.ok()) return state.SkipWithError(s.ToString().c_str());

  std::vector<DeliverySink::ActivateItem> retire = activate;
  for (uint64_t generation = 2; auto _ : state) {
    for (size_t i = 0; i < batch_size; ++i) {
      deliver[i].generation = generation;
      activate[i].generation = generation;
    }
    if (Status s = FirstFailure((*sink)->Deliver(deliver)); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    if (Status s = FirstFailure((*sink)->Activate(activate)); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    state.PauseTiming();
    Status retired = FirstFailure((*sink)->Retire(retire));
    for (size_t i = 0; i < batch_size; ++i) retire[i].generation = generation;
    ++generation;
    state.ResumeTiming();
    if (!retired.ok()) {
      state.SkipWithError(retired.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch_size));
  state.counters["batches"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FileDeliverActivate)
    ->Arg(1)
    ->Arg(64)
    ->Arg(256)
    ->UseRealTime()
    ->MinTime(0.5)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rotor::bench
