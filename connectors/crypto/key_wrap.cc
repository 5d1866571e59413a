#include "connectors/crypto/key_wrap.h"

#include <fcntl.h>
#include <openssl/aead.h>
#include <openssl/base64.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "connectors/crypto/random.h"

namespace rotor {

namespace {

constexpr std::string_view kMagic = "RKW1";
constexpr std::string_view kIdLabel = "rotor-kek-id";
constexpr size_t kIdBytes = 8;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kHeaderBytes = kMagic.size() + kIdBytes;  // "RKW1" | key id
constexpr size_t kOverhead = kHeaderBytes + kNonceBytes + kTagBytes;
// A KEK file holds 64 hex digits and a newline; anything much larger is not one.
constexpr size_t kMaxKekFileBytes = 4096;

const uint8_t* Bytes(std::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

void AppendHex(std::string* out, const uint8_t* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; ++i) {
    out->push_back(kDigits[data[i] >> 4]);
    out->push_back(kDigits[data[i] & 0xF]);
  }
}

std::string Hex(const uint8_t* data, size_t len) {
  std::string out;
  out.reserve(2 * len);
  AppendHex(&out, data, len);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// InitAead keys an AES-256-GCM context. The key schedule is rebuilt per call
// rather than cached: it costs well under a microsecond and keeps the class
// free of BoringSSL types in its header.
bool InitAead(EVP_AEAD_CTX* ctx, const std::array<uint8_t, KeyEncryptionKey::kKeyBytes>& key) {
  return EVP_AEAD_CTX_init(ctx, EVP_aead_aes_256_gcm(), key.data(), key.size(), kTagBytes, nullptr) == 1;
}

// AdditionalData authenticates the header with the caller's `aad`, so the
// format version and key id cannot be altered either. The header has a fixed
// length, so the concatenation is unambiguous.
std::string AdditionalData(std::string_view header, std::string_view aad) {
  std::string ad;
  ad.reserve(header.size() + aad.size());
  ad.append(header).append(aad);
  return ad;
}

// FsyncDirectoryOf makes the directory entry of `path` durable.
Status FsyncDirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Unavailable("open " + dir + ": " + ErrnoText(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Unavailable("fsync " + dir + ": " + ErrnoText(err));
  return Status::Ok();
}

}  // namespace

KeyEncryptionKey::~KeyEncryptionKey() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

StatusOr<KeyEncryptionKey> KeyEncryptionKey::FromBytes(std::string_view key) {
  if (key.size() != kKeyBytes) {
    return InvalidArgument("a KEK is " + std::to_string(kKeyBytes) + " bytes, not " + std::to_string(key.size()));
  }
  KeyEncryptionKey kek;
  std::memcpy(kek.key_.data(), key.data(), kKeyBytes);
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256_CTX sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, kIdLabel.data(), kIdLabel.size());
  SHA256_Update(&sha, kek.key_.data(), kek.key_.size());
  SHA256_Final(digest.data(), &sha);
  OPENSSL_cleanse(&sha, sizeof(sha));
  std::memcpy(kek.id_.data(), digest.data(), kek.id_.size());
  return kek;
}

StatusOr<KeyEncryptionKey> KeyEncryptionKey::FromText(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  std::array<uint8_t, kKeyBytes> raw{};
  bool decoded = false;
  if (text.size() == 2 * kKeyBytes) {
    decoded = true;
    for (size_t i = 0; i < kKeyBytes; ++i) {
      const int hi = HexValue(text[2 * i]);
      const int lo = HexValue(text[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        decoded = false;
        break;
      }
      raw[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
  } else if (text.size() == 44) {
    // 32 bytes are 43 base64 characters and one '=' of padding.
    std::array<uint8_t, 33> buf{};  // EVP_DecodedLength(44) is 33
    size_t len = 0;
    decoded = EVP_DecodeBase64(buf.data(), &len, buf.size(), Bytes(text), text.size()) == 1 && len == kKeyBytes;
    if (decoded) std::memcpy(raw.data(), buf.data(), kKeyBytes);
    OPENSSL_cleanse(buf.data(), buf.size());
    ERR_clear_error();
  }
  if (!decoded) {
    OPENSSL_cleanse(raw.data(), raw.size());
    // The text is a secret: say what shape was expected, never what was given.
    return InvalidArgument("KEK text must be 64 hex digits or 44 characters of base64 (32 bytes); got " +
                           std::to_string(text.size()) + " characters that are neither");
  }
  StatusOr<KeyEncryptionKey> kek = FromBytes({reinterpret_cast<const char*>(raw.data()), raw.size()});
  OPENSSL_cleanse(raw.data(), raw.size());
  return kek;
}

StatusOr<KeyEncryptionKey> KeyEncryptionKey::LoadFile(const std::string& path) {
  // Symlinks are followed on purpose: Kubernetes mounts secrets as links
  // into a ..data directory. The opened file itself is what gets checked.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound("KEK file " + path + " does not exist");
    return FailedPrecondition("KEK file " + path + ": " + ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return FailedPrecondition("KEK file " + path + ": fstat: " + ErrnoText(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPrecondition("KEK file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return FailedPrecondition("KEK file " + path + " has mode " + mode +
                              ": group or others have access (chmod 600 it)");
  }
  std::array<char, kMaxKekFileBytes + 1> buf{};
  size_t len = 0;
  while (len < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      OPENSSL_cleanse(buf.data(), buf.size());
      return Unavailable("KEK file " + path + ": read: " + ErrnoText(err));
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  if (len > kMaxKekFileBytes) {
    OPENSSL_cleanse(buf.data(), buf.size());
    return FailedPrecondition("KEK file " + path + " is larger than " + std::to_string(kMaxKekFileBytes) +
                              " bytes: not a KEK file");
  }
  StatusOr<KeyEncryptionKey> kek = FromText({buf.data(), len});
  OPENSSL_cleanse(buf.data(), buf.size());
  if (!kek.ok()) return InvalidArgument("KEK file " + path + ": " + kek.status().message());
  return kek;
}

StatusOr<KeyEncryptionKey> KeyEncryptionKey::CreateFile(const std::string& path) {
  std::array<uint8_t, kKeyBytes> raw{};
  ROTOR_RETURN_IF_ERROR(FillRandom(raw));
  StatusOr<KeyEncryptionKey> kek = FromBytes({reinterpret_cast<const char*>(raw.data()), raw.size()});
  // Reserved once, so no reallocation leaves an unwiped copy of the key.
  std::string text;
  text.reserve(2 * kKeyBytes + 1);
  AppendHex(&text, raw.data(), raw.size());
  text.push_back('\n');
  OPENSSL_cleanse(raw.data(), raw.size());
  auto wipe = [&text] { OPENSSL_cleanse(text.data(), text.size()); };
  if (!kek.ok()) {
    wipe();
    return kek;
  }

  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    wipe();
    if (err == EEXIST) return Status(StatusCode::kAlreadyExists, "KEK file " + path + " already exists");
    return FailedPrecondition("create KEK file " + path + ": " + ErrnoText(err));
  }
  // From here on a failure removes the file: a half-written KEK file would
  // make every later start fail, and nothing was sealed under it yet.
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(path.c_str());
    wipe();
    return Unavailable("KEK file " + path + ": " + what + ": " + ErrnoText(err));
  };
  // The umask may have taken bits off; the owner must be able to read it back.
  if (::fchmod(fd, 0600) != 0) return fail("fchmod", errno);
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write", errno);
    written += static_cast<size_t>(n);
  }
  wipe();
  if (::fsync(fd) != 0) return fail("fsync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return Unavailable("KEK file " + path + ": close: " + ErrnoText(err));
  }
  ROTOR_RETURN_IF_ERROR(FsyncDirectoryOf(path));
  return kek;
}

StatusOr<std::string> KeyEncryptionKey::Seal(std::string_view plaintext, std::string_view aad) const {
  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!InitAead(ctx.get(), key_)) {
    ERR_clear_error();
    return Internal("AES-256-GCM key setup failed");
  }
  std::string sealed(kOverhead + plaintext.size(), '\0');
  auto* out = reinterpret_cast<uint8_t*>(sealed.data());
  std::memcpy(out, kMagic.data(), kMagic.size());
  std::memcpy(out + kMagic.size(), id_.data(), id_.size());
  uint8_t* nonce = out + kHeaderBytes;
  // A random 96-bit nonce: a KEK seals few blobs (CA keys), far below the
  // 2^32 messages NIST SP 800-38D allows per key with random nonces.
  ROTOR_RETURN_IF_ERROR(FillRandom({nonce, kNonceBytes}));
  const std::string ad = AdditionalData({sealed.data(), kHeaderBytes}, aad);
  size_t out_len = 0;
  uint8_t* ciphertext = nonce + kNonceBytes;
  if (!EVP_AEAD_CTX_seal(ctx.get(), ciphertext, &out_len, plaintext.size() + kTagBytes, nonce, kNonceBytes,
                         Bytes(plaintext), plaintext.size(), Bytes(ad), ad.size()) ||
      out_len != plaintext.size() + kTagBytes) {
    ERR_clear_error();
    return Internal("AES-256-GCM seal failed");
  }
  return sealed;
}

StatusOr<SecretBytes> KeyEncryptionKey::Open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kOverhead) {
    return DataLoss("sealed key is " + std::to_string(sealed.size()) + " bytes, shorter than the " +
                    std::to_string(kOverhead) + "-byte envelope: truncated or not a sealed key");
  }
  if (sealed.substr(0, kMagic.size()) != kMagic) return DataLoss("not a sealed key (no RKW1 header)");
  const std::string_view id = sealed.substr(kMagic.size(), kIdBytes);
  if (std::memcmp(id.data(), id_.data(), kIdBytes) != 0) {
    return DataLoss("sealed under KEK " + Hex(Bytes(id), id.size()) + ", not under this KEK " + KeyId());
  }
  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!InitAead(ctx.get(), key_)) {
    ERR_clear_error();
    return Internal("AES-256-GCM key setup failed");
  }
  const uint8_t* nonce = Bytes(sealed) + kHeaderBytes;
  const std::string_view ciphertext = sealed.substr(kHeaderBytes + kNonceBytes);
  const std::string ad = AdditionalData(sealed.substr(0, kHeaderBytes), aad);
  // Sized for the plaintext up front so the buffer that moves into
  // SecretBytes is the only copy.
  std::string plaintext(ciphertext.size() - kTagBytes, '\0');
  size_t out_len = 0;
  if (!EVP_AEAD_CTX_open(ctx.get(), reinterpret_cast<uint8_t*>(plaintext.data()), &out_len, plaintext.size(), nonce,
                         kNonceBytes, Bytes(ciphertext), ciphertext.size(), Bytes(ad), ad.size())) {
    ERR_clear_error();
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return DataLoss("sealed key fails authentication: altered, or sealed for another purpose than \"" +
                    std::string(aad) + "\"");
  }
  plaintext.resize(out_len);
  SecretBytes secret(std::move(plaintext));
  // A plaintext under 16 bytes lives in the string's inline buffer, which the
  // move copied rather than stole.
  OPENSSL_cleanse(plaintext.data(), plaintext.capacity());  // NOLINT(bugprone-use-after-move): wiping
  return secret;
}

std::string KeyEncryptionKey::KeyId() const {
  return Hex(id_.data(), id_.size());
}

}  // namespace rotor
