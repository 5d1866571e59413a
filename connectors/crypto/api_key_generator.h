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
  static constexpr char kSecretFile[] = "secret";

  // CredentialGenerator:
  // Generate returns a fresh key, one file "secret", for an API key identity
  // (InvalidArgument for any other kind). An API key carries no metadata.
  StatusOr<Candidate> Generate(const CredentialJob& job) override;
  // Check: exactly one file, "secret", whose fingerprint is the issued one.
  Status Check(const CredentialJob& job, const Material& delivered) override;

 private:
  // Constant after construction.
  BoringHasher hasher_;
};

// Base64UrlEncodeUnpadded returns `bytes` in the URL-safe alphabet of
// RFC 4648 §5 without '=' padding.
std::string Base64UrlEncodeUnpadded(std::string_view bytes);

}  // namespace rotor
