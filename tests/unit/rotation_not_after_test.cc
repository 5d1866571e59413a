// engine/rotation: the expiry a generated credential carries. A certificate's
// notAfter may be capped by its issuer's, so a kGenerated event with
// `not_after` set must make that the pending version's expiry and the base of
// its renewal point (ARCHITECTURE §3); without it the machine derives
// issued_at + the policy's lifetime.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>

#include "engine/policy.h"
#include "engine/rotation.h"
#include "tests/support/printers.h"

namespace rotor {
namespace {

const Instant kT0 = Instant::FromSeconds(1735689600);  // 2025-01-01T00:00:00Z
const std::string kFp = "sha256:" + std::string(64, 'c');

RenewalPolicy Policy() {
  RenewalPolicy p;
  p.name = "certs";
  p.lifetime = Duration::Hours(24);
  p.jitter = 0.1;  // the comparison goes through RenewalPoint, jitter included
  return p;
}

std::string AuditString(const StepResult& res, const std::string& key) {
  auto it = res.audit.data.find(key);
  if (it == res.audit.data.end() || !std::holds_alternative<std::string>(it->second)) return "<missing>";
  return std::get<std::string>(it->second);
}

// Rotation drives a new identity kDue -> kGenerated -> ... -> kActivated.
class Rotation {
 public:
  explicit Rotation(RenewalPolicy policy) : policy_(std::move(policy)) {
    record_ = NewRecord("web-1", "web", CredentialKind::kX509, kT0);
  }

  // Due starts the first issuance and returns the generation asked for.
  uint64_t Due() {
    StepResult res = Apply(Event{}, kT0);
    EXPECT_EQ(record_.phase, Phase::kIssuing);
    EXPECT_EQ(res.effects.size(), 1u);
    if (res.effects.size() != 1) return 0;
    EXPECT_EQ(res.effects[0].type, EffectType::kGenerate);
    return res.effects[0].version.generation;
  }

  StepResult Generated(uint64_t generation, Instant issued_at, Instant not_after) {
    Event e;
    e.type = EventType::kGenerated;
    e.generation = generation;
    e.issued_at = issued_at;
    e.not_after = not_after;
    e.fingerprint = kFp;
    return Apply(e, issued_at);
  }

  // Commit feeds delivered, verified and activated for the pending version.
  StepResult Commit(Instant now) {
    const uint64_t g = record_.pending ? record_.pending->generation : 0;
    StepResult res;
    for (EventType t : {EventType::kDelivered, EventType::kVerified, EventType::kActivated}) {
      Event e;
      e.type = t;
      e.generation = g;
      res = Apply(e, now);
    }
    EXPECT_EQ(record_.phase, Phase::kActive);
    return res;
  }

  const RotationRecord& record() const { return record_; }
  const RenewalPolicy& policy() const { return policy_; }

 private:
  StepResult Apply(const Event& e, Instant now) {
    StepResult res = Step(record_, e, now, policy_);
    EXPECT_TRUE(res.rejected.ok()) << EventTypeName(e.type) << ": " << res.rejected.ToString();
    EXPECT_TRUE(CheckInvariants(res.record).ok()) << CheckInvariants(res.record).ToString();
    record_ = res.record;
    return res;
  }

