// engine/adoption: ids and profiles derived from imported certificates, the
// plan of `rotor import --adopt`, the first record of an adopted identity,
// the declaration's encoding and the merge into the fleet.
#include "engine/adoption.h"

#include <gtest/gtest.h>

#include "engine/rotation.h"

namespace rotor {
namespace {

const Instant kNow = Instant::FromSeconds(1767225600);  // 2026-01-01T00:00:00Z

Event Due() {
  Event ev;
  ev.type = EventType::kDue;
  return ev;
}

ImportedCertificate Fields(const std::string& cn, std::vector<std::string> dns = {}) {
  ImportedCertificate c;
  c.subject = {{"CN", cn}, {"O", "Acme"}};
  c.dns = std::move(dns);
  c.has_key_usage = true;
  c.key_usage = kKeyUsageDigitalSignature;
  c.ext_key_usage = {ExtKeyUsage::kServerAuth};
  c.key_type = KeyType::kP256;
  c.key_type_name = "p256";
  return c;
}

AdoptionCandidate Candidate(const std::string& cn, std::vector<std::string> dns, const std::string& fp) {
  AdoptionCandidate c;
  c.cert.file = "/etc/tls/" + cn + ".pem";
  c.cert.position = 1;
  c.cert.type = ItemType::kCertificate;
  c.cert.fingerprint = "sha256:" + fp;
  c.cert.serial = "0a" + fp.substr(0, 2);
  c.cert.not_before = kNow - Duration::Days(10);
  c.cert.not_after = kNow + Duration::Days(355);
  c.fields = Fields(cn, std::move(dns));
  c.key_found = true;
  return c;
}

AdoptionContext Context() {
  AdoptionContext ctx;
  ctx.policy.name = "tls";
  ctx.policy.lifetime = Duration::Days(30);
  ctx.now = kNow;
  return ctx;
}

TEST(DeriveIdentityIdTest, FirstDnsNameThenCnThenUri) {
  EXPECT_EQ(*DeriveIdentityId(Fields("api", {"api.example.com", "b.example.com"}), ""), "api.example.com");
  EXPECT_EQ(*DeriveIdentityId(Fields("Payments API (prod)"), ""), "Payments-API--prod");
  ImportedCertificate uri_only;
  uri_only.uris = {"spiffe://example.org/ns/pay/sa/api"};
  EXPECT_EQ(*DeriveIdentityId(uri_only, ""), "example.org-ns-pay-sa-api");
  EXPECT_EQ(*DeriveIdentityId(Fields("x", {"*.example.com"}), "legacy-"), "legacy-wildcard.example.com");
  EXPECT_FALSE(DeriveIdentityId(ImportedCertificate{}, "").ok());
  EXPECT_FALSE(DeriveIdentityId(Fields("***"), "").ok());
  const std::string long_name(300, 'a');
  auto id = DeriveIdentityId(Fields(long_name), "");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->size(), 200u);
}

TEST(DeriveProfileTest, KeepsSubjectSansUsagesAndKeyType) {
  ImportedCertificate c = Fields("api.example.com", {"api.example.com"});
  c.ips = {"10.0.0.7"};
  c.uris = {"spiffe://example.org/api"};
  c.ext_key_usage = {ExtKeyUsage::kClientAuth, ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth};
  std::vector<std::string> warnings;
  auto p = DeriveProfile(c, KeyType::kEd25519, &warnings);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->subject, c.subject);
  EXPECT_EQ(p->dns, c.dns);
  EXPECT_EQ(p->ips, c.ips);
  EXPECT_EQ(p->uris, c.uris);
  EXPECT_EQ(p->key_type, KeyType::kP256);
  EXPECT_EQ(p->key_usage, static_cast<uint32_t>(kKeyUsageDigitalSignature));
  EXPECT_EQ(p->ext_key_usage, (std::vector<ExtKeyUsage>{ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth}));
  EXPECT_TRUE(warnings.empty());
}

