// connectors/crypto/key_wrap: AES-256-GCM sealing of keys under a KEK, the
// KEK's text forms and its file (modes, O_EXCL).
#include "connectors/crypto/key_wrap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/test_paths.h"

namespace rotor {
namespace {

const std::string kKeyBytes(32, '\x42');
const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
// base64 of the same 32 bytes 0x00..0x1f.
const std::string kBase64Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

KeyEncryptionKey MustKek(std::string_view bytes) {
  StatusOr<KeyEncryptionKey> kek = KeyEncryptionKey::FromBytes(bytes);
  EXPECT_TRUE(kek.ok()) << kek.status().ToString();
  return std::move(kek).value();
}

TEST(KeyWrapTest, RoundTrip) {
  const KeyEncryptionKey kek = MustKek(kKeyBytes);
  for (const std::string& plaintext : {std::string(), std::string("k"), std::string(1200, 'p')}) {
    StatusOr<std::string> sealed = kek.Seal(plaintext, "ca/intermediate/3");
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(sealed->size(), 4 + 8 + 12 + plaintext.size() + 16);
    EXPECT_EQ(sealed->substr(0, 4), "RKW1");
    StatusOr<SecretBytes> opened = kek.Open(*sealed, "ca/intermediate/3");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->view(), plaintext);
  }
}

TEST(KeyWrapTest, EachSealUsesAFreshNonce) {
  const KeyEncryptionKey kek = MustKek(kKeyBytes);
  StatusOr<std::string> a = kek.Seal("same", "aad");
  StatusOr<std::string> b = kek.Seal("same", "aad");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(KeyWrapTest, KeyIdIsStableAndInTheBlob) {
  const KeyEncryptionKey kek = MustKek(kKeyBytes);
  EXPECT_EQ(kek.KeyId().size(), 16u);
  EXPECT_EQ(kek.KeyId(), MustKek(kKeyBytes).KeyId());
  EXPECT_NE(kek.KeyId(), MustKek(std::string(32, '\x43')).KeyId());
  StatusOr<std::string> sealed = kek.Seal("x", "aad");
  ASSERT_TRUE(sealed.ok());
  std::string id_hex;
  for (unsigned char c : sealed->substr(4, 8)) {
    static constexpr char kDigits[] = "0123456789abcdef";
    id_hex += kDigits[c >> 4];
    id_hex += kDigits[c & 0xF];
  }
  EXPECT_EQ(id_hex, kek.KeyId());
}

TEST(KeyWrapTest, WrongAadFails) {
  const KeyEncryptionKey kek = MustKek(kKeyBytes);
  StatusOr<std::string> sealed = kek.Seal("secret key", "ca/intermediate/3");
  ASSERT_TRUE(sealed.ok());
  StatusOr<SecretBytes> opened = kek.Open(*sealed, "ca/intermediate/4");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("authentication"), std::string::npos) << opened.status().message();
}

TEST(KeyWrapTest, WrongKekNamesBothKeyIds) {
  const KeyEncryptionKey kek = MustKek(kKeyBytes);
  const KeyEncryptionKey other = MustKek(std::string(32, '\x07'));
  StatusOr<std::string> sealed = kek.Seal("secret key", "aad");
  ASSERT_TRUE(sealed.ok());
  StatusOr<SecretBytes> opened = other.Open(*sealed, "aad");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find(kek.KeyId()), std::string::npos) << opened.status().message();
  EXPECT_NE(opened.status().message().find(other.KeyId()), std::string::npos) << opened.status().message();
}

TEST(KeyWrapTest, EveryTamperedByteFails) {
  const KeyEncryptionKey kek = MustKek(kKeyBytes);
  StatusOr<std::string> sealed = kek.Seal("0123456789abcdef0123", "aad");
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    StatusOr<SecretBytes> opened = kek.Open(tampered, "aad");
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "byte " << i;
  }
}

