#include <string.h>  // explicit_bzero

#include "engine/ports/credentials.h"

namespace rotor {

void SecretBytes::Wipe() {
  // explicit_bzero is not optimised away; wipe the whole capacity in case the
  // string reallocated in place.
  if (bytes_.capacity() > 0) explicit_bzero(bytes_.data(), bytes_.capacity());
  bytes_.clear();
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
