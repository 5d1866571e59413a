#include "connectors/crypto/cert_scan.h"

#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/crypto.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "engine/time.h"
#include "engine/utf8.h"

namespace rotor::x509 {
namespace {

// ---------------------------------------------------------------------------
// Small helpers

std::string Hex(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

std::string Sha256Id(const uint8_t* p, size_t n) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(p, n, digest);
  return "sha256:" + Hex(digest, sizeof(digest));
}

std::string Sha256Id(const CBS& cbs) {
  return Sha256Id(CBS_data(&cbs), CBS_len(&cbs));
}

std::string_view View(const CBS& cbs) {
  return {reinterpret_cast<const char*>(CBS_data(&cbs)), CBS_len(&cbs)};
}

bool OidIs(const CBS& oid, std::initializer_list<uint8_t> der) {
  return CBS_len(&oid) == der.size() && std::memcmp(CBS_data(&oid), der.begin(), der.size()) == 0;
}

// DottedOid renders an OBJECT IDENTIFIER's content as "1.2.840...".
std::string DottedOid(CBS oid) {
  std::string out;
  uint64_t v = 0;
  bool first = true;
  while (CBS_len(&oid) > 0) {
    uint8_t b = 0;
    CBS_get_u8(&oid, &b);
    if (v > (UINT64_MAX >> 7)) return "(malformed OID)";
    v = (v << 7) | (b & 0x7f);
    if (b & 0x80) continue;
    if (first) {
      const uint64_t arc0 = v < 40 ? 0 : (v < 80 ? 1 : 2);
      out = std::to_string(arc0) + "." + std::to_string(v - 40 * arc0);
      first = false;
    } else {
      out += "." + std::to_string(v);
    }
    v = 0;
  }
  return out.empty() ? "(empty OID)" : out;
}

// ScanError carries a specific reason out of the nested readers.
struct ScanError {
  std::string reason;
};

// ---------------------------------------------------------------------------
// Names

const char* AttributeName(const CBS& oid) {
  // 2.5.4.x
  if (CBS_len(&oid) == 3 && CBS_data(&oid)[0] == 0x55 && CBS_data(&oid)[1] == 0x04) {
    switch (CBS_data(&oid)[2]) {
      case 3: return "CN";
      case 4: return "SN";
      case 5: return "serialNumber";
      case 6: return "C";
      case 7: return "L";
      case 8: return "ST";
      case 9: return "street";
      case 10: return "O";
      case 11: return "OU";
      case 12: return "title";
      case 42: return "GN";
      case 46: return "dnQualifier";
      case 97: return "organizationIdentifier";
      default: return nullptr;
    }
  }
  if (OidIs(oid, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01})) return "emailAddress";
  if (OidIs(oid, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19})) return "DC";
  if (OidIs(oid, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01})) return "UID";
  return nullptr;
}

bool IsPrintableStringChar(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' || c == '\'' ||
         c == '(' || c == ')' || c == '+' || c == ',' || c == '-' || c == '.' || c == '/' || c == ':' || c == '=' ||
         c == '?';
}

// DecodeString turns a directory string's content into UTF-8, adding a
// warning for content its type does not allow.
std::string DecodeString(unsigned tag, const CBS& value, const char* attr, std::vector<std::string>* warnings) {
  std::string_view raw = View(value);
  std::string out;
  auto warn = [&](const std::string& what) { warnings->push_back(std::string(attr) + ": " + what); };
  switch (tag) {
    case CBS_ASN1_UTF8STRING:
      if (!ValidUtf8(raw)) {
        warn("UTF8String is not valid UTF-8; invalid bytes shown as \\xNN");
        break;
      }
      return std::string(raw);
    case CBS_ASN1_PRINTABLESTRING:
    case CBS_ASN1_IA5STRING:
    case CBS_ASN1_VISIBLESTRING:
    case CBS_ASN1_NUMERICSTRING: {
      bool ascii = true;
      for (char ch : raw) {
        const auto c = static_cast<uint8_t>(ch);
        if (c >= 0x80) ascii = false;
        if (tag == CBS_ASN1_PRINTABLESTRING && c < 0x80 && !IsPrintableStringChar(c)) {
          warn(std::string("PrintableString contains '") + ch + "', which X.680 does not allow; read as is");
          break;
        }
      }
      if (!ascii) {
        warn("string of tag " + std::to_string(tag) + " contains non-ASCII bytes, shown as \\xNN");
        break;
      }
      return std::string(raw);
    }
    case CBS_ASN1_T61STRING:
      // Read as Latin-1, as other stacks do.
      for (char ch : raw) AppendUtf8(static_cast<uint8_t>(ch), &out);
      return out;
    case CBS_ASN1_BMPSTRING:
      if (raw.size() % 2 != 0) {
        warn("BMPString of odd length");
        break;
      }
      for (size_t i = 0; i < raw.size(); i += 2) {
        AppendUtf8((static_cast<uint8_t>(raw[i]) << 8) | static_cast<uint8_t>(raw[i + 1]), &out);
      }
      return out;
    case CBS_ASN1_UNIVERSALSTRING:
      if (raw.size() % 4 != 0) {
        warn("UniversalString of a length not a multiple of 4");
        break;
      }
      for (size_t i = 0; i < raw.size(); i += 4) {
        uint32_t cp = 0;
        for (size_t k = 0; k < 4; ++k) cp = (cp << 8) | static_cast<uint8_t>(raw[i + k]);
        if (cp > 0x10ffff) cp = 0xfffd;
        AppendUtf8(cp, &out);
      }
      return out;
    default: warn("value of unexpected ASN.1 tag " + std::to_string(tag) + ", shown as \\xNN"); break;
  }
  // Fallback: printable ASCII as is, everything else as \xNN.
  out.clear();
  for (char ch : raw) {
    const auto c = static_cast<uint8_t>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

void AppendEscaped(std::string_view value, std::string* out) {
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' ||
        (i == 0 && (c == '#' || c == ' '))) {
      out->push_back('\\');
    }
    out->push_back(c);
  }
}

