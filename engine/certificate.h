// Certificate profiles: what a group's X.509 certificates look like, as
// declared in the fleet file, and the per-identity request expanded from one.
// Pure values; thread-compatible. The crypto connector turns a request into a
// key and a signed certificate (connectors/crypto/x509.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

enum class KeyType : uint8_t { kEd25519 = 1, kP256 = 2, kRsa2048 = 3, kRsa3072 = 4 };
const char* KeyTypeName(KeyType type);  // "ed25519", "p256", "rsa2048", "rsa3072"
StatusOr<KeyType> ParseKeyType(std::string_view name);

// Key usage bits (RFC 5280 §4.2.1.3), as flags.
enum KeyUsage : uint32_t {
  kKeyUsageDigitalSignature = 1u << 0,
  kKeyUsageContentCommitment = 1u << 1,
  kKeyUsageKeyEncipherment = 1u << 2,
  kKeyUsageDataEncipherment = 1u << 3,
  kKeyUsageKeyAgreement = 1u << 4,
  kKeyUsageKeyCertSign = 1u << 5,
  kKeyUsageCrlSign = 1u << 6,
};
// ParseKeyUsage maps "digital_signature", "key_encipherment", ... to a bit.
StatusOr<uint32_t> ParseKeyUsage(std::string_view name);

// Extended key usages rotor knows by name.
enum class ExtKeyUsage : uint8_t { kServerAuth = 1, kClientAuth, kCodeSigning, kEmailProtection, kTimeStamping };
const char* ExtKeyUsageName(ExtKeyUsage eku);  // "server_auth", ...
StatusOr<ExtKeyUsage> ParseExtKeyUsage(std::string_view name);

// One relative distinguished name attribute, e.g. {"CN", "api-1.example"}.
// Types: CN, O, OU, C, ST, L, serialNumber.
struct NameAttribute {
  std::string type;
  std::string value;
  bool operator==(const NameAttribute&) const = default;
};

// CertificateProfile: a group's template. Strings may contain "{id}", which
// expands to the identity id.
struct CertificateProfile {
  KeyType key_type = KeyType::kEd25519;
  std::vector<NameAttribute> subject;  // empty: CN={id}
  std::vector<std::string> dns;
  std::vector<std::string> uris;
  std::vector<std::string> ips;  // textual IPv4 or IPv6
  uint32_t key_usage = 0;        // 0: the default for the key type (DefaultKeyUsage)
  std::vector<ExtKeyUsage> ext_key_usage;
  Duration skew = Duration::Seconds(60);  // notBefore is back-dated by this much

  bool operator==(const CertificateProfile&) const = default;
};

// ValidateProfile rejects what no issuer should sign: an unknown subject
// attribute, an empty value, a malformed IP or URI, a C that is not two
// letters, a negative skew. Messages name the offending field.
Status ValidateProfile(const CertificateProfile& profile);

// DefaultKeyUsage: digitalSignature, plus keyEncipherment for RSA.
uint32_t DefaultKeyUsage(KeyType type);

// CertificateRequest: everything that goes into one certificate.
struct CertificateRequest {
  KeyType key_type = KeyType::kEd25519;
  std::vector<NameAttribute> subject;
  std::vector<std::string> dns;
  std::vector<std::string> uris;
  std::vector<std::string> ips;
  uint32_t key_usage = 0;
  std::vector<ExtKeyUsage> ext_key_usage;
  bool is_ca = false;
  int path_len = -1;  // CA only: -1 means no pathLenConstraint
  Instant not_before;
  Instant not_after;

  bool operator==(const CertificateRequest&) const = default;
};

// ExpandProfile builds the request for identity `id` issued at `issued_at`:
// "{id}" substituted, notBefore = issued_at - skew, notAfter = `not_after`.
CertificateRequest ExpandProfile(const CertificateProfile& profile, const std::string& id, Instant issued_at,
                                 Instant not_after);

}  // namespace rotor