  RenewalPolicy policy_;
  RotationRecord record_;
};

TEST(RotationNotAfterTest, GeneratedNotAfterIsThePendingExpiryAndTheBaseOfTheRenewalPoint) {
  Rotation rot(Policy());
  const uint64_t g = rot.Due();
  ASSERT_EQ(g, 1u);
  const Instant issued = kT0 + Duration::Seconds(2);
  // Capped: the issuer expires in 6 hours, well before the 24h lifetime.
  const Instant capped = issued + Duration::Hours(6);

  StepResult gen = rot.Generated(g, issued, capped);
  ASSERT_TRUE(rot.record().pending.has_value());
  EXPECT_EQ(rot.record().phase, Phase::kDelivering);
  EXPECT_EQ(rot.record().pending->issued_at, issued);
  EXPECT_EQ(rot.record().pending->not_after, capped);
  EXPECT_EQ(rot.record().pending->fingerprint, kFp);
  ASSERT_TRUE(gen.persist);
  EXPECT_EQ(gen.audit.type, "credential.issued");
  EXPECT_EQ(AuditString(gen, "not_after"), FormatRfc3339(capped));
  ASSERT_EQ(gen.effects.size(), 1u);
  EXPECT_EQ(gen.effects[0].type, EffectType::kDeliver);
  EXPECT_EQ(gen.effects[0].version.not_after, capped) << "the effect carries the version as recorded";

  StepResult commit = rot.Commit(issued + Duration::Seconds(1));
  ASSERT_TRUE(rot.record().current.has_value());
  EXPECT_EQ(rot.record().current->not_after, capped);
  const Instant renew = RenewalPoint(rot.policy(), "web-1", issued, capped);
  EXPECT_EQ(rot.record().next_due, renew);
  EXPECT_NE(renew, RenewalPoint(rot.policy(), "web-1", issued, issued + Duration::Hours(24)))
      << "the capped expiry, not the policy lifetime, must drive renewal";
  EXPECT_GT(renew, issued);
  EXPECT_LE(renew, capped);
  EXPECT_EQ(commit.audit.type, "rotation.committed");
  EXPECT_EQ(AuditString(commit, "not_after"), FormatRfc3339(capped));
  EXPECT_EQ(AuditString(commit, "renew_at"), FormatRfc3339(renew));
}

TEST(RotationNotAfterTest, GeneratedWithoutNotAfterDerivesIssuedAtPlusLifetime) {
  Rotation rot(Policy());
  const uint64_t g = rot.Due();
  const Instant issued = kT0 + Duration::Seconds(2);
  StepResult gen = rot.Generated(g, issued, Instant{});
  ASSERT_TRUE(rot.record().pending.has_value());
  const Instant derived = issued + Duration::Hours(24);
  EXPECT_EQ(rot.record().pending->not_after, derived);
  EXPECT_EQ(AuditString(gen, "not_after"), FormatRfc3339(derived));

  rot.Commit(issued + Duration::Seconds(1));
  ASSERT_TRUE(rot.record().current.has_value());
  EXPECT_EQ(rot.record().current->not_after, derived);
  EXPECT_EQ(rot.record().next_due, RenewalPoint(rot.policy(), "web-1", issued, derived));
}

TEST(RotationNotAfterTest, CappedNotAfterWithRenewBeforeStillRenewsInsideTheValidity) {
  // A fixed renew_before is validated against the lifetime, but a capped
  // notAfter can be shorter than it: the renewal point must still lie in
  // (issued_at, not_after].
  RenewalPolicy p = Policy();
  p.renew_before = Duration::Hours(2);
  Rotation rot(p);
  const uint64_t g = rot.Due();
  const Instant issued = kT0 + Duration::Seconds(2);
  const Instant capped = issued + Duration::Hours(5);
  rot.Generated(g, issued, capped);
  rot.Commit(issued + Duration::Seconds(1));
  const Instant renew = RenewalPoint(p, "web-1", issued, capped);
  EXPECT_EQ(rot.record().next_due, renew);
  EXPECT_LE(renew, capped - Duration::Hours(2)) << "renew_before is measured from the capped expiry";
  EXPECT_GT(renew, issued);
}

TEST(RotationNotAfterTest, NotAfterOfTheNextRotationIsTakenFromItsOwnEvent) {
  Rotation rot(Policy());
  uint64_t g = rot.Due();
  const Instant issued1 = kT0 + Duration::Seconds(1);
  rot.Generated(g, issued1, issued1 + Duration::Hours(6));
  rot.Commit(issued1 + Duration::Seconds(1));

  // At the renewal point the second generation is issued without a cap.
  const Instant due = rot.record().next_due;
  StepResult res = Step(rot.record(), Event{}, due, rot.policy());
  ASSERT_TRUE(res.rejected.ok());
  ASSERT_EQ(res.effects.size(), 1u);
  ASSERT_EQ(res.effects[0].type, EffectType::kGenerate);
  g = res.effects[0].version.generation;
  EXPECT_EQ(g, 2u);

  RotationRecord r = res.record;
  Event e;
  e.type = EventType::kGenerated;
  e.generation = g;
  e.issued_at = due;
  e.fingerprint = kFp;
  StepResult gen = Step(r, e, due, rot.policy());
  ASSERT_TRUE(gen.rejected.ok()) << gen.rejected.ToString();
  ASSERT_TRUE(gen.record.pending.has_value());
  EXPECT_EQ(gen.record.pending->not_after, due + Duration::Hours(24));
  EXPECT_EQ(gen.record.current->not_after, issued1 + Duration::Hours(6)) << "the current version keeps its own";
}

}  // namespace
}  // namespace rotor
