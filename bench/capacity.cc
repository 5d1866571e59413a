// rotor_capacity: the capacity harness for millions of identities (issue 4).
//
//   rotor_capacity memory N
//       Anonymous resident memory per idle identity. N settled API-key records
//       (bench/typical_identity.h: one made by the real state machine, cloned
//       under N ids) and a fleet naming all N are handed to a RotationRuntime
//       whose shards keep them resting; RssAnon from /proc/self/status is read
//       before the records are built and after the shards adopted them (and
//       the records were freed), then once more after malloc_trim(0).
//
//   rotor_capacity restart N DIR
//       Time from start to every identity scheduled. Fills DIR's LMDB store
//       with N settled records once (timed separately), then times what the
//       daemon does at start after parsing its fleet file: open the store,
//       Reconcile (read every record, compare with the fleet), hand the records
//       to the runtime, until every shard reports all its identities adopted.
//
// Prints one line of key=value pairs. Not a unit test: numbers are for
// docs/operator-guide.md, measured once on the target machine.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/runtime.h"
#include "app/reconcile.h"
#include "bench/rekey.h"
#include "bench/typical_identity.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "engine/fleet.h"
#include "engine/ports/clock.h"

namespace rotor::bench {
namespace {

long RssAnonKb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "RssAnon:") {
      in >> value;
      return value;
    }
    std::getline(in, key);
  }
  return -1;
}

// CpuSeconds: CPU time of the whole process (every thread) so far. On a
// shared machine it says what the work costs when wall time says how long
// it waited for a core.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CapacityId: "payments-api-<n, 8 digits>" (TypicalId wraps at a million).
std::string CapacityId(uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "payments-api-%08llu", static_cast<unsigned long long>(n));
  return buf;
}

RenewalPolicy CapacityPolicy() {
  RenewalPolicy p;
  p.name = "capacity";
  p.lifetime = Duration::Days(30);
  p.grace = Duration::Hours(1);
  return p;
}

std::shared_ptr<FleetSpec> CapacityFleet(uint64_t n) {
  auto fleet = std::make_shared<FleetSpec>();
  GroupSpec g;
  g.name = kBenchGroup;
  g.policy = CapacityPolicy();
  g.identities.reserve(n);
  for (uint64_t i = 0; i < n; ++i) g.identities.push_back(CapacityId(i));
  fleet->groups.push_back(std::move(g));
  return fleet;
}

