// app/credential_stack and app/ca_bootstrap over real files, real LMDB and
// BoringSSL: the managed CA and its KEK are created on first open, the CA's
// intermediate is routed to <data-dir>/ca and leaves to <data-dir>/out,
// BringUpCa issues the first intermediate through the state machine, leaves
// and API keys are generated, delivered and checked through the stack as the
// runtime does (EffectRunner), and the trust bundle follows the
// intermediate's rotation: published at delivery, signing only after
// activation, gone at retirement.
#include "app/credential_stack.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/ca_bootstrap.h"
#include "app/fleet_loader.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/crypto/key_wrap.h"
#include "connectors/crypto/managed_ca.h"
#include "connectors/crypto/x509.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "engine/certificate.h"
#include "engine/effect_runner.h"
#include "engine/ports/clock.h"
#include "engine/rotation.h"
#include "tests/support/printers.h"
#include "tests/support/test_paths.h"

namespace rotor::app {
namespace {

using testing::ReadFile;

using ::rotor::testing::TempDir;

constexpr char kFleetYaml[] = R"(version: 1
groups:
  - name: web
    kind: x509
    identities: [web-1, web-2]
    policy: {lifetime: 1h}
    certificate:
      key_type: p256
      subject: {O: Example, CN: "{id}.example"}
      dns: ["{id}.example"]
      ext_key_usage: [server_auth]
  - name: keys
    kind: api_key
    identities: [key-1]
    policy: {lifetime: 1h}
)";

// A KEK that is not the one the first open created.
constexpr char kOtherKek[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

Instant WallNow() {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  return Instant::FromSeconds(us.count() / 1000000);  // certificates carry whole seconds
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Overwrite replaces a file's content in place: its inode and mode stay.
void Overwrite(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
}

// CertificatePems returns the PEM of each certificate in `pem`, in order.
std::vector<std::string> CertificatePems(const std::string& pem) {
  std::vector<std::string> out;
  auto certs = x509::ParseCertificatesPem(pem);
  if (!certs.ok()) {
    ADD_FAILURE() << certs.status().ToString();
    return out;
  }
  for (auto& c : *certs) out.push_back(x509::CertificatePem(c.get()));
  return out;
}

// EnvGuard sets (or unsets, for null) an environment variable for its lifetime.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Outcome of one effect run through the EffectRunner.
struct Ran {
  Event event;
  std::shared_ptr<Candidate> candidate;
};

class CredentialStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fleet = ParseFleet(kFleetYaml, "inline.yaml", clock_.Now());
    ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
    fleet_ = std::move(fleet).value();
    ASSERT_NE(fleet_.FindGroup(kCaGroupName), nullptr) << "ParseFleet adds the CA's group";
  }

  std::string data() const { return dir_.path(); }
  const GroupSpec& Group(const std::string& name) const { return *fleet_.FindGroup(name); }

  StatusOr<std::unique_ptr<CredentialStack>> OpenStack(bool create = true) {
    CredentialStack::Options o;
    o.data_dir = data();
    o.fleet = &fleet_;
    o.create = create;
    return CredentialStack::Open(o);
  }

  void OpenOrDie() {
    auto stack = OpenStack();
    ASSERT_TRUE(stack.ok()) << stack.status().ToString();
    stack_ = std::move(stack).value();
  }

  EffectRunnerPorts Ports() {
    EffectRunnerPorts p;
    p.clock = &clock_;
    p.hasher = &hasher_;
    p.generator = stack_->generator();
    p.sink = stack_->sink();
    return p;
  }

  // BringUp drives the CA identity's first issuance into an LMDB store.
  void BringUp() {
    auto store = LmdbStateStore::Open(data(), LmdbStateStore::OpenMode::kReadWrite);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ca_record_ = NewRecord(kCaIdentityId, kCaGroupName, CredentialKind::kCaIntermediate, clock_.Now());
    Status up = BringUpCa(&ca_record_, Group(kCaGroupName), *store_, Ports(), "/rotor/test");
    ASSERT_TRUE(up.ok()) << up.ToString();
  }

  Ran Run(const RotationRecord& record, const GroupSpec* group, EffectType type, const CredentialVersion& version,
          std::shared_ptr<Candidate> candidate = nullptr) {
    EffectRunner runner(Ports());
    std::vector<EffectJob> jobs(1);
    jobs[0].record = record;
    jobs[0].effect.type = type;
    jobs[0].effect.version = version;
    jobs[0].group = group;
    jobs[0].candidate = std::move(candidate);
    std::vector<EffectOutcome> outs = runner.Run(jobs);
    return Ran{outs[0].event, outs[0].candidate};
  }

  // Issue generates and delivers `generation` of `id` (group `group`) and
  // returns the version as the machine would record it.
  CredentialVersion Issue(const std::string& id, const std::string& group, uint64_t generation) {
    const GroupSpec& g = Group(group);
    RotationRecord r = NewRecord(id, group, g.kind, clock_.Now());
    Ran gen = Run(r, &g, EffectType::kGenerate, CredentialVersion{generation, {}, {}, {}});
    EXPECT_EQ(gen.event.type, EventType::kGenerated) << gen.event.error.ToString();
    CredentialVersion v{generation, gen.event.issued_at, gen.event.not_after, gen.event.fingerprint};
    if (v.not_after.micros == 0) v.not_after = v.issued_at + g.policy.lifetime;  // as Step derives it
    Ran del = Run(r, &g, EffectType::kDeliver, v, gen.candidate);
    EXPECT_EQ(del.event.type, EventType::kDelivered) << del.event.error.ToString();
    return v;
  }

  // Verify runs the verify step for a delivered version; OK or its error.
  Status Verify(const std::string& id, const std::string& group, const CredentialVersion& v) {
    const GroupSpec& g = Group(group);
    RotationRecord r = NewRecord(id, group, g.kind, clock_.Now());
    Ran ran = Run(r, &g, EffectType::kVerify, v);
    if (ran.event.type == EventType::kVerified) return Status::Ok();
    EXPECT_EQ(ran.event.type, EventType::kStepFailed);
    return ran.event.error;
  }

  std::string LeafChainPem(const std::string& id, uint64_t generation) {
    auto files = stack_->sink()->ReadBack(id, generation);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    if (!files.ok()) return "";
    const MaterialFile* chain = FindFile(*files, "chain.pem");
    return chain ? std::string(chain->bytes.view()) : "";
  }

  std::vector<std::string> Bundle() { return CertificatePems(ReadFile(data() + "/ca/bundle.pem")); }

  std::string IntermediatePem(uint64_t generation) {
    return ReadFile(data() + "/ca/rotor-ca/versions/" + std::to_string(generation) + "/cert.pem");
  }

  // Neither variable may leak in from the environment the test runs in.
  EnvGuard no_kek_{"ROTOR_KEK", nullptr};
  EnvGuard no_kek_file_{"ROTOR_KEK_FILE", nullptr};
  TempDir dir_{"rotor-stack-test"};
  VirtualClock clock_{WallNow()};
  BoringHasher hasher_;
  FleetSpec fleet_;
  std::unique_ptr<CredentialStack> stack_;
  std::unique_ptr<LmdbStateStore> store_;
  RotationRecord ca_record_;
};

TEST_F(CredentialStackTest, OpenCreatesTheRootAndAPrivateKek) {
  OpenOrDie();
  ASSERT_NE(stack_->ca(), nullptr);
  const std::string kek = data() + "/kek";
  ASSERT_TRUE(Exists(kek));
  EXPECT_TRUE(S_ISREG(ModeOf(kek)));
  EXPECT_EQ(ModeOf(kek) & 07777, 0600u);
  EXPECT_TRUE(KeyEncryptionKey::LoadFile(kek).ok());

  EXPECT_EQ(ModeOf(data() + "/ca") & 07777, 0700u);
  EXPECT_EQ(ModeOf(data() + "/ca/root.key.enc") & 07777, 0600u);
  EXPECT_FALSE(Contains(ReadFile(data() + "/ca/root.key.enc"), "PRIVATE KEY")) << "the root key is sealed";
  std::vector<std::string> root = CertificatePems(ReadFile(data() + "/ca/ca.pem"));
  ASSERT_EQ(root.size(), 1u);
  EXPECT_EQ(root[0], x509::CertificatePem(stack_->ca()->root()));

  // Nothing signs before the first intermediate; the bundle is the root alone.
  EXPECT_EQ(stack_->ca()->CurrentIssuer(), nullptr);
  EXPECT_EQ(Bundle(), root);
}

TEST_F(CredentialStackTest, RoutesTheCaIdentityToCaAndLeavesToOut) {
  OpenOrDie();
  EXPECT_EQ(stack_->out()->root(), data() + "/out");
  DeliveredPaths ca = stack_->sink()->Paths(kCaIdentityId, 1);
  EXPECT_EQ(ca.version_dir, data() + "/ca/rotor-ca/versions/1");
  EXPECT_EQ(ca.current_link, data() + "/ca/rotor-ca/current");
  DeliveredPaths leaf = stack_->sink()->Paths("web-1", 3);
  EXPECT_EQ(leaf.version_dir, data() + "/out/web-1/versions/3");
  EXPECT_EQ(leaf.current_link, data() + "/out/web-1/current");
  EXPECT_EQ(stack_->sink()->Paths("key-1", 1).version_dir, data() + "/out/key-1/versions/1");
}

TEST_F(CredentialStackTest, BringUpCaIssuesTheFirstIntermediateAndPublishesIt) {
  OpenOrDie();
  BringUp();
  EXPECT_EQ(ca_record_.phase, Phase::kActive);
  ASSERT_TRUE(ca_record_.current.has_value());
  EXPECT_EQ(ca_record_.current->generation, 1u);
  EXPECT_FALSE(ca_record_.pending.has_value());
  EXPECT_TRUE(CheckInvariants(ca_record_).ok());

  auto stored = store_->Get(kCaIdentityId);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, ca_record_);

