#include "engine/certificate.h"

#include <array>
#include <cstddef>
#include <string>
#include "engine/utf8.h"

namespace rotor {

namespace {

constexpr std::string_view kIdToken = "{id}";

struct KeyUsageName {
  uint32_t bit;
  const char* name;
};
constexpr KeyUsageName kKeyUsageNames[] = {
    {kKeyUsageDigitalSignature, "digital_signature"},
    {kKeyUsageContentCommitment, "content_commitment"},
    {kKeyUsageKeyEncipherment, "key_encipherment"},
    {kKeyUsageDataEncipherment, "data_encipherment"},
    {kKeyUsageKeyAgreement, "key_agreement"},
    {kKeyUsageKeyCertSign, "key_cert_sign"},
    {kKeyUsageCrlSign, "crl_sign"},
};
constexpr uint32_t kAllKeyUsages = kKeyUsageDigitalSignature | kKeyUsageContentCommitment | kKeyUsageKeyEncipherment |
                                   kKeyUsageDataEncipherment | kKeyUsageKeyAgreement | kKeyUsageKeyCertSign |
                                   kKeyUsageCrlSign;

constexpr ExtKeyUsage kAllExtKeyUsages[] = {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth,
                                            ExtKeyUsage::kCodeSigning, ExtKeyUsage::kEmailProtection,
                                            ExtKeyUsage::kTimeStamping};

constexpr const char* kSubjectTypes[] = {"CN", "O", "OU", "C", "ST", "L", "serialNumber"};

std::string Quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string Field(const char* name, size_t index) {
  return std::string(name) + "[" + std::to_string(index) + "]";
}

bool IsAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

// IsPrintableStringChar: the PrintableString alphabet (X.680 §41.4).
bool IsPrintableStringChar(char c) {
  if (IsAsciiLetter(c) || IsAsciiDigit(c)) return true;
  return std::string_view(" '()+,-./:=?").find(c) != std::string_view::npos;
}

std::string ReplaceId(std::string_view text, const std::string& id) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t at = text.find(kIdToken, pos);
    if (at == std::string_view::npos) break;
    out.append(text.substr(pos, at - pos));
    out.append(id);
    pos = at + kIdToken.size();
  }
  out.append(text.substr(pos));
  return out;
}

// WithoutIdTokens drops every "{id}" so the literal rest can be checked; the
// expanded id itself is validated where the identity is declared.
std::string WithoutIdTokens(std::string_view text) {
  return ReplaceId(text, "");
}

bool ParseIpv4(std::string_view s, std::array<uint8_t, 4>* out) {
  size_t part = 0;
  size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || !IsAsciiDigit(s[i])) return false;
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (s[i] == '0' && i + 1 < s.size() && IsAsciiDigit(s[i + 1])) return false;
    unsigned value = 0;
    size_t digits = 0;
    while (i < s.size() && IsAsciiDigit(s[i]) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (value > 255) return false;
    (*out)[part++] = static_cast<uint8_t>(value);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

int HexValue(char c) {
  if (IsAsciiDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ParseIpv6 accepts RFC 4291 §2.2 text: eight groups, one "::", and an
// optional trailing dotted IPv4 address. No zone ("%eth0"): a certificate
// carries no zone.
bool ParseIpv6(std::string_view s) {
  int count = 0;  // 16-bit groups seen
  int gap = -1;   // index in groups where "::" stands
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    gap = 0;
    i = 2;
    if (i == s.size()) return true;
  } else if (!s.empty() && s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    if (count == 8) return false;
    // A trailing IPv4 address takes two groups.
    const size_t next_colon = s.find(':', i);
    const std::string_view token = s.substr(i, next_colon == std::string_view::npos ? s.npos : next_colon - i);
    if (token.find('.') != std::string_view::npos) {
      std::array<uint8_t, 4> v4{};
      if (next_colon != std::string_view::npos || count > 6 || !ParseIpv4(token, &v4)) return false;
      count += 2;
      i = s.size();
      break;
    }
    if (token.empty() || token.size() > 4) return false;
    for (char c : token) {
      if (HexValue(c) < 0) return false;
    }
    ++count;
    i += token.size();
    if (i == s.size()) break;
    // s[i] == ':'
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (gap >= 0) return false;
      gap = count;
      ++i;
    } else if (i == s.size()) {
      return false;  // a single trailing ':'
    }
  }
  return gap >= 0 ? count < 8 : count == 8;
}

bool ValidIp(std::string_view s) {
  std::array<uint8_t, 4> v4{};
  return ParseIpv4(s, &v4) || ParseIpv6(s);
}

// ValidDnsTemplate: LDH labels (plus '_', common in service names), an
// optional leading "*" label, no empty label, at most 253 characters.
Status ValidateDns(const std::string& field, std::string_view dns) {
  if (dns.empty()) return InvalidArgument(field + ": empty DNS name");
  const std::string literal = WithoutIdTokens(dns);
  if (literal.size() > 253) return InvalidArgument(field + ": DNS name longer than 253 characters");
  // The template with "{id}" replaced by a one-letter stand-in has the shape
  // of every expansion (ids are [A-Za-z0-9._-]).
  const std::string shape = ReplaceId(dns, "x");
  size_t start = 0;
  size_t label_index = 0;
  while (start <= shape.size()) {
    size_t end = shape.find('.', start);
    if (end == std::string::npos) end = shape.size();
    const std::string_view label = std::string_view(shape).substr(start, end - start);
    if (label.empty()) return InvalidArgument(field + ": " + Quoted(dns) + " has an empty label");
    if (label == "*") {
      if (label_index != 0) return InvalidArgument(field + ": " + Quoted(dns) + ": '*' only as the leftmost label");
    } else {
      for (char c : label) {
        if (!IsAsciiLetter(c) && !IsAsciiDigit(c) && c != '-' && c != '_') {
          return InvalidArgument(field + ": " + Quoted(dns) + " is not a DNS name");
        }
      }
      if (label.front() == '-' || label.back() == '-') {
        return InvalidArgument(field + ": " + Quoted(dns) + ": a label may not start or end with '-'");
      }
    }
    ++label_index;
    start = end + 1;
  }
  return Status::Ok();
}

// ValidateUri: "scheme:rest" (RFC 3986 §3.1), printable ASCII, no spaces;
// a SAN URI is an IA5String.
Status ValidateUri(const std::string& field, std::string_view uri) {
  if (uri.empty()) return InvalidArgument(field + ": empty URI");
  const size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || !IsAsciiLetter(uri[0]) || colon + 1 == uri.size()) {
    return InvalidArgument(field + ": " + Quoted(uri) + " is not an absolute URI (scheme:...)");
  }
  for (size_t i = 0; i < uri.size(); ++i) {
    const char c = uri[i];
    if (i < colon && !IsAsciiLetter(c) && !IsAsciiDigit(c) && c != '+' && c != '-' && c != '.') {
      return InvalidArgument(field + ": " + Quoted(uri) + " has a malformed scheme");
    }
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return InvalidArgument(field + ": URI contains a space, control or non-ASCII character");
    }
  }
  return Status::Ok();
}