// Records: one typical record cloned under each id. The chain hash is the
// template's (same size as any other), next_due spread over a day.
std::vector<RotationRecord> CapacityRecords(uint64_t n, const Hasher& hasher) {
  auto tmpl = TypicalRecord(TypicalId(0), CapacityPolicy(), hasher);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "rotor_capacity: %s\n", tmpl.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<RotationRecord> records;
  records.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    RotationRecord r = *tmpl;
    r.id = CapacityId(i);
    r.next_due = SystemClock().Now() + Duration::Days(5) + Duration::Micros(static_cast<int64_t>(i * 86'400));
    records.push_back(std::move(r));
  }
  return records;
}

std::unique_ptr<RotationRuntime> IdleRuntime(const Clock* clock, StateStore* store) {
  RuntimePorts ports;
  ports.clock = clock;
  ports.store = store;  // nothing is due: no port besides the clock is called
  return RotationRuntime::Create(ports, RuntimeOptions{});
}

// WaitAdopted polls until the shards report `n` identities.
void WaitAdopted(RotationRuntime& runtime, uint64_t n) {
  for (;;) {
    const uint64_t seen = runtime.Snapshot().identities;
    if (seen >= n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int Memory(uint64_t n) {
  SystemClock clock;
  BoringHasher hasher;
  auto runtime = IdleRuntime(&clock, nullptr);
  const long before = RssAnonKb();
  {
    auto fleet = CapacityFleet(n);
    std::vector<RotationRecord> records = CapacityRecords(n, hasher);
    const auto t0 = std::chrono::steady_clock::now();
    runtime->Start(fleet, std::move(records), {}, {});
    WaitAdopted(*runtime, n);
    const double adopt_seconds = SecondsSince(t0);
    const long after = RssAnonKb();
    malloc_trim(0);
    const long trimmed = RssAnonKb();
    std::printf(
        "mode=memory identities=%llu rss_anon_before_kb=%ld rss_anon_after_kb=%ld rss_anon_trimmed_kb=%ld "
        "bytes_per_identity=%.0f bytes_per_identity_trimmed=%.0f adopt_seconds=%.2f\n",
        static_cast<unsigned long long>(n), before, after, trimmed,
        static_cast<double>(after - before) * 1024.0 / static_cast<double>(n),
        static_cast<double>(trimmed - before) * 1024.0 / static_cast<double>(n), adopt_seconds);
    runtime->Stop(Duration::Seconds(10));
  }
  return 0;
}

int Restart(uint64_t n, const std::string& dir) {
  SystemClock clock;
  BoringHasher hasher;
  auto fleet = CapacityFleet(n);
  {
    auto store = LmdbStateStore::Open(dir, LmdbStateStore::OpenMode::kReadWrite);
    if (!store.ok()) {
      std::fprintf(stderr, "rotor_capacity: %s: %s\n", dir.c_str(), store.status().ToString().c_str());
      return 1;
    }
    auto count = (*store)->Count();
    if (count.ok() && *count < n) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<RotationRecord> records = CapacityRecords(n, hasher);
      std::vector<StoreWrite> batch;
      for (auto& r : records) {
        batch.push_back(StoreWrite{std::move(r), {}});
        if (batch.size() == 10000) {
          if (Status s = (*store)->Commit(batch); !s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
          batch.clear();
        }
      }
      if (Status s = (*store)->Commit(batch); !s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
      std::printf("mode=fill identities=%llu seconds=%.2f\n", static_cast<unsigned long long>(n), SecondsSince(t0));
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  auto store = LmdbStateStore::Open(dir, LmdbStateStore::OpenMode::kReadWrite);
  if (!store.ok()) return 1;
  auto plan = app::Reconcile(**store, *fleet, hasher, clock.Now(), "rotor://capacity");
  if (!plan.ok()) {
    std::fprintf(stderr, "rotor_capacity: %s\n", plan.status().ToString().c_str());
    return 1;
  }
  const double reconciled = SecondsSince(t0);
  const double reconciled_cpu = CpuSeconds() - cpu0;
  auto runtime = IdleRuntime(&clock, store->get());
  runtime->Start(fleet, std::move(plan->records), plan->removed_ids, plan->moved);
  WaitAdopted(*runtime, n);
  const double scheduled = SecondsSince(t0);
  const double scheduled_cpu = CpuSeconds() - cpu0;
  std::printf(
      "mode=restart identities=%llu reconcile_seconds=%.2f all_scheduled_seconds=%.2f reconcile_cpu_seconds=%.2f "
      "all_scheduled_cpu_seconds=%.2f\n",
      static_cast<unsigned long long>(n), reconciled, scheduled, reconciled_cpu, scheduled_cpu);
  runtime->Stop(Duration::Seconds(10));
  return 0;
}

}  // namespace
}  // namespace rotor::bench

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each result line as it comes, also into a file
  const std::string mode = argc > 1 ? argv[1] : "";
  const uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0;
  if (mode == "memory" && n > 0) return rotor::bench::Memory(n);
  if (mode == "restart" && n > 0 && argc > 3) return rotor::bench::Restart(n, argv[3]);
  if (mode == "rekey" && n > 0 && argc > 3) {
    rotor::bench::RekeyOptions options;
    bool ok = true;
    for (int i = 4; i < argc && ok; ++i) {
      const std::string arg = argv[i];
      const bool has_value = i + 1 < argc;
      if (arg == "--threads" && has_value) {
        options.threads = std::strtoul(argv[++i], nullptr, 10);
        ok = options.threads > 0 && options.threads <= 256;
      } else if (arg == "--ceiling" && has_value) {
        options.ceiling_count = std::strtoull(argv[++i], nullptr, 10);
        ok = options.ceiling_count > 0;
      } else if (arg == "--sink" && has_value) {
        const std::string sink = argv[++i];
        ok = sink == "none" || sink == "file";
        options.file_sink = sink == "file";
      } else {
        ok = false;
      }
    }
    if (ok) return rotor::bench::Rekey(n, argv[3], options);
  }
  std::fprintf(stderr,
               "usage: rotor_capacity memory N | rotor_capacity restart N DIR |\n"
               "       rotor_capacity rekey N DIR [--threads T] [--sink none|file] [--ceiling COUNT]\n");
  return 2;
}
