#include "connectors/crypto/api_key_generator.h"

#include <openssl/mem.h>

#include <array>
#include <string>

#include "connectors/crypto/random.h"

namespace rotor {
namespace {

constexpr char kBase64UrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr size_t EncodedLength(size_t n) {
  return (n * 4 + 2) / 3;
}

// AppendBase64Url appends the unpadded encoding of `in` to `out`, which the
// caller has reserved so that no reallocation leaves a copy of key text behind.
void AppendBase64Url(const uint8_t* in, size_t n, std::string* out) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out->push_back(kBase64UrlAlphabet[(v >> 18) & 63]);
    out->push_back(kBase64UrlAlphabet[(v >> 12) & 63]);
    out->push_back(kBase64UrlAlphabet[(v >> 6) & 63]);
    out->push_back(kBase64UrlAlphabet[v & 63]);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{in[i]} << 16;
    out->push_back(kBase64UrlAlphabet[(v >> 18) & 63]);
    out->push_back(kBase64UrlAlphabet[(v >> 12) & 63]);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out->push_back(kBase64UrlAlphabet[(v >> 18) & 63]);
    out->push_back(kBase64UrlAlphabet[(v >> 12) & 63]);
    out->push_back(kBase64UrlAlphabet[(v >> 6) & 63]);
  }
}

}  // namespace

std::string Base64UrlEncodeUnpadded(std::string_view bytes) {
  std::string out;
  out.reserve(EncodedLength(bytes.size()));
  AppendBase64Url(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &out);
  return out;
}

StatusOr<Candidate> ApiKeyGenerator::Generate(const CredentialJob& job) {
  if (job.record->kind != CredentialKind::kApiKey) {
    return InvalidArgument("ApiKeyGenerator cannot generate a credential of kind " +
                           std::string(CredentialKindName(job.record->kind)));
  }
  std::array<uint8_t, kEntropyBytes> entropy;
  if (Status s = FillRandom(entropy); !s.ok()) {
    OPENSSL_cleanse(entropy.data(), entropy.size());
    return s;
  }
  static_assert(kKeyLength == kPrefix.size() + EncodedLength(kEntropyBytes));
  std::string key;
  key.reserve(kKeyLength);  // longer than the small-string buffer: the heap buffer moves below
  key.append(kPrefix);
  AppendBase64Url(entropy.data(), entropy.size(), &key);
  OPENSSL_cleanse(entropy.data(), entropy.size());

  Candidate candidate;
  candidate.fingerprint = "sha256:" + HexSha256(hasher_, key);
  candidate.files.push_back({kSecretFile, SecretBytes(std::move(key))});
  return candidate;
}

Status ApiKeyGenerator::Check(const CredentialJob& job, const Material& delivered) {
  const MaterialFile* secret = FindFile(delivered, kSecretFile);
  if (secret == nullptr) return PermissionDenied("the delivered version has no " + std::string(kSecretFile) + " file");
  if (delivered.size() != 1) return PermissionDenied("the delivered version holds files besides its secret");
  if ("sha256:" + HexSha256(hasher_, secret->bytes.view()) != job.version->fingerprint) {
    return PermissionDenied("delivered material does not match the issued fingerprint");
  }
  return Status::Ok();
}

}  // namespace rotor
