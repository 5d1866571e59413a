// rotor_capacity rekey: a forced rotation of N Ed25519 leaf certificates
// through the real runtime, against the crypto ceiling (issue 4).
//
// What runs is what `rotor run` wires, minus the control socket: an LMDB
// store and its audit journal in DIR (drained by the daemon's JournalDrainer),
// the managed CA (a P-256 intermediate, as the quickstart's), the X.509
// generator and the RotationRuntime (shards, identity actors, the crypto pool,
// the store writer's group commit, the file worker). The identities are one
// group shaped like the quickstart's payments-mtls (Ed25519 keys, O/OU/CN
// subject, two DNS names, a SPIFFE URI, server and client auth). They are
// declared and issued once (first run on DIR) and settled; then every one is
// rotated at once with runtime->Rotate(id), the loop `rotor rotate --all`
// runs in the daemon (an operator rotation).
//
// The ceiling, measured in the same process before and after the rotation:
// the BoringSSL calls X509Generator makes per certificate (profile
// expansion, key generation, signing, PEM encoding of certificate and key,
// fingerprint, notAfter) in a plain loop on the same number of threads.
//
// The delivery sink is `none` (the default: it keeps each version's files in
// memory from delivery until activation, which is what the verify step reads
// back, and writes nothing) or `file` (the real FileDeliverySink in DIR/out).
//
// CPU time per component is read per thread from /proc/self/task/*/stat:
// the runtime's worker threads are named (rotor-crypto, rotor-store,
// rotor-files, rotor-journal); CAF's scheduler threads and timer (actors:
// state machine, audit-event rendering and hashing, messaging) and the main
// thread (the request loop) are the rest.
#include "bench/rekey.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/runtime.h"
#include "app/disk_estimate.h"
#include "app/journal_drainer.h"
#include "app/reconcile.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/crypto/key_wrap.h"
#include "connectors/crypto/managed_ca.h"
#include "connectors/crypto/x509.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "connectors/files/file_delivery_sink.h"
#include "connectors/sinks/journal_sink.h"
#include "engine/fleet.h"
#include "engine/ports/clock.h"

namespace rotor::bench {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// RekeyId: "payments-api-<n, 8 digits>"; IndexOf reads n back.
std::string RekeyId(uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "payments-api-%08llu", static_cast<unsigned long long>(n));
  return buf;
}
constexpr size_t kIdPrefix = 13;  // "payments-api-"
int64_t IndexOf(const std::string& id) {
  if (id.size() != kIdPrefix + 8 || id.compare(0, kIdPrefix, "payments-api-") != 0) return -1;
  return std::strtoll(id.c_str() + kIdPrefix, nullptr, 10);
}

// The quickstart's payments-mtls profile, with a lifetime long enough that
// no routine renewal or retirement falls inside a measurement.
std::shared_ptr<FleetSpec> RekeyFleet(uint64_t n) {
  auto fleet = std::make_shared<FleetSpec>();
  GroupSpec g;
  g.name = "payments-mtls";
  g.kind = CredentialKind::kX509;
  g.policy.name = "service-mtls";
  g.policy.lifetime = Duration::Days(30);
  g.policy.grace = Duration::Hours(1);
  g.policy.max_issuances_per_window = 60;
  g.certificate.key_type = KeyType::kEd25519;
  g.certificate.subject = {{"O", "Example Corp"}, {"OU", "payments"}, {"CN", "{id}.payments.svc"}};
  g.certificate.dns = {"{id}.payments.svc", "{id}"};
  g.certificate.uris = {"spiffe://example.org/ns/payments/sa/{id}"};
  g.certificate.ext_key_usage = {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth};
  g.identities.reserve(n);
  for (uint64_t i = 0; i < n; ++i) g.identities.push_back(RekeyId(i));
  fleet->groups.push_back(std::move(g));
  return fleet;
}