// ReadName formats a Name (SEQUENCE OF SET OF AttributeTypeAndValue) as
// "CN=a, O=b" in encoded order, multi-valued RDNs joined with '+'.
std::optional<std::string> ReadName(CBS name, const char* what, std::vector<std::string>* warnings, ScanError* err) {
  std::string out;
  while (CBS_len(&name) > 0) {
    CBS rdn;
    if (!CBS_get_asn1(&name, &rdn, CBS_ASN1_SET)) {
      err->reason = std::string(what) + ": malformed relative distinguished name";
      return std::nullopt;
    }
    bool first_in_rdn = true;
    while (CBS_len(&rdn) > 0) {
      CBS atv, oid, value;
      unsigned tag = 0;
      if (!CBS_get_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&atv, &oid, CBS_ASN1_OBJECT) ||
          !CBS_get_any_asn1(&atv, &value, &tag)) {
        err->reason = std::string(what) + ": malformed attribute";
        return std::nullopt;
      }
      const char* short_name = AttributeName(oid);
      const std::string type = short_name != nullptr ? short_name : DottedOid(oid);
      if (!out.empty()) out += first_in_rdn ? ", " : "+";
      first_in_rdn = false;
      out += type;
      out += '=';
      AppendEscaped(DecodeString(tag, value, (std::string(what) + " " + type).c_str(), warnings), &out);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Times

int Digits(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// ReadTime reads a UTCTime or GeneralizedTime. Strict RFC 5280 forms are
// YYMMDDHHMMSSZ and YYYYMMDDHHMMSSZ; missing seconds, fractional seconds and
// a ±HHMM offset are read leniently with a warning. Anything else fails.
std::optional<Instant> ReadTime(CBS* validity, const char* what, std::vector<std::string>* warnings, ScanError* err) {
  CBS t;
  unsigned tag = 0;
  if (!CBS_get_any_asn1(validity, &t, &tag) || (tag != CBS_ASN1_UTCTIME && tag != CBS_ASN1_GENERALIZEDTIME)) {
    err->reason = std::string(what) + ": not a UTCTime or GeneralizedTime";
    return std::nullopt;
  }
  const std::string_view s = View(t);
  const bool utc = tag == CBS_ASN1_UTCTIME;
  auto bad = [&]() -> std::optional<Instant> {
    std::string shown;
    for (char c : s) shown.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    err->reason = std::string(what) + ": invalid " + (utc ? "UTCTime" : "GeneralizedTime") + " \"" + shown + "\"";
    return std::nullopt;
  };
  size_t p = 0;
  int64_t year = 0;
  if (utc) {
    const int yy = Digits(s, 0, 2);
    if (yy < 0) return bad();
    year = yy < 50 ? 2000 + yy : 1900 + yy;  // RFC 5280 §4.1.2.5.1
    p = 2;
  } else {
    const int yyyy = Digits(s, 0, 4);
    if (yyyy < 0) return bad();
    year = yyyy;
    p = 4;
  }
  const int month = Digits(s, p, 2), day = Digits(s, p + 2, 2), hour = Digits(s, p + 4, 2),
            minute = Digits(s, p + 6, 2);
  if (month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return bad();
  if (static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month))) return bad();
  p += 8;
  int second = 0;
  bool lenient = false;
  if (p < s.size() && s[p] >= '0' && s[p] <= '9') {
    second = Digits(s, p, 2);
    if (second < 0 || second > 59) return bad();
    p += 2;
  } else {
    lenient = true;  // no seconds
  }
  if (p < s.size() && (s[p] == '.' || s[p] == ',') && !utc) {
    ++p;
    size_t n = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p, ++n;
    if (n == 0) return bad();
    lenient = true;  // fractional seconds are dropped
  }
  int64_t offset_seconds = 0;
  if (p < s.size() && s[p] == 'Z') {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int oh = Digits(s, p + 1, 2), om = Digits(s, p + 3, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return bad();
    offset_seconds = (s[p] == '+' ? 1 : -1) * (int64_t{oh} * 3600 + int64_t{om} * 60);
    p += 5;
    lenient = true;
  } else {
    return bad();
  }
  if (p != s.size()) return bad();
  if (lenient) {
    warnings->push_back(std::string(what) + ": \"" + std::string(s) +
                        "\" is not in the form RFC 5280 requires; read leniently as UTC");
  }
  if (!utc && year < 2050 && !lenient) {
    warnings->push_back(std::string(what) + ": GeneralizedTime before 2050 (RFC 5280 requires UTCTime)");
  }
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second - offset_seconds;
  return Instant::FromSeconds(secs);
}

// ---------------------------------------------------------------------------
// Public keys

// ReadSpki fills key_type and public_key_id from a SubjectPublicKeyInfo's
// content.
bool ReadSpki(CBS spki, InventoryItem* item, ScanError* err) {
  CBS alg, oid, bits;
  if (!CBS_get_asn1(&spki, &alg, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(&spki, &bits, CBS_ASN1_BITSTRING) || CBS_len(&bits) < 1) {
    err->reason = "subjectPublicKeyInfo: malformed";
    return false;
  }
  CBS key = bits;
  CBS_skip(&key, 1);  // unused-bits count
  item->public_key_id = Sha256Id(key);
  if (OidIs(oid, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}) ||
      OidIs(oid, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a})) {
    const bool pss = CBS_data(&oid)[8] == 0x0a;
    CBS rsa, n;
    if (!CBS_get_asn1(&key, &rsa, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&rsa, &n, CBS_ASN1_INTEGER)) {
      err->reason = "subjectPublicKeyInfo: malformed RSA public key";
      return false;
    }
    while (CBS_len(&n) > 0 && CBS_data(&n)[0] == 0) CBS_skip(&n, 1);
    size_t nbits = CBS_len(&n) * 8;
    if (CBS_len(&n) > 0) {
      for (uint8_t top = CBS_data(&n)[0]; (top & 0x80) == 0; top = static_cast<uint8_t>(top << 1)) --nbits;
    }
    item->key_type = std::string(pss ? "rsapss" : "rsa") + std::to_string(nbits);
  } else if (OidIs(oid, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01})) {
    CBS curve;
    if (!CBS_get_asn1(&alg, &curve, CBS_ASN1_OBJECT)) {
      item->key_type = "ec(explicit parameters)";
    } else if (OidIs(curve, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})) {
      item->key_type = "p256";
    } else if (OidIs(curve, {0x2b, 0x81, 0x04, 0x00, 0x22})) {
      item->key_type = "p384";
    } else if (OidIs(curve, {0x2b, 0x81, 0x04, 0x00, 0x23})) {
      item->key_type = "p521";
    } else {
      item->key_type = "ec(" + DottedOid(curve) + ")";
    }
  } else if (OidIs(oid, {0x2b, 0x65, 0x70})) {
    item->key_type = "ed25519";
  } else if (OidIs(oid, {0x2b, 0x65, 0x71})) {
    item->key_type = "ed448";
  } else if (OidIs(oid, {0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01})) {
    item->key_type = "dsa";
  } else {
    item->key_type = "unknown(" + DottedOid(oid) + ")";
  }
  return true;
}

