// The crypto pool against its ceiling: whole leaf certificates (key
// generation, signing by the managed CA's intermediate, PEM encoding) issued
// through the daemon's pool — BatchWorker threads running the EffectRunner's
// Generate with the X509Generator, as the runtime does — versus the same
// BoringSSL calls in a plain loop on the same number of threads, in the same
// run. Counters: loop_certs_per_s, pool_certs_per_s and their ratio.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/batch_worker.h"
#include "bench/scratch_dir.h"
#include "bench/typical_identity.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/crypto/managed_ca.h"
#include "connectors/crypto/x509.h"
#include "connectors/files/file_delivery_sink.h"
#include "engine/effect_runner.h"
#include "engine/ports/clock.h"

namespace rotor::bench {
namespace {

constexpr KeyType kKeyTypes[] = {KeyType::kEd25519, KeyType::kP256, KeyType::kRsa2048, KeyType::kRsa3072};

// Certificates issued per measured phase: enough for a stable rate, few
// enough that RSA (key generation bound, a few per second) stays short.
int CertsFor(KeyType type) {
  switch (type) {
    case KeyType::kEd25519:
    case KeyType::kP256: return 4000;
    case KeyType::kRsa2048: return 24;
    case KeyType::kRsa3072: return 8;
  }
  return 8;
}

GroupSpec LeafGroup(KeyType type) {
  GroupSpec g;
  g.name = "bench";
  g.kind = CredentialKind::kX509;
  g.policy.lifetime = Duration::Hours(24);
  g.certificate.key_type = type;
  g.certificate.subject = {{"O", "Acme"}, {"CN", "{id}.payments.svc"}};
  g.certificate.dns = {"{id}.payments.svc", "{id}.payments.svc.cluster.local"};
  g.certificate.uris = {"spiffe://acme.example/ns/payments/sa/{id}"};
  g.certificate.ext_key_usage = {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth};
  return g;
}

// BenchCa: a managed CA in a scratch directory with an active intermediate.
struct BenchCa {
  ScratchDir dir{"rotor-bench-ca"};
  std::unique_ptr<FileDeliverySink> files;
  std::unique_ptr<ManagedCa> ca;

  Status Open() {
    ROTOR_RETURN_IF_ERROR(dir.status());
    ROTOR_ASSIGN_OR_RETURN(KeyEncryptionKey kek, KeyEncryptionKey::FromBytes(std::string(32, '\x42')));
    CaSpec spec;
    ROTOR_ASSIGN_OR_RETURN(ca, ManagedCa::Open(dir.path() + "/ca", spec, std::move(kek), /*create=*/true));
    ROTOR_ASSIGN_OR_RETURN(files, FileDeliverySink::Open(dir.path() + "/ca"));
    const Instant now = SystemClock().Now();
    ROTOR_ASSIGN_OR_RETURN(Candidate c, ca->NewIntermediate(1, now, now + Duration::Days(90)));
    for (const Status& s : files->Deliver({{kCaIdentityId, 1, &c.files}})) ROTOR_RETURN_IF_ERROR(s);
    for (const Status& s : files->Activate({{kCaIdentityId, 1}})) ROTOR_RETURN_IF_ERROR(s);
    return ca->Refresh(*files);
  }
};

// PlainLoop issues `n` leaves on `threads` threads with the BoringSSL calls
// X509Generator makes, and nothing else. Returns certificates per second.
double PlainLoop(const ManagedCa& ca, const GroupSpec& group, int n, size_t threads) {
  auto issuer = ca.CurrentIssuer();
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  const Instant now = SystemClock().Now();
  auto work = [&] {
    while (next.fetch_add(1) < n) {
      const CertificateRequest req =
          ExpandProfile(group.certificate, TypicalId(next.load() % 1000), now, now + group.policy.lifetime);
      auto key = x509::GenerateKey(group.certificate.key_type);
      if (!key.ok()) {
        failed = true;
        return;
      }
      auto cert = x509::SignCertificate(req, key->get(), issuer->cert.get(), issuer->key.get());
      if (!cert.ok()) {
        failed = true;
        return;
      }
      benchmark::DoNotOptimize(x509::CertificatePem(cert->get()));
      benchmark::DoNotOptimize(x509::PrivateKeyPem(key->get()));
      benchmark::DoNotOptimize(x509::Fingerprint(cert->get()));
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return failed ? 0.0 : n / seconds;
}

// ThroughPool issues `n` leaves as the runtime does: one Generate effect per
// identity, submitted to a BatchWorker of `threads` threads whose handler
// runs the EffectRunner over each batch. Returns certificates per second.
double ThroughPool(ManagedCa& ca, const GroupSpec& group, int n, size_t threads) {
  struct Job {
    EffectJob job;
  };
  SystemClock clock;
  BoringHasher hasher;
  X509Generator generator(&ca);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  bool failed = false;
  auto handler = [&](std::vector<Job>& jobs) {
    EffectRunner runner(EffectRunnerPorts{&clock, &hasher, &generator, nullptr, nullptr, nullptr});
    std::vector<EffectJob> batch;
    batch.reserve(jobs.size());
    for (auto& j : jobs) batch.push_back(std::move(j.job));
    std::vector<EffectOutcome> outs = runner.Run(batch);
    bool bad = false;
    for (const auto& o : outs) bad = bad || o.event.type != EventType::kGenerated;
    std::lock_guard<std::mutex> lock(mu);
    failed = failed || bad;
    done += static_cast<int>(outs.size());
    cv.notify_all();
  };
  std::vector<Job> jobs(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    jobs[i].job.record = NewRecord(TypicalId(i % 1000), group.name, CredentialKind::kX509, clock.Now());
    jobs[i].job.effect.type = EffectType::kGenerate;
    jobs[i].job.effect.version.generation = 1;
    jobs[i].job.group = &group;
  }
  const auto start = std::chrono::steady_clock::now();
  {
    BatchWorker<Job> pool(64, handler, threads);
    for (auto& j : jobs) pool.Submit(std::move(j));
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == n; });
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return failed ? 0.0 : n / seconds;
}

void BM_X509PoolVersusLoop(benchmark::State& state) {
  const KeyType type = kKeyTypes[state.range(0)];
  state.SetLabel(KeyTypeName(type));
  BenchCa ca;
  if (Status s = ca.Open(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  const GroupSpec group = LeafGroup(type);
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  const int n = CertsFor(type);
  double loop = 0;
  double pool = 0;
  for (auto _ : state) {
    loop += PlainLoop(*ca.ca, group, n, threads);
    pool += ThroughPool(*ca.ca, group, n, threads);
  }
  if (loop == 0 || pool == 0) return state.SkipWithError("an issuance failed");
  const double iterations = static_cast<double>(state.iterations());
  state.counters["threads"] = static_cast<double>(threads);
  state.counters["loop_certs_per_s"] = loop / iterations;
  state.counters["pool_certs_per_s"] = pool / iterations;
  state.counters["pool_vs_loop"] = pool / loop;
  state.SetItemsProcessed(state.iterations() * 2 * n);
}
BENCHMARK(BM_X509PoolVersusLoop)->DenseRange(0, 3)->Iterations(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rotor::bench