TEST(KeyWrapTest, TruncatedBlobFails) {
  const KeyEncryptionKey kek = MustKek(kKeyBytes);
  StatusOr<std::string> sealed = kek.Seal("0123456789abcdef", "aad");
  ASSERT_TRUE(sealed.ok());
  for (size_t len : {size_t{0}, size_t{3}, size_t{12}, size_t{39}, sealed->size() - 1}) {
    StatusOr<SecretBytes> opened = kek.Open(sealed->substr(0, len), "aad");
    ASSERT_FALSE(opened.ok()) << len;
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << len;
  }
  StatusOr<SecretBytes> short_blob = kek.Open(sealed->substr(0, 20), "aad");
  EXPECT_NE(short_blob.status().message().find("truncated"), std::string::npos) << short_blob.status().message();
}

TEST(KeyWrapTest, FromBytesNeedsExactly32) {
  EXPECT_FALSE(KeyEncryptionKey::FromBytes(std::string(31, 'a')).ok());
  EXPECT_FALSE(KeyEncryptionKey::FromBytes(std::string(33, 'a')).ok());
  EXPECT_EQ(KeyEncryptionKey::FromBytes("").status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyWrapTest, FromTextHexAndBase64AreTheSameKey) {
  StatusOr<KeyEncryptionKey> hex = KeyEncryptionKey::FromText(kHexKey);
  StatusOr<KeyEncryptionKey> upper =
      KeyEncryptionKey::FromText("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  StatusOr<KeyEncryptionKey> b64 = KeyEncryptionKey::FromText(kBase64Key);
  StatusOr<KeyEncryptionKey> spaced = KeyEncryptionKey::FromText("  \n\t" + kHexKey + "\r\n\n ");
  ASSERT_TRUE(hex.ok()) << hex.status().ToString();
  ASSERT_TRUE(upper.ok()) << upper.status().ToString();
  ASSERT_TRUE(b64.ok()) << b64.status().ToString();
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  std::string raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>(i));
  const std::string id = MustKek(raw).KeyId();
  EXPECT_EQ(hex->KeyId(), id);
  EXPECT_EQ(upper->KeyId(), id);
  EXPECT_EQ(b64->KeyId(), id);
  EXPECT_EQ(spaced->KeyId(), id);
  // What one form sealed, the other opens.
  StatusOr<std::string> sealed = hex->Seal("k", "aad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(b64->Open(*sealed, "aad").ok());
}

TEST(KeyWrapTest, FromTextRefusesWithoutEchoingTheText) {
  const std::string cases[] = {
      kHexKey.substr(0, 62),                           // too short
      kHexKey + "00",                                  // too long
      "zz" + kHexKey.substr(2),                        // not hex
      kBase64Key.substr(0, 43),                        // base64 without its padding
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd!!8=",  // not base64
      "",
      "secret-passphrase-that-is-not-a-key",
  };
  for (const std::string& text : cases) {
    StatusOr<KeyEncryptionKey> kek = KeyEncryptionKey::FromText(text);
    ASSERT_FALSE(kek.ok()) << text;
    EXPECT_EQ(kek.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(kek.status().message().find("64 hex digits or 44"), std::string::npos) << kek.status().message();
    if (text.size() >= 8) {
      EXPECT_EQ(kek.status().message().find(text.substr(0, 8)), std::string::npos)
          << "the error echoes the text: " << kek.status().message();
    }
  }
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path) << content;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(KeyWrapTest, LoadFileReadsA0600File) {
  testing::TempDir dir("rotor-kek");
  const std::string path = dir.path() + "/kek";
  WriteFile(path, kHexKey + "\n", 0600);
  StatusOr<KeyEncryptionKey> kek = KeyEncryptionKey::LoadFile(path);
  ASSERT_TRUE(kek.ok()) << kek.status().ToString();
  EXPECT_EQ(kek->KeyId(), KeyEncryptionKey::FromText(kHexKey)->KeyId());
  WriteFile(path, kBase64Key, 0400);
  EXPECT_TRUE(KeyEncryptionKey::LoadFile(path).ok());
}

TEST(KeyWrapTest, LoadFileRefusesAReadableByOthersFile) {
  testing::TempDir dir("rotor-kek");
  const std::string path = dir.path() + "/kek";
  for (mode_t mode : {0644, 0640, 0604, 0620}) {
    WriteFile(path, kHexKey, mode);
    StatusOr<KeyEncryptionKey> kek = KeyEncryptionKey::LoadFile(path);
    ASSERT_FALSE(kek.ok()) << std::oct << mode;
    EXPECT_EQ(kek.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(kek.status().message().find(path), std::string::npos) << kek.status().message();
    if (mode == 0644) {
      EXPECT_NE(kek.status().message().find("0644"), std::string::npos) << kek.status().message();
    }
  }
}

TEST(KeyWrapTest, LoadFileRefusesADirectoryAndAMissingFile) {
  testing::TempDir dir("rotor-kek");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0700), 0);
  StatusOr<KeyEncryptionKey> kek = KeyEncryptionKey::LoadFile(dir.path());
  ASSERT_FALSE(kek.ok());
  EXPECT_EQ(kek.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(kek.status().message().find("not a regular file"), std::string::npos) << kek.status().message();
  EXPECT_EQ(KeyEncryptionKey::LoadFile(dir.path() + "/missing").status().code(), StatusCode::kNotFound);
}

TEST(KeyWrapTest, LoadFileWithBadContentDoesNotEchoIt) {
  testing::TempDir dir("rotor-kek");
  const std::string path = dir.path() + "/kek";
  WriteFile(path, "hunter2-hunter2-hunter2\n", 0600);
  StatusOr<KeyEncryptionKey> kek = KeyEncryptionKey::LoadFile(path);
  ASSERT_FALSE(kek.ok());
  EXPECT_EQ(kek.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kek.status().message().find("hunter2"), std::string::npos) << kek.status().message();
}

TEST(KeyWrapTest, CreateFileWritesA0600HexFileThatLoads) {
  testing::TempDir dir("rotor-kek");
  const std::string path = dir.path() + "/kek";
  StatusOr<KeyEncryptionKey> created = KeyEncryptionKey::CreateFile(path);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::stringstream content;
  content << std::ifstream(path).rdbuf();
  EXPECT_EQ(content.str().size(), 65u);
  EXPECT_EQ(content.str().back(), '\n');
  StatusOr<KeyEncryptionKey> loaded = KeyEncryptionKey::LoadFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->KeyId(), created->KeyId());
  StatusOr<std::string> sealed = created->Seal("ca key", "ca/root");
  ASSERT_TRUE(sealed.ok());
  StatusOr<SecretBytes> opened = loaded->Open(*sealed, "ca/root");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), "ca key");
}

