#include <string.h>  // explicit_bzero

#include "engine/ports/credentials.h"

namespace rotor {

void SecretBytes::Wipe() {
  // explicit_bzero is not optimised away; wipe the whole capacity in case the
  // string reallocated in place.
  if (bytes_.capacity() > 0) explicit_bzero(bytes_.data(), bytes_.capacity());
  bytes_.clear();
}

bool ValidMaterialFileName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const MaterialFile* FindFile(const Material& material, std::string_view name) {
  for (const MaterialFile& f : material) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const char* PrimaryFileName(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::kApiKey: return "secret";
    case CredentialKind::kX509:
    case CredentialKind::kCaIntermediate: return "cert.pem";
  }
  return "secret";
}

std::string HexSha256(const Hasher& hasher, std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto digest = hasher.Sha256(data);
  std::string out;
  out.reserve(64);
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

}  // namespace rotor
