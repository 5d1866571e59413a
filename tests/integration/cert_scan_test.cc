// connectors/crypto/cert_scan and the import walker (app/inventory.h) on real
// input: the fixture set tests/data/import/make_fixtures.sh writes with the
// `openssl` command line (every quirk of issue 5), the system trust store
// checked against `openssl x509 -enddate -serial`, and files that cannot be
// read (empty, random, tens of MB, a symlink loop, a FIFO, unreadable).
#include "connectors/crypto/cert_scan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "app/inventory.h"
#include "connectors/crypto/x509.h"
#include "engine/time.h"
#include "tests/support/shell_command.h"
#include "tests/support/test_paths.h"

namespace rotor {
namespace {

using testing::ReadFile;

using testing::CommandResult;
using testing::RunCommand;

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// The fixture set, made once per build: generating it costs seconds of RSA
// key generation, and ctest runs every test in a process of its own. It
// lives in <test binary dir>/test-data/import-<hash of the script>, made in a
// temporary directory and renamed into place, so parallel tests never see a
// half-made set and a changed script makes a new one.
class Fixtures : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string script = testing::SourceDir() + "/tests/data/import/make_fixtures.sh";
    // Beside the test binary (ROTOR_BINARY_DIR does not reach gtest's
    // discovered tests: only the first ENVIRONMENT entry of rotor_cc_test is
    // applied).
    std::error_code ec;
    const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    const std::string base = (ec ? std::string("/tmp") : exe_dir.string()) + "/test-data";
    ::mkdir(base.c_str(), 0700);
    dir_ = new std::string(base + "/import-" + std::to_string(std::hash<std::string>()(ReadFile(script))));
    struct stat st;
    if (::stat((*dir_ + "/in").c_str(), &st) == 0) return;
    testing::TempDir fresh("rotor-import");
    const auto r = RunCommand("timeout 120 bash " + script + " " + fresh.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    if (::rename(fresh.path().c_str(), dir_->c_str()) != 0) {
      ASSERT_EQ(::stat((*dir_ + "/in").c_str(), &st), 0) << "cannot place fixtures at " << *dir_;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string In(const std::string& name) { return *dir_ + "/in/" + name; }
  static std::vector<InventoryItem> Scan(const std::string& name) { return x509::ScanBytes(ReadFile(In(name)), name); }

  // OpensslEnd returns what `openssl x509 -enddate` says, as an instant.
  static Instant OpensslNotAfter(const std::string& path, const std::string& inform = "PEM");

  static std::string* dir_;
};
std::string* Fixtures::dir_ = nullptr;

// ParseOpensslDate reads "Dec 31 23:59:59 9999 GMT" (ASN1_TIME_print).
bool ParseOpensslDate(const std::string& text, Instant* out) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char mon[4] = {};
  int day = 0, h = 0, m = 0, s = 0;
  long long year = 0;
  char tz[4] = {};
  if (std::sscanf(text.c_str(), "%3s %d %d:%d:%d %lld %3s", mon, &day, &h, &m, &s, &year, tz) != 7) return false;
  if (std::string(tz) != "GMT") return false;
  for (unsigned i = 0; i < 12; ++i) {
    if (std::string(mon) == kMonths[i]) {
      *out =
          Instant::FromSeconds(DaysFromCivil(year, i + 1, static_cast<unsigned>(day)) * 86400 + h * 3600 + m * 60 + s);
      return true;
    }
  }
  return false;
}

Instant Fixtures::OpensslNotAfter(const std::string& path, const std::string& inform) {
  const auto r = RunCommand("timeout 20 openssl x509 -noout -enddate -inform " + inform + " -in " + path);
  Instant t;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(ParseOpensslDate(r.output.substr(r.output.find('=') + 1), &t)) << r.output;
  return t;
}

bool HasWarning(const InventoryItem& it, const std::string& fragment) {
  for (const auto& w : it.warnings) {
    if (w.find(fragment) != std::string::npos) return true;
  }
  return false;
}

// The one certificate of a single-certificate file, checked against openssl.
InventoryItem OneCert(const std::vector<InventoryItem>& items) {
  EXPECT_EQ(items.size(), 1u);
  if (items.empty()) return {};
  EXPECT_EQ(items[0].type, ItemType::kCertificate) << items[0].error;
  return items[0];
}

TEST_F(Fixtures, PlainLeafHasEveryField) {
  const InventoryItem leaf = OneCert(Scan("leaf.pem"));
  EXPECT_EQ(leaf.file, "leaf.pem");
  EXPECT_EQ(leaf.position, 1u);
  EXPECT_EQ(leaf.line, 1u);
  EXPECT_EQ(leaf.format, "pem");
  EXPECT_EQ(leaf.subject, "CN=leaf.example, O=Acme");
  EXPECT_EQ(leaf.issuer, "CN=Fixture Intermediate, O=Acme");
  EXPECT_EQ(leaf.serial, "ff");  // 255, DER 00 ff: the leading zero byte is not part of the canonical form
  EXPECT_EQ(leaf.key_type, "rsa2048");
  EXPECT_EQ(leaf.dns_names, (std::vector<std::string>{"leaf.example", "www.leaf.example"}));
  EXPECT_FALSE(leaf.is_ca);
  EXPECT_FALSE(leaf.self_signed);
  EXPECT_TRUE(leaf.warnings.empty());
  EXPECT_EQ(leaf.not_after, OpensslNotAfter(In("leaf.pem")));
  const auto fp = RunCommand("openssl x509 -noout -fingerprint -sha256 -in " + In("leaf.pem")).output;
  std::string expected;
  for (char c : fp.substr(fp.find('=') + 1)) {
    if (c != ':' && c != '\n') expected.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  EXPECT_EQ(leaf.fingerprint, "sha256:" + expected);
}

TEST_F(Fixtures, LineEndingsBomIndentationAndSurroundingTextChangeNothing) {
  const InventoryItem reference = OneCert(Scan("leaf.pem"));
  for (const char* name : {"crlf.pem", "bom.pem", "leaf.der"}) {
    SCOPED_TRACE(name);
    const InventoryItem it = OneCert(Scan(name));
    EXPECT_EQ(it.fingerprint, reference.fingerprint);
    EXPECT_EQ(it.not_after, reference.not_after);
    EXPECT_TRUE(it.warnings.empty());
  }
  EXPECT_EQ(Scan("leaf.der")[0].format, "der");
  const auto messy = Scan("messy.pem");  // indented, trailing spaces, tabs, text around, no final newline
  ASSERT_EQ(messy.size(), 2u);
  EXPECT_EQ(messy[0].fingerprint, reference.fingerprint);
  EXPECT_EQ(messy[0].line, 4u);
  EXPECT_EQ(messy[1].subject, "CN=Fixture Intermediate, O=Acme");
  EXPECT_EQ(messy[1].position, 2u);
}

TEST_F(Fixtures, BundlesInAnyOrderLinkTheirChain) {
  auto items = Scan("leaf_after_intermediate.pem");
  ASSERT_EQ(items.size(), 2u);
  LinkInventory(&items);
  EXPECT_TRUE(items[0].is_ca);
  EXPECT_EQ(items[0].serial, "07277f52");
  EXPECT_EQ(items[1].subject, "CN=leaf.example, O=Acme");
  EXPECT_EQ(items[1].issuer_fingerprint, items[0].fingerprint);  // linked although it comes first

  auto chain = Scan("chain_in_order.pem");
  ASSERT_EQ(chain.size(), 3u);
  LinkInventory(&chain);
  EXPECT_EQ(chain[0].issuer_fingerprint, chain[1].fingerprint);
  EXPECT_EQ(chain[1].issuer_fingerprint, chain[2].fingerprint);
  EXPECT_TRUE(chain[2].self_signed);
  EXPECT_TRUE(chain[2].is_ca);
  EXPECT_EQ(chain[2].issuer_fingerprint, chain[2].fingerprint);
  EXPECT_FALSE(chain[1].self_signed);
}

// What `rotor import --adopt` reads the certificate and key bytes from: one
// DER per item, the certificate's hashing to its fingerprint, a key's
// reading back as the same public key.
TEST_F(Fixtures, DersComeOnePerItemAndAreTheItemsOwn) {
  for (const char* name : {"cert_and_key.pem", "leaf.der", "leaf_key.der", "pkcs1.key", "sec1.key",
                           "encrypted_pkcs8.key", "truncated_in_bundle.pem"}) {
    SCOPED_TRACE(name);
    std::vector<SecretBytes> ders;
    const auto items = x509::ScanBytes(ReadFile(In(name)), name, &ders);
    ASSERT_EQ(ders.size(), items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      const InventoryItem& it = items[i];
      if (it.type == ItemType::kCertificate) {
        const auto again = x509::ScanBytes(ders[i].view(), "again.der");
        ASSERT_EQ(again.size(), 1u);
        EXPECT_EQ(again[0].fingerprint, it.fingerprint);
      } else if (it.type == ItemType::kPrivateKey && !it.encrypted) {
        auto key = x509::ParsePrivateKeyDerAs(it.key_format, ders[i].view());
        ASSERT_TRUE(key.ok()) << key.status().ToString();
      } else {
        EXPECT_TRUE(ders[i].empty()) << ItemTypeName(it.type);
      }
    }
  }
}

TEST_F(Fixtures, KeysMatchTheirCertificateByPublicKeyOnly) {
  auto both = Scan("cert_and_key.pem");
  ASSERT_EQ(both.size(), 2u);
  LinkInventory(&both);
  EXPECT_EQ(both[1].type, ItemType::kPrivateKey);
  EXPECT_EQ(both[1].key_format, "pkcs8");
  EXPECT_EQ(both[1].public_key_id, both[0].public_key_id);
  EXPECT_EQ(both[0].key_location, "cert_and_key.pem:2");
  EXPECT_EQ(both[1].certificate_fingerprint, both[0].fingerprint);

  auto mismatched = Scan("mismatched_key.pem");
  ASSERT_EQ(mismatched.size(), 2u);
  LinkInventory(&mismatched);
  EXPECT_EQ(mismatched[1].type, ItemType::kPrivateKey);
  EXPECT_NE(mismatched[1].public_key_id, mismatched[0].public_key_id);
  EXPECT_EQ(mismatched[0].key_location, "");
  EXPECT_EQ(mismatched[1].certificate_fingerprint, "");

  // The DER (PKCS#1 as `openssl pkey -outform DER` writes RSA) matches too.
  const auto der_key = Scan("leaf_key.der");
  ASSERT_EQ(der_key.size(), 1u);
  EXPECT_EQ(der_key[0].type, ItemType::kPrivateKey) << der_key[0].error;
  EXPECT_EQ(der_key[0].public_key_id, both[0].public_key_id);
}

TEST_F(Fixtures, EveryKeyFormatIsRecognised) {
  struct Case {
    const char* file;
    const char* format;
    const char* key_type;
    bool encrypted;
  } cases[] = {
      {"pkcs1.key", "pkcs1", "rsa2048", false},
      {"sec1.key", "sec1", "p256", false},
      {"pkcs8_ed25519.key", "pkcs8", "ed25519", false},
      {"encrypted_pkcs8.key", "encrypted_pkcs8", "", true},
      {"encrypted_legacy.key", "encrypted_pem", "", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto items = Scan(c.file);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].type, ItemType::kPrivateKey) << items[0].error;
    EXPECT_EQ(items[0].key_format, c.format);
    EXPECT_EQ(items[0].key_type, c.key_type);
    EXPECT_EQ(items[0].encrypted, c.encrypted);
    EXPECT_FALSE(items[0].fingerprint.empty());
    EXPECT_EQ(items[0].public_key_id.empty(), c.encrypted);
  }
  // A key's public_key_id equals that of a certificate made from it.
  const auto csr = Scan("request.csr");
  ASSERT_EQ(csr.size(), 1u);
  EXPECT_EQ(csr[0].type, ItemType::kCsr) << csr[0].error;
  EXPECT_EQ(csr[0].subject, "CN=ed.example");
  EXPECT_EQ(csr[0].public_key_id, Scan("pkcs8_ed25519.key")[0].public_key_id);
}

TEST_F(Fixtures, QuirkySerialsAreReadAsOpensslPrintsThem) {
  const InventoryItem negative = OneCert(Scan("negative_serial.pem"));
  EXPECT_EQ(negative.serial, "-05");
  EXPECT_TRUE(HasWarning(negative, "serial: negative"));
  const auto r = RunCommand("openssl x509 -noout -serial -in " + In("negative_serial.pem"));
  EXPECT_EQ(r.output, "serial=-05\n");

  // A superfluous leading zero byte: BoringSSL's parser (and OpenSSL's)
  // refuse it; rotor reads it with two lint warnings instead of losing it.
  const InventoryItem nonminimal = OneCert(Scan("serial_leading_zero.der"));
  EXPECT_EQ(nonminimal.serial, "7f");
  EXPECT_TRUE(HasWarning(nonminimal, "not minimally encoded"));
  EXPECT_TRUE(HasWarning(nonminimal, "BoringSSL's X.509 parser refused"));
  EXPECT_EQ(nonminimal.subject, "CN=leaf.example, O=Acme");
  EXPECT_EQ(nonminimal.not_after, OneCert(Scan("leaf.pem")).not_after);
}

TEST_F(Fixtures, SubjectsInUtf8AndQuirkyPrintableStrings) {
  EXPECT_EQ(OneCert(Scan("utf8_subject.pem")).subject, "CN=Zürich Straße, O=日本の会社");
  const InventoryItem printable = OneCert(Scan("printable_underscore.der"));
  EXPECT_EQ(printable.subject, "CN=R_D&Team, O=Acme");
  EXPECT_TRUE(HasWarning(printable, "PrintableString contains '_'"));
}

TEST_F(Fixtures, ValidityBoundariesEqualOpenssl) {
  struct Case {
    const char* file;
    const char* not_after;
  } cases[] = {
      {"notafter_9999.pem", "9999-12-31T23:59:59Z"}, {"notafter_2049.pem", "2049-12-31T23:59:59Z"},  // UTCTime 49...
      {"notafter_2050.pem", "2050-01-01T00:00:00Z"},  // GeneralizedTime 2050...
      {"expired.pem", "2021-01-01T00:00:00Z"},       {"not_yet_valid.pem", "2041-01-01T00:00:00Z"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const InventoryItem it = OneCert(Scan(c.file));
    EXPECT_EQ(FormatRfc3339Seconds(it.not_after), c.not_after);
    EXPECT_EQ(it.not_after, OpensslNotAfter(In(c.file)));
  }
  const Instant now = Instant::FromSeconds(::time(nullptr));
  const RenewalPolicy policy;
  EXPECT_EQ(Classify(OneCert(Scan("expired.pem")), now, policy), CertStatus::kExpired);
  EXPECT_EQ(Classify(OneCert(Scan("not_yet_valid.pem")), now, policy), CertStatus::kNotYetValid);
  EXPECT_EQ(Classify(OneCert(Scan("leaf.pem")), now, policy), CertStatus::kValid);
  // 2024 to 9999: two thirds of that lifetime are far away.
  EXPECT_EQ(Classify(OneCert(Scan("notafter_9999.pem")), now, policy), CertStatus::kValid);
  // 2024 to 2049: due from 2040 on; with a 30-day rule, valid.
  EXPECT_EQ(Classify(OneCert(Scan("notafter_2049.pem")), now, policy), CertStatus::kValid);
}

TEST_F(Fixtures, ABadBlockInABundleIsReportedAndTheRestImports) {
  const auto items = Scan("truncated_in_bundle.pem");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].type, ItemType::kCertificate);
  EXPECT_EQ(items[0].subject, "CN=Fixture Root, O=Acme");
  EXPECT_EQ(items[1].type, ItemType::kError);
  EXPECT_EQ(items[1].position, 2u);
  EXPECT_EQ(items[1].line, 12u);
  EXPECT_NE(items[1].error.find("base64 is truncated"), std::string::npos) << items[1].error;
  EXPECT_EQ(items[2].type, ItemType::kCertificate);
  EXPECT_EQ(items[2].subject, "CN=leaf.example, O=Acme");
}

TEST_F(Fixtures, TruncatedDerInsideValidBase64IsNamed) {
  // Drop the last 4 base64 characters: still a multiple of 4, so the base64
  // decodes, and the DER is short.
  std::string pem = ReadFile(In("leaf.pem"));
  const size_t end = pem.find("\n-----END");
  pem.erase(end - 4, 4);
  const auto items = x509::ScanBytes(pem, "short.pem");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].type, ItemType::kError);
  EXPECT_NE(items[0].error.find("truncated"), std::string::npos) << items[0].error;
}