TEST(KeyWrapTest, CreateFileRefusesAnExistingFile) {
  testing::TempDir dir("rotor-kek");
  const std::string path = dir.path() + "/kek";
  WriteFile(path, kHexKey, 0600);
  StatusOr<KeyEncryptionKey> created = KeyEncryptionKey::CreateFile(path);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kAlreadyExists);
  // The existing KEK is untouched.
  EXPECT_EQ(KeyEncryptionKey::LoadFile(path)->KeyId(), KeyEncryptionKey::FromText(kHexKey)->KeyId());
  // A symlink in its place is refused too, not followed.
  const std::string link = dir.path() + "/link";
  ASSERT_EQ(::symlink((dir.path() + "/nowhere").c_str(), link.c_str()), 0);
  EXPECT_EQ(KeyEncryptionKey::CreateFile(link).status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(::access((dir.path() + "/nowhere").c_str(), F_OK), 0);
}

TEST(KeyWrapTest, TwoCreatedKeksDiffer) {
  testing::TempDir dir("rotor-kek");
  StatusOr<KeyEncryptionKey> a = KeyEncryptionKey::CreateFile(dir.path() + "/a");
  StatusOr<KeyEncryptionKey> b = KeyEncryptionKey::CreateFile(dir.path() + "/b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->KeyId(), b->KeyId());
}

}  // namespace
}  // namespace rotor