  // One audit line per persisted step, chained, in order.
  auto outbox = store_->ReadOutbox(0, 100);
  ASSERT_TRUE(outbox.ok()) << outbox.status().ToString();
  std::vector<std::string> types;
  for (const OutboxEntry& e : *outbox) {
    EXPECT_TRUE(Contains(e.line, "\"subject\":\"rotor-ca\"")) << e.line;
    for (const char* t : {"rotation.started", "credential.issued", "credential.delivered", "credential.verified",
                          "rotation.committed"}) {
      if (Contains(e.line, std::string(t) + "\"")) types.push_back(t);
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"rotation.started", "credential.issued", "credential.delivered",
                                             "credential.verified", "rotation.committed"}));
  EXPECT_EQ(ca_record_.chain_seq, outbox->size());

  auto issuer = stack_->ca()->CurrentIssuer();
  ASSERT_NE(issuer, nullptr);
  EXPECT_EQ(issuer->generation, 1u);
  EXPECT_EQ(x509::Fingerprint(issuer->cert.get()), ca_record_.current->fingerprint);
  EXPECT_EQ(stack_->sink()->CurrentGeneration(kCaIdentityId).value(), 1u);
  EXPECT_FALSE(Contains(ReadFile(data() + "/ca/rotor-ca/versions/1/key.enc"), "PRIVATE KEY"));

  // bundle.pem: the intermediate, then the root.
  const std::vector<std::string> bundle = Bundle();
  ASSERT_EQ(bundle.size(), 2u);
  EXPECT_EQ(bundle[0], issuer->cert_pem);
  EXPECT_EQ(bundle[1], x509::CertificatePem(stack_->ca()->root()));

  // Brought up already: OK at once, nothing more written.
  Status again = BringUpCa(&ca_record_, Group(kCaGroupName), *store_, Ports(), "/rotor/test");
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(store_->ReadOutbox(0, 100).value().size(), outbox->size());
}

