// connectors/crypto: BoringSSL's SHA-256 behind the Hasher port, and API key
// generation (CSPRNG, base64url, fingerprint).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "bench/typical_identity.h"
#include "connectors/crypto/api_key_generator.h"
#include "connectors/crypto/boring_hasher.h"
#include "engine/rotation.h"

namespace rotor::bench {
namespace {

// Sha256 of range(0) bytes: 256 B is about a record, 4 KiB a large page.
void BM_BoringSha256(benchmark::State& state) {
  BoringHasher hasher;
  const std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    auto digest = hasher.Sha256(data);
    benchmark::DoNotOptimize(digest);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BoringSha256)->Arg(256)->Arg(4096);

// One fresh API key and its fingerprint.
void BM_ApiKeyGenerate(benchmark::State& state) {
  ApiKeyGenerator generator;
  const RotationRecord record = NewRecord(TypicalId(42), kBenchGroup, CredentialKind::kApiKey, kBenchEpoch);
  const CredentialVersion version{1, kBenchEpoch, kBenchEpoch + Duration::Hours(24), ""};
  for (auto _ : state) {
    auto candidate = generator.Generate(CredentialJob{&record, &version, nullptr, kBenchEpoch});
    if (!candidate.ok()) {
      state.SkipWithError(candidate.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(candidate);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApiKeyGenerate);

}  // namespace
}  // namespace rotor::bench