TEST_F(Fixtures, WhatIsNoCredentialIsOneErrorEach) {
  struct Case {
    const char* file;
    const char* error;
  } cases[] = {
      {"empty.pem", "empty file"},
      {"notes.txt", "no PEM block"},
      {"cut_short.pem", "no END line"},
      {"bad_month.der", "notAfter: invalid UTCTime \"491331235959Z\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto items = Scan(c.file);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].type, ItemType::kError);
    EXPECT_NE(items[0].error.find(c.error), std::string::npos) << items[0].error;
  }
  const auto random = Scan("random.bin");
  ASSERT_GE(random.size(), 1u);
  for (const auto& it : random) EXPECT_EQ(it.type, ItemType::kError);
}

TEST_F(Fixtures, DamagedInputNeverCrashesAndErrorsSayWhy) {
  // A certificate's DER with bytes flipped or cut short: whatever the scan
  // makes of it, it returns, and every error has a reason.
  const std::string leaf = ReadFile(In("leaf.der"));
  unsigned seed = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string data = leaf;
    // Flip a few bytes, or cut the input somewhere.
    seed = seed * 1103515245 + 12345;
    if (round % 3 == 0) {
      data.resize(seed % data.size());
    } else {
      for (int k = 0; k < 3; ++k) {
        seed = seed * 1103515245 + 12345;
        data[(seed >> 8) % data.size()] = static_cast<char>(seed >> 24);
      }
    }
    const auto items = x509::ScanBytes(data, "fuzz.der");
    ASSERT_GE(items.size(), 1u);
    for (const auto& it : items) {
      if (it.type == ItemType::kError) {
        EXPECT_FALSE(it.error.empty());
      }
    }
  }
}