TEST_F(CredentialStackTest, LeavesAndApiKeysAreGeneratedDeliveredAndChecked) {
  OpenOrDie();
  BringUp();

  const CredentialVersion leaf = Issue("web-1", "web", 1);
  EXPECT_TRUE(Verify("web-1", "web", leaf).ok()) << Verify("web-1", "web", leaf).ToString();
  EXPECT_LE(leaf.not_after, leaf.issued_at + Duration::Hours(1));
  EXPECT_GT(leaf.not_after, leaf.issued_at);
  EXPECT_EQ(LeafChainPem("web-1", 1), stack_->ca()->CurrentIssuer()->cert_pem);
  for (const char* f : {"cert.pem", "chain.pem", "key.pem"}) {
    EXPECT_EQ(ModeOf(data() + "/out/web-1/versions/1/" + f) & 07777, 0600u) << f;
  }

  const CredentialVersion key = Issue("key-1", "keys", 1);
  EXPECT_TRUE(Verify("key-1", "keys", key).ok()) << Verify("key-1", "keys", key).ToString();
  const std::string secret = ReadFile(data() + "/out/key-1/versions/1/secret");
  EXPECT_EQ(secret.rfind("rtk_", 0), 0u);
  EXPECT_EQ(ModeOf(data() + "/out/key-1/versions/1/secret") & 07777, 0600u);
  EXPECT_FALSE(Exists(data() + "/ca/key-1")) << "leaves never land in the CA's directory";
  EXPECT_FALSE(Exists(data() + "/out/rotor-ca")) << "the intermediate never lands in out/";

  // Activation through the stack switches the leaf's current link.
  ASSERT_TRUE(stack_->sink()->Activate({{"web-1", 1}, {"key-1", 1}})[0].ok());
  EXPECT_EQ(stack_->sink()->CurrentGeneration("key-1").value(), 1u);
  EXPECT_EQ(stack_->sink()->CurrentGeneration("web-1").value(), 1u);
}