Status ValidateSubject(const std::vector<NameAttribute>& subject) {
  for (size_t i = 0; i < subject.size(); ++i) {
    const NameAttribute& a = subject[i];
    const std::string field = Field("subject", i);
    bool known = false;
    for (const char* t : kSubjectTypes) known = known || a.type == t;
    if (!known) {
      return InvalidArgument(field + ".type: unknown attribute " + Quoted(a.type) +
                             " (supported: CN, O, OU, C, ST, L, serialNumber)");
    }
    if (a.value.empty()) return InvalidArgument(field + " (" + a.type + "): empty value");
    if (!ValidUtf8(a.value)) return InvalidArgument(field + " (" + a.type + "): value is not valid UTF-8");
    if (a.type == "C") {
      if (a.value.size() != 2 || !IsAsciiLetter(a.value[0]) || !IsAsciiLetter(a.value[1])) {
        return InvalidArgument(field + " (C): " + Quoted(a.value) + " is not a two-letter country code");
      }
    }
    if (a.type == "serialNumber") {
      // Always a PrintableString (RFC 5280 Appendix A); "{id}" is checked
      // when the certificate is signed.
      for (char c : WithoutIdTokens(a.value)) {
        if (!IsPrintableStringChar(c)) {
          return InvalidArgument(field + " (serialNumber): " + Quoted(a.value) +
                                 " has characters a PrintableString cannot hold");
        }
      }
    }
  }
  return Status::Ok();
}

// ValidateKeyUsage: the bits the key type can honour (RFC 8410 §5 for
// Ed25519, RFC 5480 §3 for EC): only RSA encrypts keys or data, only EC
// agrees keys.
Status ValidateKeyUsage(KeyType type, uint32_t usage) {
  if ((usage & ~kAllKeyUsages) != 0) return InvalidArgument("key_usage: unknown bits");
  const bool rsa = type == KeyType::kRsa2048 || type == KeyType::kRsa3072;
  if (!rsa && (usage & (kKeyUsageKeyEncipherment | kKeyUsageDataEncipherment)) != 0) {
    return InvalidArgument(std::string("key_usage: key_encipherment and data_encipherment need an RSA key, not ") +
                           KeyTypeName(type));
  }
  if (type != KeyType::kP256 && (usage & kKeyUsageKeyAgreement) != 0) {
    return InvalidArgument(std::string("key_usage: key_agreement needs an EC key, not ") + KeyTypeName(type));
  }
  return Status::Ok();
}

}  // namespace

const char* KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEd25519: return "ed25519";
    case KeyType::kP256: return "p256";
    case KeyType::kRsa2048: return "rsa2048";
    case KeyType::kRsa3072: return "rsa3072";
  }
  return "unknown";
}