TEST(DeriveProfileTest, UnsupportedKeyTypeFallsBackWithAWarning) {
  ImportedCertificate c = Fields("a");
  c.key_type.reset();
  c.key_type_name = "rsa4096";
  c.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment;
  std::vector<std::string> warnings;
  auto p = DeriveProfile(c, KeyType::kEd25519, &warnings);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->key_type, KeyType::kEd25519);
  EXPECT_EQ(p->key_usage, static_cast<uint32_t>(kKeyUsageDigitalSignature));  // no key_encipherment for Ed25519
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("rsa4096"), std::string::npos);
  EXPECT_NE(warnings[1].find("key_encipherment"), std::string::npos);
}

TEST(DeriveProfileTest, RefusesWhatRotorCannotReproduce) {
  std::vector<std::string> w;
  ImportedCertificate empty = Fields("a");
  empty.subject.clear();
  EXPECT_FALSE(DeriveProfile(empty, KeyType::kEd25519, &w).ok());
  ImportedCertificate email = Fields("a");
  email.subject.push_back({"emailAddress", "a@example.com"});
  auto s = DeriveProfile(email, KeyType::kEd25519, &w);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("emailAddress"), std::string::npos);
  ImportedCertificate san = Fields("a");
  san.other_sans = {"email:a@example.com"};
  EXPECT_FALSE(DeriveProfile(san, KeyType::kEd25519, &w).ok());
  ImportedCertificate multi = Fields("a");
  multi.multi_valued_rdn = true;
  EXPECT_FALSE(DeriveProfile(multi, KeyType::kEd25519, &w).ok());
  ImportedCertificate token = Fields("{id}.example.com");
  EXPECT_FALSE(DeriveProfile(token, KeyType::kEd25519, &w).ok());
  ImportedCertificate country = Fields("a");
  country.subject.push_back({"C", "Germany"});
  EXPECT_FALSE(DeriveProfile(country, KeyType::kEd25519, &w).ok());
}

TEST(PlanAdoptionTest, OneDecisionPerCertificate) {
  std::vector<AdoptionCandidate> c;
  c.push_back(Candidate("api", {"api.example.com"}, "01"));  // adopted
  c.push_back(Candidate("ca", {}, "02"));
  c.back().cert.is_ca = true;  // skipped
  c.push_back(Candidate("nokey", {"nokey.example.com"}, "03"));
  c.back().key_found = false;  // refused
  c.push_back(Candidate("old", {"old.example.com"}, "04"));
  c.back().cert.not_after = kNow - Duration::Days(1);  // adopted, expired
  c.push_back(Candidate("later", {"later.example.com"}, "05"));
  c.back().cert.not_before = kNow + Duration::Days(1);            // refused: not yet valid
  c.push_back(Candidate("api-copy", {"api.example.com"}, "01"));  // the same certificate again
  c.push_back(Candidate("bad", {"bad.example.com"}, "06"));
  c.back().unreadable = "BoringSSL cannot parse the certificate";
  const auto plan = PlanAdoption(c, Context());
  ASSERT_EQ(plan.size(), c.size());
  EXPECT_EQ(plan[0].action, AdoptionAction::kAdopt);
  EXPECT_EQ(plan[0].id, "api.example.com");
  EXPECT_EQ(plan[1].action, AdoptionAction::kSkip);
  EXPECT_EQ(plan[2].action, AdoptionAction::kRefuse);
  EXPECT_NE(plan[2].reason.find("no private key"), std::string::npos);
  EXPECT_EQ(plan[3].action, AdoptionAction::kAdopt);
  EXPECT_EQ(plan[3].status, CertStatus::kExpired);
  EXPECT_EQ(plan[4].action, AdoptionAction::kRefuse);
  EXPECT_EQ(plan[5].action, AdoptionAction::kSkip);
  EXPECT_NE(plan[5].reason.find("/etc/tls/api.pem:1"), std::string::npos);
  EXPECT_EQ(plan[6].action, AdoptionAction::kRefuse);
  EXPECT_EQ(plan[6].reason, "BoringSSL cannot parse the certificate");
}

