// Fleet file loader: the quickstart example loads, every malformed fixture
// under tests/data/fleets/ fails with its file:line and a useful message, and
// no input makes the loader throw.
#include "app/fleet_loader.h"
#include "tests/support/test_paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace rotor {
namespace {

using testing::ReadFile;

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// 2025-01-01T00:00:00Z
constexpr Instant kNow = Instant::FromSeconds(1735689600);

using testing::SourceDir;

std::string FixturePath(const std::string& name) {
  return SourceDir() + "/tests/data/fleets/" + name;
}
std::string QuickstartPath() {
  return SourceDir() + "/examples/quickstart.yaml";
}

const GroupSpec& Group(const FleetSpec& fleet, const std::string& name) {
  const GroupSpec* g = fleet.FindGroup(name);
  if (g == nullptr) throw std::runtime_error("no group " + name);
  return *g;
}

TEST(QuickstartTest, LoadsTenThousandApiKeysAndFiveHundredCertificates) {
  StatusOr<FleetSpec> fleet = LoadFleetFile(QuickstartPath(), kNow);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();

  size_t total = 0;
  std::map<CredentialKind, size_t> by_kind;
  std::unordered_set<std::string> ids;
  for (const auto& g : fleet->groups) {
    EXPECT_TRUE(ValidatePolicy(g.policy, kNow).ok()) << g.name;
    by_kind[g.kind] += g.identities.size();
    total += g.identities.size();
    for (const auto& id : g.identities) {
      EXPECT_TRUE(ValidIdentityId(id)) << id;
      ids.insert(id);
    }
    if (g.kind == CredentialKind::kCaIntermediate) continue;  // the managed CA's own group
    EXPECT_LE(g.policy.lifetime, Duration::Minutes(15)) << g.name << ": rotations should show within minutes";
    EXPECT_TRUE(g.labels.count("team")) << g.name;
    if (g.kind == CredentialKind::kX509) {
      EXPECT_TRUE(ValidateProfile(g.certificate).ok()) << g.name;
      // A leaf renewed well before the intermediate's own renewal is never capped by it.
      EXPECT_LE(g.policy.lifetime.micros * 3, fleet->ca.intermediate_policy.lifetime.micros) << g.name;
    }
  }
  EXPECT_EQ(by_kind[CredentialKind::kApiKey], 10'010u);
  EXPECT_EQ(by_kind[CredentialKind::kX509], 505u);
  EXPECT_EQ(by_kind[CredentialKind::kCaIntermediate], 1u);
  EXPECT_EQ(ids.size(), total) << "identity ids must be unique fleet-wide";
  EXPECT_TRUE(fleet->NeedsCa());
  EXPECT_EQ(fleet->ca.key_type, KeyType::kP256);
  EXPECT_EQ(fleet->ca.organization, "Example Corp");
  const GroupSpec& ca = Group(*fleet, kCaGroupName);
  EXPECT_EQ(ca.identities, std::vector<std::string>{kCaIdentityId});
  EXPECT_EQ(ca.policy.grace, ca.policy.lifetime) << "an old intermediate stays published until it expires";

  const GroupSpec& mtls = Group(*fleet, "payments-mtls");
  EXPECT_EQ(mtls.certificate.key_type, KeyType::kEd25519);
  ASSERT_EQ(mtls.certificate.subject.size(), 3u);
  EXPECT_EQ(mtls.certificate.subject[2], (NameAttribute{"CN", "{id}.payments.svc"}));
  EXPECT_EQ(mtls.certificate.uris, std::vector<std::string>{"spiffe://example.org/ns/payments/sa/{id}"});
  EXPECT_EQ(mtls.certificate.ext_key_usage,
            (std::vector<ExtKeyUsage>{ExtKeyUsage::kServerAuth, ExtKeyUsage::kClientAuth}));
  EXPECT_EQ(Group(*fleet, "legacy-erp").certificate.key_type, KeyType::kRsa2048);

  const GroupSpec& ci = Group(*fleet, "ci-jobs");
  ASSERT_EQ(ci.identities.size(), 4000u);
  EXPECT_EQ(ci.identities.front(), "ci-job-0000");
  EXPECT_EQ(ci.identities.back(), "ci-job-3999");
  EXPECT_EQ(ci.policy.name, "ci-short");
  EXPECT_EQ(ci.policy.lifetime, Duration::Minutes(3));
  EXPECT_DOUBLE_EQ(ci.policy.renew_fraction, 2.0 / 3.0);
  EXPECT_FALSE(ci.policy.renew_before.has_value());
  EXPECT_DOUBLE_EQ(ci.policy.jitter, 0.1);
  EXPECT_EQ(ci.labels.at("team"), "build");

  const GroupSpec& pipelines = Group(*fleet, "data-pipelines");
  EXPECT_EQ(pipelines.identities.size(), 3000u);
  EXPECT_EQ(pipelines.policy.lifetime, Duration::Minutes(4));
  EXPECT_EQ(pipelines.policy.renew_before, Duration::Seconds(60));

  const GroupSpec& webhooks = Group(*fleet, "partner-webhooks");
  EXPECT_EQ(webhooks.identities.size(), 500u);
  EXPECT_EQ(webhooks.policy.lifetime, Duration::Minutes(2));
  EXPECT_THAT(webhooks.verify_command, HasSubstr("ROTOR_SECRET_PATH"));

  const GroupSpec& tools = Group(*fleet, "platform-tools");
  EXPECT_EQ(tools.identities.size(), 10u);
  EXPECT_EQ(tools.hook, "true");
  EXPECT_EQ(tools.policy.name, "platform-tools");  // inline policies take the group's name

  size_t service_accounts = 0;
  std::set<std::string> teams;
  for (const auto& g : fleet->groups) {
    if (g.policy.name == "service-accounts") {
      service_accounts += g.identities.size();
      teams.insert(g.labels.at("team"));
    }
  }
  EXPECT_EQ(service_accounts, 2500u);
  EXPECT_GE(teams.size(), 3u);

  // A renewal must come round within the first minute or two of a run.
  Instant first_renewal = kMaxInstant;
  for (const auto& g : fleet->groups) {
    for (const auto& id : g.identities) {
      first_renewal = std::min(first_renewal, RenewalPoint(g.policy, id, kNow, kNow + g.policy.lifetime));
    }
  }
  EXPECT_LE(first_renewal - kNow, Duration::Minutes(1));
}

// Each malformed fixture: where the error must point and what it must say.
struct BadFleet {
  const char* file;
  int line;  // 0: no line (the file itself is the problem)
  std::vector<std::string> fragments;
};

void PrintTo(const BadFleet& b, std::ostream* os) {
  *os << b.file;
}

class BadFleetTest : public ::testing::TestWithParam<BadFleet> {};

TEST_P(BadFleetTest, FailsWithLocationAndReason) {
  const BadFleet& bad = GetParam();
  const std::string path = FixturePath(bad.file);
  StatusOr<FleetSpec> fleet = LoadFleetFile(path, kNow);
  ASSERT_FALSE(fleet.ok()) << bad.file << " loaded but must not";
  EXPECT_EQ(fleet.status().code(), StatusCode::kInvalidArgument) << fleet.status().ToString();
  const std::string& message = fleet.status().message();
  if (bad.line > 0) {
    EXPECT_THAT(message, StartsWith(path + ":" + std::to_string(bad.line) + ":")) << message;
  } else {
    EXPECT_THAT(message, StartsWith(path + ": ")) << message;
  }
  for (const auto& fragment : bad.fragments) EXPECT_THAT(message, HasSubstr(fragment));
}

const BadFleet kBadFleets[] = {
    {"bad_syntax.yaml", 5, {"YAML syntax error"}},
    {"unknown_key_typo.yaml", 5, {"unknown key \"lifetme\"", "did you mean \"lifetime\"", "renew_before"}},
    {"renew_before_not_shorter.yaml", 3, {"policy \"short\"", "not shorter than the lifetime"}},
    {"lifetime_zero.yaml", 3, {"policy \"short\"", "lifetime must be positive"}},
    {"lifetime_past_9999.yaml", 3, {"policy \"forever\"", "9999-12-31"}},
    {"negative_grace.yaml", 5, {"grace must not be negative"}},
    {"duplicate_ids.yaml",
     10,
     {"duplicate identity id \"shared-worker\"", "group \"web\"", "duplicate_ids.yaml:6:", "group \"batch\""}},
    {"invalid_id.yaml", 6, {"invalid identity id \"a/b\""}},
    {"unknown_policy.yaml", 7, {"unknown policy \"ci-shrt\"", "did you mean \"ci-short\""}},
    {"count_zero.yaml", 4, {"count must be a whole number from 1 to 10000000", "\"0\""}},
    {"count_too_large.yaml", 4, {"count must be a whole number from 1 to 10000000"}},
    {"renew_at_above_one.yaml", 5, {"renew_at must be a fraction strictly between 0 and 1", "\"1.5\""}},
    {"renew_at_and_renew_before.yaml", 6, {"renew_at and renew_before are mutually exclusive"}},
    {"lifetime_wrong_type.yaml", 4, {"lifetime: expected a duration", "got a list"}},
    {"empty.yaml", 1, {"empty"}},
    {"comments_only.yaml", 1, {"empty"}},
    {"no_groups.yaml", 2, {"groups is empty"}},
    {"no_identities.yaml", 3, {"group \"web\" declares no identities"}},
    {"duplicate_group.yaml", 5, {"duplicate group name \"web\"", "duplicate_group.yaml:3:"}},
    {"generated_ids_collide.yaml", 7, {"duplicate identity id \"node-7\"", "n=7", "group \"blue\"", "group \"green\""}},
    {"unknown_kind.yaml", 4, {"unknown credential kind \"ssh_cert\"", "supported: api_key, x509"}},
    {"bad_duration.yaml", 4, {"lifetime: bad duration \"5 minutes\""}},
    {"duplicate_key.yaml", 5, {"duplicate key \"lifetime\""}},
    {"unsupported_version.yaml", 1, {"unsupported fleet file version \"2\""}},
    {"group_typo.yaml", 5, {"unknown key \"id_patern\"", "did you mean \"id_pattern\""}},
    {"jitter_too_large.yaml", 5, {"jitter must be from 0 to 0.5", "\"60%\""}},
    {"pattern_without_n.yaml", 5, {"no {n} placeholder"}},
    {"two_documents.yaml", 6, {"second"}},
    {"unterminated_quote.yaml", 7, {"quoted string never closed"}},
    {"unterminated_single_quote.yaml", 5, {"quoted string never closed"}},
    {"reserved_label.yaml", 4, {"label key \"group\" is reserved"}},
    {"top_level_list.yaml", 1, {"expected a mapping at the top level"}},
    {"certificate_without_x509.yaml", 5, {"certificate in group \"web\" needs kind: x509", "api_key"}},
    {"unknown_key_type.yaml", 7, {"key_type:", "\"dsa1024\""}},
    {"bad_subject_attribute.yaml", 7, {"certificate of group \"web\"", "XYZ"}},
    {"bad_san_ip.yaml", 7, {"certificate of group \"web\"", "300.1.2.3"}},
    {"reserved_ca_group.yaml", 3, {"group name \"rotor-ca\" is reserved for rotor's managed CA"}},
    {"reserved_ca_id.yaml", 6, {"identity id \"rotor-ca\" is reserved"}},
    {"ca_import_without_key.yaml", 4, {"ca.import needs both cert and key"}},
    {"ca_unknown_key.yaml", 3, {"unknown key \"organisation\" in ca", "did you mean \"organization\""}},
    {"ca_intermediate_outlives_root.yaml", 4, {"must be shorter than root_lifetime"}},
    {"does_not_exist.yaml", 0, {"cannot read fleet file", "No such file or directory"}},
};

std::string FixtureTestName(const ::testing::TestParamInfo<BadFleet>& param) {
  std::string name = param.param.file;
  name = name.substr(0, name.find('.'));
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadFleetTest, ::testing::ValuesIn(kBadFleets), FixtureTestName);

TEST(FleetLoaderTest, MapsCertificateProfileAndCa) {
  StatusOr<FleetSpec> fleet = ParseFleet(R"(
version: 1
ca:
  key_type: ed25519
  organization: Example Corp
  root_common_name: Example Root
  root_lifetime: 5y
  intermediate_policy: {lifetime: 30d, renew_at: 1/2, grace: 1m}
  skew: 2m
  import: {cert: root.pem, key: keys/root.key}
  kek_file: /etc/rotor/kek
groups:
  - name: web
    kind: x509
    count: 2
    policy: {lifetime: 1d}
    certificate:
      key_type: rsa3072
      subject: {C: DE, O: Example, CN: "{id}.example"}
      dns: ["{id}.example", "www.{id}.example"]
      uris: "spiffe://example.org/{id}"
      ips: ["10.0.0.1", "::1"]
      key_usage: [digital_signature, key_encipherment]
      ext_key_usage: [server_auth]
      skew: 30s
)",
                                         "inline.yaml", kNow);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  const CertificateProfile& p = Group(*fleet, "web").certificate;
  EXPECT_EQ(p.key_type, KeyType::kRsa3072);
  EXPECT_EQ(p.subject, (std::vector<NameAttribute>{{"C", "DE"}, {"O", "Example"}, {"CN", "{id}.example"}}))
      << "subject attributes keep the order of the file";
  EXPECT_EQ(p.dns, (std::vector<std::string>{"{id}.example", "www.{id}.example"}));
  EXPECT_EQ(p.uris, std::vector<std::string>{"spiffe://example.org/{id}"}) << "a single string is a list of one";
  EXPECT_EQ(p.ips, (std::vector<std::string>{"10.0.0.1", "::1"}));
  EXPECT_EQ(p.key_usage, kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment);
  EXPECT_EQ(p.ext_key_usage, std::vector<ExtKeyUsage>{ExtKeyUsage::kServerAuth});
  EXPECT_EQ(p.skew, Duration::Seconds(30));

  const CaSpec& ca = fleet->ca;
  EXPECT_TRUE(fleet->ca_declared);
  EXPECT_EQ(ca.key_type, KeyType::kEd25519);
  EXPECT_EQ(ca.organization, "Example Corp");
  EXPECT_EQ(ca.root_common_name, "Example Root");
  EXPECT_EQ(ca.root_lifetime, Duration::Days(5 * 365));
  EXPECT_EQ(ca.intermediate_policy.lifetime, Duration::Days(30));
  EXPECT_DOUBLE_EQ(ca.intermediate_policy.renew_fraction, 0.5);
  EXPECT_EQ(ca.skew, Duration::Minutes(2));
  EXPECT_EQ(ca.import_cert, "root.pem");
  EXPECT_EQ(ca.import_key, "keys/root.key");
  EXPECT_EQ(ca.kek_file, "/etc/rotor/kek");
  // The CA's own group is added, its grace overridden to its lifetime so an
  // old intermediate stays published until it expires.
  const GroupSpec& ca_group = Group(*fleet, kCaGroupName);
  EXPECT_EQ(ca_group.kind, CredentialKind::kCaIntermediate);
  EXPECT_EQ(ca_group.identities, std::vector<std::string>{kCaIdentityId});
  EXPECT_EQ(ca_group.policy.lifetime, Duration::Days(30));
  EXPECT_EQ(ca_group.policy.grace, Duration::Days(30));
}

TEST(FleetLoaderTest, ApiKeyFleetsHaveNoCa) {
  StatusOr<FleetSpec> fleet = ParseFleet("version: 1\ngroups:\n  - {name: web, count: 2}\n", "inline.yaml", kNow);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  EXPECT_FALSE(fleet->NeedsCa());
  EXPECT_EQ(fleet->FindGroup(kCaGroupName), nullptr);
  EXPECT_EQ(fleet->groups.size(), 1u);
}

TEST(FleetLoaderTest, TabIndentationIsNamedAsTheCause) {
  StatusOr<FleetSpec> fleet =
      ParseFleet("version: 1\ngroups:\n  - name: a\n    count: 2\n    policy:\n\t  lifetime: 1h\n", "tab.yaml", kNow);
  ASSERT_FALSE(fleet.ok());
  EXPECT_THAT(fleet.status().message(), HasSubstr("tab.yaml:6:"));
  EXPECT_THAT(fleet.status().message(), HasSubstr("line 6 is indented with a tab; YAML indents with spaces only"));
  // A tab after the indentation (in a value) is no indentation.
  fleet = ParseFleet("version: 1\ngroups:\n  - name: a\tb\n    count: [2,\n", "t.yaml", kNow);
  ASSERT_FALSE(fleet.ok());
  EXPECT_THAT(fleet.status().message(), HasSubstr("YAML syntax error"));
  EXPECT_THAT(fleet.status().message(), Not(HasSubstr("indented with a tab")));
}

TEST(FleetLoaderTest, DirectoryIsNotAFleetFile) {
  StatusOr<FleetSpec> fleet = LoadFleetFile(SourceDir() + "/tests/data/fleets", kNow);
  ASSERT_FALSE(fleet.ok());
  EXPECT_THAT(fleet.status().message(), HasSubstr("is a directory"));
}

TEST(FleetLoaderTest, MapsEveryPolicyField) {
  StatusOr<FleetSpec> fleet = ParseFleet(R"(
version: 1
policies:
  full:
    lifetime: 1h30m
    renew_before: 90s
    jitter: 0.25
    grace: 2m
    backoff: {base: 3s, max: 4m}
    circuit_breaker: {max_issuances: 20, window: 2h, max_failures: 7}
    emergency_min_interval: 0
groups:
  - name: g
    policy: full
    identities: [one]
)",
                                         "inline.yaml", kNow);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  const RenewalPolicy& p = fleet->groups[0].policy;
  EXPECT_EQ(p.name, "full");
  EXPECT_EQ(p.lifetime, Duration::Minutes(90));
  EXPECT_EQ(p.renew_before, Duration::Seconds(90));
  EXPECT_DOUBLE_EQ(p.jitter, 0.25);
  EXPECT_EQ(p.grace, Duration::Minutes(2));
  EXPECT_EQ(p.backoff_base, Duration::Seconds(3));
  EXPECT_EQ(p.backoff_max, Duration::Minutes(4));
  EXPECT_EQ(p.max_issuances_per_window, 20u);
  EXPECT_EQ(p.issuance_window, Duration::Hours(2));
  EXPECT_EQ(p.max_consecutive_failures, 7u);
  EXPECT_EQ(p.emergency_min_interval, Duration::Zero());
}