// ---------------------------------------------------------------------------
// Certificates

bool ReadExtensions(CBS exts, InventoryItem* item, bool* has_basic_constraints, ScanError* err) {
  while (CBS_len(&exts) > 0) {
    CBS ext, oid, value;
    if (!CBS_get_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT)) {
      err->reason = "extensions: malformed extension";
      return false;
    }
    if (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN) && !CBS_get_asn1(&ext, nullptr, CBS_ASN1_BOOLEAN)) {
      err->reason = "extension " + DottedOid(oid) + ": malformed critical flag";
      return false;
    }
    if (!CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING)) {
      err->reason = "extension " + DottedOid(oid) + ": malformed value";
      return false;
    }
    if (OidIs(oid, {0x55, 0x1d, 0x13})) {  // basicConstraints
      CBS bc;
      int ca = 0;
      if (!CBS_get_asn1(&value, &bc, CBS_ASN1_SEQUENCE) ||
          (CBS_peek_asn1_tag(&bc, CBS_ASN1_BOOLEAN) && !CBS_get_asn1_bool(&bc, &ca))) {
        err->reason = "basicConstraints: malformed";
        return false;
      }
      item->is_ca = ca != 0;
      *has_basic_constraints = true;
    } else if (OidIs(oid, {0x55, 0x1d, 0x0e})) {  // subjectKeyIdentifier
      CBS ski;
      if (!CBS_get_asn1(&value, &ski, CBS_ASN1_OCTETSTRING)) {
        err->reason = "subjectKeyIdentifier: malformed";
        return false;
      }
      item->subject_key_identifier = Hex(CBS_data(&ski), CBS_len(&ski));
    } else if (OidIs(oid, {0x55, 0x1d, 0x23})) {  // authorityKeyIdentifier
      CBS aki, kid;
      int present = 0;
      if (!CBS_get_asn1(&value, &aki, CBS_ASN1_SEQUENCE) ||
          !CBS_get_optional_asn1(&aki, &kid, &present, CBS_ASN1_CONTEXT_SPECIFIC | 0)) {
        err->reason = "authorityKeyIdentifier: malformed";
        return false;
      }
      if (present) item->authority_key_identifier = Hex(CBS_data(&kid), CBS_len(&kid));
    } else if (OidIs(oid, {0x55, 0x1d, 0x11})) {  // subjectAltName
      CBS names;
      if (!CBS_get_asn1(&value, &names, CBS_ASN1_SEQUENCE)) {
        err->reason = "subjectAltName: malformed";
        return false;
      }
      while (CBS_len(&names) > 0) {
        CBS name;
        unsigned tag = 0;
        if (!CBS_get_any_asn1(&names, &name, &tag)) {
          err->reason = "subjectAltName: malformed name";
          return false;
        }
        if (tag == (CBS_ASN1_CONTEXT_SPECIFIC | 2)) item->dns_names.emplace_back(View(name));
      }
    }
  }
  return true;
}