TEST_F(CredentialStackTest, CheckRefusesADeliveredKeyThatIsNotTheCertificatesKey) {
  OpenOrDie();
  BringUp();
  const CredentialVersion leaf = Issue("web-1", "web", 1);
  ASSERT_TRUE(Verify("web-1", "web", leaf).ok());

  auto other = x509::GenerateKey(KeyType::kP256);
  ASSERT_TRUE(other.ok());
  const std::string key_path = data() + "/out/web-1/versions/1/key.pem";
  SecretBytes pem = x509::PrivateKeyPem(other->get());
  Overwrite(key_path, pem.view());
  ASSERT_EQ(ModeOf(key_path) & 07777, 0600u);

  Status s = Verify("web-1", "web", leaf);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "private key")) << s.ToString();
}

TEST_F(CredentialStackTest, CheckRefusesALeafWhoseChainNamesAnUnpublishedIntermediate) {
  OpenOrDie();
  BringUp();
  // An intermediate signed by this very root but never delivered, so never
  // in the bundle: what a leaf signed before publication would chain to.
  const Instant now = clock_.Now();
  auto hidden = stack_->ca()->NewIntermediate(99, now, now + Duration::Days(1));
  ASSERT_TRUE(hidden.ok()) << hidden.status().ToString();
  auto kek = KeyEncryptionKey::LoadFile(data() + "/kek");
  ASSERT_TRUE(kek.ok()) << kek.status().ToString();
  const MaterialFile* sealed = FindFile(hidden->files, "key.enc");
  ASSERT_NE(sealed, nullptr);
  // The sealing AAD of managed_ca.cc (IntermediateAad).
  auto der = kek->Open(sealed->bytes.view(), "rotor-ca/intermediate/99");
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  auto hidden_key = x509::ParsePrivateKeyDer(der->view());
  ASSERT_TRUE(hidden_key.ok());
  auto hidden_cert = x509::ParseCertificatesPem(FindFile(hidden->files, "cert.pem")->bytes.view());
  ASSERT_TRUE(hidden_cert.ok());
  X509* hidden_ca = hidden_cert->front().get();
  ASSERT_FALSE(stack_->ca()->IsPublished(hidden_ca));

  const GroupSpec& web = Group("web");
  const Instant not_after = now + Duration::Minutes(30);
  CertificateRequest req = ExpandProfile(web.certificate, "web-2", now, not_after);
  auto leaf_key = x509::GenerateKey(web.certificate.key_type);
  ASSERT_TRUE(leaf_key.ok());
  auto leaf = x509::SignCertificate(req, leaf_key->get(), hidden_ca, hidden_key->get());
  ASSERT_TRUE(leaf.ok()) << leaf.status().ToString();

  Material files;
  files.push_back({"cert.pem", SecretBytes(x509::CertificatePem(leaf->get()))});
  files.push_back({"chain.pem", SecretBytes(x509::CertificatePem(hidden_ca))});
  files.push_back({"key.pem", x509::PrivateKeyPem(leaf_key->get())});
  ASSERT_TRUE(stack_->sink()->Deliver({{"web-2", 1, &files}})[0].ok());
  const CredentialVersion v{1, now, not_after, x509::Fingerprint(leaf->get())};

  Status s = Verify("web-2", "web", v);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "not in the trust bundle")) << s.ToString();
}

