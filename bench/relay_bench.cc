// rotor_relay_bench: the Kafka relay's throughput, in its own executable
// because it links librdkafka (OpenSSL 3), which must never share a process
// with BoringSSL (ARCHITECTURE §5) — rotor_bench links BoringSSL.
//
// BM_RelayAckedVersusJournal: an LMDB outbox of kEvents realistic audit
// lines (kIdentities identities) is shipped by KafkaRelay to librdkafka's mock
// cluster (three brokers on loopback, in this process) until every event is
// acknowledged by a positive delivery report and the position recorded. The
// baseline, measured on the same outbox in the same iteration, is the local
// journal sink draining it (append, one fsync per 8192, position recorded).
// Counters: events/s of each, and relay_vs_journal = relay rate / journal rate.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/scratch_dir.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "connectors/kafka/kafka_relay.h"
#include "connectors/kafka/mock_cluster.h"
#include "connectors/sinks/journal_sink.h"
#include "engine/audit.h"
#include "engine/rotation.h"

namespace rotor::bench {
namespace {

constexpr int kIdentities = 10000;
constexpr int kEventsPerIdentity = 20;
constexpr int kEvents = kIdentities * kEventsPerIdentity;

// Not SHA-256: the relay never hashes, it only needs lines of the real shape
// and size, and this executable must not link BoringSSL.
class ShapeHasher : public Hasher {
 public:
  std::array<uint8_t, 32> Sha256(std::string_view data) const override {
    std::array<uint8_t, 32> out{};
    uint64_t h = std::hash<std::string_view>{}(data);
    for (size_t i = 0; i < out.size(); ++i) {
      h = h * 6364136223846793005ULL + 1442695040888963407ULL;
      out[i] = static_cast<uint8_t>(h >> 56);
    }
    return out;
  }
};

// FillOutbox commits kEvents audit lines, a rotation's worth of facts per
// identity in turn, in batches as the daemon's store writer does.
Status FillOutbox(StateStore& store) {
  ShapeHasher hasher;
  std::vector<RotationRecord> records(kIdentities);
  for (int i = 0; i < kIdentities; ++i) records[i].id = "payments-api-" + std::to_string(100000 + i);
  const char* types[] = {"rotation.started", "credential.issued", "credential.delivered", "credential.verified",
                         "rotation.committed"};
  std::vector<StoreWrite> batch;
  for (int round = 0; round < kEventsPerIdentity; ++round) {
    for (int i = 0; i < kIdentities; ++i) {
      AuditFact fact;
      fact.type = types[round % 5];
      fact.data["phase"] = std::string("delivering");
      fact.data["generation"] = int64_t{round / 5 + 2};
      fact.data["fingerprint"] = std::string("sha256:") + std::string(64, 'a' + (i % 6));
      fact.data["not_after"] = std::string("2026-12-05T03:39:10.238Z");
      const Instant now = Instant::FromMicros(1'796'000'000'000'000 + int64_t{round} * 1'000'000 + i);
      StoreWrite w;
      w.audit_line = ChainAuditEvent(hasher, fact, now, "/rotor/bench", &records[i]);
      w.record = records[i];
      batch.push_back(std::move(w));
      if (batch.size() == 1024) {
        ROTOR_RETURN_IF_ERROR(store.Commit(batch));
        batch.clear();
      }
    }
  }
  if (!batch.empty()) ROTOR_RETURN_IF_ERROR(store.Commit(batch));
  return Status::Ok();
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void BM_RelayAckedVersusJournal(benchmark::State& state) {
  ScratchDir dir("rotor-relay-bench");
  if (!dir.status().ok()) return state.SkipWithError(dir.status().ToString().c_str());
  auto store = LmdbStateStore::Open(dir.path(), LmdbStateStore::OpenMode::kReadWrite);
  if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
  if (Status s = FillOutbox(**store); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  auto cluster = MockKafkaCluster::Start(3, "rotor.audit", 12);
  if (!cluster.ok()) return state.SkipWithError(cluster.status().ToString().c_str());

  double relay_rate = 0, journal_rate = 0;
  int runs = 0;
  for (auto _ : state) {
    // Baseline: the journal sink drains the same outbox. A sink that never
    // records a position ("bench-hold") keeps the outbox from being trimmed.
    std::filesystem::remove_all(dir.path() + "/audit");
    (void)(*store)->SetSinkPosition(kJournalSinkName, "0 1 0");
    AuditJournalOptions jopt;
    jopt.trim_sinks = {kJournalSinkName, "bench-hold"};
    const auto j0 = std::chrono::steady_clock::now();
    auto journal = AuditJournal::Open(dir.path(), **store, jopt);
    if (!journal.ok()) return state.SkipWithError(journal.status().ToString().c_str());
    size_t drained = 0;
    while (true) {
      auto n = (*journal)->DrainOnce(8192);
      if (!n.ok()) return state.SkipWithError(n.status().ToString().c_str());
      if (*n == 0) break;
      drained += *n;
    }
    const double journal_s = Seconds(std::chrono::steady_clock::now() - j0);

    // The relay: read, produce, every delivery report positive, position recorded.
    (void)(*store)->SetSinkPosition("kafka", "0");
    KafkaRelayOptions options;
    options.bootstrap = (*cluster)->bootstrap();
    auto relay = KafkaRelay::Create(**store, options);
    if (!relay.ok()) return state.SkipWithError(relay.status().ToString().c_str());
    std::atomic<bool> stop{false};
    const auto r0 = std::chrono::steady_clock::now();
    Status run = (*relay)->Run(stop, /*until_idle=*/true);
    const double relay_s = Seconds(std::chrono::steady_clock::now() - r0);
    if (!run.ok()) return state.SkipWithError(run.ToString().c_str());
    if ((*relay)->acknowledged() != static_cast<uint64_t>(kEvents) || drained != static_cast<size_t>(kEvents)) {
      return state.SkipWithError("not every event was shipped");
    }
    state.SetIterationTime(relay_s);
    relay_rate += kEvents / relay_s;
    journal_rate += kEvents / journal_s;
    ++runs;
  }
  state.SetItemsProcessed(int64_t{kEvents} * state.iterations());
  state.counters["relay_events_per_s"] = relay_rate / runs;
  state.counters["journal_events_per_s"] = journal_rate / runs;
  state.counters["relay_vs_journal"] = relay_rate / journal_rate;
}
BENCHMARK(BM_RelayAckedVersusJournal)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rotor::bench

BENCHMARK_MAIN();
