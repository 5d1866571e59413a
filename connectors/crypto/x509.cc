#include "connectors/crypto/x509.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/crypto/random.h"
#include "engine/utf8.h"

namespace rotor::x509 {

namespace {

// --- Errors -----------------------------------------------------------------

// Refuse returns `status` after clearing the error queue: every failure path
// ends here or in BoringFailure, so no stale error reaches the next caller on
// this thread.
Status Refuse(Status status) {
  ERR_clear_error();
  return status;
}

// BoringFailure reports a BoringSSL call that should not fail on valid input,
// with the library's reason (it names no secret).
Status BoringFailure(const char* what) {
  char reason[256] = "no reason given";
  if (const uint32_t err = ERR_peek_last_error(); err != 0) ERR_error_string_n(err, reason, sizeof(reason));
  return Refuse(Internal(std::string(what) + " failed: " + reason));
}

// --- Small helpers ------------------------------------------------------------

std::string Hex(const uint8_t* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xF]);
  }
  return out;
}

std::string_view AsView(const ASN1_STRING* s) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s))};
}

const uint8_t* Bytes(std::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

int64_t FloorSeconds(Instant t) {
  int64_t s = t.micros / 1000000;
  if (t.micros % 1000000 < 0) --s;
  return s;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

// --- Names ----------------------------------------------------------------------

struct AttributeType {
  const char* name;
  int nid;
  bool printable_only;  // RFC 5280 Appendix A: C and serialNumber are PrintableString
};
constexpr AttributeType kAttributeTypes[] = {
    {"CN", NID_commonName, false},
    {"O", NID_organizationName, false},
    {"OU", NID_organizationalUnitName, false},
    {"C", NID_countryName, true},
    {"ST", NID_stateOrProvinceName, false},
    {"L", NID_localityName, false},
    {"serialNumber", NID_serialNumber, true},
};

const AttributeType* FindAttribute(std::string_view name) {
  for (const AttributeType& a : kAttributeTypes) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

const AttributeType* FindAttribute(int nid) {
  for (const AttributeType& a : kAttributeTypes) {
    if (nid == a.nid) return &a;
  }
  return nullptr;
}

bool FitsPrintableString(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view(" '()+,-./:=?").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

StatusOr<bssl::UniquePtr<X509_NAME>> BuildName(const std::vector<NameAttribute>& subject) {
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!name) return BoringFailure("X509_NAME_new");
  for (size_t i = 0; i < subject.size(); ++i) {
    const NameAttribute& a = subject[i];
    const std::string field = "subject[" + std::to_string(i) + "]";
    const AttributeType* type = FindAttribute(a.type);
    if (type == nullptr) return Refuse(InvalidArgument(field + ": unknown attribute type \"" + a.type + "\""));
    if (a.value.empty()) return Refuse(InvalidArgument(field + " (" + a.type + "): empty value"));
    // The string type is chosen here, not by BoringSSL's MBSTRING_* logic,
    // which would pick T61String or BMPString for some inputs.
    int string_type = V_ASN1_PRINTABLESTRING;
    if (!FitsPrintableString(a.value)) {
      if (type->printable_only) {
        return Refuse(InvalidArgument(field + " (" + a.type + "): value has characters a PrintableString cannot hold"));
      }
      if (!ValidUtf8(a.value)) return Refuse(InvalidArgument(field + " (" + a.type + "): value is not valid UTF-8"));
      string_type = V_ASN1_UTF8STRING;
    }
    if (!X509_NAME_add_entry_by_NID(name.get(), type->nid, string_type, Bytes(a.value),
                                    static_cast<int>(a.value.size()), /*loc=*/-1, /*set=*/0)) {
      return BoringFailure("X509_NAME_add_entry_by_NID");
    }
  }
  return name;
}

// NameAttributes lists `name`'s attributes in order; a type rotor does not
// issue is named by its OID short name so a mismatch message stays readable.
std::vector<NameAttribute> NameAttributes(const X509_NAME* name) {
  std::vector<NameAttribute> out;
  const int n = X509_NAME_entry_count(name);
  for (int i = 0; i < n; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    const AttributeType* type = FindAttribute(nid);
    const char* short_name = nid != NID_undef ? OBJ_nid2sn(nid) : "unknown";
    out.push_back({type != nullptr ? type->name : short_name, std::string(AsView(X509_NAME_ENTRY_get_data(entry)))});
  }
  return out;
}

std::string FormatName(const std::vector<NameAttribute>& attributes) {
  std::string out;
  for (const NameAttribute& a : attributes) {
    if (!out.empty()) out += ", ";
    out += a.type + "=" + a.value;
  }
  return out.empty() ? "(empty)" : out;
}

// --- Time -----------------------------------------------------------------------

// EncodeTime follows RFC 5280 §4.1.2.5: UTCTime for 1950–2049, GeneralizedTime
// otherwise, whole seconds (sub-second parts are dropped, i.e. rounded
// towards the past).
bssl::UniquePtr<ASN1_TIME> EncodeTime(Instant t) {
  const int64_t seconds = FloorSeconds(t);
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(FloorDiv(seconds, 86400), &year, &month, &day);
  const auto posix = static_cast<time_t>(seconds);
  if (year >= 1950 && year < 2050) return bssl::UniquePtr<ASN1_TIME>(ASN1_UTCTIME_set(nullptr, posix));
  return bssl::UniquePtr<ASN1_TIME>(ASN1_GENERALIZEDTIME_set(nullptr, posix));
}

bool TwoDigits(std::string_view s, size_t pos, unsigned* out) {
  if (pos + 2 > s.size() || s[pos] < '0' || s[pos] > '9' || s[pos + 1] < '0' || s[pos + 1] > '9') return false;
  *out = static_cast<unsigned>((s[pos] - '0') * 10 + (s[pos + 1] - '0'));
  return true;
}

// ParseTime reads the two forms RFC 5280 allows: "YYMMDDHHMMSSZ" and
// "YYYYMMDDHHMMSSZ". Anything else (fractions, offsets) is nullopt.
std::optional<Instant> ParseTime(const ASN1_TIME* t) {
  if (t == nullptr) return std::nullopt;
  const std::string_view s = AsView(t);
  int64_t year = 0;
  size_t pos = 0;
  unsigned hi = 0;
  unsigned lo = 0;
  if (ASN1_STRING_type(t) == V_ASN1_UTCTIME && s.size() == 13) {
    if (!TwoDigits(s, 0, &lo)) return std::nullopt;
    year = lo < 50 ? 2000 + lo : 1900 + lo;
    pos = 2;
  } else if (ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME && s.size() == 15) {
    if (!TwoDigits(s, 0, &hi) || !TwoDigits(s, 2, &lo)) return std::nullopt;
    year = hi * 100 + lo;
    pos = 4;
  } else {
    return std::nullopt;
  }
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  if (!TwoDigits(s, pos, &month) || !TwoDigits(s, pos + 2, &day) || !TwoDigits(s, pos + 4, &hour) ||
      !TwoDigits(s, pos + 6, &minute) || !TwoDigits(s, pos + 8, &second) || s.back() != 'Z') {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const int64_t days = DaysFromCivil(year, month, day);
  int64_t y2 = 0;
  unsigned m2 = 0;
  unsigned d2 = 0;
  CivilFromDays(days, &y2, &m2, &d2);
  if (y2 != year || m2 != month || d2 != day) return std::nullopt;  // e.g. February 30
  const int64_t time_of_day = int64_t{hour} * 3600 + int64_t{minute} * 60 + second;
  return Instant::FromSeconds(days * 86400 + time_of_day);
}

// --- Public keys and key usage ----------------------------------------------------

bool SameKey(X509* cert, const EVP_PKEY* key) {
  bssl::UniquePtr<EVP_PKEY> cert_key(X509_get_pubkey(cert));
  const bool same = cert_key && EVP_PKEY_cmp(cert_key.get(), key) == 1;
  ERR_clear_error();  // EVP_PKEY_cmp queues an error for keys of different types
  return same;
}

bool IsRsa(KeyType type) {
  return type == KeyType::kRsa2048 || type == KeyType::kRsa3072;
}

// EffectiveKeyUsage: what the keyUsage extension carries for `request`.
uint32_t EffectiveKeyUsage(const CertificateRequest& request) {
  uint32_t usage = request.key_usage != 0 ? request.key_usage : DefaultKeyUsage(request.key_type);
  if (request.is_ca) usage |= kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  return usage;
}

constexpr uint32_t kKnownKeyUsages = kKeyUsageDigitalSignature | kKeyUsageContentCommitment | kKeyUsageKeyEncipherment |
                                     kKeyUsageDataEncipherment | kKeyUsageKeyAgreement | kKeyUsageKeyCertSign |
                                     kKeyUsageCrlSign;

std::string FormatKeyUsage(uint32_t usage) {
  static constexpr const char* kNames[] = {"digital_signature", "content_commitment", "key_encipherment",
                                           "data_encipherment", "key_agreement",      "key_cert_sign",
                                           "crl_sign"};
  std::string out;
  for (int bit = 0; bit < 7; ++bit) {
    if ((usage & (1u << bit)) == 0) continue;
    if (!out.empty()) out += ",";
    out += kNames[bit];
  }
  return out.empty() ? "(none)" : out;
}

int EkuNid(ExtKeyUsage eku) {
  switch (eku) {
    case ExtKeyUsage::kServerAuth: return NID_server_auth;
    case ExtKeyUsage::kClientAuth: return NID_client_auth;
    case ExtKeyUsage::kCodeSigning: return NID_code_sign;
    case ExtKeyUsage::kEmailProtection: return NID_email_protect;
    case ExtKeyUsage::kTimeStamping: return NID_time_stamp;
  }
  return NID_undef;
}

// --- Subject alternative names ----------------------------------------------------

// IpBytes parses textual IPv4 (4 bytes) or IPv6 (16 bytes).
std::optional<std::string> IpBytes(const std::string& text) {
  std::array<uint8_t, 16> buf{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1) return std::string(reinterpret_cast<char*>(buf.data()), 4);
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) return std::string(reinterpret_cast<char*>(buf.data()), 16);
  return std::nullopt;
}

std::string FormatIp(std::string_view bytes) {
  char text[INET6_ADDRSTRLEN] = "?";
  const int family = bytes.size() == 4 ? AF_INET : AF_INET6;
  if (bytes.size() != 4 && bytes.size() != 16) return "(" + std::to_string(bytes.size()) + "-byte address)";
  if (inet_ntop(family, bytes.data(), text, sizeof(text)) == nullptr) return "?";
  return text;
}

// IA5String, as dNSName and uniformResourceIdentifier are: 7-bit ASCII, and
// rotor also refuses controls and spaces.
bool IsIa5Token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) return false;
  }
  return true;
}