TEST(PlanAdoptionTest, CollidingIdsAreRefusedNamingEachOther) {
  std::vector<AdoptionCandidate> c = {Candidate("a", {"shared.example.com"}, "01"),
                                      Candidate("b", {"shared.example.com"}, "02"),
                                      Candidate("c", {"shared.example.com"}, "03")};
  c[2].id_override = "shared-c";
  const auto plan = PlanAdoption(c, Context());
  EXPECT_EQ(plan[0].action, AdoptionAction::kRefuse);
  EXPECT_NE(plan[0].reason.find("/etc/tls/b.pem:1"), std::string::npos) << plan[0].reason;
  EXPECT_EQ(plan[1].action, AdoptionAction::kRefuse);
  EXPECT_NE(plan[1].reason.find("/etc/tls/a.pem:1"), std::string::npos) << plan[1].reason;
  EXPECT_EQ(plan[2].action, AdoptionAction::kAdopt);
  EXPECT_EQ(plan[2].id, "shared-c");
}

TEST(PlanAdoptionTest, TakenIdsAndEarlierAdoptions) {
  AdoptionContext ctx = Context();
  ctx.existing = [](const std::string& id) -> std::optional<std::string> {
    if (id == "api.example.com") return std::string("web");
    return std::nullopt;
  };
  FleetSpec fleet;
  GroupSpec db;
  db.name = "databases";
  db.identities = {"db-0", "db.example.com"};
  fleet.groups.push_back(db);
  ctx.fleet = &fleet;
  ctx.adopted_by_fp = {{"sha256:03", "old.example.com"}};
  const auto plan =
      PlanAdoption({Candidate("api", {"api.example.com"}, "01"), Candidate("db", {"db.example.com"}, "02"),
                    Candidate("old", {"old.example.com"}, "03")},
                   ctx);
  EXPECT_EQ(plan[0].action, AdoptionAction::kRefuse);
  EXPECT_NE(plan[0].reason.find("--id"), std::string::npos);
  EXPECT_EQ(plan[1].action, AdoptionAction::kRefuse);
  EXPECT_NE(plan[1].reason.find("group databases"), std::string::npos) << plan[1].reason;
  EXPECT_EQ(plan[2].action, AdoptionAction::kSkip);
  EXPECT_EQ(plan[2].id, "old.example.com");
}

AdoptedIdentity Adopted(const std::string& id, const std::string& policy = "tls") {
  AdoptedIdentity a;
  a.id = id;
  a.policy_name = policy;
  a.policy.name = policy;
  a.policy.lifetime = Duration::Days(30);
  a.policy.renew_fraction = 2.0 / 3.0;
  a.policy.renew_before = Duration::Days(7);
  a.policy.jitter = 0;
  a.profile.key_type = KeyType::kRsa2048;
  a.profile.subject = {{"CN", id}, {"O", "Zürich AG"}};
  a.profile.dns = {id};
  a.profile.ips = {"::1"};
  a.profile.ext_key_usage = {ExtKeyUsage::kServerAuth};
  a.profile.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment;
  a.source = "/etc/tls/" + id + ".pem:1";
  a.imported_fingerprint = "sha256:" + std::string(64, 'e');
  a.imported_serial = "-01";
  a.adopted_at = kNow;
  return a;
}

TEST(AdoptedIdentityCodecTest, RoundTripsAndRefusesDamage) {
  const AdoptedIdentity a = Adopted("api.example.com");
  const std::string bytes = EncodeAdoptedIdentity(a);
  auto back = DecodeAdoptedIdentity(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, a);
  EXPECT_FALSE(DecodeAdoptedIdentity("{}").ok());
  EXPECT_FALSE(DecodeAdoptedIdentity(bytes.substr(0, bytes.size() / 2)).ok());
  std::string bad_id = bytes;
  bad_id.replace(bad_id.find("\"api.example.com\""), 17, "\"../etc\"");
  EXPECT_FALSE(DecodeAdoptedIdentity(bad_id).ok());
}

