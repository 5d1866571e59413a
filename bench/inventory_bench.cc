// rotor import: parse-and-classify throughput of existing certificates read
// from files in the page cache (issue 5's target: ≥ 20,000 certificates per
// second per core), against a baseline measured in the same run: BoringSSL's
// own PEM reader and X509 parser over the same bytes, which reads fewer
// fields and forgives nothing.
//
// The corpus: 1,000 service certificates as a group profile makes them (CN,
// O, two DNS names, a URI and an IP SAN, server and client auth), 250 each of
// Ed25519, P-256, RSA 2048 and RSA 3072 subject keys, signed by a P-256
// intermediate; written once as one PEM bundle and as 1,000 single-PEM files
// in a scratch directory, then read once so that every run reads the page
// cache. Single-threaded: items per second is per core.
#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "app/inventory.h"
#include "bench/scratch_dir.h"
#include "bench/typical_identity.h"
#include "connectors/crypto/cert_scan.h"
#include "connectors/crypto/x509.h"
#include "engine/inventory.h"

namespace rotor::bench {
namespace {

constexpr int kCorpusSize = 1000;

struct Corpus {
  std::unique_ptr<ScratchDir> dir;
  std::string bundle_path;
  std::string files_dir;
  std::string bundle;  // the bundle's bytes
  std::string error;
};

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// TheCorpus builds the corpus on first use (untimed).
const Corpus& TheCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    c->dir = std::make_unique<ScratchDir>("rotor-bench-import");
    if (!c->dir->status().ok()) {
      c->error = c->dir->status().ToString();
      return c;
    }
    CertificateRequest ca;
    ca.key_type = KeyType::kP256;
    ca.subject = {{"CN", "bench import intermediate"}, {"O", "Acme"}};
    ca.is_ca = true;
    ca.not_before = kBenchEpoch - Duration::Days(1);
    ca.not_after = kBenchEpoch + Duration::Days(730);
    auto ca_key = x509::GenerateKey(KeyType::kP256);
    if (!ca_key.ok()) {
      c->error = ca_key.status().ToString();
      return c;
    }
    auto ca_cert = x509::SignCertificate(ca, ca_key->get(), nullptr, nullptr);
    if (!ca_cert.ok()) {
      c->error = ca_cert.status().ToString();
      return c;
    }
    const KeyType types[] = {KeyType::kEd25519, KeyType::kP256, KeyType::kRsa2048, KeyType::kRsa3072};
    std::vector<bssl::UniquePtr<EVP_PKEY>> keys;
    for (KeyType t : types) {
      auto k = x509::GenerateKey(t);
      if (!k.ok()) {
        c->error = k.status().ToString();
        return c;
      }
      keys.push_back(std::move(k).value());
    }
    CertificateProfile profile;
    profile.subject = {{"CN", "{id}.payments.svc"}, {"O", "Acme"}};
    profile.dns = {"{id}.payments.svc", "{id}.payments.svc.cluster.local"};
    profile.uris = {"spiffe://acme.example/ns/payments/sa/{id}"};
    profile.ips = {"10.20.30.40"};
    profile.ext_key_usage = {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth};
    c->bundle_path = c->dir->path() + "/bundle.pem";
    c->files_dir = c->dir->path() + "/files";
    ::mkdir(c->files_dir.c_str(), 0700);
    std::ofstream bundle(c->bundle_path, std::ios::binary);
    for (int i = 0; i < kCorpusSize; ++i) {
      profile.key_type = types[i % 4];
      CertificateRequest r =
          ExpandProfile(profile, TypicalId(static_cast<uint64_t>(i)), kBenchEpoch, kBenchEpoch + Duration::Days(90));
      auto cert = x509::SignCertificate(r, keys[i % 4].get(), ca_cert->get(), ca_key->get());
      if (!cert.ok()) {
        c->error = cert.status().ToString();
        return c;
      }
      const std::string pem = x509::CertificatePem(cert->get());
      bundle << pem;
      std::ofstream(c->files_dir + "/" + TypicalId(static_cast<uint64_t>(i)) + ".pem", std::ios::binary) << pem;
    }
    bundle.close();
    c->bundle = ReadFileBytes(c->bundle_path);
    (void)app::ScanPaths({c->files_dir}, false);  // into the page cache
    return c;
  }();
  return *corpus;
}

// rotor's scanner over the bundle file: read it, scan every block, classify
// every certificate.
void BM_ImportScanBundle(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  if (!corpus.error.empty()) return state.SkipWithError(corpus.error.c_str());
  const RenewalPolicy policy;
  size_t due = 0;
  for (auto _ : state) {
    const std::string data = ReadFileBytes(corpus.bundle_path);
    const auto items = x509::ScanBytes(data, corpus.bundle_path);
    if (items.size() != static_cast<size_t>(kCorpusSize) || items[0].type != ItemType::kCertificate) {
      return state.SkipWithError("the scan did not find every certificate");
    }
    for (const auto& it : items) due += Classify(it, kBenchEpoch + Duration::Days(70), policy) == CertStatus::kDue;
  }
  benchmark::DoNotOptimize(due);
  state.SetItemsProcessed(state.iterations() * kCorpusSize);
}
BENCHMARK(BM_ImportScanBundle)->Unit(benchmark::kMillisecond);

// The whole `rotor import` reading path over 1,000 single-certificate files:
// directory listing, open/fstat/read of each file, scan, links
// (LinkInventory), then classification.
void BM_ImportScanDirectory(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  if (!corpus.error.empty()) return state.SkipWithError(corpus.error.c_str());
  const RenewalPolicy policy;
  size_t due = 0;
  for (auto _ : state) {
    const auto items = app::ScanPaths({corpus.files_dir}, false);
    if (items.size() != static_cast<size_t>(kCorpusSize)) return state.SkipWithError("missing certificates");
    for (const auto& it : items) due += Classify(it, kBenchEpoch + Duration::Days(70), policy) == CertStatus::kDue;
  }
  benchmark::DoNotOptimize(due);
  state.SetItemsProcessed(state.iterations() * kCorpusSize);
}
BENCHMARK(BM_ImportScanDirectory)->Unit(benchmark::kMillisecond);

// Baseline: BoringSSL's PEM_read_bio_X509 over the same bundle bytes (in
// memory), reading each certificate's notAfter — the least a parser must do.
void BM_ImportBaselineBoringSslPem(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  if (!corpus.error.empty()) return state.SkipWithError(corpus.error.c_str());
  int64_t sum = 0;
  for (auto _ : state) {
    const std::string data = ReadFileBytes(corpus.bundle_path);
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    int n = 0;
    while (bssl::UniquePtr<X509> x{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
      sum += x509::NotAfter(x.get()).micros;
      ++n;
    }
    ERR_clear_error();
    if (n != kCorpusSize) return state.SkipWithError("BoringSSL did not read every certificate");
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kCorpusSize);
}
BENCHMARK(BM_ImportBaselineBoringSslPem)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rotor::bench