struct AltNames {
  std::set<std::string> dns;
  std::set<std::string> uris;
  std::set<std::string> ips;  // raw address bytes
};

StatusOr<AltNames> RequestAltNames(const CertificateRequest& request) {
  AltNames names;
  for (size_t i = 0; i < request.dns.size(); ++i) {
    if (!IsIa5Token(request.dns[i])) {
      return Refuse(InvalidArgument("dns[" + std::to_string(i) + "]: \"" + request.dns[i] + "\" is not a DNS name"));
    }
    names.dns.insert(request.dns[i]);
  }
  for (size_t i = 0; i < request.uris.size(); ++i) {
    if (!IsIa5Token(request.uris[i])) {
      return Refuse(InvalidArgument("uris[" + std::to_string(i) + "]: URI is empty or not printable ASCII"));
    }
    names.uris.insert(request.uris[i]);
  }
  for (size_t i = 0; i < request.ips.size(); ++i) {
    std::optional<std::string> bytes = IpBytes(request.ips[i]);
    if (!bytes) {
      return Refuse(
          InvalidArgument("ips[" + std::to_string(i) + "]: \"" + request.ips[i] + "\" is not an IPv4 or IPv6 address"));
    }
    names.ips.insert(*std::move(bytes));
  }
  return names;
}

std::string FormatSet(const std::set<std::string>& values, bool ip) {
  std::string out = "[";
  for (const std::string& v : values) {
    if (out.size() > 1) out += ", ";
    out += ip ? FormatIp(v) : v;
  }
  return out + "]";
}

// --- Extensions, built with CBB ---------------------------------------------------

Status AddExtension(X509* cert, int nid, bool critical, CBB* value) {
  uint8_t* der = nullptr;
  size_t der_len = 0;
  if (!CBB_finish(value, &der, &der_len)) return BoringFailure("CBB_finish");
  bssl::UniquePtr<uint8_t> owned(der);
  bssl::UniquePtr<ASN1_OCTET_STRING> octets(ASN1_OCTET_STRING_new());
  if (!octets || !ASN1_OCTET_STRING_set(octets.get(), der, static_cast<int>(der_len))) {
    return BoringFailure("ASN1_OCTET_STRING_set");
  }
  bssl::UniquePtr<X509_EXTENSION> ext(X509_EXTENSION_create_by_NID(nullptr, nid, critical ? 1 : 0, octets.get()));
  if (!ext || !X509_add_ext(cert, ext.get(), /*loc=*/-1)) return BoringFailure("X509_add_ext");
  return Status::Ok();
}

// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
Status AddBasicConstraints(X509* cert, bool is_ca, int path_len) {
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 16) || !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE)) return BoringFailure("CBB");
  // DER omits a DEFAULT value, so a leaf's CA:FALSE is the empty SEQUENCE.
  if (is_ca && !CBB_add_asn1_bool(&seq, 1)) return BoringFailure("CBB_add_asn1_bool");
  if (is_ca && path_len >= 0 && !CBB_add_asn1_uint64(&seq, static_cast<uint64_t>(path_len))) {
    return BoringFailure("CBB_add_asn1_uint64");
  }
  return AddExtension(cert, NID_basic_constraints, /*critical=*/true, cbb.get());
}

// KeyUsage ::= BIT STRING; rotor's flag bit i is the named bit i of RFC 5280
// §4.2.1.3, i.e. mask 0x80 >> i of the first content byte.
Status AddKeyUsage(X509* cert, uint32_t usage) {
  uint8_t bits = 0;
  int highest = -1;
  for (int i = 0; i < 7; ++i) {
    if ((usage & (1u << i)) != 0) {
      bits |= static_cast<uint8_t>(0x80 >> i);
      highest = i;
    }
  }
  bssl::ScopedCBB cbb;
  CBB bit_string;
  // DER drops trailing zero bits of a named bit list (X.690 §11.2.2).
  const auto unused = static_cast<uint8_t>(7 - highest);
  if (!CBB_init(cbb.get(), 8) || !CBB_add_asn1(cbb.get(), &bit_string, CBS_ASN1_BITSTRING) ||
      !CBB_add_u8(&bit_string, unused) || !CBB_add_u8(&bit_string, bits)) {
    return BoringFailure("CBB");
  }
  return AddExtension(cert, NID_key_usage, /*critical=*/true, cbb.get());
}

Status AddExtKeyUsage(X509* cert, const std::vector<ExtKeyUsage>& usages) {
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 64) || !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE)) return BoringFailure("CBB");
  for (ExtKeyUsage eku : usages) {
    const int nid = EkuNid(eku);
    if (nid == NID_undef) return Refuse(InvalidArgument("ext_key_usage: unknown extended key usage"));
    if (!OBJ_nid2cbb(&seq, nid)) return BoringFailure("OBJ_nid2cbb");
  }
  return AddExtension(cert, NID_ext_key_usage, /*critical=*/false, cbb.get());
}

// GeneralName: dNSName [2] and uniformResourceIdentifier [6] are IMPLICIT
// IA5String, iPAddress [7] an IMPLICIT OCTET STRING. Request order is kept.
Status AddSubjectAltName(X509* cert, const CertificateRequest& request, bool critical) {
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 128) || !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE)) return BoringFailure("CBB");
  auto add = [&seq](unsigned tag, std::string_view bytes) {
    CBB name;
    return CBB_add_asn1(&seq, &name, CBS_ASN1_CONTEXT_SPECIFIC | tag) &&
           CBB_add_bytes(&name, Bytes(bytes), bytes.size());
  };
  for (const std::string& dns : request.dns) {
    if (!add(2, dns)) return BoringFailure("CBB");
  }
  for (const std::string& uri : request.uris) {
    if (!add(6, uri)) return BoringFailure("CBB");
  }
  for (const std::string& ip : request.ips) {
    std::optional<std::string> bytes = IpBytes(ip);
    if (!bytes) return Refuse(InvalidArgument("\"" + ip + "\" is not an IPv4 or IPv6 address"));
    if (!add(7, *bytes)) return BoringFailure("CBB");
  }
  return AddExtension(cert, NID_subject_alt_name, critical, cbb.get());
}

// KeyIdentifier is RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey
// BIT STRING's bits.
StatusOr<std::string> KeyIdentifier(X509* cert) {
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert);
  if (bits == nullptr) return BoringFailure("X509_get0_pubkey_bitstr");
  std::array<uint8_t, SHA_DIGEST_LENGTH> digest{};
  SHA1(ASN1_STRING_get0_data(bits), static_cast<size_t>(ASN1_STRING_length(bits)), digest.data());
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

Status AddOctetStringExtension(X509* cert, int nid, std::string_view bytes) {
  bssl::ScopedCBB cbb;
  if (!CBB_init(cbb.get(), bytes.size() + 2) || !CBB_add_asn1_octet_string(cbb.get(), Bytes(bytes), bytes.size())) {
    return BoringFailure("CBB");
  }
  return AddExtension(cert, nid, /*critical=*/false, cbb.get());
}

// AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, ... }
Status AddAuthorityKeyId(X509* cert, std::string_view key_id) {
  bssl::ScopedCBB cbb;
  CBB seq;
  CBB id;
  if (!CBB_init(cbb.get(), key_id.size() + 4) || !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&seq, &id, CBS_ASN1_CONTEXT_SPECIFIC | 0) || !CBB_add_bytes(&id, Bytes(key_id), key_id.size())) {
    return BoringFailure("CBB");
  }
  return AddExtension(cert, NID_authority_key_identifier, /*critical=*/false, cbb.get());
}

// IssuerKeyId: the issuer's own SKI when it has one (an imported CA may have
// computed it another way), else method 1 over its key.
StatusOr<std::string> IssuerKeyId(X509* issuer) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer); ski != nullptr) {
    return std::string(AsView(ski));
  }
  ERR_clear_error();
  return KeyIdentifier(issuer);
}

// --- Serial -----------------------------------------------------------------------

// NewSerial: 16 CSPRNG bytes, top bit cleared so the INTEGER is positive, and
// a first byte redrawn until non-zero so DER keeps all 16 content bytes
// (minimal encoding would drop a leading zero byte). That leaves 120 + log2(127)
// ≈ 127 random bits, well above the 64 that RFC 5280 / CA/B practice ask for.
StatusOr<bssl::UniquePtr<ASN1_INTEGER>> NewSerial() {
  std::array<uint8_t, 16> bytes{};
  ROTOR_RETURN_IF_ERROR(FillRandom(bytes));
  bytes[0] &= 0x7F;
  while (bytes[0] == 0) {
    ROTOR_RETURN_IF_ERROR(FillRandom(std::span<uint8_t>(bytes.data(), 1)));
    bytes[0] &= 0x7F;
  }
  bssl::UniquePtr<ASN1_INTEGER> serial(ASN1_INTEGER_new());
  if (!serial || !ASN1_STRING_set(serial.get(), bytes.data(), static_cast<int>(bytes.size()))) {
    return BoringFailure("ASN1_INTEGER serial");
  }
  return serial;
}

