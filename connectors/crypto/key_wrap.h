// KeyEncryptionKey: AES-256-GCM wrapping of keys rotor stores (CA keys, and
// issued keys when a policy asks to keep them), ARCHITECTURE §6.
//
// Sealed format (binary):
//   "RKW1" | key id (8 bytes) | nonce (12 random bytes) | ciphertext | tag (16)
// The key id is the first 8 bytes of SHA-256("rotor-kek-id" | key), so a
// sealed blob names the KEK that can open it (KEK rotation re-seals under a
// new one) without revealing it. `aad` binds a blob to its purpose and place
// (e.g. "ca/intermediate/3"): a blob copied elsewhere does not open.
//
// Thread-safe after construction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/ports/credentials.h"
#include "engine/status.h"

namespace rotor {

class KeyEncryptionKey {
 public:
  static constexpr size_t kKeyBytes = 32;

  // FromBytes takes exactly 32 raw bytes (InvalidArgument otherwise).
  static StatusOr<KeyEncryptionKey> FromBytes(std::string_view key);
  // FromText takes 64 hex digits or 44 characters of standard base64 (32
  // bytes), surrounding whitespace ignored — the form of a KEK file or an
  // environment variable. The error never echoes the text.
  static StatusOr<KeyEncryptionKey> FromText(std::string_view text);
  // LoadFile reads a KEK file (FromText format). Refuses a file that is not
  // a regular file, or that group or others may read (FailedPrecondition).
  static StatusOr<KeyEncryptionKey> LoadFile(const std::string& path);
  // CreateFile writes a fresh random KEK to `path` (mode 0600, O_EXCL, fsync)
  // in hex and returns it. AlreadyExists when the file exists.
  static StatusOr<KeyEncryptionKey> CreateFile(const std::string& path);

  KeyEncryptionKey(KeyEncryptionKey&&) noexcept = default;
  KeyEncryptionKey& operator=(KeyEncryptionKey&&) noexcept = default;
  ~KeyEncryptionKey();

  // Seal encrypts `plaintext` bound to `aad`.
  StatusOr<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  // Open decrypts a Seal result. DataLoss when the blob is malformed, was
  // sealed under another KEK (message names both key ids), or fails
  // authentication (tampered, or other `aad`).
  StatusOr<SecretBytes> Open(std::string_view sealed, std::string_view aad) const;

  // KeyId: hex of the 8-byte key id.
  std::string KeyId() const;

 private:
  KeyEncryptionKey() = default;

  std::array<uint8_t, kKeyBytes> key_{};
  std::array<uint8_t, 8> id_{};
};

}  // namespace rotor