// MemorySink: the `none` delivery sink. It writes nothing: a delivered
// version's files stay in memory until it is activated (the verify step
// reads them back before that), then only `current` is remembered.
class MemorySink final : public DeliverySink {
 public:
  std::vector<Status> Deliver(const std::vector<DeliverItem>& items) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& item : items) {
      Material copy;
      for (const auto& f : *item.files) copy.push_back({f.name, SecretBytes(std::string(f.bytes.view()))});
      pending_[Key(item.id, item.generation)] = std::move(copy);
    }
    return std::vector<Status>(items.size());
  }
  std::vector<Status> Activate(const std::vector<ActivateItem>& items) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& item : items) {
      pending_.erase(Key(item.id, item.generation));
      current_[item.id] = item.generation;
    }
    return std::vector<Status>(items.size());
  }
  std::vector<Status> Discard(const std::vector<DiscardItem>& items) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& item : items) {
      pending_.erase(Key(item.id, item.generation));
      current_[item.id] = item.restore_generation;
    }
    return std::vector<Status>(items.size());
  }
  std::vector<Status> Retire(const std::vector<ActivateItem>& items) override {
    return std::vector<Status>(items.size());
  }
  DeliveredPaths Paths(const std::string& id, uint64_t generation) const override {
    return {"memory:" + id + "/" + std::to_string(generation), "memory:" + id + "/current"};
  }
  StatusOr<Material> ReadBack(const std::string& id, uint64_t generation) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(Key(id, generation));
    if (it == pending_.end()) return NotFound("version " + std::to_string(generation) + " of " + id + " not held");
    Material copy;
    for (const auto& f : it->second) copy.push_back({f.name, SecretBytes(std::string(f.bytes.view()))});
    return copy;
  }
  StatusOr<uint64_t> CurrentGeneration(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = current_.find(id);
    return it == current_.end() ? 0 : it->second;
  }
  StatusOr<std::vector<uint64_t>> ListGenerations(const std::string& id) override {
    auto g = CurrentGeneration(id);
    if (!g.ok() || *g == 0) return std::vector<uint64_t>{};
    return std::vector<uint64_t>{*g};
  }

 private:
  static std::string Key(const std::string& id, uint64_t generation) { return id + "/" + std::to_string(generation); }
  std::mutex mu_;
  std::unordered_map<std::string, Material> pending_;  // guarded by mu_
  std::unordered_map<std::string, uint64_t> current_;  // guarded by mu_
};

// CommitClock wraps the store to note when each identity's rotation was
// committed (its rotation.committed event reached the store), for latency.
class CommitClock final : public StateStore {
 public:
  CommitClock(StateStore* inner, uint64_t n) : inner_(inner), committed_(n) {}
  void Arm(std::chrono::steady_clock::time_point t0) {
    t0_ = t0;
    armed_ = true;
  }
  // Latency in microseconds of identity i from `requested` (µs since t0).
  const std::vector<std::atomic<int64_t>>& committed() const { return committed_; }

