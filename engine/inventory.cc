#include "engine/inventory.h"

#include <cstdio>
#include <map>

#include "engine/json.h"

namespace rotor {

namespace {

constexpr const char* kItemTypeNames[] = {"", "certificate", "private_key", "csr", "other", "error"};
constexpr const char* kCertStatusNames[] = {"", "valid", "due", "expired", "not_yet_valid"};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// HexOfMagnitude renders big-endian magnitude bytes (leading zeros already
// stripped) as the canonical serial.
std::string HexOfMagnitude(const std::vector<uint8_t>& magnitude, bool negative) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (magnitude.empty()) return "00";
  std::string out = negative ? "-" : "";
  for (uint8_t b : magnitude) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

void StripLeadingZeros(std::vector<uint8_t>* bytes) {
  size_t i = 0;
  while (i < bytes->size() && (*bytes)[i] == 0) ++i;
  bytes->erase(bytes->begin(), bytes->begin() + static_cast<std::ptrdiff_t>(i));
}

}  // namespace

const char* ItemTypeName(ItemType type) {
  const auto i = static_cast<size_t>(type);
  return i < std::size(kItemTypeNames) && i > 0 ? kItemTypeNames[i] : "unknown";
}

StatusOr<ItemType> ParseItemType(std::string_view name) {
  for (size_t i = 1; i < std::size(kItemTypeNames); ++i) {
    if (name == kItemTypeNames[i]) return static_cast<ItemType>(i);
  }
  return InvalidArgument("unknown item type \"" + std::string(name) + "\"");
}

const char* CertStatusName(CertStatus status) {
  const auto i = static_cast<size_t>(status);
  return i < std::size(kCertStatusNames) && i > 0 ? kCertStatusNames[i] : "unknown";
}

std::string Location(const InventoryItem& item) {
  return item.file + ":" + std::to_string(item.position);
}

std::string InventoryKey(const InventoryItem& item) {
  return std::string(ItemTypeName(item.type)) + "/" + item.fingerprint;
}

void LinkInventory(std::vector<InventoryItem>* items) {
  std::multimap<std::string, size_t> certs_by_key;
  std::multimap<std::string, size_t> certs_by_subject;
  std::map<std::string, size_t> first_key_by_public_key;
  for (size_t i = 0; i < items->size(); ++i) {
    const InventoryItem& it = (*items)[i];
    if (it.type == ItemType::kCertificate) {
      if (!it.public_key_id.empty()) certs_by_key.emplace(it.public_key_id, i);
      if (!it.subject_name_id.empty()) certs_by_subject.emplace(it.subject_name_id, i);
    } else if (it.type == ItemType::kPrivateKey && !it.public_key_id.empty()) {
      first_key_by_public_key.emplace(it.public_key_id, i);
    }
  }
  for (InventoryItem& it : *items) {
    if (it.type == ItemType::kPrivateKey && !it.public_key_id.empty()) {
      auto c = certs_by_key.find(it.public_key_id);
      it.certificate_fingerprint = c == certs_by_key.end() ? "" : (*items)[c->second].fingerprint;
    }
  }
  for (InventoryItem& it : *items) {
    if (it.type != ItemType::kCertificate) continue;
    auto k = first_key_by_public_key.find(it.public_key_id);
    it.key_location = k == first_key_by_public_key.end() ? "" : Location((*items)[k->second]);
    it.issuer_fingerprint.clear();
    if (it.self_signed) {
      it.issuer_fingerprint = it.fingerprint;
      continue;
    }
    auto [lo, hi] = certs_by_subject.equal_range(it.issuer_name_id);
    for (auto c = lo; c != hi; ++c) {
      const InventoryItem& issuer = (*items)[c->second];
      if (issuer.fingerprint == it.fingerprint) continue;
      if (!it.authority_key_identifier.empty() && !issuer.subject_key_identifier.empty() &&
          it.authority_key_identifier != issuer.subject_key_identifier) {
        continue;
      }
      it.issuer_fingerprint = issuer.fingerprint;
      break;
    }
  }
}

CertStatus Classify(const InventoryItem& cert, Instant now, const RenewalPolicy& policy) {
  if (now < cert.not_before) return CertStatus::kNotYetValid;
  if (now >= cert.not_after) return CertStatus::kExpired;
  RenewalPolicy no_jitter = policy;
  no_jitter.jitter = 0;
  if (cert.not_before < cert.not_after && now >= RenewalPoint(no_jitter, "", cert.not_before, cert.not_after)) {
    return CertStatus::kDue;
  }
  return CertStatus::kValid;
}

std::string CanonicalSerialFromDer(std::string_view content) {
  std::vector<uint8_t> bytes(content.begin(), content.end());
  const bool negative = !bytes.empty() && (bytes[0] & 0x80) != 0;
  if (negative) {
    // Two's complement magnitude: invert and add one.
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(~b);
    for (size_t i = bytes.size(); i-- > 0;) {
      if (++bytes[i] != 0) break;
    }
  }
  StripLeadingZeros(&bytes);
  return HexOfMagnitude(bytes, negative && !bytes.empty());
}

StatusOr<std::string> ParseSerial(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':' || c == ' ' || c == '-') continue;
    if (HexDigit(c) < 0) {
      return InvalidArgument("serial \"" + std::string(text) + "\": '" + std::string(1, c) + "' at offset " +
                             std::to_string(static_cast<size_t>((s.data() + i) - text.data())) +
                             " is not a hexadecimal digit");
    }
    digits.push_back(c);
  }
  if (digits.empty()) return InvalidArgument("serial \"" + std::string(text) + "\" has no hexadecimal digits");
  if (digits.size() % 2 == 1) digits.insert(digits.begin(), '0');
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < digits.size(); i += 2) {
    bytes.push_back(static_cast<uint8_t>(HexDigit(digits[i]) * 16 + HexDigit(digits[i + 1])));
  }
  StripLeadingZeros(&bytes);
  return HexOfMagnitude(bytes, negative && !bytes.empty());
}

