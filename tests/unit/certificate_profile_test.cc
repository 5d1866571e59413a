// engine/certificate: names of key types and usages, profile validation (each
// message names its field) and expansion of a profile for one identity.
#include "engine/certificate.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace rotor {
namespace {

TEST(KeyTypeTest, NamesRoundTrip) {
  for (KeyType t : {KeyType::kEd25519, KeyType::kP256, KeyType::kRsa2048, KeyType::kRsa3072}) {
    StatusOr<KeyType> parsed = ParseKeyType(KeyTypeName(t));
    ASSERT_TRUE(parsed.ok()) << KeyTypeName(t);
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_STREQ(KeyTypeName(KeyType::kP256), "p256");
}

TEST(KeyTypeTest, EcdsaP256IsAnAlias) {
  StatusOr<KeyType> parsed = ParseKeyType("ecdsa-p256");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, KeyType::kP256);
}

TEST(KeyTypeTest, UnknownNamesTheValueAndTheChoices) {
  StatusOr<KeyType> parsed = ParseKeyType("rsa1024");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("\"rsa1024\""), std::string::npos) << parsed.status().message();
  EXPECT_NE(parsed.status().message().find("ed25519, p256, rsa2048, rsa3072"), std::string::npos);
  EXPECT_FALSE(ParseKeyType("").ok());
  EXPECT_FALSE(ParseKeyType("Ed25519").ok());  // names are case-sensitive, like the fleet file's others
}

TEST(KeyUsageTest, EveryBitHasItsSnakeCaseName) {
  const std::pair<const char*, uint32_t> cases[] = {
      {"digital_signature", kKeyUsageDigitalSignature}, {"content_commitment", kKeyUsageContentCommitment},
      {"non_repudiation", kKeyUsageContentCommitment},  {"key_encipherment", kKeyUsageKeyEncipherment},
      {"data_encipherment", kKeyUsageDataEncipherment}, {"key_agreement", kKeyUsageKeyAgreement},
      {"key_cert_sign", kKeyUsageKeyCertSign},          {"crl_sign", kKeyUsageCrlSign},
  };
  for (const auto& [name, bit] : cases) {
    StatusOr<uint32_t> parsed = ParseKeyUsage(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, bit) << name;
  }
  StatusOr<uint32_t> bad = ParseKeyUsage("digitalSignature");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"digitalSignature\""), std::string::npos);
  EXPECT_NE(bad.status().message().find("digital_signature"), std::string::npos);
}

TEST(ExtKeyUsageTest, NamesRoundTrip) {
  for (ExtKeyUsage e : {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth, ExtKeyUsage::kCodeSigning,
                        ExtKeyUsage::kEmailProtection, ExtKeyUsage::kTimeStamping}) {
    StatusOr<ExtKeyUsage> parsed = ParseExtKeyUsage(ExtKeyUsageName(e));
    ASSERT_TRUE(parsed.ok()) << ExtKeyUsageName(e);
    EXPECT_EQ(*parsed, e);
  }
  EXPECT_STREQ(ExtKeyUsageName(ExtKeyUsage::kServerAuth), "server_auth");
  EXPECT_STREQ(ExtKeyUsageName(ExtKeyUsage::kClientAuth), "client_auth");
  StatusOr<ExtKeyUsage> bad = ParseExtKeyUsage("serverAuth");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("server_auth"), std::string::npos);
}

TEST(DefaultKeyUsageTest, RsaAlsoEnciphersKeys) {
  EXPECT_EQ(DefaultKeyUsage(KeyType::kEd25519), kKeyUsageDigitalSignature);
  EXPECT_EQ(DefaultKeyUsage(KeyType::kP256), kKeyUsageDigitalSignature);
  EXPECT_EQ(DefaultKeyUsage(KeyType::kRsa2048), kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment);
  EXPECT_EQ(DefaultKeyUsage(KeyType::kRsa3072), kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment);
}

CertificateProfile GoodProfile() {
  CertificateProfile p;
  p.key_type = KeyType::kP256;
  p.subject = {{"CN", "{id}.svc.example"}, {"O", "Acme"},   {"OU", "payments"},         {"C", "CH"},
               {"ST", "Zürich"},           {"L", "Zürich"}, {"serialNumber", "ID-{id}"}};
  p.dns = {"{id}.svc.example", "*.{id}.example", "svc_name.internal"};
  p.uris = {"spiffe://example.org/ns/prod/sa/{id}"};
  p.ips = {"10.0.0.1", "2001:db8::1", "::1", "::ffff:192.0.2.1", "fe80:0:0:0:0:0:0:1"};
  p.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyAgreement;
  p.ext_key_usage = {ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth};
  return p;
}