StatusOr<KeyType> ParseKeyType(std::string_view name) {
  for (KeyType t : {KeyType::kEd25519, KeyType::kP256, KeyType::kRsa2048, KeyType::kRsa3072}) {
    if (name == KeyTypeName(t)) return t;
  }
  if (name == "ecdsa-p256") return KeyType::kP256;
  return InvalidArgument("unknown key type " + Quoted(name) + " (supported: ed25519, p256, rsa2048, rsa3072)");
}

StatusOr<uint32_t> ParseKeyUsage(std::string_view name) {
  for (const KeyUsageName& u : kKeyUsageNames) {
    if (name == u.name) return u.bit;
  }
  // The bit's name before X.509 (2008) renamed it.
  if (name == "non_repudiation") return static_cast<uint32_t>(kKeyUsageContentCommitment);
  std::string known;
  for (const KeyUsageName& u : kKeyUsageNames) known += std::string(known.empty() ? "" : ", ") + u.name;
  return InvalidArgument("unknown key usage " + Quoted(name) + " (supported: " + known + ")");
}

const char* ExtKeyUsageName(ExtKeyUsage eku) {
  switch (eku) {
    case ExtKeyUsage::kServerAuth: return "server_auth";
    case ExtKeyUsage::kClientAuth: return "client_auth";
    case ExtKeyUsage::kCodeSigning: return "code_signing";
    case ExtKeyUsage::kEmailProtection: return "email_protection";
    case ExtKeyUsage::kTimeStamping: return "time_stamping";
  }
  return "unknown";
}

StatusOr<ExtKeyUsage> ParseExtKeyUsage(std::string_view name) {
  for (ExtKeyUsage e : kAllExtKeyUsages) {
    if (name == ExtKeyUsageName(e)) return e;
  }
  return InvalidArgument("unknown extended key usage " + Quoted(name) +
                         " (supported: server_auth, client_auth, code_signing, email_protection, time_stamping)");
}

Status ValidateProfile(const CertificateProfile& profile) {
  const char* type_name = KeyTypeName(profile.key_type);
  if (std::string_view(type_name) == "unknown") return InvalidArgument("key_type: unknown key type");
  ROTOR_RETURN_IF_ERROR(ValidateSubject(profile.subject));
  for (size_t i = 0; i < profile.dns.size(); ++i) {
    ROTOR_RETURN_IF_ERROR(ValidateDns(Field("dns", i), profile.dns[i]));
  }
  for (size_t i = 0; i < profile.uris.size(); ++i) {
    ROTOR_RETURN_IF_ERROR(ValidateUri(Field("uris", i), profile.uris[i]));
  }
  for (size_t i = 0; i < profile.ips.size(); ++i) {
    if (!ValidIp(profile.ips[i])) {
      return InvalidArgument(Field("ips", i) + ": " + Quoted(profile.ips[i]) + " is not an IPv4 or IPv6 address");
    }
  }
  ROTOR_RETURN_IF_ERROR(ValidateKeyUsage(profile.key_type, profile.key_usage));
  for (size_t i = 0; i < profile.ext_key_usage.size(); ++i) {
    const ExtKeyUsage e = profile.ext_key_usage[i];
    if (std::string_view(ExtKeyUsageName(e)) == "unknown") {
      return InvalidArgument(Field("ext_key_usage", i) + ": unknown extended key usage");
    }
    for (size_t j = 0; j < i; ++j) {
      if (profile.ext_key_usage[j] == e) {
        return InvalidArgument(Field("ext_key_usage", i) + ": " + ExtKeyUsageName(e) + " listed twice");
      }
    }
  }
  if (profile.skew < Duration::Zero()) return InvalidArgument("skew: must not be negative");
  return Status::Ok();
}

uint32_t DefaultKeyUsage(KeyType type) {
  // RSA key transport (TLS 1.2 RSA key exchange) needs keyEncipherment; EC
  // and Ed25519 keys only sign.
  const bool rsa = type == KeyType::kRsa2048 || type == KeyType::kRsa3072;
  return kKeyUsageDigitalSignature | (rsa ? static_cast<uint32_t>(kKeyUsageKeyEncipherment) : 0u);
}

CertificateRequest ExpandProfile(const CertificateProfile& profile, const std::string& id, Instant issued_at,
                                 Instant not_after) {
  CertificateRequest request;
  request.key_type = profile.key_type;
  if (profile.subject.empty()) {
    request.subject.push_back({"CN", id});
  } else {
    for (const NameAttribute& a : profile.subject) request.subject.push_back({a.type, ReplaceId(a.value, id)});
  }
  for (const std::string& d : profile.dns) request.dns.push_back(ReplaceId(d, id));
  for (const std::string& u : profile.uris) request.uris.push_back(ReplaceId(u, id));
  for (const std::string& ip : profile.ips) request.ips.push_back(ReplaceId(ip, id));
  request.key_usage = profile.key_usage != 0 ? profile.key_usage : DefaultKeyUsage(profile.key_type);
  request.ext_key_usage = profile.ext_key_usage;
  request.not_before = issued_at - profile.skew;
  request.not_after = not_after;
  return request;
}

}  // namespace rotor