namespace {

JsonValue StringArray(const std::vector<std::string>& v) {
  JsonValue a = JsonValue::Array();
  for (const auto& s : v) a.Push(JsonValue::String(s));
  return a;
}

}  // namespace

std::string EncodeInventoryItem(const InventoryItem& it) {
  JsonValue j = JsonValue::Object();
  j.Set("file", JsonValue::String(it.file));
  j.Set("position", JsonValue::Int(it.position));
  j.Set("line", JsonValue::Int(it.line));
  j.Set("type", JsonValue::String(ItemTypeName(it.type)));
  j.Set("format", JsonValue::String(it.format));
  j.Set("label", JsonValue::String(it.label));
  j.Set("fingerprint", JsonValue::String(it.fingerprint));
  j.Set("public_key_id", JsonValue::String(it.public_key_id));
  j.Set("key_type", JsonValue::String(it.key_type));
  j.Set("subject", JsonValue::String(it.subject));
  j.Set("dns_names", StringArray(it.dns_names));
  j.Set("issuer", JsonValue::String(it.issuer));
  j.Set("serial", JsonValue::String(it.serial));
  j.Set("not_before_us", JsonValue::Int(it.not_before.micros));
  j.Set("not_after_us", JsonValue::Int(it.not_after.micros));
  j.Set("is_ca", JsonValue::Bool(it.is_ca));
  j.Set("self_signed", JsonValue::Bool(it.self_signed));
  j.Set("subject_name_id", JsonValue::String(it.subject_name_id));
  j.Set("issuer_name_id", JsonValue::String(it.issuer_name_id));
  j.Set("ski", JsonValue::String(it.subject_key_identifier));
  j.Set("aki", JsonValue::String(it.authority_key_identifier));
  j.Set("key_format", JsonValue::String(it.key_format));
  j.Set("encrypted", JsonValue::Bool(it.encrypted));
  j.Set("warnings", StringArray(it.warnings));
  j.Set("error", JsonValue::String(it.error));
  j.Set("key_location", JsonValue::String(it.key_location));
  j.Set("issuer_fingerprint", JsonValue::String(it.issuer_fingerprint));
  j.Set("certificate_fingerprint", JsonValue::String(it.certificate_fingerprint));
  return CanonicalJson(j);
}

StatusOr<InventoryItem> DecodeInventoryItem(std::string_view json) {
  ROTOR_ASSIGN_OR_RETURN(JsonValue j, ParseJson(json));
  if (!j.is_object()) return InvalidArgument("inventory item is not a JSON object");
  Status bad;
  auto str = [&](const char* key) -> std::string {
    const JsonValue* v = j.Find(key);
    if (v == nullptr || !v->is_string()) {
      if (bad.ok()) bad = InvalidArgument(std::string("inventory item: \"") + key + "\" missing or not a string");
      return "";
    }
    return v->as_string();
  };
  auto num = [&](const char* key) -> int64_t {
    const JsonValue* v = j.Find(key);
    if (v == nullptr || !v->is_int()) {
      if (bad.ok()) bad = InvalidArgument(std::string("inventory item: \"") + key + "\" missing or not an integer");
      return 0;
    }
    return v->as_int();
  };
  auto flag = [&](const char* key) -> bool {
    const JsonValue* v = j.Find(key);
    if (v == nullptr || v->kind() != JsonValue::Kind::kBool) {
      if (bad.ok()) bad = InvalidArgument(std::string("inventory item: \"") + key + "\" missing or not a boolean");
      return false;
    }
    return v->as_bool();
  };
  auto strings = [&](const char* key) -> std::vector<std::string> {
    std::vector<std::string> out;
    const JsonValue* v = j.Find(key);
    if (v == nullptr || v->kind() != JsonValue::Kind::kArray) {
      if (bad.ok()) bad = InvalidArgument(std::string("inventory item: \"") + key + "\" missing or not an array");
      return out;
    }
    for (const auto& e : v->items()) out.push_back(e.as_string());
    return out;
  };
  InventoryItem it;
  it.file = str("file");
  it.position = static_cast<uint32_t>(num("position"));
  it.line = static_cast<uint32_t>(num("line"));
  auto type = ParseItemType(str("type"));
  if (type.ok()) it.type = *type;
  it.format = str("format");
  it.label = str("label");
  it.fingerprint = str("fingerprint");
  it.public_key_id = str("public_key_id");
  it.key_type = str("key_type");
  it.subject = str("subject");
  it.dns_names = strings("dns_names");
  it.issuer = str("issuer");
  it.serial = str("serial");
  it.not_before = Instant::FromMicros(num("not_before_us"));
  it.not_after = Instant::FromMicros(num("not_after_us"));
  it.is_ca = flag("is_ca");
  it.self_signed = flag("self_signed");
  it.subject_name_id = str("subject_name_id");
  it.issuer_name_id = str("issuer_name_id");
  it.subject_key_identifier = str("ski");
  it.authority_key_identifier = str("aki");
  it.key_format = str("key_format");
  it.encrypted = flag("encrypted");
  it.warnings = strings("warnings");
  it.error = str("error");
  it.key_location = str("key_location");
  it.issuer_fingerprint = str("issuer_fingerprint");
  it.certificate_fingerprint = str("certificate_fingerprint");
  ROTOR_RETURN_IF_ERROR(bad);
  if (!type.ok()) return type.status();
  return it;
}

}  // namespace rotor
