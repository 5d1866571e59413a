// ApiKeyGenerator: the CredentialGenerator port for CredentialKind::kApiKey.
//
// A key is "rtk_" followed by 32 CSPRNG bytes in unpadded base64url (43
// characters): 256 bits of entropy, safe in URLs, headers and shell words,
// and the fixed prefix lets secret scanners recognise a leaked rotor key.
// The fingerprint is "sha256:<hex>" of the key text. Thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "connectors/crypto/boring_hasher.h"
#include "engine/ports/credentials.h"

namespace rotor {

class ApiKeyGenerator final : public CredentialGenerator {
 public:
  static constexpr std::string_view kPrefix = "rtk_";
  static constexpr size_t kEntropyBytes = 32;
  static constexpr size_t kKeyLength = 4 + 43;  // prefix + base64url(32 bytes) without padding

  // CredentialGenerator:
  // Generate returns a fresh key for `record` (which must be an API key
  // identity; InvalidArgument otherwise). `version` is not used: an API key
  // carries no metadata.
  StatusOr<Candidate> Generate(const RotationRecord& record, const CredentialVersion& version) override;

 private:
  // Constant after construction.
  BoringHasher hasher_;
};

// Base64UrlEncodeUnpadded returns `bytes` in the URL-safe alphabet of
// RFC 4648 §5 without '=' padding.
std::string Base64UrlEncodeUnpadded(std::string_view bytes);

}  // namespace rotor