// --- PEM --------------------------------------------------------------------------

struct PemBlock {
  std::string_view label;
  std::string_view body;  // between the BEGIN and END lines, headers included
  bool complete = false;  // an END line matching the label was found
};

// PemScanner walks "-----BEGIN X-----" ... "-----END X-----" blocks, ignoring
// text between them (as OpenSSL does, so commented bundles parse).
class PemScanner {
 public:
  explicit PemScanner(std::string_view pem) : pem_(pem) {}

  // Next returns false at the end of the input.
  bool Next(PemBlock* block) {
    static constexpr std::string_view kBegin = "-----BEGIN ";
    static constexpr std::string_view kDashes = "-----";
    const size_t begin = pem_.find(kBegin, pos_);
    if (begin == std::string_view::npos) return false;
    const size_t label_start = begin + kBegin.size();
    const size_t label_end = pem_.find(kDashes, label_start);
    const size_t line_end = pem_.find('\n', label_start);
    if (label_end == std::string_view::npos || (line_end != std::string_view::npos && line_end < label_end)) {
      block->label = {};
      block->body = {};
      block->complete = false;
      pos_ = pem_.size();
      return true;
    }
    block->label = pem_.substr(label_start, label_end - label_start);
    const size_t body_start = label_end + kDashes.size();
    const std::string end_line = "-----END " + std::string(block->label) + "-----";
    const size_t end = pem_.find(end_line, body_start);
    if (end == std::string_view::npos) {
      block->body = pem_.substr(body_start);
      block->complete = false;
      pos_ = pem_.size();
      return true;
    }
    block->body = pem_.substr(body_start, end - body_start);
    block->complete = true;
    pos_ = end + end_line.size();
    return true;
  }

 private:
  std::string_view pem_;
  size_t pos_ = 0;
};

// RFC 1421 encryption headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...").
bool HasEncryptionHeader(std::string_view body) {
  return body.find("Proc-Type:") != std::string_view::npos;
}

// DecodePemBody base64-decodes `body`, skipping RFC 1421 header lines (base64
// has no ':'). The result is held as a secret: a key's DER is one.
std::optional<SecretBytes> DecodePemBody(std::string_view body) {
  std::string base64;
  base64.reserve(body.size());
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    const std::string_view line = body.substr(pos, eol - pos);
    if (line.find(':') == std::string_view::npos) {
      for (char c : line) {
        if (c != ' ' && c != '\t' && c != '\r') base64.push_back(c);
      }
    }
    pos = eol + 1;
  }
  size_t max_len = 0;
  std::optional<SecretBytes> result;
  if (!base64.empty() && EVP_DecodedLength(&max_len, base64.size())) {
    std::string der(max_len, '\0');
    size_t der_len = 0;
    if (EVP_DecodeBase64(reinterpret_cast<uint8_t*>(der.data()), &der_len, der.size(), Bytes(base64), base64.size())) {
      der.resize(der_len);
      result.emplace(std::move(der));
    } else {
      OPENSSL_cleanse(der.data(), der.size());
    }
  }
  OPENSSL_cleanse(base64.data(), base64.size());
  ERR_clear_error();
  return result;
}

// EncodePem writes `der` as PEM with 64-column lines. The output is reserved
// up front so no reallocation leaves a copy of a key behind in freed memory.
std::string EncodePem(std::string_view label, std::string_view der) {
  const size_t lines = (der.size() + 47) / 48;
  std::string out;
  out.reserve(2 * (label.size() + 17) + der.size() / 3 * 4 + 4 + lines + 1);
  out.append("-----BEGIN ").append(label).append("-----\n");
  std::array<uint8_t, 65> line{};  // 48 bytes encode to 64 characters + NUL
  for (size_t off = 0; off < der.size(); off += 48) {
    const size_t n = std::min<size_t>(48, der.size() - off);
    const size_t written = EVP_EncodeBlock(line.data(), Bytes(der) + off, n);
    out.append(reinterpret_cast<const char*>(line.data()), written).push_back('\n');
  }
  OPENSSL_cleanse(line.data(), line.size());
  out.append("-----END ").append(label).append("-----\n");
  return out;
}

std::string Der(X509* cert) {
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len < 0) {
    ERR_clear_error();
    return {};
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return {reinterpret_cast<const char*>(der), static_cast<size_t>(len)};
}

// --- Verification -------------------------------------------------------------------

// AllowLeafClockSkew is the verify callback: CheckLeaf has already bounded
// the leaf's notBefore by now + max_clock_skew, so a leaf "not yet valid" by
// less than that is accepted rather than failing on a slow clock here.
int AllowLeafClockSkew(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CERT_NOT_YET_VALID &&
      X509_STORE_CTX_get_error_depth(ctx) == 0) {
    return 1;
  }
  return ok;
}

Status VerifyChain(const LeafCheck& check) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return BoringFailure("X509_STORE allocation");
  for (X509* root : check.roots) {
    if (!X509_STORE_add_cert(store.get(), root)) {
      // Adding the same root twice is harmless.
      if (ERR_GET_REASON(ERR_peek_last_error()) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        return BoringFailure("X509_STORE_add_cert");
      }
      ERR_clear_error();
    }
  }
  for (X509* cert : check.chain) {
    if (!bssl::PushToStack(untrusted.get(), bssl::UpRef(cert))) return BoringFailure("sk_X509_push");
  }
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), check.leaf, untrusted.get())) {
    return BoringFailure("X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), /*flags=*/0, static_cast<time_t>(FloorSeconds(check.now)));
  X509_STORE_CTX_set_verify_cb(ctx.get(), AllowLeafClockSkew);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    return Refuse(PermissionDenied(std::string("chain does not verify to a trusted root: ") +
                                   X509_verify_cert_error_string(err) + " (depth " + std::to_string(depth) + ")"));
  }
  return Status::Ok();
}

// VerifyUnderIssuer is step 4 with a verified issuer: it issued and signed
// the leaf and is valid at `now`.
Status VerifyUnderIssuer(const LeafCheck& check) {
  X509* issuer = check.verified_issuer;
  if (!SignedBy(check.leaf, issuer)) {
    return Refuse(PermissionDenied("chain does not verify to a trusted root: the leaf is not signed by its issuer"));
  }
  if (check.now < NotBefore(issuer) || check.now >= NotAfter(issuer)) {
    return Refuse(PermissionDenied("chain does not verify to a trusted root: the issuer is not valid at " +
                                   FormatRfc3339Seconds(check.now)));
  }
  return Status::Ok();
}