TEST_F(CredentialStackTest, ASecondIntermediateIsPublishedAtDeliverySignsAfterActivationAndLeavesAtRetirement) {
  OpenOrDie();
  BringUp();
  const std::string root_pem = x509::CertificatePem(stack_->ca()->root());
  const CredentialVersion old_leaf = Issue("web-1", "web", 1);
  ASSERT_TRUE(Verify("web-1", "web", old_leaf).ok());

  // Generation 2 of the intermediate, through the stack's generator and sink.
  clock_.Advance(Duration::Seconds(5));
  const GroupSpec& ca_group = Group(kCaGroupName);
  Ran gen = Run(ca_record_, &ca_group, EffectType::kGenerate, CredentialVersion{2, {}, {}, {}});
  ASSERT_EQ(gen.event.type, EventType::kGenerated) << gen.event.error.ToString();
  const CredentialVersion v2{2, gen.event.issued_at, gen.event.not_after, gen.event.fingerprint};
  Ran del = Run(ca_record_, &ca_group, EffectType::kDeliver, v2, gen.candidate);
  ASSERT_EQ(del.event.type, EventType::kDelivered) << del.event.error.ToString();
  Ran ver = Run(ca_record_, &ca_group, EffectType::kVerify, v2);
  ASSERT_EQ(ver.event.type, EventType::kVerified) << ver.event.error.ToString();

  // Published before it signs: both intermediates (newest first), then the root.
  EXPECT_EQ(Bundle(), (std::vector<std::string>{IntermediatePem(2), IntermediatePem(1), root_pem}));
  ASSERT_NE(stack_->ca()->CurrentIssuer(), nullptr);
  EXPECT_EQ(stack_->ca()->CurrentIssuer()->generation, 1u) << "generation 2 must not sign before Activate";
  const CredentialVersion before = Issue("web-2", "web", 1);
  EXPECT_EQ(LeafChainPem("web-2", 1), IntermediatePem(1));
  EXPECT_TRUE(Verify("web-2", "web", before).ok());

  Ran act = Run(ca_record_, &ca_group, EffectType::kActivate, v2);
  ASSERT_EQ(act.event.type, EventType::kActivated) << act.event.error.ToString();
  ASSERT_NE(stack_->ca()->CurrentIssuer(), nullptr);
  EXPECT_EQ(stack_->ca()->CurrentIssuer()->generation, 2u);
  const CredentialVersion after = Issue("web-1", "web", 2);
  EXPECT_EQ(LeafChainPem("web-1", 2), IntermediatePem(2));
  EXPECT_TRUE(Verify("web-1", "web", after).ok()) << Verify("web-1", "web", after).ToString();
  EXPECT_TRUE(Verify("web-1", "web", old_leaf).ok()) << "generation 1 is still published";

  // The current intermediate cannot be retired; the old one can, and leaves the bundle.
  EXPECT_EQ(stack_->sink()->Retire({{kCaIdentityId, 2}})[0].code(), StatusCode::kFailedPrecondition);
  const std::string gen1_pem = IntermediatePem(1);
  ASSERT_TRUE(stack_->sink()->Retire({{kCaIdentityId, 1}})[0].ok());
  EXPECT_EQ(Bundle(), (std::vector<std::string>{IntermediatePem(2), root_pem}));
  EXPECT_FALSE(Contains(ReadFile(data() + "/ca/bundle.pem"), gen1_pem));
  EXPECT_EQ(stack_->ca()->CurrentIssuer()->generation, 2u);
  Status s = Verify("web-1", "web", old_leaf);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << "its issuer left the bundle: " << s.ToString();
  EXPECT_TRUE(Verify("web-1", "web", after).ok());
}