TEST(AdoptedRecordTest, GenerationOneIsTheImportedCertificate) {
  const AdoptedIdentity a = Adopted("api.example.com");
  const Instant nb = kNow - Duration::Days(10), na = kNow + Duration::Days(20);
  AdoptedStart s = AdoptedRecord(a, nb, na, kNow);
  EXPECT_TRUE(CheckInvariants(s.record).ok());
  EXPECT_EQ(s.record.phase, Phase::kActive);
  ASSERT_TRUE(s.record.current.has_value());
  EXPECT_EQ(s.record.current->generation, 1u);
  EXPECT_EQ(s.record.current->issued_at, nb);
  EXPECT_EQ(s.record.current->fingerprint, a.imported_fingerprint);
  EXPECT_EQ(s.record.next_generation, 2u);
  EXPECT_EQ(s.record.group, "adopted:tls");
  EXPECT_EQ(s.record.next_due, na - Duration::Days(7));  // renew_before 7d, no jitter
  EXPECT_EQ(s.audit.type, "identity.adopted");
  EXPECT_EQ(std::get<std::string>(s.audit.data.at("phase")), "active");
  EXPECT_EQ(s.audit.data.count("expired"), 0u);

  // Its first rotation, once due, keeps generation 1 as the previous version for the grace window.
  StepResult due = Step(s.record, Due(), s.record.next_due, a.policy);
  ASSERT_TRUE(due.persist);
  EXPECT_EQ(due.record.phase, Phase::kIssuing);
  EXPECT_EQ(std::get<std::string>(due.audit.data.at("reason")), "scheduled");
}

TEST(AdoptedRecordTest, AnExpiredCertificateIsDueAtOnceAsOverdue) {
  const AdoptedIdentity a = Adopted("old.example.com");
  AdoptedStart s = AdoptedRecord(a, kNow - Duration::Days(400), kNow - Duration::Days(1), kNow);
  EXPECT_TRUE(CheckInvariants(s.record).ok());
  EXPECT_LE(s.record.next_due, kNow);
  EXPECT_EQ(std::get<int64_t>(s.audit.data.at("expired")), 1);
  StepResult due = Step(s.record, Due(), kNow, a.policy);
  EXPECT_EQ(std::get<std::string>(due.audit.data.at("reason")), "overdue");
}

TEST(MergeAdoptedTest, AddsOneGroupPerPolicyWithPerIdentityProfiles) {
  FleetSpec fleet;
  GroupSpec web;
  web.name = "web";
  web.kind = CredentialKind::kApiKey;
  web.policy.name = "tls";
  web.policy.lifetime = Duration::Hours(1);
  web.identities = {"web-0"};
  fleet.groups.push_back(web);
  std::vector<std::string> warnings;
  ASSERT_TRUE(MergeAdopted({Adopted("a.example.com"), Adopted("b.example.com"), Adopted("c.example.com", "gone")},
                           &fleet, &warnings)
                  .ok());
  const GroupSpec* tls = fleet.FindGroup("adopted:tls");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->kind, CredentialKind::kX509);
  EXPECT_EQ(tls->identities, (std::vector<std::string>{"a.example.com", "b.example.com"}));
  EXPECT_EQ(tls->policy.lifetime, Duration::Hours(1));  // the fleet's policy of that name
  EXPECT_EQ(tls->ProfileOf("b.example.com").dns, std::vector<std::string>{"b.example.com"});
  EXPECT_EQ(tls->labels.at("adopted"), "true");
  const GroupSpec* gone = fleet.FindGroup("adopted:gone");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->policy.lifetime, Duration::Days(30));  // kept from adoption
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("gone"), std::string::npos);
  EXPECT_NE(fleet.FindGroup(kCaGroupName), nullptr) << "certificates need the managed CA";
}

TEST(MergeAdoptedTest, RefusesAFleetThatDeclaresAnAdoptedId) {
  FleetSpec fleet;
  GroupSpec web;
  web.name = "web";
  web.identities = {"a.example.com"};
  fleet.groups.push_back(web);
  std::vector<std::string> warnings;
  Status s = MergeAdopted({Adopted("a.example.com")}, &fleet, &warnings);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("a.example.com"), std::string::npos);
}

}  // namespace
}  // namespace rotor
