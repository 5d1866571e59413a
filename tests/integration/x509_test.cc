// connectors/crypto/x509 against independent implementations: what rotor
// issues is checked by the `openssl` (OpenSSL 3) and `certtool` (GnuTLS)
// command-line tools, run as child processes, and used in a real mutual-TLS
// handshake between `openssl s_server` and `openssl s_client`. This binary
// itself links only BoringSSL (ARCHITECTURE §5).
#include "connectors/crypto/x509.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/shell_command.h"
#include "tests/support/test_paths.h"

namespace rotor::x509 {
namespace {

using testing::ReadFile;

// --- Child processes -----------------------------------------------------------

using testing::CommandResult;
using testing::RunCommand;

bool HaveTool(const char* tool) {
  return RunCommand(std::string("command -v ") + tool).exit_code == 0;
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- Issuing ---------------------------------------------------------------------

Instant Now() {
  return Instant::FromMicros(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Whole seconds: certificates carry no fractions, so comparisons stay exact.
Instant WholeSeconds(Instant t) {
  return Instant::FromSeconds(t.micros / 1000000);
}

struct Issued {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
  CertificateRequest request;
};

// Issue generates a key for `request` and signs it by `issuer` (null:
// self-signed). On failure the test fails and `cert` stays null.
Issued Issue(const CertificateRequest& request, const Issued* issuer) {
  Issued out;
  out.request = request;
  StatusOr<bssl::UniquePtr<EVP_PKEY>> key = GenerateKey(request.key_type);
  if (!key.ok()) {
    ADD_FAILURE() << "GenerateKey: " << key.status().ToString();
    return out;
  }
  out.key = std::move(key).value();
  StatusOr<bssl::UniquePtr<X509>> cert = SignCertificate(request, out.key.get(), issuer ? issuer->cert.get() : nullptr,
                                                         issuer ? issuer->key.get() : nullptr);
  if (!cert.ok()) {
    ADD_FAILURE() << "SignCertificate: " << cert.status().ToString();
    return out;
  }
  out.cert = std::move(cert).value();
  return out;
}

CertificateRequest CaRequest(KeyType type, const std::string& cn, int path_len, Instant not_before, Instant not_after) {
  CertificateRequest r;
  r.key_type = type;
  r.subject = {{"CN", cn}, {"O", "Acme"}};
  r.is_ca = true;
  r.path_len = path_len;
  r.not_before = not_before;
  r.not_after = not_after;
  return r;
}

// LeafProfile is a typical service certificate: CN and O, Zürich as L (a
// UTF8String), DNS, URI, IPv4 and IPv6 SANs, server and client auth.
CertificateProfile LeafProfile(KeyType type, std::vector<ExtKeyUsage> eku) {
  CertificateProfile p;
  p.key_type = type;
  p.subject = {{"CN", "{id}.example"}, {"O", "Acme"}, {"L", "Zürich"}};
  p.dns = {"{id}.example", "{id}.internal"};
  p.uris = {"spiffe://example.org/ns/prod/sa/{id}"};
  p.ips = {"10.1.2.3", "2001:db8::1"};
  p.ext_key_usage = std::move(eku);
  return p;
}

CertificateRequest LeafRequest(KeyType type, const std::string& id, Instant now, Duration lifetime = Duration::Days(30),
                               std::vector<ExtKeyUsage> eku = {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth}) {
  const CertificateProfile profile = LeafProfile(type, std::move(eku));
  EXPECT_TRUE(ValidateProfile(profile).ok());
  return ExpandProfile(profile, id, now, now + lifetime);
}

// Pki: a root (pathLen 1), an intermediate (pathLen 0) and a leaf, all of
// one key type, valid around `now`.
struct Pki {
  Issued root;
  Issued inter;
  Issued leaf;
  Instant now;
};

Pki MakePki(KeyType type, Instant now = WholeSeconds(Now())) {
  Pki pki;
  pki.now = now;
  pki.root =
      Issue(CaRequest(type, "rotor test root", 1, now - Duration::Hours(1), now + Duration::Days(3650)), nullptr);
  if (!pki.root.cert) return pki;
  pki.inter = Issue(CaRequest(type, "rotor test intermediate", 0, now - Duration::Hours(1), now + Duration::Days(365)),
                    &pki.root);
  if (!pki.inter.cert) return pki;
  pki.leaf = Issue(LeafRequest(type, "api-1", now), &pki.inter);
  return pki;
}

LeafCheck CheckOf(const Pki& pki) {
  LeafCheck check;
  check.leaf = pki.leaf.cert.get();
  check.key = pki.leaf.key.get();
  check.request = &pki.leaf.request;
  check.chain = {pki.inter.cert.get()};
  check.roots = {pki.root.cert.get()};
  check.now = pki.now;
  return check;
}

// OpensslDate renders `t` as `openssl x509 -dates` does ("Jan  2 03:04:05 2026 GMT").
std::string OpensslDate(Instant t) {
  const time_t seconds = static_cast<time_t>(t.micros / 1000000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%b %e %H:%M:%S %Y GMT", &tm);
  return buf;
}

// Written PKI: PEM files of a Pki in a scratch directory.
struct PkiFiles {
  std::string root;
  std::string inter;
  std::string leaf;
  std::string leaf_key;
};

PkiFiles WritePki(const Pki& pki, const std::string& dir, const std::string& prefix = "") {
  PkiFiles f{dir + "/" + prefix + "root.pem", dir + "/" + prefix + "inter.pem", dir + "/" + prefix + "leaf.pem",
             dir + "/" + prefix + "leaf.key"};
  WriteFile(f.root, CertificatePem(pki.root.cert.get()));
  WriteFile(f.inter, CertificatePem(pki.inter.cert.get()));
  WriteFile(f.leaf, CertificatePem(pki.leaf.cert.get()));
  WriteFile(f.leaf_key, PrivateKeyPem(pki.leaf.key.get()).view());
  return f;
}

// --- Every key type against openssl and certtool -----------------------------------

class X509KeyTypeTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(X509KeyTypeTest, ChainPassesOpensslAndCerttool) {
  if (!HaveTool("openssl")) GTEST_SKIP() << "openssl is not installed";
  const KeyType type = GetParam();
  const Pki pki = MakePki(type);
  ASSERT_TRUE(pki.leaf.cert);
  testing::TempDir dir("rotor-x509");
  const PkiFiles f = WritePki(pki, dir.path());

  // The chain verifies, also under RFC 5280 strictness and as a TLS server.
  CommandResult verify =
      RunCommand("timeout 30 openssl verify -CAfile " + f.root + " -untrusted " + f.inter + " " + f.leaf);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(verify.output, f.leaf + ": OK\n");
  CommandResult strict = RunCommand("timeout 30 openssl verify -x509_strict -purpose sslserver -CAfile " + f.root +
                                    " -untrusted " + f.inter + " " + f.leaf);
  EXPECT_EQ(strict.exit_code, 0) << strict.output;
  EXPECT_TRUE(Contains(strict.output, ": OK")) << strict.output;
  CommandResult strict_client = RunCommand("timeout 30 openssl verify -x509_strict -purpose sslclient -CAfile " +
                                           f.root + " -untrusted " + f.inter + " " + f.leaf);
  EXPECT_EQ(strict_client.exit_code, 0) << strict_client.output;

  // The leaf's contents as OpenSSL reads them.
  CommandResult text = RunCommand("timeout 30 openssl x509 -noout -text -in " + f.leaf);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_TRUE(Contains(text.output, "Version: 3 (0x2)")) << text.output;
  EXPECT_TRUE(Contains(text.output, "X509v3 Basic Constraints: critical\n                CA:FALSE")) << text.output;
  EXPECT_TRUE(Contains(text.output, "X509v3 Key Usage: critical")) << text.output;
  EXPECT_TRUE(Contains(text.output, type == KeyType::kRsa2048 || type == KeyType::kRsa3072
                                        ? "Digital Signature, Key Encipherment\n"
                                        : "Digital Signature\n"))
      << text.output;
  EXPECT_TRUE(Contains(text.output, "TLS Web Server Authentication, TLS Web Client Authentication")) << text.output;
  EXPECT_TRUE(Contains(text.output, "X509v3 Subject Alternative Name: \n")) << "SAN must not be critical here";
  EXPECT_TRUE(Contains(text.output,
                       "DNS:api-1.example, DNS:api-1.internal, URI:spiffe://example.org/ns/prod/sa/api-1, "
                       "IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:0:1"))
      << text.output;
  EXPECT_TRUE(Contains(text.output, "X509v3 Subject Key Identifier")) << text.output;
  EXPECT_TRUE(Contains(text.output, "X509v3 Authority Key Identifier")) << text.output;
  EXPECT_TRUE(Contains(text.output, "Issuer: CN = rotor test intermediate, O = Acme")) << text.output;
  const char* algorithm = type == KeyType::kEd25519 ? "Signature Algorithm: ED25519"
                          : type == KeyType::kP256  ? "Signature Algorithm: ecdsa-with-SHA256"
                                                    : "Signature Algorithm: sha256WithRSAEncryption";
  EXPECT_TRUE(Contains(text.output, algorithm)) << text.output;

  // Serial: positive, 16 bytes, as OpenSSL prints it.
  CommandResult serial = RunCommand("timeout 30 openssl x509 -noout -serial -in " + f.leaf);
  ASSERT_EQ(serial.exit_code, 0) << serial.output;
  ASSERT_EQ(serial.output.size(), std::string("serial=\n").size() + 32) << serial.output;
  EXPECT_LT(std::stoi(serial.output.substr(7, 1), nullptr, 16), 8) << serial.output;
  EXPECT_NE(serial.output.substr(7, 2), "00") << serial.output;

  // Validity: notBefore back-dated by the profile's skew, in UTCTime.
  CommandResult dates = RunCommand("timeout 30 openssl x509 -noout -dates -in " + f.leaf);
  ASSERT_EQ(dates.exit_code, 0) << dates.output;
  EXPECT_EQ(dates.output, "notBefore=" + OpensslDate(pki.now - Duration::Seconds(60)) +
                              "\nnotAfter=" + OpensslDate(pki.now + Duration::Days(30)) + "\n");
  EXPECT_EQ(NotBefore(pki.leaf.cert.get()), pki.now - Duration::Seconds(60));
  EXPECT_EQ(NotAfter(pki.leaf.cert.get()), pki.now + Duration::Days(30));

  // String types: "Acme" fits PrintableString, "Zürich" needs UTF8String.
  CommandResult asn1 = RunCommand("timeout 30 openssl asn1parse -in " + f.leaf);
  ASSERT_EQ(asn1.exit_code, 0) << asn1.output;
  std::istringstream lines(asn1.output);
  std::string line;
  bool acme_printable = false;
  bool zurich_utf8 = false;
  bool cn_printable = false;
  int utc_times = 0;
  while (std::getline(lines, line)) {
    acme_printable |= Contains(line, "PRINTABLESTRING") && Contains(line, ":Acme");
    cn_printable |= Contains(line, "PRINTABLESTRING") && Contains(line, ":api-1.example");
    zurich_utf8 |= Contains(line, "UTF8STRING") && Contains(line, ":Zürich");
    EXPECT_FALSE(Contains(line, "ZÃ")) << "double-encoded UTF-8: " << line;
    utc_times += Contains(line, "UTCTIME") ? 1 : 0;
    EXPECT_FALSE(Contains(line, "T61STRING") || Contains(line, "BMPSTRING")) << line;
  }
  EXPECT_TRUE(acme_printable) << asn1.output;
  EXPECT_TRUE(cn_printable) << asn1.output;
  EXPECT_TRUE(zurich_utf8) << asn1.output;
  EXPECT_EQ(utc_times, 2) << asn1.output;

  // The key rotor wrote is the certificate's, as OpenSSL sees both.
  CommandResult key_pub = RunCommand("timeout 30 openssl pkey -pubout -in " + f.leaf_key);
  CommandResult cert_pub = RunCommand("timeout 30 openssl x509 -noout -pubkey -in " + f.leaf);
  ASSERT_EQ(key_pub.exit_code, 0) << key_pub.output;
  EXPECT_EQ(key_pub.output, cert_pub.output);

  // GnuTLS parses every certificate and verifies the chain too.
  if (HaveTool("certtool")) {
    for (const std::string& pem : {f.root, f.inter, f.leaf}) {
      CommandResult info = RunCommand("timeout 30 certtool -i --infile " + pem);
      EXPECT_EQ(info.exit_code, 0) << pem << "\n" << info.output;
    }
    const std::string chain = dir.path() + "/chain.pem";
    WriteFile(chain, ReadFile(f.leaf) + ReadFile(f.inter));
    CommandResult gnutls =
        RunCommand("timeout 30 certtool --verify --load-ca-certificate " + f.root + " --infile " + chain);
    EXPECT_EQ(gnutls.exit_code, 0) << gnutls.output;
    EXPECT_TRUE(Contains(gnutls.output, "Chain verification output: Verified.")) << gnutls.output;
  } else {
    std::printf("certtool is not installed: GnuTLS checks skipped\n");
  }

  // And rotor's own verify step accepts it.
  Status s = CheckLeaf(CheckOf(pki));
  EXPECT_TRUE(s.ok()) << s.ToString();
  StatusOr<KeyType> key_type = KeyTypeOf(pki.leaf.key.get());
  ASSERT_TRUE(key_type.ok());
  EXPECT_EQ(*key_type, type);

  // PKCS#8 DER and PEM round-trip to the same key.
  SecretBytes der = PrivateKeyDer(pki.leaf.key.get());
  StatusOr<bssl::UniquePtr<EVP_PKEY>> from_der = ParsePrivateKeyDer(der.view());
  ASSERT_TRUE(from_der.ok()) << from_der.status().ToString();
  EXPECT_EQ(EVP_PKEY_cmp(from_der->get(), pki.leaf.key.get()), 1);
  StatusOr<bssl::UniquePtr<EVP_PKEY>> from_pem = ParsePrivateKeyPem(ReadFile(f.leaf_key));
  ASSERT_TRUE(from_pem.ok()) << from_pem.status().ToString();
  EXPECT_EQ(EVP_PKEY_cmp(from_pem->get(), pki.leaf.key.get()), 1);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, X509KeyTypeTest,
                         ::testing::Values(KeyType::kEd25519, KeyType::kP256, KeyType::kRsa2048, KeyType::kRsa3072),
                         [](const auto& test_info) { return std::string(KeyTypeName(test_info.param)); });

// --- Mutual TLS between openssl s_server and s_client ------------------------------

// Server: `openssl s_server` as a child, stdin held open (s_server quits on
// stdin EOF), output to a file. The kernel picks the port (-accept :0) and
// the server announces it, so no port can be taken in between.
class TlsServer {
 public:
  TlsServer(const std::vector<std::string>& args, std::string log) : log_(std::move(log)) {
    int in[2];
    if (::pipe(in) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], STDIN_FILENO);
      const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::close(in[1]);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    stdin_ = in[1];
  }

  ~TlsServer() {
    if (stdin_ >= 0) ::close(stdin_);
    if (pid_ > 0 && !Wait(std::chrono::seconds(5))) {
      ::kill(pid_, SIGTERM);  // our own child, by its pid
      Wait(std::chrono::seconds(5));
    }
  }

  // Port waits for the "ACCEPT host:port" line; 0 when none came in time.
  int Port() {
    for (int i = 0; i < 1000 && pid_ > 0; ++i) {
      const std::string log = ReadFile(log_);
      const size_t at = log.find("ACCEPT ");
      const size_t eol = log.find('\n', at);
      if (at != std::string::npos && eol != std::string::npos) {
        const std::string addr = log.substr(at, eol - at);
        return std::stoi(addr.substr(addr.rfind(':') + 1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }

  // Wait reaps the server; true once it exited.
  bool Wait(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (pid_ > 0) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) {
        pid_ = -1;
        return true;
      }
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  std::string Log() const { return ReadFile(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int stdin_ = -1;
};

class MutualTlsTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(MutualTlsTest, ServerAndClientAcceptEachOther) {
  if (!HaveTool("openssl") || !HaveTool("timeout")) GTEST_SKIP() << "openssl or timeout is not installed";
  const KeyType type = GetParam();
  Pki pki = MakePki(type);
  ASSERT_TRUE(pki.leaf.cert);
  Issued client =
      Issue(LeafRequest(type, "client-1", pki.now, Duration::Days(1), {ExtKeyUsage::kClientAuth}), &pki.inter);
  ASSERT_TRUE(client.cert);
  testing::TempDir dir("rotor-mtls");
  const PkiFiles f = WritePki(pki, dir.path());
  const std::string client_pem = dir.path() + "/client.pem";
  const std::string client_key = dir.path() + "/client.key";
  WriteFile(client_pem, CertificatePem(client.cert.get()));
  WriteFile(client_key, PrivateKeyPem(client.key.get()).view());

  auto serve = [&](const std::string& log) {
    // -Verify: a client certificate is required; -verify_return_error: a bad
    // one ends the handshake; -naccept 1: one connection, then exit; -www:
    // the reply page shows the client certificate the server accepted.
    return std::make_unique<TlsServer>(std::vector<std::string>{"timeout",
                                                                "30",
                                                                "openssl",
                                                                "s_server",
                                                                "-accept",
                                                                "127.0.0.1:0",
                                                                "-naccept",
                                                                "1",
                                                                "-cert",
                                                                f.leaf,
                                                                "-key",
                                                                f.leaf_key,
                                                                "-cert_chain",
                                                                f.inter,
                                                                "-CAfile",
                                                                f.root,
                                                                "-Verify",
                                                                "2",
                                                                "-verify_return_error",
                                                                "-www"},
                                       log);
  };
  const std::string request = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ";
  const std::string client_common =
      " -CAfile " + f.root + " -verify_return_error -verify_hostname api-1.example -verify_ip 10.1.2.3 -ign_eof";

  {
    auto server = serve(dir.path() + "/server.log");
    const int port = server->Port();
    ASSERT_GT(port, 0) << server->Log();
    CommandResult c =
        RunCommand(request + "timeout 30 openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -cert " +
                   client_pem + " -key " + client_key + " -cert_chain " + f.inter + client_common);
    EXPECT_EQ(c.exit_code, 0) << c.output;
    EXPECT_TRUE(Contains(c.output, "Verify return code: 0 (ok)")) << c.output;
    EXPECT_TRUE(Contains(c.output, "Verification: OK")) << c.output;
    EXPECT_TRUE(Contains(c.output, "depth=0 CN = api-1.example, O = Acme")) << c.output;
    EXPECT_FALSE(Contains(c.output, "Cipher is (NONE)")) << c.output;
    // The server's page: it received and accepted the client's certificate.
    EXPECT_TRUE(Contains(c.output, "HTTP/1.0 200 ok")) << c.output;
    EXPECT_TRUE(Contains(c.output, "Client certificate")) << c.output;
    EXPECT_TRUE(Contains(c.output, "Subject: CN=client-1.example, O=Acme")) << c.output;
    ASSERT_TRUE(server->Wait(std::chrono::seconds(10))) << server->Log();
    const std::string log = server->Log();
    EXPECT_TRUE(Contains(log, "depth=0 CN = client-1.example, O = Acme")) << log;
    EXPECT_TRUE(Contains(log, "verify return:1")) << log;
    EXPECT_FALSE(Contains(log, "verify error")) << log;
  }
  {
    // Control: without a client certificate the same server refuses.
    auto server = serve(dir.path() + "/server-nocert.log");
    const int port = server->Port();
    ASSERT_GT(port, 0) << server->Log();
    CommandResult c =
        RunCommand(request + "timeout 30 openssl s_client -connect 127.0.0.1:" + std::to_string(port) + client_common);
    EXPECT_FALSE(Contains(c.output, "HTTP/1.0 200 ok")) << c.output;
    EXPECT_FALSE(Contains(c.output, "Client certificate")) << c.output;
    // s_client still prints "Verify return code: 0 (ok)" (it verified the
    // server); the refusal is the TLS 1.3 alert.
    EXPECT_TRUE(Contains(c.output, "alert certificate required")) << c.output;
    ASSERT_TRUE(server->Wait(std::chrono::seconds(10))) << server->Log();
    EXPECT_TRUE(Contains(server->Log(), "peer did not return a certificate")) << server->Log();
  }
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, MutualTlsTest,
                         ::testing::Values(KeyType::kEd25519, KeyType::kP256, KeyType::kRsa2048),
                         [](const auto& test_info) { return std::string(KeyTypeName(test_info.param)); });

// --- Encodings -----------------------------------------------------------------------

TEST(X509Test, TimesFrom2050AreGeneralizedTime) {
  if (!HaveTool("openssl")) GTEST_SKIP() << "openssl is not installed";
  const Instant not_before = *ParseRfc3339("2049-12-31T23:59:59Z");
  const Instant not_after = *ParseRfc3339("2051-01-01T00:00:00Z");
  Issued root = Issue(CaRequest(KeyType::kEd25519, "long root", -1, not_before, not_after), nullptr);
  ASSERT_TRUE(root.cert);
  EXPECT_EQ(NotBefore(root.cert.get()), not_before);
  EXPECT_EQ(NotAfter(root.cert.get()), not_after);
  testing::TempDir dir("rotor-x509");
  WriteFile(dir.path() + "/root.pem", CertificatePem(root.cert.get()));
  CommandResult asn1 = RunCommand("timeout 30 openssl asn1parse -in " + dir.path() + "/root.pem");
  ASSERT_EQ(asn1.exit_code, 0) << asn1.output;
  EXPECT_TRUE(Contains(asn1.output, "UTCTIME           :491231235959Z")) << asn1.output;
  EXPECT_TRUE(Contains(asn1.output, "GENERALIZEDTIME   :20510101000000Z")) << asn1.output;
  CommandResult dates = RunCommand("timeout 30 openssl x509 -noout -enddate -in " + dir.path() + "/root.pem");
  EXPECT_EQ(dates.output, "notAfter=Jan  1 00:00:00 2051 GMT\n");
  CommandResult text = RunCommand("timeout 30 openssl x509 -noout -text -in " + dir.path() + "/root.pem");
  EXPECT_TRUE(Contains(text.output, "CA:TRUE\n")) << "no pathLen was asked for: " << text.output;
  EXPECT_TRUE(Contains(text.output, "Certificate Sign, CRL Sign")) << text.output;
}

TEST(X509Test, PathLenIsEncodedForCas) {
  if (!HaveTool("openssl")) GTEST_SKIP() << "openssl is not installed";
  const Pki pki = MakePki(KeyType::kEd25519);
  ASSERT_TRUE(pki.leaf.cert);
  testing::TempDir dir("rotor-x509");
  const PkiFiles f = WritePki(pki, dir.path());
  EXPECT_TRUE(Contains(RunCommand("timeout 30 openssl x509 -noout -text -in " + f.root).output, "CA:TRUE, pathlen:1"));
  EXPECT_TRUE(Contains(RunCommand("timeout 30 openssl x509 -noout -text -in " + f.inter).output, "CA:TRUE, pathlen:0"));
  EXPECT_EQ(X509_get_pathlen(pki.inter.cert.get()), 0);
}

TEST(X509Test, EmptySubjectMakesTheSanCritical) {
  if (!HaveTool("openssl")) GTEST_SKIP() << "openssl is not installed";
  const Pki pki = MakePki(KeyType::kP256);
  ASSERT_TRUE(pki.inter.cert);
  CertificateRequest r = LeafRequest(KeyType::kP256, "spiffe-only", pki.now);
  r.subject.clear();
  Issued leaf = Issue(r, &pki.inter);
  ASSERT_TRUE(leaf.cert);
  testing::TempDir dir("rotor-x509");
  WriteFile(dir.path() + "/leaf.pem", CertificatePem(leaf.cert.get()));
  WriteFile(dir.path() + "/root.pem", CertificatePem(pki.root.cert.get()));
  WriteFile(dir.path() + "/inter.pem", CertificatePem(pki.inter.cert.get()));
  CommandResult text = RunCommand("timeout 30 openssl x509 -noout -text -in " + dir.path() + "/leaf.pem");
  EXPECT_TRUE(Contains(text.output, "X509v3 Subject Alternative Name: critical")) << text.output;
  CommandResult verify = RunCommand("timeout 30 openssl verify -x509_strict -CAfile " + dir.path() +
                                    "/root.pem -untrusted " + dir.path() + "/inter.pem " + dir.path() + "/leaf.pem");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  LeafCheck check = CheckOf(pki);
  check.leaf = leaf.cert.get();
  check.key = leaf.key.get();
  check.request = &leaf.request;
  Status s = CheckLeaf(check);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(X509Test, SerialsArePositiveSixteenBytesAndDistinct) {
  // Serial encoding rule (x509.cc, NewSerial): top bit cleared (positive) and
  // a non-zero first byte, so the DER INTEGER always has exactly 16 content
  // bytes — never a 0x00 pad, never a shortened 15-byte value.
  StatusOr<bssl::UniquePtr<EVP_PKEY>> key = GenerateKey(KeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  CertificateRequest r = CaRequest(KeyType::kEd25519, "serial", -1, Instant::FromSeconds(1767225600),
                                   Instant::FromSeconds(1767225600) + Duration::Days(1));
  std::set<std::string> serials;
  for (int i = 0; i < 1000; ++i) {
    StatusOr<bssl::UniquePtr<X509>> cert = SignCertificate(r, key->get(), nullptr, nullptr);
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert->get());
    ASSERT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER) << "negative serial";
    ASSERT_EQ(ASN1_STRING_length(serial), 16);
    const uint8_t* bytes = ASN1_STRING_get0_data(serial);
    ASSERT_GE(bytes[0], 0x01);
    ASSERT_LE(bytes[0], 0x7F);
    // The DER: INTEGER, length 16, the same 16 bytes.
    uint8_t* der = nullptr;
    const int der_len = i2d_ASN1_INTEGER(serial, &der);
    bssl::UniquePtr<uint8_t> owned(der);
    ASSERT_EQ(der_len, 18);
    EXPECT_EQ(der[0], 0x02);
    EXPECT_EQ(der[1], 0x10);
    serials.insert(std::string(reinterpret_cast<const char*>(bytes), 16));
  }
  EXPECT_EQ(serials.size(), 1000u);
}

TEST(X509Test, FingerprintAndDer) {
  const Pki pki = MakePki(KeyType::kEd25519);
  ASSERT_TRUE(pki.leaf.cert);
  const std::string fp = Fingerprint(pki.leaf.cert.get());
  ASSERT_EQ(fp.size(), 7u + 64u);
  EXPECT_EQ(fp.substr(0, 7), "sha256:");
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef", 7), std::string::npos) << fp;
  EXPECT_NE(fp, Fingerprint(pki.inter.cert.get()));
  const std::string der = CertificateDer(pki.leaf.cert.get());
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509> reparsed(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(reparsed);
  EXPECT_EQ(Fingerprint(reparsed.get()), fp);
  EXPECT_EQ(X509_cmp(reparsed.get(), pki.leaf.cert.get()), 0);
}

// --- SignCertificate's refusals ------------------------------------------------------

TEST(X509Test, SignCertificateRefusesWhatNoIssuerShouldSign) {
  Pki pki = MakePki(KeyType::kEd25519);
  ASSERT_TRUE(pki.leaf.cert);
  StatusOr<bssl::UniquePtr<EVP_PKEY>> key = GenerateKey(KeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  const CertificateRequest good = LeafRequest(KeyType::kEd25519, "api-2", pki.now);
  auto refuse = [&](const CertificateRequest& r, const std::string& expected, X509* issuer, EVP_PKEY* issuer_key,
                    EVP_PKEY* subject_key) {
    StatusOr<bssl::UniquePtr<X509>> cert = SignCertificate(r, subject_key, issuer, issuer_key);
    ASSERT_FALSE(cert.ok()) << expected;
    EXPECT_EQ(cert.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(cert.status().message(), expected)) << cert.status().message();
  };
  X509* inter = pki.inter.cert.get();
  EVP_PKEY* inter_key = pki.inter.key.get();

  CertificateRequest r = good;
  r.not_after = NotAfter(inter) + Duration::Seconds(1);
  refuse(r, "past the issuer's notAfter", inter, inter_key, key->get());
  r = good;
  r.not_before = r.not_after;
  refuse(r, "notBefore is not before notAfter", inter, inter_key, key->get());
  r = good;
  r.ips = {"10.0.0.300"};
  refuse(r, "\"10.0.0.300\" is not an IPv4 or IPv6 address", inter, inter_key, key->get());
  r = good;
  r.subject.clear();
  r.dns.clear();
  r.uris.clear();
  r.ips.clear();
  refuse(r, "empty request", inter, inter_key, key->get());
  r = good;
  r.key_type = KeyType::kP256;
  refuse(r, "subject key is ed25519", inter, inter_key, key->get());
  r = good;
  r.key_usage |= kKeyUsageKeyCertSign;
  refuse(r, "for CA certificates", inter, inter_key, key->get());
  r = good;
  r.subject.push_back({"C", "Schweiz"});
  // Not two letters is ValidateProfile's business; "ü" cannot be PrintableString at all.
  r.subject.back().value = "CÜ";
  refuse(r, "PrintableString", inter, inter_key, key->get());
  r = good;
  r.subject[0].value = "bad\xFF";
  refuse(r, "UTF-8", inter, inter_key, key->get());
  refuse(good, "not a CA", pki.leaf.cert.get(), pki.leaf.key.get(), key->get());
  refuse(good, "not the issuer certificate's key", inter, pki.root.key.get(), key->get());
  CertificateRequest sub_ca = CaRequest(KeyType::kEd25519, "sub", 0, pki.now, pki.now + Duration::Days(1));
  refuse(sub_ca, "pathLenConstraint 0", inter, inter_key, key->get());
  refuse(good, "needs its key", inter, nullptr, key->get());
}

// --- CheckLeaf ------------------------------------------------------------------------

class CheckLeafTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakePki(KeyType::kP256);
    ASSERT_TRUE(pki_.leaf.cert);
  }

  void ExpectDenied(const LeafCheck& check, const std::string& expected) {
    Status s = CheckLeaf(check);
    ASSERT_FALSE(s.ok()) << "expected: " << expected;
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), expected)) << s.message();
  }

  Pki pki_;
};

TEST_F(CheckLeafTest, GoodLeafPasses) {
  Status s = CheckLeaf(CheckOf(pki_));
  EXPECT_TRUE(s.ok()) << s.ToString();
  // Duplicated roots and the root also given as chain are harmless.
  LeafCheck check = CheckOf(pki_);
  check.roots.push_back(pki_.root.cert.get());
  check.chain.push_back(pki_.root.cert.get());
  s = CheckLeaf(check);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CheckLeafTest, MismatchedKey) {
  StatusOr<bssl::UniquePtr<EVP_PKEY>> other = GenerateKey(KeyType::kP256);
  ASSERT_TRUE(other.ok());
  LeafCheck check = CheckOf(pki_);
  check.key = other->get();
  ExpectDenied(check, "private key does not match the certificate's public key");
  StatusOr<bssl::UniquePtr<EVP_PKEY>> ed = GenerateKey(KeyType::kEd25519);
  ASSERT_TRUE(ed.ok());
  check.key = ed->get();
  ExpectDenied(check, "private key does not match");
}

TEST_F(CheckLeafTest, DifferentSan) {
  CertificateRequest r = pki_.leaf.request;
  r.dns[1] = "api-1.elsewhere";
  LeafCheck check = CheckOf(pki_);
  check.request = &r;
  ExpectDenied(check, "DNS names are [api-1.example, api-1.internal]; the request asks for");
  r = pki_.leaf.request;
  r.ips = {"10.1.2.3"};
  ExpectDenied(check, "IP addresses are [10.1.2.3, 2001:db8::1]; the request asks for [10.1.2.3]");
  r = pki_.leaf.request;
  r.uris.push_back("https://api-1.example/");
  ExpectDenied(check, "URIs are");
  // Order does not matter: SANs compare as sets.
  r = pki_.leaf.request;
  std::swap(r.dns[0], r.dns[1]);
  Status s = CheckLeaf(check);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CheckLeafTest, DifferentSubject) {
  CertificateRequest r = pki_.leaf.request;
  r.subject[1].value = "Acme Corp";
  LeafCheck check = CheckOf(pki_);
  check.request = &r;
  ExpectDenied(check,
               "subject is CN=api-1.example, O=Acme, L=Zürich; the request asks for CN=api-1.example, "
               "O=Acme Corp, L=Zürich");
  // Order matters for a name.
  r = pki_.leaf.request;
  std::swap(r.subject[0], r.subject[1]);
  ExpectDenied(check, "subject is");
}

TEST_F(CheckLeafTest, DifferentUsages) {
  CertificateRequest r = pki_.leaf.request;
  r.ext_key_usage = {ExtKeyUsage::kServerAuth};
  LeafCheck check = CheckOf(pki_);
  check.request = &r;
  ExpectDenied(check, "extended key usage is serverAuth,clientAuth; the request asks for serverAuth");
  r = pki_.leaf.request;
  r.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyAgreement;
  ExpectDenied(check, "key usage is digital_signature; the request asks for digital_signature,key_agreement");
}

TEST_F(CheckLeafTest, Expired) {
  LeafCheck check = CheckOf(pki_);
  check.now = NotAfter(pki_.leaf.cert.get());
  ExpectDenied(check, "expired: notAfter");
  check.now = NotAfter(pki_.leaf.cert.get()) + Duration::Days(1);
  ExpectDenied(check, "expired: notAfter");
}

TEST_F(CheckLeafTest, NotBeforeInTheFuture) {
  LeafCheck check = CheckOf(pki_);
  const Instant not_before = NotBefore(pki_.leaf.cert.get());
  check.now = not_before - check.max_clock_skew - Duration::Seconds(1);
  ExpectDenied(check, "not valid yet: notBefore");
  // Within the allowed skew the leaf passes, chain verification included.
  check.now = not_before - Duration::Minutes(2);
  Status s = CheckLeaf(check);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CheckLeafTest, LeafOutlivingItsIssuer) {
  // SignCertificate refuses to make one...
  CertificateRequest r = pki_.leaf.request;
  r.not_after = NotAfter(pki_.inter.cert.get()) + Duration::Days(1);
  StatusOr<bssl::UniquePtr<X509>> refused =
      SignCertificate(r, pki_.leaf.key.get(), pki_.inter.cert.get(), pki_.inter.key.get());
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "past the issuer's notAfter")) << refused.status().message();
  // ...so an outside issuer's is made by hand: the good leaf, re-dated and re-signed.
  bssl::UniquePtr<X509> lax(X509_dup(pki_.leaf.cert.get()));
  ASSERT_TRUE(lax);
  bssl::UniquePtr<ASN1_TIME> late(ASN1_TIME_set(
      nullptr, static_cast<time_t>((NotAfter(pki_.inter.cert.get()) + Duration::Days(1)).micros / 1000000)));
  ASSERT_TRUE(late);
  ASSERT_EQ(X509_set1_notAfter(lax.get(), late.get()), 1);
  ASSERT_GT(X509_sign(lax.get(), pki_.inter.key.get(), EVP_sha256()), 0);
  LeafCheck check = CheckOf(pki_);
  check.leaf = lax.get();
  ExpectDenied(check, "outlives its issuer: notAfter");
}

TEST_F(CheckLeafTest, WrongRoot) {
  // Same name as the real root, another key: only the key tells them apart.
  Issued impostor = Issue(
      CaRequest(KeyType::kP256, "rotor test root", 1, pki_.now - Duration::Hours(1), pki_.now + Duration::Days(3650)),
      nullptr);
  ASSERT_TRUE(impostor.cert);
  LeafCheck check = CheckOf(pki_);
  check.roots = {impostor.cert.get()};
  ExpectDenied(check, "chain does not verify to a trusted root");
  check.roots = {};
  ExpectDenied(check, "chain does not verify to a trusted root");
}

TEST_F(CheckLeafTest, MissingIntermediate) {
  LeafCheck check = CheckOf(pki_);
  check.chain = {};
  ExpectDenied(check, "chain does not verify to a trusted root: unable to get local issuer certificate");
}

// With a verified issuer (an intermediate the managed CA checked under its
// root once), step 4 is the leaf's own signature: the chain and roots are not
// consulted, and an impostor or a broken signature is still refused.
TEST_F(CheckLeafTest, VerifiedIssuerChecksTheLeafsOwnSignature) {
  EXPECT_TRUE(SignedBy(pki_.leaf.cert.get(), pki_.inter.cert.get()));
  EXPECT_TRUE(SignedBy(pki_.inter.cert.get(), pki_.root.cert.get()));
  EXPECT_FALSE(SignedBy(pki_.leaf.cert.get(), pki_.root.cert.get()));
  EXPECT_FALSE(SignedBy(pki_.leaf.cert.get(), nullptr));

  LeafCheck check = CheckOf(pki_);
  check.chain = {};
  check.roots = {};
  check.verified_issuer = pki_.inter.cert.get();
  Status s = CheckLeaf(check);
  EXPECT_TRUE(s.ok()) << s.ToString();

  // Same name as the real intermediate, another key.
  Issued impostor = Issue(CaRequest(KeyType::kP256, "rotor test intermediate", 0, pki_.now - Duration::Hours(1),
                                    pki_.now + Duration::Days(365)),
                          &pki_.root);
  ASSERT_TRUE(impostor.cert);
  check.verified_issuer = impostor.cert.get();
  ExpectDenied(check, "chain does not verify to a trusted root: the leaf is not signed by its issuer");

  // The real issuer, a leaf whose signature's last byte was flipped.
  std::string der = CertificateDer(pki_.leaf.cert.get());
  der.back() = static_cast<char>(der.back() ^ 0x01);
  const auto* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509> broken(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(broken);
  EXPECT_FALSE(SignedBy(broken.get(), pki_.inter.cert.get()));
  check.leaf = broken.get();
  check.verified_issuer = pki_.inter.cert.get();
  ExpectDenied(check, "the leaf is not signed by its issuer");
}

TEST_F(CheckLeafTest, CaWhereALeafIsExpected) {
  // The intermediate checked against its own request, with is_ca flipped.
  CertificateRequest r = pki_.inter.request;
  LeafCheck check = CheckOf(pki_);
  check.leaf = pki_.inter.cert.get();
  check.key = pki_.inter.key.get();
  check.request = &r;
  check.chain = {};
  Status s = CheckLeaf(check);
  EXPECT_TRUE(s.ok()) << "an intermediate checked as the CA it is: " << s.ToString();
  // As a non-CA request it already differs in key usage (keyCertSign).
  r.is_ca = false;
  r.path_len = -1;
  r.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  ExpectDenied(check, "the certificate is a CA (basicConstraints CA:TRUE); the request is not");
}

// --- PEM parsing ------------------------------------------------------------------------

TEST(ParsePemTest, BundleOfThreeInOrder) {
  const Pki pki = MakePki(KeyType::kEd25519);
  ASSERT_TRUE(pki.leaf.cert);
  const std::string bundle = "# leaf\n" + CertificatePem(pki.leaf.cert.get()) + "\n# intermediate\r\n" +
                             CertificatePem(pki.inter.cert.get()) + CertificatePem(pki.root.cert.get());
  StatusOr<std::vector<bssl::UniquePtr<X509>>> certs = ParseCertificatesPem(bundle);
  ASSERT_TRUE(certs.ok()) << certs.status().ToString();
  ASSERT_EQ(certs->size(), 3u);
  EXPECT_EQ(Fingerprint((*certs)[0].get()), Fingerprint(pki.leaf.cert.get()));
  EXPECT_EQ(Fingerprint((*certs)[1].get()), Fingerprint(pki.inter.cert.get()));
  EXPECT_EQ(Fingerprint((*certs)[2].get()), Fingerprint(pki.root.cert.get()));
  // A key beside the certificates is skipped.
  StatusOr<std::vector<bssl::UniquePtr<X509>>> with_key =
      ParseCertificatesPem(std::string(PrivateKeyPem(pki.leaf.key.get()).view()) + bundle);
  ASSERT_TRUE(with_key.ok()) << with_key.status().ToString();
  EXPECT_EQ(with_key->size(), 3u);
}

TEST(ParsePemTest, CorruptSecondBlockIsNamed) {
  const Pki pki = MakePki(KeyType::kEd25519);
  ASSERT_TRUE(pki.leaf.cert);
  const std::string first = CertificatePem(pki.leaf.cert.get());
  const std::string second = CertificatePem(pki.inter.cert.get());
  const std::string third = CertificatePem(pki.root.cert.get());

  std::string bad_base64 = second;
  bad_base64[40] = '*';
  StatusOr<std::vector<bssl::UniquePtr<X509>>> certs = ParseCertificatesPem(first + bad_base64 + third);
  ASSERT_FALSE(certs.ok());
  EXPECT_EQ(certs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(certs.status().message(), "PEM block 2")) << certs.status().message();
  EXPECT_TRUE(Contains(certs.status().message(), "base64")) << certs.status().message();

  // Valid base64 of a truncated certificate: one 64-column line removed.
  std::string truncated = second;
  const size_t line2 = truncated.find('\n', truncated.find('\n') + 1) + 1;
  truncated.erase(line2, 65);
  certs = ParseCertificatesPem(first + truncated + third);
  ASSERT_FALSE(certs.ok());
  EXPECT_TRUE(Contains(certs.status().message(), "PEM block 2 (CERTIFICATE): not a valid DER certificate"))
      << certs.status().message();

  std::string unterminated = second.substr(0, second.find("-----END"));
  certs = ParseCertificatesPem(first + unterminated);
  ASSERT_FALSE(certs.ok());
  EXPECT_TRUE(Contains(certs.status().message(), "PEM block 2: no matching END line")) << certs.status().message();
}

TEST(ParsePemTest, NoCertificateIsNotFound) {
  EXPECT_EQ(ParseCertificatesPem("").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParseCertificatesPem("hello\n").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParsePrivateKeyPem("hello\n").status().code(), StatusCode::kNotFound);
}

class ParsePrivateKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("openssl")) GTEST_SKIP() << "openssl is not installed";
  }

  // Generate runs an openssl command writing `file` in the scratch directory:
  // at "{out}" in `command`, else with -out appended.
  std::string Generate(const std::string& command, const std::string& file) {
    const std::string path = dir_.path() + "/" + file;
    std::string full = command;
    if (const size_t at = full.find("{out}"); at != std::string::npos) {
      full.replace(at, 5, path);
    } else {
      full += " -out " + path;
    }
    CommandResult r = RunCommand("timeout 60 " + full);
    EXPECT_EQ(r.exit_code, 0) << full << "\n" << r.output;
    return path;
  }

  // ExpectSameKey: rotor parses `path`, and OpenSSL derives the same public
  // key from the original and from rotor's PKCS#8 re-encoding.
  void ExpectSameKey(const std::string& path, KeyType type, const std::string& label) {
    const std::string pem = ReadFile(path);
    EXPECT_TRUE(Contains(pem, "-----BEGIN " + label + "-----")) << pem.substr(0, 64);
    StatusOr<bssl::UniquePtr<EVP_PKEY>> key = ParsePrivateKeyPem(pem);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    StatusOr<KeyType> parsed_type = KeyTypeOf(key->get());
    ASSERT_TRUE(parsed_type.ok()) << parsed_type.status().ToString();
    EXPECT_EQ(*parsed_type, type);
    const std::string ours = path + ".pkcs8";
    WriteFile(ours, PrivateKeyPem(key->get()).view());
    CommandResult original = RunCommand("timeout 30 openssl pkey -pubout -in " + path);
    CommandResult reencoded = RunCommand("timeout 30 openssl pkey -pubout -in " + ours);
    ASSERT_EQ(original.exit_code, 0) << original.output;
    EXPECT_EQ(original.output, reencoded.output);
  }

  testing::TempDir dir_{"rotor-keys"};
};

TEST_F(ParsePrivateKeyTest, Pkcs8Ed25519AndP256) {
  ExpectSameKey(Generate("openssl genpkey -algorithm ed25519", "ed.pem"), KeyType::kEd25519, "PRIVATE KEY");
  ExpectSameKey(Generate("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256", "p256.pem"), KeyType::kP256,
                "PRIVATE KEY");
}

TEST_F(ParsePrivateKeyTest, Pkcs1Rsa) {
  ExpectSameKey(Generate("openssl genrsa -traditional -out {out} 2048", "rsa.pem"), KeyType::kRsa2048,
                "RSA PRIVATE KEY");
}

TEST_F(ParsePrivateKeyTest, Sec1EcWithParameters) {
  // `ecparam -genkey` writes an "EC PARAMETERS" block before the key.
  const std::string path = Generate("openssl ecparam -name prime256v1 -genkey", "sec1.pem");
  EXPECT_TRUE(Contains(ReadFile(path), "-----BEGIN EC PARAMETERS-----"));
  ExpectSameKey(path, KeyType::kP256, "EC PRIVATE KEY");
}

TEST_F(ParsePrivateKeyTest, EncryptedKeysAreRefused) {
  const std::string pkcs8 = Generate("openssl genpkey -algorithm ed25519 -aes256 -pass pass:x", "enc.pem");
  StatusOr<bssl::UniquePtr<EVP_PKEY>> key = ParsePrivateKeyPem(ReadFile(pkcs8));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(key.status().message(), "encrypted")) << key.status().message();

  const std::string legacy =
      Generate("openssl ecparam -name prime256v1 -genkey -noout | openssl ec -aes256 -passout pass:x", "enc-ec.pem");
  EXPECT_TRUE(Contains(ReadFile(legacy), "Proc-Type: 4,ENCRYPTED"));
  key = ParsePrivateKeyPem(ReadFile(legacy));
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(Contains(key.status().message(), "encrypted (Proc-Type: 4,ENCRYPTED)")) << key.status().message();
}

TEST_F(ParsePrivateKeyTest, TwoKeysAndGarbageAreRefused) {
  StatusOr<bssl::UniquePtr<EVP_PKEY>> a = GenerateKey(KeyType::kEd25519);
  ASSERT_TRUE(a.ok());
  const std::string one(PrivateKeyPem(a->get()).view());
  StatusOr<bssl::UniquePtr<EVP_PKEY>> two = ParsePrivateKeyPem(one + one);
  ASSERT_FALSE(two.ok());
  EXPECT_TRUE(Contains(two.status().message(), "more than one private key")) << two.status().message();
  std::string garbled = one;
  garbled.replace(garbled.find('\n') + 1, 4, "AAAA");
  EXPECT_FALSE(ParsePrivateKeyPem(garbled).ok());
  EXPECT_FALSE(ParsePrivateKeyDer("not der").ok());
}

}  // namespace
}  // namespace rotor::x509
