// connectors/crypto/x509: key generation and certificate signing per key
// type, the two costs of issuing one X.509 credential on the crypto pool.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/typical_identity.h"
#include "connectors/crypto/x509.h"
#include "engine/certificate.h"

namespace rotor::bench {
namespace {

constexpr KeyType kKeyTypes[] = {KeyType::kEd25519, KeyType::kP256, KeyType::kRsa2048, KeyType::kRsa3072};

KeyType KeyTypeArg(int64_t arg) {
  return kKeyTypes[arg];
}

// TypicalLeafRequest: a service certificate as a group profile expands it —
// CN and O, two DNS names, a SPIFFE URI, one IP, server and client auth,
// 24 h lifetime.
CertificateRequest TypicalLeafRequest(KeyType type) {
  CertificateProfile profile;
  profile.key_type = type;
  profile.subject = {{"CN", "{id}.payments.svc"}, {"O", "Acme"}};
  profile.dns = {"{id}.payments.svc", "{id}.payments.svc.cluster.local"};
  profile.uris = {"spiffe://acme.example/ns/payments/sa/{id}"};
  profile.ips = {"10.20.30.40"};
  profile.ext_key_usage = {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth};
  return ExpandProfile(profile, TypicalId(42), kBenchEpoch, kBenchEpoch + Duration::Hours(24));
}

// Issuer: a self-signed root and an intermediate of `type`, valid for a year
// around kBenchEpoch; built untimed.
struct Issuer {
  bssl::UniquePtr<EVP_PKEY> root_key;
  bssl::UniquePtr<X509> root;
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

bool MakeIssuer(KeyType type, Issuer* issuer, benchmark::State& state) {
  CertificateRequest r;
  r.key_type = type;
  r.subject = {{"CN", "bench root"}, {"O", "Acme"}};
  r.is_ca = true;
  r.path_len = 1;
  r.not_before = kBenchEpoch - Duration::Days(1);
  r.not_after = kBenchEpoch + Duration::Days(730);
  auto root_key = x509::GenerateKey(type);
  if (!root_key.ok()) {
    state.SkipWithError(root_key.status().ToString().c_str());
    return false;
  }
  auto root = x509::SignCertificate(r, root_key->get(), nullptr, nullptr);
  auto key = x509::GenerateKey(type);
  if (!root.ok() || !key.ok()) {
    state.SkipWithError("issuer setup failed");
    return false;
  }
  r.subject = {{"CN", "bench intermediate"}, {"O", "Acme"}};
  r.path_len = 0;
  r.not_after = kBenchEpoch + Duration::Days(365);
  auto cert = x509::SignCertificate(r, key->get(), root->get(), root_key->get());
  if (!cert.ok()) {
    state.SkipWithError(cert.status().ToString().c_str());
    return false;
  }
  issuer->root_key = std::move(root_key).value();
  issuer->root = std::move(root).value();
  issuer->key = std::move(key).value();
  issuer->cert = std::move(cert).value();
  return true;
}

// One fresh private key of range(0)'s type.
void BM_X509GenerateKey(benchmark::State& state) {
  const KeyType type = KeyTypeArg(state.range(0));
  state.SetLabel(KeyTypeName(type));
  for (auto _ : state) {
    auto key = x509::GenerateKey(type);
    if (!key.ok()) {
      state.SkipWithError(key.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(key);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X509GenerateKey)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

// SignCertificate of a typical leaf whose key is range(0)'s type, by an
// intermediate of range(1)'s type (Ed25519 or P-256): build, extensions,
// signature. The subject key is generated once, untimed.
void BM_X509SignLeaf(benchmark::State& state) {
  const KeyType subject_type = KeyTypeArg(state.range(0));
  const KeyType issuer_type = KeyTypeArg(state.range(1));
  state.SetLabel(std::string(KeyTypeName(subject_type)) + " by " + KeyTypeName(issuer_type));
  Issuer issuer;
  if (!MakeIssuer(issuer_type, &issuer, state)) return;
  auto key = x509::GenerateKey(subject_type);
  if (!key.ok()) {
    state.SkipWithError(key.status().ToString().c_str());
    return;
  }
  const CertificateRequest request = TypicalLeafRequest(subject_type);
  for (auto _ : state) {
    auto cert = x509::SignCertificate(request, key->get(), issuer.cert.get(), issuer.key.get());
    if (!cert.ok()) {
      state.SkipWithError(cert.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(cert);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X509SignLeaf)->ArgsProduct({{0, 1, 2, 3}, {0, 1}})->Unit(benchmark::kMicrosecond);

// One whole issuance: GenerateKey, SignCertificate, and the PEM encodings of
// the certificate and the key that delivery writes.
void BM_X509IssueLeaf(benchmark::State& state) {
  const KeyType subject_type = KeyTypeArg(state.range(0));
  const KeyType issuer_type = KeyTypeArg(state.range(1));
  state.SetLabel(std::string(KeyTypeName(subject_type)) + " by " + KeyTypeName(issuer_type));
  Issuer issuer;
  if (!MakeIssuer(issuer_type, &issuer, state)) return;
  const CertificateRequest request = TypicalLeafRequest(subject_type);
  for (auto _ : state) {
    auto key = x509::GenerateKey(subject_type);
    if (!key.ok()) {
      state.SkipWithError(key.status().ToString().c_str());
      break;
    }
    auto cert = x509::SignCertificate(request, key->get(), issuer.cert.get(), issuer.key.get());
    if (!cert.ok()) {
      state.SkipWithError(cert.status().ToString().c_str());
      break;
    }
    std::string cert_pem = x509::CertificatePem(cert->get());
    SecretBytes key_pem = x509::PrivateKeyPem(key->get());
    benchmark::DoNotOptimize(cert_pem);
    benchmark::DoNotOptimize(key_pem);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X509IssueLeaf)->ArgsProduct({{0, 1, 2, 3}, {0, 1}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rotor::bench