// StrictParse runs BoringSSL's X509 parser over `der`; on refusal it returns
// null and the reason.
bssl::UniquePtr<X509> StrictParse(const CBS& der, std::string* reason) {
  const uint8_t* p = CBS_data(&der);
  bssl::UniquePtr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(CBS_len(&der))));
  if (!x) {
    const uint32_t e = ERR_peek_last_error();
    const char* r = ERR_reason_error_string(e);
    *reason = r != nullptr ? r : "unknown reason";
    ERR_clear_error();
  }
  return x;
}

bool ReadCertificate(CBS der, InventoryItem* item, ScanError* err) {
  item->type = ItemType::kCertificate;
  item->fingerprint = Sha256Id(der);
  CBS cert, tbs, tbs_element, serial, sigalg, issuer, validity, subject, spki;
  CBS in = der;
  if (!CBS_get_asn1(&in, &cert, CBS_ASN1_SEQUENCE) || !CBS_get_asn1_element(&cert, &tbs_element, CBS_ASN1_SEQUENCE)) {
    err->reason = "certificate: not a DER SEQUENCE (truncated or not a certificate)";
    return false;
  }
  if (!CBS_get_asn1(&cert, nullptr, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&cert, nullptr, CBS_ASN1_BITSTRING)) {
    err->reason = "certificate: missing signature algorithm or signature";
    return false;
  }
  CBS tbs_outer = tbs_element;
  CBS_get_asn1(&tbs_outer, &tbs, CBS_ASN1_SEQUENCE);
  uint64_t version = 0;
  if (!CBS_get_optional_asn1_uint64(&tbs, &version, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 0, 0)) {
    err->reason = "certificate: malformed version";
    return false;
  }
  if (!CBS_get_asn1(&tbs, &serial, CBS_ASN1_INTEGER)) {
    err->reason = "certificate: malformed serial number";
    return false;
  }
  item->serial = CanonicalSerialFromDer(View(serial));
  int negative = 0;
  if (CBS_len(&serial) == 0) {
    err->reason = "certificate: empty serial number";
    return false;
  }
  if (!CBS_is_valid_asn1_integer(&serial, &negative)) {
    item->warnings.push_back("serial: not minimally encoded (a leading zero byte DER forbids); read as " +
                             item->serial);
    negative = (CBS_data(&serial)[0] & 0x80) != 0;
  }
  if (negative) item->warnings.push_back("serial: negative (RFC 5280 requires a positive serial number)");
  if (item->serial == "00") item->warnings.push_back("serial: zero (RFC 5280 requires a positive serial number)");
  if (CBS_len(&serial) > 20) item->warnings.push_back("serial: longer than 20 octets (RFC 5280 §4.1.2.2)");
  if (!CBS_get_asn1(&tbs, &sigalg, CBS_ASN1_SEQUENCE)) {
    err->reason = "certificate: malformed signature algorithm";
    return false;
  }
  CBS issuer_element, subject_element;
  if (!CBS_get_asn1_element(&tbs, &issuer_element, CBS_ASN1_SEQUENCE)) {
    err->reason = "certificate: malformed issuer";
    return false;
  }
  if (!CBS_get_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE)) {
    err->reason = "certificate: malformed validity";
    return false;
  }
  if (!CBS_get_asn1_element(&tbs, &subject_element, CBS_ASN1_SEQUENCE)) {
    err->reason = "certificate: malformed subject";
    return false;
  }
  if (!CBS_get_asn1(&tbs, &spki, CBS_ASN1_SEQUENCE)) {
    err->reason = "certificate: malformed subjectPublicKeyInfo";
    return false;
  }
  auto not_before = ReadTime(&validity, "notBefore", &item->warnings, err);
  if (!not_before) return false;
  auto not_after = ReadTime(&validity, "notAfter", &item->warnings, err);
  if (!not_after) return false;
  item->not_before = *not_before;
  item->not_after = *not_after;
  if (item->not_after < item->not_before) item->warnings.push_back("validity: notAfter is before notBefore");
  CBS issuer_outer = issuer_element, subject_outer = subject_element;
  CBS_get_asn1(&issuer_outer, &issuer, CBS_ASN1_SEQUENCE);
  CBS_get_asn1(&subject_outer, &subject, CBS_ASN1_SEQUENCE);
  auto issuer_text = ReadName(issuer, "issuer", &item->warnings, err);
  if (!issuer_text) return false;
  auto subject_text = ReadName(subject, "subject", &item->warnings, err);
  if (!subject_text) return false;
  item->issuer = std::move(*issuer_text);
  item->subject = std::move(*subject_text);
  item->issuer_name_id = Sha256Id(issuer_element);
  item->subject_name_id = Sha256Id(subject_element);
  if (!ReadSpki(spki, item, err)) return false;
  // Optional issuerUniqueID [1], subjectUniqueID [2], extensions [3].
  CBS_get_optional_asn1(&tbs, nullptr, nullptr, CBS_ASN1_CONTEXT_SPECIFIC | 1);
  CBS_get_optional_asn1(&tbs, nullptr, nullptr, CBS_ASN1_CONTEXT_SPECIFIC | 2);
  CBS exts_wrapper, exts;
  int has_exts = 0;
  bool has_bc = false;
  if (!CBS_get_optional_asn1(&tbs, &exts_wrapper, &has_exts, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 3)) {
    err->reason = "certificate: malformed extensions";
    return false;
  }
  if (has_exts) {
    if (!CBS_get_asn1(&exts_wrapper, &exts, CBS_ASN1_SEQUENCE)) {
      err->reason = "certificate: malformed extensions";
      return false;
    }
    if (!ReadExtensions(exts, item, &has_bc, err)) return false;
  }
  const bool same_name = View(issuer_element) == View(subject_element);

  // The strict parser: its verdict becomes a lint warning, never a loss.
  std::string refusal;
  bssl::UniquePtr<X509> strict = StrictParse(der, &refusal);
  if (!strict) {
    item->warnings.push_back("BoringSSL's X.509 parser refused this certificate (" + refusal +
                             "); its fields were read by rotor's lenient DER reader");
  }
  if (same_name) {
    if (strict) {
      bssl::UniquePtr<EVP_PKEY> pub(X509_get_pubkey(strict.get()));
      item->self_signed = pub && X509_verify(strict.get(), pub.get()) == 1;
      ERR_clear_error();
      if (!item->self_signed) item->warnings.push_back("subject equals issuer but the self-signature does not verify");
    } else {
      item->self_signed = true;
      item->warnings.push_back("self-signature not checked (the strict parser refused the certificate)");
    }
  }
  if (!has_bc && version == 0 && item->self_signed) {
    item->is_ca = true;
    item->warnings.push_back("version 1 certificate without basicConstraints; counted as a CA because self-signed");
  }
  return true;
}

