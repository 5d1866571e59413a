// engine/audit: rendering a state change as the next CloudEvent of its
// identity's hash chain, and checking journal lines (rotor audit verify).
// Both use BoringSSL's SHA-256, as the daemon does.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/typical_identity.h"
#include "connectors/crypto/boring_hasher.h"
#include "engine/audit.h"
#include "engine/rotation.h"

namespace rotor::bench {
namespace {

// ChainAuditEvent per event, cycling through the five audit facts of one
// scheduled rotation (rotation.started ... rotation.committed).
void BM_ChainAuditEvent(benchmark::State& state) {
  RenewalPolicy policy;
  BoringHasher hasher;
  auto record = TypicalRecord(TypicalId(42), policy, hasher);
  if (!record.ok()) return state.SkipWithError(record.status().ToString().c_str());
  const Instant now = record->next_due;
  std::vector<AppliedStep> steps;
  Event due;
  due.type = EventType::kDue;
  RotationRecord rotated = *record;
  if (Status s = Settle(&rotated, due, now, policy, hasher, nullptr, &steps); !s.ok()) {
    return state.SkipWithError(s.ToString().c_str());
  }
  std::vector<AuditFact> facts;
  for (const AppliedStep& step : steps) {
    StepResult res = Step(step.before, step.event, now, policy);
    if (res.persist) facts.push_back(std::move(res.audit));
  }
  size_t next = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    std::string line = ChainAuditEvent(hasher, facts[next], now, kAuditSource, &*record);
    bytes += static_cast<int64_t>(line.size());
    benchmark::DoNotOptimize(line);
    if (++next == facts.size()) next = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_ChainAuditEvent);

// ChainVerifier::Feed per journal line: parse, canonical-form check,
// sequence and prevhash linkage, SHA-256. The journal interleaves the chains
// of kIdentities identities, each declared, issued and rotated kRotations
// times with its retirements, as a daemon writes it.
void BM_ChainVerifierFeed(benchmark::State& state) {
  constexpr int kIdentities = 64;
  constexpr int kRotations = 4;
  RenewalPolicy policy;
  BoringHasher hasher;
  std::vector<std::vector<std::string>> per_identity(kIdentities);
  std::vector<RotationRecord> records;
  for (int i = 0; i < kIdentities; ++i) {
    auto record = TypicalRecord(TypicalId(static_cast<uint64_t>(i)), policy, hasher, &per_identity[i]);
    if (!record.ok()) return state.SkipWithError(record.status().ToString().c_str());
    records.push_back(std::move(*record));
  }
  for (int wake = 0; wake < 2 * kRotations; ++wake) {  // a rotation, then its retirement
    for (int i = 0; i < kIdentities; ++i) {
      auto at = SettleNextWake(&records[i], policy, hasher, &per_identity[i]);
      if (!at.ok()) return state.SkipWithError(at.status().ToString().c_str());
    }
  }
  // Round-robin over identities: the chains interleave like a shard's journal.
  size_t total = 0;
  for (const auto& lines : per_identity) total += lines.size();
  std::vector<std::string> journal;
  for (size_t n = 0; journal.size() < total; ++n) {
    for (auto& lines : per_identity) {
      if (n < lines.size()) journal.push_back(lines[n]);
    }
  }

  auto verifier = std::make_unique<ChainVerifier>(hasher);
  size_t next = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    Status s = verifier->Feed(journal[next]);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    bytes += static_cast<int64_t>(journal[next].size());
    if (++next == journal.size()) {
      // The journal starts over: a fresh verifier, as for the next run of
      // audit verify. Amortised over the whole journal.
      next = 0;
      verifier = std::make_unique<ChainVerifier>(hasher);
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
  state.counters["journal_lines"] = static_cast<double>(journal.size());
}
BENCHMARK(BM_ChainVerifierFeed);

}  // namespace
}  // namespace rotor::bench