// FindIssuer returns the certificate among `chain` then `roots` that issued
// `leaf` (name and key identifier match), or null.
X509* FindIssuer(const LeafCheck& check) {
  if (check.verified_issuer != nullptr) {
    return X509_check_issued(check.verified_issuer, check.leaf) == X509_V_OK ? check.verified_issuer : nullptr;
  }
  for (const std::vector<X509*>* pool : {&check.chain, &check.roots}) {
    for (X509* candidate : *pool) {
      if (X509_check_issued(candidate, check.leaf) == X509_V_OK) return candidate;
    }
  }
  ERR_clear_error();
  return nullptr;
}

}  // namespace

bool SignedBy(X509* cert, X509* issuer) {
  bool ok = cert != nullptr && issuer != nullptr && X509_check_issued(issuer, cert) == X509_V_OK;
  if (ok) {
    bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(issuer));
    ok = key != nullptr && X509_verify(cert, key.get()) == 1;
  }
  ERR_clear_error();
  return ok;
}

StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type) {
  int id = EVP_PKEY_NONE;
  switch (type) {
    case KeyType::kEd25519: id = EVP_PKEY_ED25519; break;
    case KeyType::kP256: id = EVP_PKEY_EC; break;
    case KeyType::kRsa2048:
    case KeyType::kRsa3072: id = EVP_PKEY_RSA; break;
  }
  if (id == EVP_PKEY_NONE) return Refuse(InvalidArgument("unknown key type"));
  bssl::UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(id, nullptr));
  if (!ctx || !EVP_PKEY_keygen_init(ctx.get())) return BoringFailure("EVP_PKEY_keygen_init");
  if (type == KeyType::kP256 && !EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1)) {
    return BoringFailure("EVP_PKEY_CTX_set_ec_paramgen_curve_nid");
  }
  if (IsRsa(type) && !EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), type == KeyType::kRsa2048 ? 2048 : 3072)) {
    return BoringFailure("EVP_PKEY_CTX_set_rsa_keygen_bits");
  }
  EVP_PKEY* raw = nullptr;
  if (!EVP_PKEY_keygen(ctx.get(), &raw)) return BoringFailure("EVP_PKEY_keygen");
  return bssl::UniquePtr<EVP_PKEY>(raw);
}

StatusOr<bssl::UniquePtr<X509>> SignCertificate(const CertificateRequest& request, EVP_PKEY* subject_key, X509* issuer,
                                                EVP_PKEY* issuer_key) {
  if (subject_key == nullptr) return Refuse(InvalidArgument("no subject key"));
  if ((issuer == nullptr) != (issuer_key == nullptr)) {
    return Refuse(InvalidArgument("an issuer certificate needs its key, and an issuer key its certificate"));
  }
  if (request.subject.empty() && request.dns.empty() && request.uris.empty() && request.ips.empty()) {
    return Refuse(InvalidArgument("empty request: no subject and no subjectAltName"));
  }
  ROTOR_ASSIGN_OR_RETURN(const KeyType subject_type, KeyTypeOf(subject_key));
  if (subject_type != request.key_type) {
    return Refuse(InvalidArgument(std::string("the request is for a ") + KeyTypeName(request.key_type) +
                                  " key but the subject key is " + KeyTypeName(subject_type)));
  }
  if (request.not_before >= request.not_after) return Refuse(InvalidArgument("notBefore is not before notAfter"));
  if (request.not_after > kMaxInstant) return Refuse(InvalidArgument("notAfter is past 9999-12-31"));
  const uint32_t usage = EffectiveKeyUsage(request);
  if ((usage & ~kKnownKeyUsages) != 0) return Refuse(InvalidArgument("key_usage has unknown bits"));
  if (!request.is_ca) {
    // RFC 5280 §4.2.1.3: keyCertSign only with cA; a leaf must not sign.
    if ((usage & (kKeyUsageKeyCertSign | kKeyUsageCrlSign)) != 0) {
      return Refuse(InvalidArgument("key_cert_sign and crl_sign are for CA certificates"));
    }
    if (request.path_len != -1) return Refuse(InvalidArgument("path_len is set but the request is not a CA"));
  } else if (request.path_len < -1) {
    return Refuse(InvalidArgument("path_len must be -1 (none) or at least 0"));
  }
  if (issuer != nullptr) {
    if (X509_check_ca(issuer) == 0) return Refuse(InvalidArgument("the issuer certificate is not a CA"));
    if (!SameKey(issuer, issuer_key)) return Refuse(InvalidArgument("issuer_key is not the issuer certificate's key"));
    const std::optional<Instant> issuer_not_after = ParseTime(X509_get0_notAfter(issuer));
    if (!issuer_not_after) return Refuse(InvalidArgument("the issuer's notAfter is malformed"));
    if (Instant::FromSeconds(FloorSeconds(request.not_after)) > *issuer_not_after) {
      return Refuse(InvalidArgument("notAfter " + FormatRfc3339Seconds(request.not_after) +
                                    " is past the issuer's notAfter " + FormatRfc3339Seconds(*issuer_not_after)));
    }
    const long issuer_path_len = X509_get_pathlen(issuer);
    if (request.is_ca && issuer_path_len >= 0 &&
        (issuer_path_len == 0 || request.path_len < 0 || request.path_len >= issuer_path_len)) {
      return Refuse(InvalidArgument("the issuer's pathLenConstraint " + std::to_string(issuer_path_len) +
                                    " does not allow this CA's path_len " + std::to_string(request.path_len)));
    }
  }
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<X509_NAME> subject, BuildName(request.subject));
  // Validated before anything is built; encoded in request order below.
  ROTOR_RETURN_IF_ERROR(RequestAltNames(request).status());
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<ASN1_INTEGER> serial, NewSerial());

  bssl::UniquePtr<X509> cert(X509_new());
  bssl::UniquePtr<ASN1_TIME> not_before = EncodeTime(request.not_before);
  bssl::UniquePtr<ASN1_TIME> not_after = EncodeTime(request.not_after);
  if (!cert || !not_before || !not_after) return BoringFailure("X509_new");
  if (!X509_set_version(cert.get(), X509_VERSION_3) || !X509_set_serialNumber(cert.get(), serial.get()) ||
      !X509_set_subject_name(cert.get(), subject.get()) ||
      !X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject.get()) ||
      !X509_set1_notBefore(cert.get(), not_before.get()) || !X509_set1_notAfter(cert.get(), not_after.get()) ||
      !X509_set_pubkey(cert.get(), subject_key)) {
    return BoringFailure("X509 field");
  }

  ROTOR_RETURN_IF_ERROR(AddBasicConstraints(cert.get(), request.is_ca, request.path_len));
  ROTOR_RETURN_IF_ERROR(AddKeyUsage(cert.get(), usage));
  if (!request.ext_key_usage.empty()) ROTOR_RETURN_IF_ERROR(AddExtKeyUsage(cert.get(), request.ext_key_usage));
  if (!request.dns.empty() || !request.uris.empty() || !request.ips.empty()) {
    // RFC 5280 §4.2.1.6: with an empty subject the SAN carries the identity
    // and must be critical.
    ROTOR_RETURN_IF_ERROR(AddSubjectAltName(cert.get(), request, /*critical=*/request.subject.empty()));
  }
  ROTOR_ASSIGN_OR_RETURN(const std::string key_id, KeyIdentifier(cert.get()));
  ROTOR_RETURN_IF_ERROR(AddOctetStringExtension(cert.get(), NID_subject_key_identifier, key_id));
  std::string authority_key_id = key_id;
  if (issuer != nullptr) {
    ROTOR_ASSIGN_OR_RETURN(authority_key_id, IssuerKeyId(issuer));
  }
  ROTOR_RETURN_IF_ERROR(AddAuthorityKeyId(cert.get(), authority_key_id));

  EVP_PKEY* signer = issuer_key != nullptr ? issuer_key : subject_key;
  // Ed25519 is a pure signature: no digest. EC and RSA hash with SHA-256.
  const EVP_MD* md = EVP_PKEY_id(signer) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), signer, md) <= 0) return BoringFailure("X509_sign");
  return cert;
}