// ---------------------------------------------------------------------------
// CSRs

bool ReadCsr(CBS der, InventoryItem* item, ScanError* err) {
  item->type = ItemType::kCsr;
  item->fingerprint = Sha256Id(der);
  CBS req, info, subject, spki;
  uint64_t version = 0;
  if (!CBS_get_asn1(&der, &req, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&req, &info, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_uint64(&info, &version) || !CBS_get_asn1(&info, &subject, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&info, &spki, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&req, nullptr, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&req, nullptr, CBS_ASN1_BITSTRING)) {
    err->reason = "certificate request: malformed (truncated or not a PKCS#10 request)";
    return false;
  }
  auto subject_text = ReadName(subject, "subject", &item->warnings, err);
  if (!subject_text) return false;
  item->subject = std::move(*subject_text);
  return ReadSpki(spki, item, err);
}

// ---------------------------------------------------------------------------
// Private keys

// FillFromKey sets key_type and public_key_id from a parsed private key, by
// marshalling its public half as SubjectPublicKeyInfo.
bool FillFromKey(EVP_PKEY* pkey, InventoryItem* item, ScanError* err) {
  bssl::ScopedCBB cbb;
  uint8_t* spki_der = nullptr;
  size_t spki_len = 0;
  if (!CBB_init(cbb.get(), 128) || !EVP_marshal_public_key(cbb.get(), pkey) ||
      !CBB_finish(cbb.get(), &spki_der, &spki_len)) {
    ERR_clear_error();
    err->reason = "private key: cannot derive its public key";
    return false;
  }
  std::unique_ptr<uint8_t, void (*)(void*)> owned(spki_der, OPENSSL_free);
  CBS spki_cbs, spki;
  CBS_init(&spki_cbs, spki_der, spki_len);
  if (!CBS_get_asn1(&spki_cbs, &spki, CBS_ASN1_SEQUENCE)) {
    err->reason = "private key: cannot derive its public key";
    return false;
  }
  if (!ReadSpki(spki, item, err)) return false;
  item->fingerprint = item->public_key_id;
  return true;
}

bool ReadPkcs8(CBS der, InventoryItem* item, ScanError* err) {
  item->type = ItemType::kPrivateKey;
  item->key_format = "pkcs8";
  CBS in = der;
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_parse_private_key(&in));
  ERR_clear_error();
  if (!pkey) {
    // Name the algorithm when the structure is sound.
    CBS pki, alg, oid;
    CBS peek = der;
    if (CBS_get_asn1(&peek, &pki, CBS_ASN1_SEQUENCE) && CBS_get_asn1(&pki, nullptr, CBS_ASN1_INTEGER) &&
        CBS_get_asn1(&pki, &alg, CBS_ASN1_SEQUENCE) && CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT)) {
      err->reason = "private key (PKCS#8): cannot read a key of algorithm " + DottedOid(oid) +
                    " (unsupported, or the key is malformed)";
    } else {
      err->reason = "private key (PKCS#8): malformed (truncated or not a PrivateKeyInfo)";
    }
    return false;
  }
  return FillFromKey(pkey.get(), item, err);
}