TEST(FleetLoaderTest, DefaultsForKindPolicyPatternAndTimeout) {
  StatusOr<FleetSpec> fleet = ParseFleet("version: 1\ngroups:\n  - name: web\n    count: 3\n", "x.yaml", kNow);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  const GroupSpec& g = fleet->groups[0];
  EXPECT_EQ(g.kind, CredentialKind::kApiKey);
  EXPECT_EQ(g.policy, RenewalPolicy{});
  EXPECT_EQ(g.identities, (std::vector<std::string>{"web-0", "web-1", "web-2"}));
  EXPECT_EQ(g.command_timeout, Duration::Seconds(30));
  EXPECT_TRUE(g.hook.empty());
  EXPECT_TRUE(g.verify_command.empty());
}

TEST(FleetLoaderTest, ListedIdsComeBeforeGeneratedOnes) {
  StatusOr<FleetSpec> fleet = ParseFleet(R"(
version: 1
groups:
  - name: db
    identities: [db-primary]
    count: 12
    id_pattern: "db-replica-{n:02}.eu"
    labels: {tier: "1", app.kubernetes.io/name: db}
    policy: {lifetime: 10m, renew_at: "0.5", jitter: 0%}
    hook: /usr/bin/reload --all
    command_timeout: 2s
)",
                                         "x.yaml", kNow);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  const GroupSpec& g = fleet->groups[0];
  ASSERT_EQ(g.identities.size(), 13u);
  EXPECT_EQ(g.identities[0], "db-primary");
  EXPECT_EQ(g.identities[1], "db-replica-00.eu");
  EXPECT_EQ(g.identities[12], "db-replica-11.eu");
  EXPECT_EQ(g.labels.at("tier"), "1");
  EXPECT_EQ(g.labels.at("app.kubernetes.io/name"), "db");
  EXPECT_EQ(g.policy.name, "db");
  EXPECT_DOUBLE_EQ(g.policy.renew_fraction, 0.5);
  EXPECT_DOUBLE_EQ(g.policy.jitter, 0.0);
  EXPECT_EQ(g.hook, "/usr/bin/reload --all");
  EXPECT_EQ(g.command_timeout, Duration::Seconds(2));
}