std::string CertificatePem(X509* cert) {
  return EncodePem("CERTIFICATE", Der(cert));
}

std::string CertificateDerPem(std::string_view der) {
  return EncodePem("CERTIFICATE", der);
}

std::string CertificateDer(X509* cert) {
  return Der(cert);
}

SecretBytes PrivateKeyDer(EVP_PKEY* key) {
  bssl::ScopedCBB cbb;
  uint8_t* der = nullptr;
  size_t der_len = 0;
  if (!CBB_init(cbb.get(), 2048) || !EVP_marshal_private_key(cbb.get(), key) ||
      !CBB_finish(cbb.get(), &der, &der_len)) {
    ERR_clear_error();
    return SecretBytes();
  }
  bssl::UniquePtr<uint8_t> owned(der);
  SecretBytes out(std::string(reinterpret_cast<const char*>(der), der_len));
  OPENSSL_cleanse(der, der_len);
  return out;
}

SecretBytes PrivateKeyPem(EVP_PKEY* key) {
  SecretBytes der = PrivateKeyDer(key);
  if (der.empty()) return SecretBytes();
  return SecretBytes(EncodePem("PRIVATE KEY", der.view()));
}

StatusOr<std::vector<bssl::UniquePtr<X509>>> ParseCertificatesPem(std::string_view pem) {
  std::vector<bssl::UniquePtr<X509>> certs;
  PemScanner scanner(pem);
  PemBlock block;
  for (int number = 1; scanner.Next(&block); ++number) {
    const std::string where = "PEM block " + std::to_string(number);
    if (!block.complete) return Refuse(InvalidArgument(where + ": no matching END line"));
    if (block.label != "CERTIFICATE") continue;
    std::optional<SecretBytes> der = DecodePemBody(block.body);
    if (!der) return Refuse(InvalidArgument(where + " (CERTIFICATE): malformed base64"));
    const uint8_t* p = Bytes(der->view());
    bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der->view().size())));
    if (!cert || p != Bytes(der->view()) + der->view().size()) {
      return Refuse(InvalidArgument(where + " (CERTIFICATE): not a valid DER certificate"));
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) return Refuse(NotFound("no CERTIFICATE block in the PEM text"));
  return certs;
}

namespace {

StatusOr<bssl::UniquePtr<EVP_PKEY>> ParseKeyDer(std::string_view label, std::string_view der) {
  CBS cbs;
  CBS_init(&cbs, Bytes(der), der.size());
  bssl::UniquePtr<EVP_PKEY> key;
  if (label == "PRIVATE KEY") {
    key.reset(EVP_parse_private_key(&cbs));
  } else if (label == "RSA PRIVATE KEY") {
    bssl::UniquePtr<RSA> rsa(RSA_parse_private_key(&cbs));
    key.reset(EVP_PKEY_new());
    if (!rsa || !key || !EVP_PKEY_assign_RSA(key.get(), rsa.get())) {
      key.reset();
    } else {
      (void)rsa.release();  // owned by `key` now
    }
  } else {  // "EC PRIVATE KEY": SEC1, with the curve in its parameters
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_parse_private_key(&cbs, nullptr));
    key.reset(EVP_PKEY_new());
    if (!ec || !key || !EVP_PKEY_assign_EC_KEY(key.get(), ec.get())) {
      key.reset();
    } else {
      (void)ec.release();  // owned by `key` now
    }
  }
  if (!key || CBS_len(&cbs) != 0) {
    return Refuse(InvalidArgument(std::string(label) + ": not a valid unencrypted private key"));
  }
  return key;
}

}  // namespace

StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyPem(std::string_view pem) {
  PemScanner scanner(pem);
  PemBlock block;
  std::optional<bssl::UniquePtr<EVP_PKEY>> found;
  for (int number = 1; scanner.Next(&block); ++number) {
    const std::string where = "PEM block " + std::to_string(number);
    if (!block.complete) return Refuse(InvalidArgument(where + ": no matching END line"));
    if (block.label == "ENCRYPTED PRIVATE KEY") {
      return Refuse(InvalidArgument(where + ": the private key is encrypted; rotor reads only unencrypted keys"));
    }
    if (block.label != "PRIVATE KEY" && block.label != "RSA PRIVATE KEY" && block.label != "EC PRIVATE KEY") {
      continue;  // certificates or EC PARAMETERS beside the key
    }
    if (HasEncryptionHeader(block.body)) {
      return Refuse(InvalidArgument(where + " (" + std::string(block.label) +
                                    "): the private key is encrypted (Proc-Type: 4,ENCRYPTED); rotor reads only "
                                    "unencrypted keys"));
    }
    if (found) return Refuse(InvalidArgument(where + ": more than one private key in the PEM text"));
    std::optional<SecretBytes> der = DecodePemBody(block.body);
    if (!der) return Refuse(InvalidArgument(where + " (" + std::string(block.label) + "): malformed base64"));
    ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key, ParseKeyDer(block.label, der->view()));
    found = std::move(key);
  }
  if (!found) return Refuse(NotFound("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block in the PEM text"));
  return *std::move(found);
}

StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDer(std::string_view der) {
  return ParseKeyDer("PRIVATE KEY", der);
}

StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDerAs(std::string_view format, std::string_view der) {
  if (format == "pkcs8") return ParseKeyDer("PRIVATE KEY", der);
  if (format == "pkcs1") return ParseKeyDer("RSA PRIVATE KEY", der);
  if (format == "sec1") return ParseKeyDer("EC PRIVATE KEY", der);
  return Refuse(InvalidArgument("private key in format \"" + std::string(format) + "\" cannot be read"));
}

StatusOr<bssl::UniquePtr<X509>> ParseCertificateDer(std::string_view der) {
  const uint8_t* p = Bytes(der);
  bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    char reason[256] = "no reason given";
    if (const uint32_t err = ERR_peek_last_error(); err != 0) ERR_error_string_n(err, reason, sizeof(reason));
    return Refuse(InvalidArgument(std::string("BoringSSL cannot parse the certificate: ") + reason));
  }
  return cert;
}

StatusOr<ImportedCertificate> ReadImportedCertificate(X509* cert) {
  if (cert == nullptr) return Refuse(InvalidArgument("no certificate"));
  ImportedCertificate out;
  const X509_NAME* name = X509_get_subject_name(cert);
  const int n = X509_NAME_entry_count(name);
  int last_set = -1;
  for (int i = 0; i < n; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const int set = X509_NAME_ENTRY_set(entry);
    if (set == last_set) out.multi_valued_rdn = true;
    last_set = set;
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
    const int nid = OBJ_obj2nid(obj);
    std::string type;
    if (const AttributeType* known = FindAttribute(nid)) {
      type = known->name;
    } else if (nid != NID_undef) {
      type = OBJ_nid2sn(nid);
    } else {
      char oid[128] = {0};
      OBJ_obj2txt(oid, sizeof oid, obj, /*always_return_oid=*/1);
      type = oid;
    }
    uint8_t* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0) return Refuse(InvalidArgument("subject attribute " + type + " cannot be read as text"));
    bssl::UniquePtr<uint8_t> owned(utf8);
    out.subject.push_back({type, std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len))});
  }

  int crit = -1;
  bssl::UniquePtr<GENERAL_NAMES> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (!sans && crit != -1) return Refuse(InvalidArgument("subjectAltName is malformed or repeated"));
  ERR_clear_error();
  for (const GENERAL_NAME* gn : sans.get()) {
    int type = 0;
    const void* value = GENERAL_NAME_get0_value(gn, &type);
    switch (type) {
      case GEN_DNS: out.dns.emplace_back(AsView(static_cast<const ASN1_STRING*>(value))); break;
      case GEN_URI: out.uris.emplace_back(AsView(static_cast<const ASN1_STRING*>(value))); break;
      case GEN_IPADD: {
        const std::string_view raw = AsView(static_cast<const ASN1_STRING*>(value));
        char text[INET6_ADDRSTRLEN] = {0};
        const int family = raw.size() == 4 ? AF_INET : raw.size() == 16 ? AF_INET6 : AF_UNSPEC;
        if (family != AF_UNSPEC && inet_ntop(family, raw.data(), text, sizeof text) != nullptr) {
          out.ips.emplace_back(text);
        } else {
          out.other_sans.push_back("an IP address of " + std::to_string(raw.size()) + " bytes");
        }
        break;
      }
      case GEN_EMAIL:
        out.other_sans.push_back("email:" + std::string(AsView(static_cast<const ASN1_STRING*>(value))));
        break;
      case GEN_OTHERNAME: out.other_sans.emplace_back("otherName"); break;
      case GEN_DIRNAME: out.other_sans.emplace_back("dirName"); break;
      case GEN_RID: out.other_sans.emplace_back("registeredID"); break;
      default: out.other_sans.emplace_back("an entry of type " + std::to_string(type)); break;
    }
  }

  const uint32_t ku = X509_get_key_usage(cert);
  if (ku != UINT32_MAX) {
    out.has_key_usage = true;
    for (int bit = 0; bit < 7; ++bit) {
      if ((ku & (0x80u >> bit)) != 0) out.key_usage |= 1u << bit;
    }
  }
  bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr)));
  if (!eku && crit != -1) return Refuse(InvalidArgument("extendedKeyUsage is malformed or repeated"));
  ERR_clear_error();
  for (const ASN1_OBJECT* oid : eku.get()) {
    bool known = false;
    for (ExtKeyUsage e : {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth, ExtKeyUsage::kCodeSigning,
                          ExtKeyUsage::kEmailProtection, ExtKeyUsage::kTimeStamping}) {
      if (OBJ_obj2nid(oid) == EkuNid(e)) {
        out.ext_key_usage.push_back(e);
        known = true;
      }
    }
    if (!known) {
      char text[128] = {0};
      OBJ_obj2txt(text, sizeof text, oid, /*always_return_oid=*/0);
      out.other_ext_key_usages.emplace_back(text);
    }
  }

  bssl::UniquePtr<EVP_PKEY> owned_key(X509_get_pubkey(cert));
  const EVP_PKEY* key = owned_key.get();
  if (key == nullptr) {
    ERR_clear_error();
    out.key_type_name = "unreadable";
  } else if (auto type = KeyTypeOf(key); type.ok()) {
    out.key_type = *type;
    out.key_type_name = KeyTypeName(*type);
  } else {
    switch (EVP_PKEY_id(key)) {
      case EVP_PKEY_RSA: out.key_type_name = "rsa" + std::to_string(EVP_PKEY_bits(key)); break;
      case EVP_PKEY_EC: out.key_type_name = "p" + std::to_string(EVP_PKEY_bits(key)); break;
      default: out.key_type_name = "unknown"; break;
    }
  }
  ERR_clear_error();
  return out;
}

std::string Fingerprint(X509* cert) {
  const std::string der = Der(cert);
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(Bytes(der), der.size(), digest.data());
  return "sha256:" + Hex(digest.data(), digest.size());
}

// A malformed bound reads as the safe extreme: a notAfter as already past, a
// notBefore as never reached, so such a certificate is never used.
Instant NotAfter(X509* cert) {
  return ParseTime(X509_get0_notAfter(cert)).value_or(kMinInstant);
}

Instant NotBefore(X509* cert) {
  return ParseTime(X509_get0_notBefore(cert)).value_or(kMaxInstant);
}

