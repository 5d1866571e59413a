#include "connectors/crypto/random.h"

#include <openssl/mem.h>
#include <openssl/rand.h>

#include <string>

namespace rotor {

Status FillRandom(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), out.size()) != 1) return Internal("RAND_bytes failed");
  return Status::Ok();
}

StatusOr<SecretBytes> RandomBytes(size_t n) {
  // Filled in place: for n > 15 the heap buffer itself moves into SecretBytes.
  // A short string lives in its small-string buffer, which the move copies, so
  // the local one is wiped afterwards.
  std::string bytes(n, '\0');
  Status s = FillRandom({reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()});
  if (!s.ok()) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return s;
  }
  SecretBytes secret(std::move(bytes));
  OPENSSL_cleanse(bytes.data(), bytes.capacity());  // NOLINT(bugprone-use-after-move): wiping
  return secret;
}

}  // namespace rotor
