#include "connectors/crypto/boring_hasher.h"

#include <openssl/sha.h>

namespace rotor {

std::array<uint8_t, 32> BoringHasher::Sha256(std::string_view data) const {
  static_assert(SHA256_DIGEST_LENGTH == 32);
  std::array<uint8_t, 32> digest;
  // SHA256 cannot fail; it returns `digest.data()`.
  ::SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest.data());
  return digest;
}

}  // namespace rotor