  Status Commit(const std::vector<StoreWrite>& batch) override {
    Status s = inner_->Commit(batch);
    if (s.ok() && armed_) {
      const int64_t now =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0_).count();
      for (const auto& w : batch) {
        if (w.audit_line.find(".rotation.committed\"") == std::string::npos) continue;
        const int64_t i = IndexOf(w.record.id);
        if (i >= 0 && static_cast<size_t>(i) < committed_.size()) committed_[i].store(now);
      }
    }
    return s;
  }
  StatusOr<RotationRecord> Get(const std::string& id) override { return inner_->Get(id); }
  Status ForEach(const std::function<bool(const RotationRecord&)>& fn) override { return inner_->ForEach(fn); }
  StatusOr<std::vector<std::vector<RotationRecord>>> LoadAll(size_t threads) override {
    return inner_->LoadAll(threads);
  }
  StatusOr<uint64_t> Count() override { return inner_->Count(); }
  Status ForEachAdopted(const std::function<bool(const AdoptedIdentity&)>& fn) override {
    return inner_->ForEachAdopted(fn);
  }
  StatusOr<std::vector<OutboxEntry>> ReadOutbox(uint64_t after, size_t max) override {
    return inner_->ReadOutbox(after, max);
  }
  Status TrimOutbox(uint64_t upto) override { return inner_->TrimOutbox(upto); }
  StatusOr<std::string> GetSinkPosition(const std::string& sink) override { return inner_->GetSinkPosition(sink); }
  Status SetSinkPosition(const std::string& sink, const std::string& p) override {
    return inner_->SetSinkPosition(sink, p);
  }
  Status EnqueueCommand(const QueuedCommand& c) override { return inner_->EnqueueCommand(c); }
  StatusOr<std::vector<QueuedCommand>> TakeCommands() override { return inner_->TakeCommands(); }

 private:
  StateStore* inner_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<bool> armed_{false};
  std::vector<std::atomic<int64_t>> committed_;
};

// ThreadCpu: CPU seconds per thread name, from /proc/self/task/*/stat.
std::map<std::string, double> ThreadCpu() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const pid_t pid = getpid();
  DIR* d = opendir("/proc/self/task");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/stat");
    std::string line;
    std::getline(in, line);
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string name = line.substr(open + 1, close - open - 1);
    if (std::atoi(e->d_name) == pid) name = "main";
    // Fields after the name: state is field 3; utime 14, stime 15.
    std::vector<std::string> fields;
    size_t pos = close + 2;
    while (pos < line.size()) {
      size_t sp = line.find(' ', pos);
      if (sp == std::string::npos) sp = line.size();
      fields.push_back(line.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (fields.size() < 13) continue;
    out[name] += (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) / tick;
  }
  closedir(d);
  return out;
}

// Component names the threads: ours are named; the rest of the runtime's are
// CAF's (the scheduler's workers and its timer).
std::string ComponentOf(const std::string& thread) {
  if (thread == "rotor-crypto") return "crypto_pool";
  if (thread == "rotor-store") return "store_writer";
  if (thread == "rotor-files") return "file_worker";
  if (thread == "rotor-journal") return "journal";
  if (thread == "main") return "requests";
  return "actors";
}

std::map<std::string, double> ComponentCpu() {
  std::map<std::string, double> out;
  for (const auto& [thread, seconds] : ThreadCpu()) out[ComponentOf(thread)] += seconds;
  return out;
}

// Ceiling: the BoringSSL calls of X509Generator::Generate in a plain loop.
struct CeilingResult {
  double per_second = 0;
  double cpu_us_per_cert = 0;
};
// With `leaf_signature_check`, each certificate's signature is also checked
// under the issuer's key as the verify step does (x509::SignedBy): not the
// ceiling, but the crypto a rotation cannot do without while it verifies.
CeilingResult Ceiling(const ManagedCa& ca, const GroupSpec& group, uint64_t n, size_t threads,
                      bool leaf_signature_check = false) {
  auto issuer = ca.CurrentIssuer();
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<size_t> sink{0};
  const Instant now = SystemClock().Now();
  auto work = [&] {
    for (uint64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      const Instant not_after = std::min(now + group.policy.lifetime, issuer->not_after);
      const CertificateRequest req = ExpandProfile(group.certificate, RekeyId(i), now, not_after);
      auto key = x509::GenerateKey(group.certificate.key_type);
      if (!key.ok()) return (void)(failed = true);
      auto cert = x509::SignCertificate(req, key->get(), issuer->cert.get(), issuer->key.get());
      if (!cert.ok()) return (void)(failed = true);
      SecretBytes key_pem = x509::PrivateKeyPem(key->get());
      const std::string cert_pem = x509::CertificatePem(cert->get());
      const std::string fingerprint = x509::Fingerprint(cert->get());
      const Instant expires = x509::NotAfter(cert->get());
      if (leaf_signature_check && !x509::SignedBy(cert->get(), issuer->cert.get())) return (void)(failed = true);
      sink += key_pem.view().size() + cert_pem.size() + fingerprint.size() + (expires.micros & 1);
    }
  };
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  const double seconds = SecondsSince(t0);
  const double cpu = ProcessCpuSeconds() - cpu0;
  if (failed || sink == 0) {
    std::fprintf(stderr, "rotor_capacity: the ceiling loop failed to issue a certificate\n");
    std::exit(1);
  }
  return {static_cast<double>(n) / seconds, cpu * 1e6 / static_cast<double>(n)};
}