StatusOr<KeyType> KeyTypeOf(const EVP_PKEY* key) {
  if (key == nullptr) return Refuse(InvalidArgument("no key"));
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_ED25519: return KeyType::kEd25519;
    case EVP_PKEY_EC: {
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
      const EC_GROUP* group = ec != nullptr ? EC_KEY_get0_group(ec) : nullptr;
      if (group != nullptr && EC_GROUP_get_curve_name(group) == NID_X9_62_prime256v1) return KeyType::kP256;
      return Refuse(InvalidArgument("EC key on a curve other than P-256"));
    }
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_bits(key);
      if (bits == 2048) return KeyType::kRsa2048;
      if (bits == 3072) return KeyType::kRsa3072;
      return Refuse(InvalidArgument("RSA key of " + std::to_string(bits) + " bits (supported: 2048, 3072)"));
    }
    default: return Refuse(InvalidArgument("unsupported key type"));
  }
}

Status CheckLeaf(const LeafCheck& check) {
  if (check.leaf == nullptr || check.key == nullptr || check.request == nullptr) {
    return Refuse(InvalidArgument("CheckLeaf needs a leaf, its key and the request"));
  }
  const CertificateRequest& request = *check.request;
  X509* leaf = check.leaf;

  // 1. The delivered key belongs to the certificate.
  if (!SameKey(leaf, check.key)) {
    return Refuse(PermissionDenied("the private key does not match the certificate's public key"));
  }

  // 2. Contents equal the request.
  const std::vector<NameAttribute> subject = NameAttributes(X509_get_subject_name(leaf));
  if (subject != request.subject) {
    return Refuse(PermissionDenied("subject is " + FormatName(subject) + "; the request asks for " +
                                   FormatName(request.subject)));
  }
  ROTOR_ASSIGN_OR_RETURN(const AltNames want, RequestAltNames(request));
  AltNames got;
  int san_crit = -1;
  bssl::UniquePtr<GENERAL_NAMES> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, &san_crit, nullptr)));
  if (!sans && san_crit != -1) return Refuse(PermissionDenied("subjectAltName is malformed or repeated"));
  ERR_clear_error();
  for (const GENERAL_NAME* name : sans.get()) {
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
    switch (type) {
      case GEN_DNS: got.dns.insert(std::string(AsView(value))); break;
      case GEN_URI: got.uris.insert(std::string(AsView(value))); break;
      case GEN_IPADD: got.ips.insert(std::string(AsView(value))); break;
      default: return Refuse(PermissionDenied("subjectAltName has an entry of a type rotor does not issue"));
    }
  }
  if (got.dns != want.dns) {
    return Refuse(PermissionDenied("DNS names are " + FormatSet(got.dns, false) + "; the request asks for " +
                                   FormatSet(want.dns, false)));
  }
  if (got.uris != want.uris) {
    return Refuse(PermissionDenied("URIs are " + FormatSet(got.uris, false) + "; the request asks for " +
                                   FormatSet(want.uris, false)));
  }
  if (got.ips != want.ips) {
    return Refuse(PermissionDenied("IP addresses are " + FormatSet(got.ips, true) + "; the request asks for " +
                                   FormatSet(want.ips, true)));
  }
  const uint32_t leaf_ku_flags = X509_get_key_usage(leaf);
  if (leaf_ku_flags == UINT32_MAX) return Refuse(PermissionDenied("the certificate has no keyUsage extension"));
  uint32_t leaf_usage = 0;
  for (int bit = 0; bit < 7; ++bit) {
    if ((leaf_ku_flags & (0x80u >> bit)) != 0) leaf_usage |= 1u << bit;
  }
  const uint32_t want_usage = EffectiveKeyUsage(request);
  if (leaf_usage != want_usage) {
    return Refuse(PermissionDenied("key usage is " + FormatKeyUsage(leaf_usage) + "; the request asks for " +
                                   FormatKeyUsage(want_usage)));
  }
  std::set<int> want_eku;
  for (ExtKeyUsage e : request.ext_key_usage) want_eku.insert(EkuNid(e));
  std::set<int> got_eku;
  int eku_crit = -1;
  bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(leaf, NID_ext_key_usage, &eku_crit, nullptr)));
  if (!eku && eku_crit != -1) return Refuse(PermissionDenied("extendedKeyUsage is malformed or repeated"));
  ERR_clear_error();
  for (const ASN1_OBJECT* oid : eku.get()) got_eku.insert(OBJ_obj2nid(oid));
  if (got_eku != want_eku) {
    auto format = [](const std::set<int>& nids) {
      std::string out;
      for (int nid : nids) out += std::string(out.empty() ? "" : ",") + (nid == NID_undef ? "?" : OBJ_nid2sn(nid));
      return out.empty() ? std::string("(none)") : out;
    };
    return Refuse(
        PermissionDenied("extended key usage is " + format(got_eku) + "; the request asks for " + format(want_eku)));
  }

  // 3. Validity.
  const Instant not_before = NotBefore(leaf);
  const Instant not_after = NotAfter(leaf);
  if (not_before > check.now + check.max_clock_skew) {
    return Refuse(PermissionDenied("not valid yet: notBefore " + FormatRfc3339Seconds(not_before) + " is more than " +
                                   FormatDuration(check.max_clock_skew) + " after now (" +
                                   FormatRfc3339Seconds(check.now) + ")"));
  }
  if (check.now >= not_after) {
    return Refuse(PermissionDenied("expired: notAfter " + FormatRfc3339Seconds(not_after) + " is not after now (" +
                                   FormatRfc3339Seconds(check.now) + ")"));
  }
  if (not_before >= not_after) return Refuse(PermissionDenied("notBefore is not before notAfter"));
  if (X509* issuer = FindIssuer(check); issuer != nullptr) {
    const Instant issuer_not_after = NotAfter(issuer);
    if (not_after > issuer_not_after) {
      return Refuse(PermissionDenied("outlives its issuer: notAfter " + FormatRfc3339Seconds(not_after) +
                                     " is after the issuer's notAfter " + FormatRfc3339Seconds(issuer_not_after)));
    }
  }

  // 4. Chain and role.
  ROTOR_RETURN_IF_ERROR(check.verified_issuer != nullptr ? VerifyUnderIssuer(check) : VerifyChain(check));
  int bc_crit = -1;
  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(leaf, NID_basic_constraints, &bc_crit, nullptr)));
  ERR_clear_error();
  const bool is_ca = bc && bc->ca;
  if (!request.is_ca && !bc) return Refuse(PermissionDenied("the certificate has no basicConstraints extension"));
  if (is_ca != request.is_ca) {
    return Refuse(PermissionDenied(is_ca ? "the certificate is a CA (basicConstraints CA:TRUE); the request is not"
                                         : "the certificate is not a CA; the request is for a CA"));
  }
  return Status::Ok();
}

}  // namespace rotor::x509