TEST_F(Fixtures, ATensOfMegabytesBundleImportsEveryCertificate) {
  const std::string pem = ReadFile(In("leaf.pem")) + "some text between the blocks\n";
  testing::TempDir big_dir("rotor-big");
  const std::string path = big_dir.path() + "/big.pem";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 32000; ++i) out << pem;
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_GT(st.st_size, 20 << 20);  // about 30 MB
  const auto items = app::ScanPaths({path}, false);
  ASSERT_EQ(items.size(), 32000u);
  EXPECT_EQ(items.back().position, 32000u);
  for (const auto& it : items) ASSERT_EQ(it.type, ItemType::kCertificate) << it.error;
  ::unlink(path.c_str());
}

TEST_F(Fixtures, TheWalkerReportsPathsItCannotRead) {
  testing::TempDir tree("rotor-walk");
  const std::string t = tree.path();
  ASSERT_EQ(::symlink("loop-b", (t + "/loop-a.pem").c_str()), 0);
  ASSERT_EQ(::symlink("loop-a.pem", (t + "/loop-b").c_str()), 0);
  ASSERT_EQ(::mkfifo((t + "/fifo.pem").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir((t + "/sub").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("..", (t + "/sub/up").c_str()), 0);  // a directory loop
  ASSERT_EQ(::symlink("/proc/self/mem", (t + "/unreadable.pem").c_str()), 0);
  WriteAll(t + "/sub/leaf.pem", ReadFile(In("leaf.pem")));
  ASSERT_EQ(::symlink("sub/leaf.pem", (t + "/same-leaf.pem").c_str()), 0);  // the same file twice

  const auto items = app::ScanPaths({t, t + "/missing.pem"}, /*recursive=*/true);
  std::map<std::string, InventoryItem> by_file;
  for (const auto& it : items) by_file[it.file] = it;
  auto error_of = [&](const std::string& f) {
    auto i = by_file.find(t + f);
    return i == by_file.end() ? std::string("(no item)") : i->second.error;
  };
  EXPECT_NE(error_of("/loop-a.pem").find("symbolic link loop"), std::string::npos) << error_of("/loop-a.pem");
  EXPECT_NE(error_of("/fifo.pem").find("FIFO"), std::string::npos) << error_of("/fifo.pem");
  EXPECT_NE(error_of("/sub/up").find("already visited"), std::string::npos) << error_of("/sub/up");
  // /proc/self/mem is a regular file whose first page no process maps: read
  // fails with EIO even for root, who may read any mode-000 file.
  EXPECT_NE(error_of("/unreadable.pem").find("cannot read"), std::string::npos) << error_of("/unreadable.pem");
  EXPECT_NE(error_of("/missing.pem").find("no such file"), std::string::npos) << error_of("/missing.pem");
  size_t leaves = 0;
  for (const auto& it : items) leaves += it.type == ItemType::kCertificate ? 1 : 0;
  EXPECT_EQ(leaves, 1u);  // same-leaf.pem is the file sub/leaf.pem: read once

  if (::geteuid() != 0) {
    WriteAll(t + "/mode000.pem", ReadFile(In("leaf.pem")));
    ASSERT_EQ(::chmod((t + "/mode000.pem").c_str(), 0), 0);
    const auto denied = app::ScanPaths({t + "/mode000.pem"}, false);
    ASSERT_EQ(denied.size(), 1u);
    EXPECT_NE(denied[0].error.find("permission denied"), std::string::npos) << denied[0].error;
  }
  // Without --recursive, subdirectories are not entered.
  const auto flat = app::ScanPaths({t}, /*recursive=*/false);
  for (const auto& it : flat) EXPECT_EQ(it.file.find("/sub/"), std::string::npos) << it.file;
}

// The system trust store: every certificate imports with no error, with the
// expiry and serial `openssl x509` reports.
TEST(TrustStore, EveryCertificateMatchesOpenssl) {
  const std::string dir = "/etc/ssl/certs";
  struct stat st;
  if (::stat((dir + "/ca-certificates.crt").c_str(), &st) != 0) {
    GTEST_SKIP() << "no " << dir << "/ca-certificates.crt: install ca-certificates (scripts/install-deps.sh)";
  }
  const auto r = RunCommand("cd " + dir +
                            " && for f in *.pem; do echo \"FILE $f\"; "
                            "timeout 10 openssl x509 -noout -serial -enddate -in \"$f\"; done");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::pair<std::string, std::string>> expected;  // file -> serial, notAfter
  std::istringstream lines(r.output);
  std::string line, file;
  while (std::getline(lines, line)) {
    if (line.rfind("FILE ", 0) == 0) file = line.substr(5);
    if (line.rfind("serial=", 0) == 0) expected[file].first = line.substr(7);
    if (line.rfind("notAfter=", 0) == 0) expected[file].second = line.substr(9);
  }
  ASSERT_GT(expected.size(), 100u);
  size_t checked = 0;
  for (const auto& [name, want] : expected) {
    SCOPED_TRACE(name);
    const auto items = x509::ScanBytes(ReadFile(dir + "/" + name), name);
    ASSERT_EQ(items.size(), 1u);
    ASSERT_EQ(items[0].type, ItemType::kCertificate) << items[0].error;
    std::string serial;
    for (char c : want.first) serial.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    EXPECT_EQ(items[0].serial, serial);
    Instant not_after;
    ASSERT_TRUE(ParseOpensslDate(want.second, &not_after)) << want.second;
    EXPECT_EQ(items[0].not_after, not_after);
    EXPECT_TRUE(items[0].is_ca);
    ++checked;
  }
  // The bundle holds the same certificates, each read without error.
  const auto bundle = app::ScanPaths({dir + "/ca-certificates.crt"}, false);
  size_t certs = 0;
  for (const auto& it : bundle) {
    EXPECT_EQ(it.type, ItemType::kCertificate) << it.file << ":" << it.position << ": " << it.error;
    ++certs;
  }
  EXPECT_EQ(certs, checked);
}

}  // namespace
}  // namespace rotor