TEST(ValidateProfileTest, AcceptsAFullProfileAndAnEmptyOne) {
  Status s = ValidateProfile(GoodProfile());
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = ValidateProfile(CertificateProfile{});
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// Each case breaks one field; the message must name that field.
struct BadProfileCase {
  const char* name;
  void (*mutate)(CertificateProfile*);
  const char* field;   // expected in the message
  const char* detail;  // also expected in the message
};

const BadProfileCase kBadProfiles[] = {
    {"UnknownAttribute",
     [](CertificateProfile* p) {
       p->subject.push_back({"E", "a@b"});
     },
     "subject[7].type", "\"E\""},
    {"LowercaseAttribute", [](CertificateProfile* p) { p->subject[0].type = "cn"; }, "subject[0].type", "\"cn\""},
    {"EmptyValue", [](CertificateProfile* p) { p->subject[1].value.clear(); }, "subject[1] (O)", "empty value"},
    {"CountryTooLong", [](CertificateProfile* p) { p->subject[3].value = "CHE"; }, "subject[3] (C)", "two-letter"},
    {"CountryDigits", [](CertificateProfile* p) { p->subject[3].value = "C1"; }, "subject[3] (C)", "two-letter"},
    {"CountryIdTemplate", [](CertificateProfile* p) { p->subject[3].value = "{id}"; }, "subject[3] (C)", "two-letter"},
    {"SerialNumberNotPrintable", [](CertificateProfile* p) { p->subject[6].value = "ID_1"; },
     "subject[6] (serialNumber)", "PrintableString"},
    {"InvalidUtf8", [](CertificateProfile* p) { p->subject[5].value = "Z\xC3"; }, "subject[5] (L)", "UTF-8"},
    {"OverlongUtf8", [](CertificateProfile* p) { p->subject[5].value = "\xC0\xAF"; }, "subject[5] (L)", "UTF-8"},
    {"EmptyDns", [](CertificateProfile* p) { p->dns.push_back(""); }, "dns[3]", "empty"},
    {"DnsEmptyLabel", [](CertificateProfile* p) { p->dns[0] = "a..example"; }, "dns[0]", "empty label"},
    {"DnsTrailingDot", [](CertificateProfile* p) { p->dns[0] = "a.example."; }, "dns[0]", "empty label"},
    {"DnsSpace", [](CertificateProfile* p) { p->dns[1] = "a b.example"; }, "dns[1]", "not a DNS name"},
    {"DnsInnerWildcard", [](CertificateProfile* p) { p->dns[1] = "a.*.example"; }, "dns[1]", "leftmost"},
    {"DnsHyphenEdge", [](CertificateProfile* p) { p->dns[1] = "-a.example"; }, "dns[1]", "'-'"},
    {"UriNoScheme", [](CertificateProfile* p) { p->uris[0] = "example.org/{id}"; }, "uris[0]", "absolute URI"},
    {"UriSpace", [](CertificateProfile* p) { p->uris[0] = "https://a b"; }, "uris[0]", "space"},
    {"UriBadScheme", [](CertificateProfile* p) { p->uris[0] = "ht_tp://a"; }, "uris[0]", "scheme"},
    {"IpShort", [](CertificateProfile* p) { p->ips[0] = "10.0.0"; }, "ips[0]", "\"10.0.0\""},
    {"IpOctetRange", [](CertificateProfile* p) { p->ips[0] = "10.0.0.256"; }, "ips[0]", "not an IPv4 or IPv6"},
    {"IpLeadingZero", [](CertificateProfile* p) { p->ips[0] = "10.0.0.01"; }, "ips[0]", "not an IPv4 or IPv6"},
    {"IpTemplate", [](CertificateProfile* p) { p->ips[0] = "{id}"; }, "ips[0]", "not an IPv4 or IPv6"},
    {"Ipv6TwoGaps", [](CertificateProfile* p) { p->ips[1] = "2001::db8::1"; }, "ips[1]", "not an IPv4 or IPv6"},
    {"Ipv6TooManyGroups", [](CertificateProfile* p) { p->ips[1] = "1:2:3:4:5:6:7:8:9"; }, "ips[1]",
     "not an IPv4 or IPv6"},
    {"Ipv6Zone", [](CertificateProfile* p) { p->ips[1] = "fe80::1%eth0"; }, "ips[1]", "not an IPv4 or IPv6"},
    {"Ipv6TrailingColon", [](CertificateProfile* p) { p->ips[1] = "2001:db8:1:"; }, "ips[1]", "not an IPv4 or IPv6"},
    {"KeyEnciphermentOnEc", [](CertificateProfile* p) { p->key_usage |= kKeyUsageKeyEncipherment; }, "key_usage",
     "RSA"},
    {"KeyAgreementOnEd25519",
     [](CertificateProfile* p) {
       p->key_type = KeyType::kEd25519;
       p->key_usage = kKeyUsageKeyAgreement;
     },
     "key_usage", "ed25519"},
    {"UnknownKeyUsageBit", [](CertificateProfile* p) { p->key_usage |= 1u << 12; }, "key_usage", "unknown"},
    {"DuplicateEku", [](CertificateProfile* p) { p->ext_key_usage.push_back(ExtKeyUsage::kServerAuth); },
     "ext_key_usage[2]", "twice"},
    {"NegativeSkew", [](CertificateProfile* p) { p->skew = Duration::Seconds(-1); }, "skew", "negative"},
};

// Test names in ctest show the case, not the struct's bytes.
void PrintTo(const BadProfileCase& c, std::ostream* os) {
  *os << c.name;
}

class ValidateProfileBadTest : public ::testing::TestWithParam<BadProfileCase> {};

TEST_P(ValidateProfileBadTest, NamesTheField) {
  CertificateProfile p = GoodProfile();
  GetParam().mutate(&p);
  Status s = ValidateProfile(p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(GetParam().field), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(GetParam().detail), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(Cases, ValidateProfileBadTest, ::testing::ValuesIn(kBadProfiles),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(ValidateProfileTest, RsaMayEncipherKeys) {
  CertificateProfile p;
  p.key_type = KeyType::kRsa2048;
  p.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment | kKeyUsageDataEncipherment;
  Status s = ValidateProfile(p);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

const Instant kIssued = Instant::FromSeconds(1767225600);  // 2026-01-01T00:00:00Z

TEST(ExpandProfileTest, SubstitutesIdEverywhere) {
  const CertificateProfile p = GoodProfile();
  const Instant not_after = kIssued + Duration::Days(30);
  const CertificateRequest r = ExpandProfile(p, "api-7", kIssued, not_after);
  EXPECT_EQ(r.key_type, KeyType::kP256);
  ASSERT_EQ(r.subject.size(), 7u);
  EXPECT_EQ(r.subject[0], (NameAttribute{"CN", "api-7.svc.example"}));
  EXPECT_EQ(r.subject[1], (NameAttribute{"O", "Acme"}));
  EXPECT_EQ(r.subject[6], (NameAttribute{"serialNumber", "ID-api-7"}));
  EXPECT_EQ(r.dns, (std::vector<std::string>{"api-7.svc.example", "*.api-7.example", "svc_name.internal"}));
  EXPECT_EQ(r.uris, (std::vector<std::string>{"spiffe://example.org/ns/prod/sa/api-7"}));
  EXPECT_EQ(r.ips, p.ips);
  EXPECT_EQ(r.key_usage, p.key_usage);
  EXPECT_EQ(r.ext_key_usage, p.ext_key_usage);
  EXPECT_FALSE(r.is_ca);
  EXPECT_EQ(r.path_len, -1);
  EXPECT_EQ(r.not_before, kIssued - Duration::Seconds(60));
  EXPECT_EQ(r.not_after, not_after);
}

TEST(ExpandProfileTest, EveryOccurrenceIsReplaced) {
  CertificateProfile p;
  p.subject = {{"CN", "{id}/{id}{id}"}};
  p.dns = {"{id}-{id}.example"};
  const CertificateRequest r = ExpandProfile(p, "x", kIssued, kIssued + Duration::Hours(1));
  EXPECT_EQ(r.subject[0].value, "x/xx");
  EXPECT_EQ(r.dns[0], "x-x.example");
}

TEST(ExpandProfileTest, EmptySubjectIsCnIdAndDefaultKeyUsage) {
  CertificateProfile p;
  p.key_type = KeyType::kRsa3072;
  p.skew = Duration::Minutes(5);
  const CertificateRequest r = ExpandProfile(p, "db-1", kIssued, kIssued + Duration::Days(1));
  EXPECT_EQ(r.subject, (std::vector<NameAttribute>{{"CN", "db-1"}}));
  EXPECT_EQ(r.key_usage, DefaultKeyUsage(KeyType::kRsa3072));
  EXPECT_EQ(r.not_before, kIssued - Duration::Minutes(5));
  EXPECT_TRUE(r.dns.empty());
  EXPECT_TRUE(r.ext_key_usage.empty());
}

TEST(ExpandProfileTest, ZeroSkewIsNotBackDated) {
  CertificateProfile p;
  p.skew = Duration::Zero();
  const CertificateRequest r = ExpandProfile(p, "a", kIssued, kIssued + Duration::Days(1));
  EXPECT_EQ(r.not_before, kIssued);
}

}  // namespace
}  // namespace rotor
