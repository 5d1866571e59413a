// connectors/embedded: LmdbStateStore::Commit, the durability point of every
// state change — one write transaction (records + their outbox lines) and
// LMDB's syncs at its commit. Real time: the figure is mostly waiting for the
// device, which CPU time would not see.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/scratch_dir.h"
#include "bench/typical_identity.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/embedded/lmdb_state_store.h"

namespace rotor::bench {
namespace {

// Identities in the store; each batch overwrites distinct ones of them.
constexpr size_t kPoolSize = 8192;
// The outbox is trimmed (untimed) whenever this many lines accumulated, as
// the journal sink does in the daemon, so the store stays at a steady size.
constexpr uint64_t kTrimEvery = 4096;

// Pool returns kPoolSize writes of typical records, each with an audit line
// of the typical size (a rotation.committed event). Built once.
const std::vector<StoreWrite>* Pool(Status* status) {
  static Status built_status;
  static const std::vector<StoreWrite> pool = [] {
    std::vector<StoreWrite> writes;
    RenewalPolicy policy;
    BoringHasher hasher;
    std::vector<std::string> lines;
    const std::string template_id = TypicalId(0);
    auto record = TypicalRecord(template_id, policy, hasher, &lines);
    if (!record.ok()) {
      built_status = record.status();
      return writes;
    }
    // TypicalRecord's history: 5 lines of the first issuance, 5 of the
    // rotation (the commit is the 10th line), the retirement.
    const std::string& committed = lines.at(9);
    if (committed.find("\"dev.rotor.rotation.committed\"") == std::string::npos) {
      built_status = Internal("the 10th line of a typical history is not rotation.committed");
      return writes;
    }
    writes.reserve(kPoolSize);
    for (size_t i = 0; i < kPoolSize; ++i) {
      StoreWrite w;
      w.record = *record;
      w.record.id = TypicalId(i);
      w.audit_line = committed;
      // Same-length ids: substitute in place.
      for (size_t pos = w.audit_line.find(template_id); pos != std::string::npos;
           pos = w.audit_line.find(template_id, pos + template_id.size())) {
        w.audit_line.replace(pos, template_id.size(), w.record.id);
      }
      writes.push_back(std::move(w));
    }
    return writes;
  }();
  *status = built_status;
  return &pool;
}

// Commit of range(0) records, each with its audit line, in one transaction.
// Items are records; "commits" is transactions per second.
void BM_LmdbCommit(benchmark::State& state) {
  const size_t batch_size = static_cast<size_t>(state.range(0));
  Status pool_status;
  const std::vector<StoreWrite>* pool = Pool(&pool_status);
  if (!pool_status.ok()) return state.SkipWithError(pool_status.ToString().c_str());

  ScratchDir dir("rotor-bench-store");
  if (!dir.status().ok()) return state.SkipWithError(dir.status().ToString().c_str());
  auto store = LmdbStateStore::Open(dir.path(), LmdbStateStore::OpenMode::kReadWrite);
  if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());

  // Every identity exists before the clock starts: timed commits overwrite
  // records, as rotations do, instead of inserting them.
  uint64_t outbox_seq = kPoolSize;
  uint64_t trimmed = outbox_seq;
  if (Status s = (*store)->Commit(*pool); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  if (Status s = (*store)->TrimOutbox(outbox_seq); !s.ok()) return state.SkipWithError(s.ToString().c_str());

  std::vector<std::vector<StoreWrite>> batches;
  for (size_t first = 0; first + batch_size <= pool->size(); first += batch_size) {
    batches.emplace_back(pool->begin() + static_cast<ptrdiff_t>(first),
                         pool->begin() + static_cast<ptrdiff_t>(first + batch_size));
  }

  size_t next = 0;
  for (auto _ : state) {
    if (Status s = (*store)->Commit(batches[next]); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    if (++next == batches.size()) next = 0;
    outbox_seq += batch_size;
    if (outbox_seq - trimmed >= kTrimEvery) {
      state.PauseTiming();
      Status s = (*store)->TrimOutbox(outbox_seq);
      state.ResumeTiming();
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        break;
      }
      trimmed = outbox_seq;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch_size));
  state.counters["commits"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
// Batch 1 waits for the device on every record: bounded by time, not count.
BENCHMARK(BM_LmdbCommit)->Arg(1)->Arg(64)->Arg(1024)->UseRealTime()->MinTime(0.5)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rotor::bench