TEST(FleetLoaderTest, PaddingIsAMinimumWidth) {
  StatusOr<FleetSpec> fleet =
      ParseFleet("version: 1\ngroups:\n  - {name: n, count: 101, id_pattern: 'n{n:02}'}\n", "x.yaml", kNow);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  EXPECT_EQ(fleet->groups[0].identities[7], "n07");
  EXPECT_EQ(fleet->groups[0].identities[100], "n100");
}

TEST(FleetLoaderTest, PatternThatMakesInvalidIdsIsRejected) {
  StatusOr<FleetSpec> fleet =
      ParseFleet("version: 1\ngroups:\n  - {name: n, count: 2, id_pattern: 'a/{n}'}\n", "x.yaml", kNow);
  ASSERT_FALSE(fleet.ok());
  EXPECT_THAT(fleet.status().message(), StartsWith("x.yaml:3:"));
  EXPECT_THAT(fleet.status().message(), HasSubstr("invalid id \"a/0\""));
}

TEST(FleetLoaderTest, IdsWithinOneGroupMustBeUniqueToo) {
  StatusOr<FleetSpec> fleet =
      ParseFleet("version: 1\ngroups:\n  - name: n\n    identities: [n-1]\n    count: 2\n", "x.yaml", kNow);
  ASSERT_FALSE(fleet.ok());
  EXPECT_THAT(fleet.status().message(), StartsWith("x.yaml:5:"));
  EXPECT_THAT(fleet.status().message(), HasSubstr("duplicate identity id \"n-1\""));
}