TEST_F(CredentialStackTest, ADiscardedIntermediateLeavesTheBundleAndNeverSigns) {
  OpenOrDie();
  BringUp();
  const std::string gen1 = IntermediatePem(1);
  const std::string root_pem = x509::CertificatePem(stack_->ca()->root());
  const GroupSpec& ca_group = Group(kCaGroupName);
  Ran gen = Run(ca_record_, &ca_group, EffectType::kGenerate, CredentialVersion{2, {}, {}, {}});
  ASSERT_EQ(gen.event.type, EventType::kGenerated) << gen.event.error.ToString();
  const CredentialVersion v2{2, gen.event.issued_at, gen.event.not_after, gen.event.fingerprint};
  ASSERT_EQ(Run(ca_record_, &ca_group, EffectType::kDeliver, v2, gen.candidate).event.type, EventType::kDelivered);
  ASSERT_EQ(Bundle().size(), 3u);

  // The rotation fails after delivery and rolls back: generation 1 stays current.
  ASSERT_TRUE(stack_->sink()->Discard({{kCaIdentityId, 2, 1}})[0].ok());
  EXPECT_EQ(Bundle(), (std::vector<std::string>{gen1, root_pem}));
  ASSERT_NE(stack_->ca()->CurrentIssuer(), nullptr);
  EXPECT_EQ(stack_->ca()->CurrentIssuer()->generation, 1u);
  EXPECT_EQ(stack_->sink()->ListGenerations(kCaIdentityId).value(), std::vector<uint64_t>{1});
  const CredentialVersion leaf = Issue("web-1", "web", 1);
  EXPECT_EQ(LeafChainPem("web-1", 1), gen1);
  EXPECT_TRUE(Verify("web-1", "web", leaf).ok());
}

TEST_F(CredentialStackTest, ReopeningRestoresTheSignerFromDisk) {
  OpenOrDie();
  BringUp();
  const std::string signer = stack_->ca()->CurrentIssuer()->cert_pem;
  stack_.reset();
  OpenOrDie();
  ASSERT_NE(stack_->ca()->CurrentIssuer(), nullptr);
  EXPECT_EQ(stack_->ca()->CurrentIssuer()->cert_pem, signer);
  const CredentialVersion leaf = Issue("web-1", "web", 1);
  EXPECT_TRUE(Verify("web-1", "web", leaf).ok());
}