// WaitSettled polls until no identity is rotating or due.
void WaitSettled(RotationRuntime& runtime, uint64_t n) {
  for (;;) {
    const RuntimeSnapshot s = runtime.Snapshot();
    if (s.identities >= n && s.active_actors == 0 && s.due == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// OutboxEnd returns the seq of the outbox's last entry after `from`.
uint64_t OutboxEnd(StateStore& store, uint64_t from) {
  uint64_t last = from;
  for (;;) {
    auto batch = store.ReadOutbox(last, 65536);
    if (!batch.ok() || batch->empty()) return last;
    last = batch->back().seq;
  }
}

uint64_t EventsPersisted(RotationRuntime& runtime) {
  return runtime.counters().events_persisted.load();
}

}  // namespace

int Rekey(uint64_t n, const std::string& dir, const RekeyOptions& opt) {
  SystemClock clock;
  BoringHasher hasher;
  auto fleet = RekeyFleet(n);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "rotor_capacity: cannot create %s: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  auto lmdb = LmdbStateStore::Open(dir, LmdbStateStore::OpenMode::kReadWrite);
  if (!lmdb.ok()) {
    std::fprintf(stderr, "rotor_capacity: %s: %s\n", dir.c_str(), lmdb.status().ToString().c_str());
    return 1;
  }
  const uint64_t stored = (*lmdb)->Count().ok() ? *(*lmdb)->Count() : 0;
  {
    // What this run writes: the declarations (first run) and one rotation of
    // every identity, as the daemon estimates it (store, journal, out/).
    app::DiskEstimate need = app::EstimateDisk(*fleet, n > stored ? n - stored : 0);
    if (!opt.file_sink) need.delivery_bytes = 0;
    std::printf("mode=rekey disk_needed=%s (store %s, journal %s, delivered %s)\n",
                app::HumanBytes(need.total()).c_str(), app::HumanBytes(need.store_bytes).c_str(),
                app::HumanBytes(need.journal_bytes).c_str(), app::HumanBytes(need.delivery_bytes).c_str());
    if (Status room = app::CheckFreeSpace(dir, need, std::nullopt); !room.ok()) {
      std::fprintf(stderr, "rotor_capacity: %s\n", room.message().c_str());
      return 1;
    }
  }
  auto journal = AuditJournal::Open(dir, **lmdb, {});
  if (!journal.ok()) {
    std::fprintf(stderr, "rotor_capacity: audit journal: %s\n", journal.status().ToString().c_str());
    return 1;
  }
  CommitClock store(lmdb->get(), n);

  // The managed CA: a P-256 root and intermediate, as in the quickstart.
  auto kek = KeyEncryptionKey::FromBytes(std::string(32, '\x42'));
  CaSpec ca_spec;
  ca_spec.key_type = KeyType::kP256;
  auto ca = ManagedCa::Open(dir + "/ca", ca_spec, std::move(*kek), /*create=*/true);
  if (!ca.ok()) return std::fprintf(stderr, "rotor_capacity: CA: %s\n", ca.status().ToString().c_str()), 1;
  auto ca_files = FileDeliverySink::Open(dir + "/ca");
  if (!ca_files.ok()) return std::fprintf(stderr, "rotor_capacity: %s\n", ca_files.status().ToString().c_str()), 1;
  if (Status s = (*ca)->Refresh(**ca_files); !s.ok() || !(*ca)->CurrentIssuer()) {
    const Instant now = clock.Now();
    auto c = (*ca)->NewIntermediate(1, now, now + Duration::Days(365));
    if (!c.ok()) return std::fprintf(stderr, "rotor_capacity: %s\n", c.status().ToString().c_str()), 1;
    (void)(*ca_files)->Deliver({{kCaIdentityId, 1, &c->files}});
    (void)(*ca_files)->Activate({{kCaIdentityId, 1}});
    if (Status r = (*ca)->Refresh(**ca_files); !r.ok()) {
      return std::fprintf(stderr, "rotor_capacity: CA: %s\n", r.ToString().c_str()), 1;
    }
  }
  X509Generator generator(ca->get());
  std::unique_ptr<DeliverySink> leaves;
  if (opt.file_sink) {
    auto files = FileDeliverySink::Open(dir + "/out");
    if (!files.ok()) return std::fprintf(stderr, "rotor_capacity: %s\n", files.status().ToString().c_str()), 1;
    leaves = std::move(*files);
  } else {
    leaves = std::make_unique<MemorySink>();
  }

  const size_t threads = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  RuntimeOptions options;
  options.crypto_threads = threads;
  options.audit_source = "/rotor/capacity";
  RuntimePorts ports{&clock, &hasher, &store, &generator, leaves.get(), nullptr, nullptr};

  auto runtime = RotationRuntime::Create(ports, options);
  // Every event the drainer will have to journal: the backlog at open, then
  // the declarations and every event the runtime persists.
  const uint64_t journal_seq0 = journal->get()->position().seq;
  const uint64_t backlog = OutboxEnd(**lmdb, journal_seq0) - journal_seq0;
  uint64_t declared = 0;
  app::JournalDrainer drainer(journal->get());
  auto wait_journaled = [&] {
    while (drainer.drained() < backlog + declared + EventsPersisted(*runtime)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  {
    const auto t0 = std::chrono::steady_clock::now();
    auto plan = app::Reconcile(store, *fleet, hasher, clock.Now(), "/rotor/capacity");
    if (!plan.ok()) return std::fprintf(stderr, "rotor_capacity: %s\n", plan.status().ToString().c_str()), 1;
    declared = plan->declared;
    runtime->Start(fleet, std::move(plan->records), plan->removed_ids, plan->moved);
    WaitSettled(*runtime, n);
    if (declared > 0) {
      std::printf("mode=rekey phase=first_issuance identities=%llu seconds=%.1f\n",
                  static_cast<unsigned long long>(declared), SecondsSince(t0));
    }
  }
  {
    const RuntimeSnapshot s = runtime->Snapshot();
    auto active = s.by_phase.find("active");
    if (active == s.by_phase.end() || active->second != n) {
      std::fprintf(stderr, "rotor_capacity: %llu of %llu identities active after the first issuance\n",
                   static_cast<unsigned long long>(active == s.by_phase.end() ? 0 : active->second),
                   static_cast<unsigned long long>(n));
      return 1;
    }
  }
  // Let the journal catch up, so the measured window drains only this run.
  wait_journaled();

  const uint64_t ceiling_n = opt.ceiling_count ? opt.ceiling_count : std::min<uint64_t>(n, 200000);
  const CeilingResult before = Ceiling(**ca, fleet->groups[0], ceiling_n, threads);

  // The forced rotation: what `rotor rotate --all` does in the daemon.
  const RuntimeCounters& counters = runtime->counters();
  const uint64_t committed0 = counters.rotations_committed.load();
  const uint64_t failed0 = counters.rotations_failed.load();
  std::vector<int64_t> requested(n);
  const std::map<std::string, double> cpu0 = ComponentCpu();
  const double process_cpu0 = ProcessCpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  store.Arm(t0);
  uint64_t refused = 0;
  for (uint64_t i = 0; i < n; ++i) {
    requested[i] = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!runtime->Rotate(fleet->groups[0].identities[i]).ok()) ++refused;
  }
  const double requests_seconds = SecondsSince(t0);
  while (counters.rotations_committed.load() + counters.rotations_failed.load() - committed0 - failed0 < n - refused) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double committed_seconds = SecondsSince(t0);
  const std::map<std::string, double> cpu_committed = ComponentCpu();
  const double process_cpu = ProcessCpuSeconds() - process_cpu0;
  const uint64_t committed = counters.rotations_committed.load() - committed0;
  // The journal has every event of the rotation.
  wait_journaled();
  const double journaled_seconds = SecondsSince(t0);
  const std::map<std::string, double> cpu1 = ComponentCpu();

  const CeilingResult after = Ceiling(**ca, fleet->groups[0], ceiling_n, threads);
  const CeilingResult with_check = Ceiling(**ca, fleet->groups[0], ceiling_n, threads, /*leaf_signature_check=*/true);

  std::vector<int64_t> latency;
  latency.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const int64_t c = store.committed()[i].load();
    if (c > 0) latency.push_back(c - requested[i]);
  }
  std::sort(latency.begin(), latency.end());
  auto pct = [&](double p) {
    return latency.empty() ? 0.0 : static_cast<double>(latency[static_cast<size_t>(p * (latency.size() - 1))]) / 1e6;
  };
  const double rate = static_cast<double>(committed) / committed_seconds;
  const double ceiling = (before.per_second + after.per_second) / 2;
  std::printf(
      "mode=rekey identities=%llu threads=%zu sink=%s committed=%llu refused=%llu failed=%llu requests_seconds=%.2f "
      "committed_seconds=%.2f journaled_seconds=%.2f rotations_per_s=%.0f ceiling_per_s=%.0f (before %.0f, after "
      "%.0f) ratio=%.3f latency_p50_s=%.2f latency_p99_s=%.2f cpu_us_per_rotation=%.1f "
      "ceiling_cpu_us_per_cert=%.1f with_leaf_signature_check_per_s=%.0f (cpu_us_per_cert=%.1f) "
      "ratio_to_it=%.3f\n",
      static_cast<unsigned long long>(n), threads, opt.file_sink ? "file" : "none",
      static_cast<unsigned long long>(committed), static_cast<unsigned long long>(refused),
      static_cast<unsigned long long>(counters.rotations_failed.load() - failed0), requests_seconds, committed_seconds,
      journaled_seconds, rate, ceiling, before.per_second, after.per_second, rate / ceiling, pct(0.5), pct(0.99),
      process_cpu * 1e6 / static_cast<double>(n), (before.cpu_us_per_cert + after.cpu_us_per_cert) / 2,
      with_check.per_second, with_check.cpu_us_per_cert, rate / with_check.per_second);
  std::printf("mode=rekey cpu_us_per_rotation_by_thread:");
  for (const auto& [component, seconds] : cpu1) {
    auto c0 = cpu0.find(component);
    auto cc = cpu_committed.find(component);
    const double until_committed = (cc == cpu_committed.end() ? 0 : cc->second) - (c0 == cpu0.end() ? 0 : c0->second);
    const double total = seconds - (c0 == cpu0.end() ? 0 : c0->second);
    std::printf(" %s=%.1f", component.c_str(), total * 1e6 / static_cast<double>(n));
    if (until_committed + 1e-9 < total)
      std::printf("(%.1f until committed)", until_committed * 1e6 / static_cast<double>(n));
  }
  std::printf("\n");
  runtime->Stop(Duration::Seconds(30));
  drainer.Stop();
  return committed == n ? 0 : 1;
}

}  // namespace rotor::bench