bool ReadPkcs1(CBS der, InventoryItem* item, ScanError* err) {
  item->type = ItemType::kPrivateKey;
  item->key_format = "pkcs1";
  bssl::UniquePtr<RSA> rsa(RSA_parse_private_key(&der));
  ERR_clear_error();
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!rsa || !pkey || !EVP_PKEY_set1_RSA(pkey.get(), rsa.get())) {
    err->reason = "private key (PKCS#1 RSA): malformed";
    return false;
  }
  return FillFromKey(pkey.get(), item, err);
}

bool ReadSec1(CBS der, InventoryItem* item, ScanError* err) {
  item->type = ItemType::kPrivateKey;
  item->key_format = "sec1";
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_parse_private_key(&der, nullptr));
  ERR_clear_error();
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!ec || !pkey || !EVP_PKEY_set1_EC_KEY(pkey.get(), ec.get())) {
    err->reason = "private key (SEC1 EC): malformed or of an unsupported curve";
    return false;
  }
  return FillFromKey(pkey.get(), item, err);
}

bool ReadEncryptedPkcs8(CBS der, InventoryItem* item, ScanError* err) {
  item->type = ItemType::kPrivateKey;
  item->key_format = "encrypted_pkcs8";
  item->encrypted = true;
  item->fingerprint = Sha256Id(der);
  CBS epki, alg;
  if (!CBS_get_asn1(&der, &epki, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&epki, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&epki, nullptr, CBS_ASN1_OCTETSTRING)) {
    err->reason = "encrypted private key (PKCS#8): malformed (truncated or not an EncryptedPrivateKeyInfo)";
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Dispatch

enum class DerKind { kCertificate, kCsr, kPkcs8, kPkcs1, kSec1, kEncryptedPkcs8, kUnknown };

// GuessDer looks at the first fields of a SEQUENCE to tell what it is.
DerKind GuessDer(CBS der) {
  CBS outer, first;
  unsigned tag = 0;
  if (!CBS_get_asn1(&der, &outer, CBS_ASN1_SEQUENCE) || !CBS_get_any_asn1(&outer, &first, &tag)) {
    return DerKind::kUnknown;
  }
  if (tag == CBS_ASN1_SEQUENCE) {
    if (CBS_peek_asn1_tag(&outer, CBS_ASN1_OCTETSTRING)) return DerKind::kEncryptedPkcs8;
    // Signed object: a certificate's TBS starts with [0] version or the
    // serial followed by an AlgorithmIdentifier; a CSR's info with the
    // version followed by a Name.
    if (CBS_peek_asn1_tag(&first, CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 0)) return DerKind::kCertificate;
    CBS f = first;
    if (CBS_get_asn1(&f, nullptr, CBS_ASN1_INTEGER)) {
      CBS second;
      if (CBS_get_asn1(&f, &second, CBS_ASN1_SEQUENCE) && CBS_peek_asn1_tag(&second, CBS_ASN1_SET)) {
        return DerKind::kCsr;
      }
    }
    return DerKind::kCertificate;
  }
  if (tag == CBS_ASN1_INTEGER) {
    const uint8_t b = CBS_len(&first) == 1 ? CBS_data(&first)[0] : 0xff;
    if (b == 0 && CBS_peek_asn1_tag(&outer, CBS_ASN1_SEQUENCE)) return DerKind::kPkcs8;
    if (b == 1 && CBS_peek_asn1_tag(&outer, CBS_ASN1_SEQUENCE)) return DerKind::kPkcs8;  // PKCS#8 v2
    if (b == 0 && CBS_peek_asn1_tag(&outer, CBS_ASN1_INTEGER)) return DerKind::kPkcs1;
    if (b == 1 && CBS_peek_asn1_tag(&outer, CBS_ASN1_OCTETSTRING)) return DerKind::kSec1;
  }
  return DerKind::kUnknown;
}

void ReadDerAs(DerKind kind, const CBS& der, InventoryItem* item) {
  ScanError err;
  bool ok = false;
  switch (kind) {
    case DerKind::kCertificate: ok = ReadCertificate(der, item, &err); break;
    case DerKind::kCsr: ok = ReadCsr(der, item, &err); break;
    case DerKind::kPkcs8: ok = ReadPkcs8(der, item, &err); break;
    case DerKind::kPkcs1: ok = ReadPkcs1(der, item, &err); break;
    case DerKind::kSec1: ok = ReadSec1(der, item, &err); break;
    case DerKind::kEncryptedPkcs8: ok = ReadEncryptedPkcs8(der, item, &err); break;
    case DerKind::kUnknown: err.reason = "DER structure of no known kind (certificate, CSR, private key)"; break;
  }
  if (!ok) {
    item->type = ItemType::kError;
    item->error = err.reason;
  }
}

void ScanDer(std::string_view data, const std::string& file, std::vector<InventoryItem>* out,
             std::vector<SecretBytes>* ders) {
  CBS in;
  CBS_init(&in, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  uint32_t position = 0;
  while (CBS_len(&in) > 0) {
    const size_t offset = data.size() - CBS_len(&in);
    InventoryItem item;
    item.file = file;
    item.position = ++position;
    item.format = "der";
    CBS element;
    if (!CBS_get_asn1_element(&in, &element, CBS_ASN1_SEQUENCE)) {
      item.type = ItemType::kError;
      item.error = offset == 0
                       ? "not DER: no complete ASN.1 SEQUENCE at offset 0 (truncated or not DER)"
                       : "bytes after the DER element at offset " + std::to_string(offset) +
                             " are not a complete ASN.1 SEQUENCE (" + std::to_string(CBS_len(&in)) + " bytes ignored)";
      out->push_back(std::move(item));
      if (ders != nullptr) ders->emplace_back();
      return;
    }
    ReadDerAs(GuessDer(element), element, &item);
    if (ders != nullptr) {
      const bool keep = item.type == ItemType::kCertificate || (item.type == ItemType::kPrivateKey && !item.encrypted);
      ders->emplace_back(keep ? std::string(View(element)) : std::string());
    }
    out->push_back(std::move(item));
  }
}

// ---------------------------------------------------------------------------
// PEM

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// BeginLabel returns the label of a "-----BEGIN X-----" line, or nullopt.
std::optional<std::string_view> Armor(std::string_view line, std::string_view kind) {
  if (line.size() < 10 || line.substr(0, 5) != "-----") return std::nullopt;
  line.remove_prefix(5);
  if (line.substr(0, kind.size()) != kind || line.size() < kind.size() + 1 || line[kind.size()] != ' ') {
    return std::nullopt;
  }
  line.remove_prefix(kind.size() + 1);
  if (line.size() < 5 || line.substr(line.size() - 5) != "-----") return std::nullopt;
  return line.substr(0, line.size() - 5);
}

struct PemBlock {
  std::string label;
  uint32_t line = 0;
  bool legacy_encrypted = false;  // Proc-Type: 4,ENCRYPTED
  std::string base64;
  std::string error;  // structural problem with the armour
};

void ReadPemBlock(const PemBlock& block, const std::string& file, uint32_t position, InventoryItem* item,
                  SecretBytes* der_out) {
  item->file = file;
  item->position = position;
  item->line = block.line;
  item->format = "pem";
  item->label = block.label;
  auto fail = [&](std::string reason) {
    item->type = ItemType::kError;
    item->error = std::move(reason);
  };
  const std::string& label = block.label;
  const bool is_cert = label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE";
  const bool is_csr = label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST";
  const bool is_key = label == "PRIVATE KEY" || label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY" ||
                      label == "ENCRYPTED PRIVATE KEY";
  if (!is_cert && !is_csr && !is_key) {
    item->type = ItemType::kOther;
    item->warnings.push_back("PEM block \"" + label + "\" is not a certificate, key or CSR; not imported");
    return;
  }
  if (!block.error.empty()) return fail(block.error);
  if (block.base64.empty()) return fail("PEM block \"" + label + "\" has no base64 content");
  size_t max_len = 0;
  std::string der;
  if (block.base64.size() % 4 != 0) {
    return fail("base64 is truncated: " + std::to_string(block.base64.size()) + " characters, not a multiple of 4");
  }
  if (!EVP_DecodedLength(&max_len, block.base64.size())) return fail("base64 is too long");
  der.resize(max_len);
  size_t der_len = 0;
  if (!EVP_DecodeBase64(reinterpret_cast<uint8_t*>(der.data()), &der_len, max_len,
                        reinterpret_cast<const uint8_t*>(block.base64.data()), block.base64.size())) {
    ERR_clear_error();
    return fail("base64 is malformed (a character outside the base64 alphabet or misplaced padding)");
  }
  der.resize(der_len);
  CBS all, element;
  CBS_init(&all, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  if (block.legacy_encrypted && is_key) {
    item->type = ItemType::kPrivateKey;
    item->key_format = "encrypted_pem";
    item->encrypted = true;
    item->fingerprint = Sha256Id(all);
    return;
  }
  if (!CBS_get_asn1_element(&all, &element, CBS_ASN1_SEQUENCE)) {
    return fail(std::string("DER inside the PEM block is truncated or malformed (") + std::to_string(der.size()) +
                " bytes decoded)");
  }
  // TRUSTED CERTIFICATE (OpenSSL's format) carries trust settings after the
  // certificate; anything else must be exactly one element.
  if (CBS_len(&all) != 0 && label != "TRUSTED CERTIFICATE") {
    item->warnings.push_back(std::to_string(CBS_len(&all)) + " bytes after the DER element ignored");
  }
  ScanError err;
  bool ok = false;
  if (is_cert) {
    ok = ReadCertificate(element, item, &err);
  } else if (is_csr) {
    ok = ReadCsr(element, item, &err);
  } else if (label == "PRIVATE KEY") {
    ok = ReadPkcs8(element, item, &err);
  } else if (label == "RSA PRIVATE KEY") {
    ok = ReadPkcs1(element, item, &err);
  } else if (label == "EC PRIVATE KEY") {
    ok = ReadSec1(element, item, &err);
  } else {
    ok = ReadEncryptedPkcs8(element, item, &err);
  }
  if (!ok) {
    fail(err.reason);
  } else if (der_out != nullptr && (is_cert || !item->encrypted)) {
    *der_out = SecretBytes(std::string(View(element)));
  }
  OPENSSL_cleanse(der.data(), der.size());
}

}  // namespace

std::vector<InventoryItem> ScanBytes(std::string_view data, const std::string& file, std::vector<SecretBytes>* ders) {
  std::vector<InventoryItem> out;
  auto single_error = [&](std::string reason) {
    InventoryItem item;
    item.file = file;
    item.position = 1;
    item.type = ItemType::kError;
    item.error = std::move(reason);
    out.push_back(std::move(item));
    if (ders != nullptr) ders->emplace_back();
    return out;
  };
  // read_block reads one PEM block into the next item (and its DER).
  auto read_block = [&](const PemBlock& block, uint32_t position) {
    InventoryItem item;
    SecretBytes der;
    ReadPemBlock(block, file, position, &item, ders != nullptr ? &der : nullptr);
    out.push_back(std::move(item));
    if (ders != nullptr) ders->push_back(std::move(der));
  };
  if (data.empty()) return single_error("empty file");
  std::string_view text = data;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  // PEM, when there is any BEGIN line at all.
  if (text.find("-----BEGIN ") != std::string_view::npos) {
    uint32_t line_no = 0, position = 0;
    std::optional<PemBlock> open;
    bool in_headers = false;
    size_t pos = 0;
    auto close_with_error = [&](std::string reason) {
      open->error = std::move(reason);
      read_block(*open, ++position);
      open.reset();
    };
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      const std::string_view line = Trim(text.substr(pos, nl - pos));
      ++line_no;
      pos = nl + 1;
      if (auto begin = Armor(line, "BEGIN")) {
        if (open) {
          close_with_error("no END line before the next BEGIN line at line " + std::to_string(line_no) +
                           " (block truncated)");
        }
        open.emplace();
        open->label = std::string(*begin);
        open->line = line_no;
        in_headers = true;
        continue;
      }
      if (!open) continue;  // text outside blocks is ignored
      if (auto end = Armor(line, "END")) {
        if (*end != open->label) {
          close_with_error("END line at line " + std::to_string(line_no) + " says \"" + std::string(*end) +
                           "\", BEGIN said \"" + open->label + "\"");
          continue;
        }
        read_block(*open, ++position);
        open.reset();
        continue;
      }
      if (in_headers && line.find(':') != std::string_view::npos) {
        if (line.substr(0, 10) == "Proc-Type:" && line.find("ENCRYPTED") != std::string_view::npos) {
          open->legacy_encrypted = true;
        }
        continue;
      }
      if (!line.empty()) in_headers = false;
      for (char c : line) {
        if (c != ' ' && c != '\t' && c != '\r') open->base64.push_back(c);
      }
    }
    if (open) close_with_error("no END line for the block (file truncated?)");
    if (position == 0) return single_error("a -----BEGIN line appears, but no PEM block");
    return out;
  }

  // DER, when it starts like one. Text is never DER: a DER certificate, key
  // or CSR has tag and length bytes below 0x09 within its first bytes.
  bool textual = true;
  for (size_t i = 0; i < std::min<size_t>(data.size(), 4096); ++i) {
    const auto c = static_cast<uint8_t>(data[i]);
    if (c < 0x09 || (c > 0x0d && c < 0x20 && c != 0x1b) || c == 0x7f) textual = false;
  }
  if (textual) return single_error("no PEM block (no -----BEGIN line) and not DER");
  if (static_cast<uint8_t>(data[0]) == 0x30) {
    ScanDer(data, file, &out, ders);
    return out;
  }
  char first[8];
  std::snprintf(first, sizeof(first), "0x%02x", static_cast<uint8_t>(data[0]));
  return single_error(std::string("neither PEM nor DER (binary data starting with byte ") + first + ")");
}

}  // namespace rotor::x509