TEST_F(CredentialStackTest, ReopeningWithAnotherKekFailsNamingTheKeyEncryptionKey) {
  OpenOrDie();
  BringUp();
  stack_.reset();
  {
    EnvGuard other("ROTOR_KEK", kOtherKek);
    auto reopened = OpenStack();
    ASSERT_FALSE(reopened.ok());
    EXPECT_TRUE(Contains(reopened.status().message(), "key-encryption key")) << reopened.status().ToString();
  }
  EXPECT_EQ(std::getenv("ROTOR_KEK"), nullptr) << "restored";
  // With its own KEK again it opens.
  auto again = OpenStack();
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(CredentialStackTest, AKekFileOthersMayReadIsRefused) {
  OpenOrDie();
  stack_.reset();
  ASSERT_EQ(::chmod((data() + "/kek").c_str(), 0644), 0);
  auto reopened = OpenStack();
  ASSERT_FALSE(reopened.ok());
  EXPECT_TRUE(Contains(reopened.status().message(), "key-encryption key")) << reopened.status().ToString();
}

TEST_F(CredentialStackTest, OpenForReadingNeedsNoKek) {
  OpenOrDie();
  BringUp();
  const CredentialVersion leaf = Issue("web-1", "web", 1);
  stack_.reset();
  ASSERT_EQ(::rename((data() + "/kek").c_str(), (data() + "/kek.away").c_str()), 0);
  EnvGuard bad("ROTOR_KEK", "not a key");

  auto reading = CredentialStack::OpenForReading(data());
  ASSERT_TRUE(reading.ok()) << reading.status().ToString();
  EXPECT_EQ((*reading)->ca(), nullptr);
  EXPECT_FALSE(Exists(data() + "/kek")) << "no KEK is created";
  auto leaf_files = (*reading)->sink()->ReadBack("web-1", 1);
  ASSERT_TRUE(leaf_files.ok()) << leaf_files.status().ToString();
  auto fp = DeliveredFingerprint(CredentialKind::kX509, *leaf_files, hasher_);
  ASSERT_TRUE(fp.ok()) << fp.status().ToString();
  EXPECT_EQ(*fp, leaf.fingerprint);
  // The CA identity still routes to <data-dir>/ca.
  EXPECT_EQ((*reading)->sink()->Paths(kCaIdentityId, 1).version_dir, data() + "/ca/rotor-ca/versions/1");
  auto ca_files = (*reading)->sink()->ReadBack(kCaIdentityId, 1);
  ASSERT_TRUE(ca_files.ok()) << ca_files.status().ToString();
  auto ca_fp = DeliveredFingerprint(CredentialKind::kCaIntermediate, *ca_files, hasher_);
  ASSERT_TRUE(ca_fp.ok()) << ca_fp.status().ToString();
  EXPECT_EQ(*ca_fp, ca_record_.current->fingerprint);
  EXPECT_EQ((*reading)->sink()->CurrentGeneration(kCaIdentityId).value(), 1u);
  // Without a CA nothing is signed.
  RotationRecord r = NewRecord("web-1", "web", CredentialKind::kX509, clock_.Now());
  CredentialVersion v{2, {}, {}, {}};
  CredentialJob job{&r, &v, &Group("web"), clock_.Now()};
  EXPECT_EQ((*reading)->generator()->Generate(job).status().code(), StatusCode::kFailedPrecondition);
}

// Regression: OpenForReading (and so `rotor check`) used to create
// <data-dir>/out in a data directory that had none.
TEST_F(CredentialStackTest, OpenForReadingCreatesNothing) {
  auto reading = CredentialStack::OpenForReading(data());
  ASSERT_FALSE(reading.ok()) << "a data directory without out/ has nothing to read back";
  EXPECT_EQ(reading.status().code(), StatusCode::kNotFound) << reading.status().ToString();
  EXPECT_FALSE(Exists(data() + "/kek"));
  EXPECT_FALSE(Exists(data() + "/ca"));
  EXPECT_FALSE(Exists(data() + "/out")) << "OpenForReading created <data-dir>/out";
}

}  // namespace
}  // namespace rotor::app