TEST(FleetLoaderTest, FleetWideCapCountsEveryGroup) {
  std::string yaml = "version: 1\ngroups:\n";
  for (int i = 0; i < 2; ++i) {
    yaml += "  - {name: g" + std::to_string(i) + ", count: 6000000}\n";
  }
  StatusOr<FleetSpec> fleet = ParseFleet(yaml, "x.yaml", kNow);
  ASSERT_FALSE(fleet.ok());
  EXPECT_THAT(fleet.status().message(), StartsWith("x.yaml:4:"));
  EXPECT_THAT(fleet.status().message(), HasSubstr("more than 10000000 identities"));
}

TEST(FleetLoaderTest, MessagesEscapeControlCharacters) {
  StatusOr<FleetSpec> fleet =
      ParseFleet("version: 1\ngroups:\n  - {name: n, identities: [\"a\\nFAKE LOG LINE\"]}\n", "x.yaml", kNow);
  ASSERT_FALSE(fleet.ok());
  EXPECT_THAT(fleet.status().message(), HasSubstr("a\\x0aFAKE"));
  EXPECT_EQ(fleet.status().message().find('\n'), std::string::npos);
}

// Whatever the bytes, the loader returns a Status: no exception, no crash.
TEST(FleetLoaderTest, NeverThrowsOnMangledInput) {
  const std::string base = ReadFile(QuickstartPath());
  ASSERT_FALSE(base.empty());
  std::mt19937 rng(20250101);
  const std::string alphabet = "{}[]:-,&*!|>'\"%@`#?\n\t 0123456789ab\\";
  for (int round = 0; round < 300; ++round) {
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 16); break;
        default: text.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    StatusOr<FleetSpec> fleet(InvalidArgument("unset"));
    ASSERT_NO_THROW(fleet = ParseFleet(text, "mangled.yaml", kNow)) << "round " << round;
    if (!fleet.ok()) {
      EXPECT_THAT(fleet.status().message(), StartsWith("mangled.yaml")) << "round " << round;
    }
  }
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes += static_cast<char>(rng() & 0xff);
  EXPECT_NO_THROW((void)ParseFleet(bytes, "random.bin", kNow));
  EXPECT_NO_THROW((void)ParseFleet(std::string(20000, '['), "deep.yaml", kNow));
  EXPECT_NO_THROW((void)ParseFleet("a: &x [*x]\n", "alias.yaml", kNow));
}

}  // namespace
}  // namespace rotor
