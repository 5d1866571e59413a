// engine/rotation: every transition of the state machine by table —
// (record, event, now) -> (phase', persist?, audit type, effects) — followed
// by multi-step flows run through the RotationDriver over the fakes.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/audit.h"
#include "engine/rotation.h"
#include "tests/support/fake_world.h"
#include "tests/support/printers.h"

// The tables below are aligned by hand, one row per line; clang-format would
// put every field of a row on a line of its own.
// clang-format off
namespace rotor {
namespace {

using testing::FakeWorld;
using testing::MakeFleet;
using testing::RotationDriver;

const Instant kT0 = Instant::FromSeconds(1735689600);  // 2025-01-01T00:00:00Z
const Instant kT1 = kT0 + Duration::Hours(16);          // renewal point of a 24h credential issued at kT0

RenewalPolicy Policy() {
  RenewalPolicy p;
  p.name = "table";
  p.lifetime = Duration::Hours(24);
  p.jitter = 0;
  p.grace = Duration::Minutes(5);
  p.backoff_base = Duration::Seconds(1);
  p.backoff_max = Duration::Minutes(5);
  p.max_issuances_per_window = 3;
  p.issuance_window = Duration::Hours(1);
  p.max_consecutive_failures = 3;
  p.emergency_min_interval = Duration::Seconds(60);
  return p;
}

std::string Fp(uint64_t g) { return "sha256:" + std::string(63, '0') + std::to_string(g % 10); }

CredentialVersion V(uint64_t g, Instant issued) { return {g, issued, issued + Duration::Hours(24), Fp(g)}; }

RotationRecord New() { return NewRecord("svc-a", "payments", CredentialKind::kApiKey, kT0); }

RotationRecord Active() {
  RotationRecord r = New();
  r.phase = Phase::kActive;
  r.current = V(1, kT0);
  r.next_generation = 2;
  r.next_due = kT1;
  r.window_start = kT0;
  r.issuances_in_window = 1;
  r.reason = RotationReason::kInitial;
  r.chain_seq = 5;
  r.chain_hash = std::string(64, 'a');
  return r;
}

// A rotation of generation 2 in `phase`, started at kT1.
RotationRecord InFlight(Phase phase) {
  RotationRecord r = Active();
  r.phase = phase;
  r.next_generation = 3;
  r.reason = RotationReason::kScheduled;
  r.window_start = kT1;
  r.issuances_in_window = 0;
  r.next_due = kT1;
  if (phase != Phase::kIssuing) {
    r.pending = V(2, kT1);
    r.issuances_in_window = 1;
  }
  if (phase == Phase::kRollingBack) r.consecutive_failures = 1;
  return r;
}

RotationRecord Backoff() {
  RotationRecord r = Active();
  r.phase = Phase::kBackoff;
  r.next_generation = 3;  // generation 2 was discarded
  r.reason = RotationReason::kScheduled;
  r.consecutive_failures = 1;
  r.next_due = kT1 + Duration::Seconds(10);
  return r;
}

RotationRecord Quarantined() {
  RotationRecord r = Backoff();
  r.phase = Phase::kQuarantined;
  r.consecutive_failures = 3;
  r.issuances_in_window = 3;
  r.window_start = kT1;
  r.next_due = kMaxInstant;
  return r;
}

// Committed generation 2 at kT1 + 1m; generation 1 inside its grace window.
RotationRecord WithRetiring() {
  RotationRecord r = Active();
  r.current = V(2, kT1);
  r.next_generation = 3;
  r.retiring.push_back({V(1, kT0), kT1 + Duration::Minutes(6), false});
  r.next_due = kT1 + Duration::Minutes(6);
  return r;
}

RotationRecord Retiring() {
  RotationRecord r = Active();
  r.phase = Phase::kRetiring;
  r.next_due = kT1;
  return r;
}

RotationRecord Retired() {
  RotationRecord r = New();
  r.phase = Phase::kRetired;
  r.next_generation = 3;
  r.next_due = kMaxInstant;
  return r;
}

template <typename F>
RotationRecord Edit(RotationRecord r, F f) {
  f(r);
  return r;
}

Event Ev(EventType t, uint64_t generation = 0) {
  Event e;
  e.type = t;
  e.generation = generation;
  return e;
}
Event Due() { return Ev(EventType::kDue); }
Event Generated(uint64_t g, Instant issued) {
  Event e = Ev(EventType::kGenerated, g);
  e.issued_at = issued;
  e.fingerprint = Fp(g);
  return e;
}
Event Failed(EffectType t, Status s) {
  Event e = Ev(EventType::kStepFailed);
  e.failed = t;
  e.error = std::move(s);
  return e;
}
Event Transient(EffectType t) { return Failed(t, Unavailable("try later")); }
Event Rejection(EffectType t) { return Failed(t, PermissionDenied("rejected")); }

using E = EffectType;

struct Row {
  std::string name;
  RotationRecord before;
  Event event;
  Instant now;
  Phase phase;
  bool persist;
  std::string audit;
  std::vector<EffectType> effects;
  StatusCode rejected = StatusCode::kOk;
  std::function<void(const StepResult&)> check = nullptr;
  std::optional<RenewalPolicy> policy = std::nullopt;
};

std::string EffectList(const std::vector<Effect>& effects) {
  std::string out;
  for (const auto& e : effects) out += std::string(out.empty() ? "" : ",") + EffectTypeName(e.type) + "(" +
                                       std::to_string(e.version.generation) + ")";
  return "[" + out + "]";
}

void RunRow(const Row& row) {
  SCOPED_TRACE(row.name);
  ASSERT_TRUE(CheckInvariants(row.before).ok()) << "bad fixture: " << CheckInvariants(row.before).ToString();
  const RenewalPolicy policy = row.policy.value_or(Policy());
  const StepResult res = Step(row.before, row.event, row.now, policy);
  if (row.rejected != StatusCode::kOk) {
    EXPECT_EQ(res.rejected.code(), row.rejected) << res.rejected.ToString();
    EXPECT_EQ(res.record, row.before) << "a rejected event changed the record";
    EXPECT_TRUE(res.effects.empty()) << EffectList(res.effects);
    EXPECT_FALSE(res.persist);
    return;
  }
  ASSERT_TRUE(res.rejected.ok()) << res.rejected.ToString();
  EXPECT_EQ(PhaseName(res.record.phase), std::string(PhaseName(row.phase)));
  EXPECT_EQ(res.persist, row.persist);
  EXPECT_EQ(res.persist ? res.audit.type : "", row.audit);
  if (res.persist) {
    // The audit fact names the phase the record is persisted in.
    auto it = res.audit.data.find("phase");
    ASSERT_NE(it, res.audit.data.end());
    EXPECT_EQ(std::get<std::string>(it->second), PhaseName(res.record.phase));
  } else {
    EXPECT_TRUE(res.audit.type.empty()) << "an audit fact without a persisted change: " << res.audit.type;
  }
  std::vector<EffectType> types;
  for (const auto& e : res.effects) types.push_back(e.type);
  EXPECT_EQ(types, row.effects) << EffectList(res.effects);
  EXPECT_TRUE(CheckInvariants(res.record).ok()) << CheckInvariants(res.record).ToString();
  // Effects target the right versions.
  for (const auto& e : res.effects) {
    switch (e.type) {
      case E::kGenerate:
        EXPECT_EQ(e.version.generation, res.record.next_generation - 1);
        break;
      case E::kDeliver:
      case E::kVerify:
      case E::kActivate:
        ASSERT_TRUE(res.record.pending.has_value());
        EXPECT_EQ(e.version, *res.record.pending);
        break;
      case E::kDiscard:
        if (res.record.phase == Phase::kRollingBack) {
          EXPECT_EQ(e.version, *res.record.pending);
          EXPECT_EQ(e.restore, res.record.current) << "rollback must restore current by version";
        } else {
          EXPECT_EQ(res.record.phase, Phase::kRetiring);
          EXPECT_EQ(e.version, *res.record.current);
          EXPECT_FALSE(e.restore.has_value());
        }
        break;
      case E::kRetire: {
        const auto& rv = res.record.retiring;
        EXPECT_TRUE(std::any_of(rv.begin(), rv.end(), [&](const RetiringVersion& v) {
          return v.version == e.version && (v.retire_at <= row.now || res.record.phase == Phase::kRetiring);
        })) << "retiring a version that is not retiring or still inside its grace window";
        break;
      }
    }
  }
  if (row.check) row.check(res);
}

int64_t Int(const StepResult& r, const std::string& key) { return std::get<int64_t>(r.audit.data.at(key)); }
std::string Str(const StepResult& r, const std::string& key) { return std::get<std::string>(r.audit.data.at(key)); }

// ---- kDue -------------------------------------------------------------------

TEST(RotationTableTest, Due) {
  const RenewalPolicy p = Policy();
  const std::vector<Row> rows = {
      {"new: first issuance", New(), Due(), kT0, Phase::kIssuing, true, "rotation.started", {E::kGenerate},
       StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.record.reason, RotationReason::kInitial);
         EXPECT_EQ(r.effects[0].version.generation, 1u);
         EXPECT_EQ(r.record.next_generation, 2u);
         EXPECT_EQ(Str(r, "reason"), "initial");
         EXPECT_EQ(Int(r, "generation"), 1);
       }},
      {"active before renewal: rests", Active(), Due(), kT0 + Duration::Hours(1), Phase::kActive, false, "", {},
       StatusCode::kOk, [](const StepResult& r) { EXPECT_EQ(r.record.next_due, kT1); }},
      {"active 1us before renewal", Active(), Due(), kT1 - Duration::Micros(1), Phase::kActive, false, "", {}},
      {"active at renewal: scheduled", Active(), Due(), kT1, Phase::kIssuing, true, "rotation.started",
       {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.record.reason, RotationReason::kScheduled);
         EXPECT_EQ(r.effects[0].version.generation, 2u);
         EXPECT_EQ(Int(r, "current_generation"), 1);
       }},
      {"active past expiry: overdue", Active(), Due(), kT0 + Duration::Hours(24), Phase::kIssuing, true,
       "rotation.started", {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.record.reason, RotationReason::kOverdue); }},
      {"active with a version at the end of its grace: retire first", WithRetiring(), Due(),
       kT1 + Duration::Minutes(6), Phase::kActive, false, "", {E::kRetire}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.effects[0].version.generation, 1u); }},
      {"active with a version 1us inside its grace: nothing", WithRetiring(), Due(),
       kT1 + Duration::Minutes(6) - Duration::Micros(1), Phase::kActive, false, "", {}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.record.next_due, kT1 + Duration::Minutes(6)); }},
      {"active, K issuances in the window: quarantined",
       Edit(Active(), [](RotationRecord& r) {
         r.issuances_in_window = 3;
         r.window_start = kT1 - Duration::Minutes(30);
       }),
       Due(), kT1, Phase::kQuarantined, true, "identity.quarantined", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_NE(r.record.last_error.find("circuit breaker: 3 issuances within 1h (limit 3)"), std::string::npos)
             << r.record.last_error;
         EXPECT_EQ(r.record.current, Active().current);
         EXPECT_EQ(r.record.next_due, kMaxInstant);
       }},
      {"active, K-1 issuances in the window: rotates",
       Edit(Active(), [](RotationRecord& r) {
         r.issuances_in_window = 2;
         r.window_start = kT1 - Duration::Minutes(30);
       }),
       Due(), kT1, Phase::kIssuing, true, "rotation.started", {E::kGenerate}},
      {"active, K issuances but the window ended: counter resets",
       Edit(Active(), [](RotationRecord& r) {
         r.issuances_in_window = 3;
         r.window_start = kT1 - Duration::Hours(1);
       }),
       Due(), kT1, Phase::kIssuing, true, "rotation.started", {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.record.issuances_in_window, 0u);
         EXPECT_EQ(r.record.window_start, kT1);
       }},
      {"backoff before its retry: nothing", Backoff(), Due(), kT1 + Duration::Seconds(9), Phase::kBackoff, false, "",
       {}},
      {"backoff at its retry: a new generation", Backoff(), Due(), kT1 + Duration::Seconds(10), Phase::kIssuing, true,
       "rotation.started", {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.effects[0].version.generation, 3u) << "a discarded generation was reused";
         EXPECT_EQ(r.record.reason, RotationReason::kScheduled);
         EXPECT_EQ(Int(r, "attempt"), 2);
       }},
      {"backoff of an emergency: reason emergency", Edit(Backoff(), [](RotationRecord& r) { r.emergency = true; }),
       Due(), kT1 + Duration::Seconds(10), Phase::kIssuing, true, "rotation.started", {E::kGenerate},
       StatusCode::kOk, [](const StepResult& r) { EXPECT_EQ(r.record.reason, RotationReason::kEmergency); }},
      {"backoff, K issuances in the window: quarantined",
       Edit(Backoff(), [](RotationRecord& r) {
         r.issuances_in_window = 3;
         r.window_start = kT1;
       }),
       Due(), kT1 + Duration::Seconds(10), Phase::kQuarantined, true, "identity.quarantined", {}},
      {"quarantined: stays, no issuance", Quarantined(), Due(), kT1 + Duration::Hours(2), Phase::kQuarantined, false,
       "", {}},
      {"quarantined with a version at the end of its grace", Edit(WithRetiring(), [](RotationRecord& r) {
         r.phase = Phase::kQuarantined;
       }),
       Due(), kT1 + Duration::Hours(1), Phase::kQuarantined, false, "", {E::kRetire}},
      {"issuing: generate again, same generation", InFlight(Phase::kIssuing), Due(), kT1, Phase::kIssuing, false, "",
       {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.effects[0].version.generation, 2u); }},
      {"delivering, retry due: deliver", InFlight(Phase::kDelivering), Due(), kT1, Phase::kDelivering, false, "",
       {E::kDeliver}},
      {"delivering, retry not yet due: nothing",
       Edit(InFlight(Phase::kDelivering), [](RotationRecord& r) { r.next_due = kT1 + Duration::Seconds(2); }), Due(),
       kT1 + Duration::Seconds(1), Phase::kDelivering, false, "", {}},
      {"verifying, retry due: verify", InFlight(Phase::kVerifying), Due(), kT1, Phase::kVerifying, false, "",
       {E::kVerify}},
      {"verifying, retry not yet due: nothing",
       Edit(InFlight(Phase::kVerifying), [](RotationRecord& r) { r.next_due = kT1 + Duration::Seconds(2); }), Due(),
       kT1 + Duration::Seconds(1), Phase::kVerifying, false, "", {}},
      {"committing: activate", InFlight(Phase::kCommitting), Due(), kT1, Phase::kCommitting, false, "",
       {E::kActivate}},
      {"rolling back: discard", InFlight(Phase::kRollingBack), Due(), kT1, Phase::kRollingBack, false, "",
       {E::kDiscard}},
      {"retiring: discard current", Retiring(), Due(), kT1, Phase::kRetiring, false, "", {E::kDiscard}},
      {"retired: nothing", Retired(), Due(), kT1, Phase::kRetired, false, "", {}},
  };
  (void)p;
  for (const auto& row : rows) RunRow(row);
}

// ---- Effect results -------------------------------------------------------------

TEST(RotationTableTest, Results) {
  const RenewalPolicy p = Policy();
  const Instant now = kT1 + Duration::Seconds(1);
  RenewalPolicy no_grace = p;
  no_grace.grace = Duration::Zero();
  const std::vector<Row> rows = {
      {"generated: persisted as pending, deliver", InFlight(Phase::kIssuing), Generated(2, now), now,
       Phase::kDelivering, true, "credential.issued", {E::kDeliver}, StatusCode::kOk,
       [&](const StepResult& r) {
         ASSERT_TRUE(r.record.pending);
         EXPECT_EQ(*r.record.pending, (CredentialVersion{2, now, now + p.lifetime, Fp(2)}));
         EXPECT_EQ(r.record.issuances_in_window, 1u);
         EXPECT_EQ(r.record.current, Active().current) << "current must not move before commit";
         EXPECT_EQ(Str(r, "fingerprint"), Fp(2));
       }},
      {"generated near the end of time: not_after capped at 9999-12-31",
       Edit(InFlight(Phase::kIssuing), [](RotationRecord& r) {
         r.current->issued_at = kMaxInstant - Duration::Hours(30);
         r.current->not_after = kMaxInstant - Duration::Hours(6);
       }),
       Generated(2, kMaxInstant - Duration::Hours(2)), kMaxInstant - Duration::Hours(2), Phase::kDelivering, true,
       "credential.issued", {E::kDeliver}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.record.pending->not_after, kMaxInstant); }},
      {"generated for another generation: stale", InFlight(Phase::kIssuing), Generated(1, now), now,
       Phase::kIssuing, false, "", {}, StatusCode::kFailedPrecondition},
      {"generated while delivering: stale", InFlight(Phase::kDelivering), Generated(2, now), now, Phase::kDelivering,
       false, "", {}, StatusCode::kFailedPrecondition},
      {"generated while active: stale", Active(), Generated(2, now), now, Phase::kActive, false, "", {},
       StatusCode::kFailedPrecondition},
      {"delivered: verify", InFlight(Phase::kDelivering), Ev(EventType::kDelivered, 2), now, Phase::kVerifying, true,
       "credential.delivered", {E::kVerify}},
      {"delivered for another generation: stale", InFlight(Phase::kDelivering), Ev(EventType::kDelivered, 1), now,
       Phase::kDelivering, false, "", {}, StatusCode::kFailedPrecondition},
      {"delivered while verifying: stale", InFlight(Phase::kVerifying), Ev(EventType::kDelivered, 2), now,
       Phase::kVerifying, false, "", {}, StatusCode::kFailedPrecondition},
      {"verified: activate", InFlight(Phase::kVerifying), Ev(EventType::kVerified, 2), now, Phase::kCommitting, true,
       "credential.verified", {E::kActivate}},
      {"verified before delivery: stale", InFlight(Phase::kDelivering), Ev(EventType::kVerified, 2), now,
       Phase::kDelivering, false, "", {}, StatusCode::kFailedPrecondition},
      {"verified for another generation: stale", InFlight(Phase::kVerifying), Ev(EventType::kVerified, 3), now,
       Phase::kVerifying, false, "", {}, StatusCode::kFailedPrecondition},
      {"activated: committed, previous in its grace window", InFlight(Phase::kCommitting),
       Ev(EventType::kActivated, 2), now, Phase::kActive, true, "rotation.committed", {}, StatusCode::kOk,
       [&](const StepResult& r) {
         EXPECT_EQ(r.record.current, InFlight(Phase::kCommitting).pending);
         EXPECT_FALSE(r.record.pending);
         ASSERT_EQ(r.record.retiring.size(), 1u);
         EXPECT_EQ(r.record.retiring[0].version, *Active().current);
         EXPECT_EQ(r.record.retiring[0].retire_at, now + p.grace);
         EXPECT_FALSE(r.record.retiring[0].compromised);
         EXPECT_EQ(r.record.next_due, now + p.grace) << "wake for the retirement first";
         EXPECT_EQ(r.record.consecutive_failures, 0u);
         EXPECT_EQ(Int(r, "previous_generation"), 1);
         EXPECT_EQ(Str(r, "previous_retire_at"), FormatRfc3339(now + p.grace));
         EXPECT_EQ(Str(r, "renew_at"), FormatRfc3339(kT1 + Duration::Hours(16)));
       }},
      {"activated, first issuance: no previous", Edit(InFlight(Phase::kCommitting), [](RotationRecord& r) {
         r.current.reset();
         r.reason = RotationReason::kInitial;
       }),
       Ev(EventType::kActivated, 2), now, Phase::kActive, true, "rotation.committed", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_TRUE(r.record.retiring.empty());
         EXPECT_EQ(r.record.next_due, kT1 + Duration::Hours(16));
         EXPECT_EQ(r.audit.data.count("previous_generation"), 0u);
       }},
      {"activated, previous expires inside the grace window: retire at its expiry",
       Edit(InFlight(Phase::kCommitting), [&](RotationRecord& r) { r.current->not_after = now + Duration::Minutes(2); }),
       Ev(EventType::kActivated, 2), now, Phase::kActive, true, "rotation.committed", {}, StatusCode::kOk,
       [&](const StepResult& r) { EXPECT_EQ(r.record.retiring[0].retire_at, now + Duration::Minutes(2)); }},
      {"activated, previous already expired: retired at once",
       Edit(InFlight(Phase::kCommitting), [&](RotationRecord& r) { r.current->not_after = now - Duration::Minutes(2); }),
       Ev(EventType::kActivated, 2), now, Phase::kActive, true, "rotation.committed", {E::kRetire}},
      {"activated, emergency: previous retired at commit", Edit(InFlight(Phase::kCommitting), [](RotationRecord& r) {
         r.emergency = true;
         r.reason = RotationReason::kEmergency;
       }),
       Ev(EventType::kActivated, 2), now, Phase::kActive, true, "rotation.committed", {E::kRetire}, StatusCode::kOk,
       [&](const StepResult& r) {
         EXPECT_EQ(r.record.retiring[0].retire_at, now);
         EXPECT_TRUE(r.record.retiring[0].compromised);
         EXPECT_EQ(r.effects[0].version.generation, 1u);
         EXPECT_FALSE(r.record.emergency);
         EXPECT_EQ(Int(r, "emergency"), 1);
       }},
      {"activated, no grace: previous retired at commit", InFlight(Phase::kCommitting), Ev(EventType::kActivated, 2),
       now, Phase::kActive, true, "rotation.committed", {E::kRetire}, StatusCode::kOk, nullptr, no_grace},
      {"activated before verification: stale", InFlight(Phase::kVerifying), Ev(EventType::kActivated, 2), now,
       Phase::kVerifying, false, "", {}, StatusCode::kFailedPrecondition},
      {"activated for another generation: stale", InFlight(Phase::kCommitting), Ev(EventType::kActivated, 1), now,
       Phase::kCommitting, false, "", {}, StatusCode::kFailedPrecondition},
      {"activated while active: stale", Active(), Ev(EventType::kActivated, 2), now, Phase::kActive, false, "", {},
       StatusCode::kFailedPrecondition},
      {"discarded: back off, current restored", InFlight(Phase::kRollingBack), Ev(EventType::kDiscarded, 2), now,
       Phase::kBackoff, true, "rotation.rolled_back", {}, StatusCode::kOk,
       [&](const StepResult& r) {
         EXPECT_FALSE(r.record.pending);
         EXPECT_EQ(r.record.current, Active().current) << "rollback must leave current exactly as it was";
         EXPECT_EQ(r.record.next_due, now + BackoffDelay(p, "svc-a", 1));
         EXPECT_EQ(r.record.next_generation, 3u);
         EXPECT_EQ(Int(r, "discarded_generation"), 2);
       }},
      {"discarded after M failures: quarantined",
       Edit(InFlight(Phase::kRollingBack), [](RotationRecord& r) { r.consecutive_failures = 3; }),
       Ev(EventType::kDiscarded, 2), now, Phase::kQuarantined, true, "identity.quarantined", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_FALSE(r.record.pending);
         EXPECT_EQ(r.record.current, Active().current);
         EXPECT_NE(r.record.last_error.find("3 consecutive failures"), std::string::npos);
       }},
      {"discarded after a restart (no failure counted): retry at once",
       Edit(InFlight(Phase::kRollingBack), [](RotationRecord& r) { r.consecutive_failures = 0; }),
       Ev(EventType::kDiscarded, 2), now, Phase::kBackoff, true, "rotation.rolled_back", {}, StatusCode::kOk,
       [&](const StepResult& r) { EXPECT_EQ(r.record.next_due, now); }},
      {"discarded during an emergency: retry at once",
       Edit(InFlight(Phase::kRollingBack), [](RotationRecord& r) { r.emergency = true; }),
       Ev(EventType::kDiscarded, 2), now, Phase::kBackoff, true, "rotation.rolled_back", {}, StatusCode::kOk,
       [&](const StepResult& r) { EXPECT_EQ(r.record.next_due, now); }},
      {"discarded, first issuance: nothing to restore",
       Edit(InFlight(Phase::kRollingBack), [](RotationRecord& r) { r.current.reset(); }),
       Ev(EventType::kDiscarded, 2), now, Phase::kBackoff, true, "rotation.rolled_back", {}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_FALSE(r.record.current); }},
      {"discarded for another generation: stale", InFlight(Phase::kRollingBack), Ev(EventType::kDiscarded, 1), now,
       Phase::kRollingBack, false, "", {}, StatusCode::kFailedPrecondition},
      {"discarded while retiring: retired", Retiring(), Ev(EventType::kDiscarded, 1), now, Phase::kRetired, true,
       "identity.retired", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_FALSE(r.record.current);
         EXPECT_EQ(r.record.next_due, kMaxInstant);
         EXPECT_EQ(Int(r, "last_generation"), 1);
       }},
      {"discarded while active: stale", Active(), Ev(EventType::kDiscarded, 1), now, Phase::kActive, false, "", {},
       StatusCode::kFailedPrecondition},
      {"version retired after its grace", WithRetiring(), Ev(EventType::kVersionRetired, 1),
       kT1 + Duration::Minutes(6), Phase::kActive, true, "credential.retired", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_TRUE(r.record.retiring.empty());
         EXPECT_EQ(r.record.next_due, kT1 + Duration::Hours(16)) << "next wake: the renewal of generation 2";
         EXPECT_EQ(Str(r, "reason"), "grace_ended");
       }},
      {"compromised version retired", Edit(WithRetiring(), [](RotationRecord& r) { r.retiring[0].compromised = true; }),
       Ev(EventType::kVersionRetired, 1), now, Phase::kActive, true, "credential.retired", {}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(Str(r, "reason"), "compromised"); }},
      {"version retired while the identity retires", Edit(WithRetiring(), [](RotationRecord& r) {
         r.phase = Phase::kRetiring;
       }),
       Ev(EventType::kVersionRetired, 1), now, Phase::kRetiring, true, "credential.retired", {E::kDiscard},
       StatusCode::kOk, [](const StepResult& r) { EXPECT_EQ(Str(r, "reason"), "identity_retired"); }},
      {"one of two older versions retired while the identity retires: wait for the other",
       Edit(WithRetiring(), [](RotationRecord& r) {
         r.phase = Phase::kRetiring;
         r.current = V(3, kT1 + Duration::Minutes(2));
         r.next_generation = 4;
         r.retiring.push_back({V(2, kT1), kT1 + Duration::Minutes(7), false});
       }),
       Ev(EventType::kVersionRetired, 1), now, Phase::kRetiring, true, "credential.retired", {}},
      {"unknown version retired: stale", WithRetiring(), Ev(EventType::kVersionRetired, 7), now, Phase::kActive, false,
       "", {}, StatusCode::kFailedPrecondition},
      {"current version 'retired': stale", WithRetiring(), Ev(EventType::kVersionRetired, 2), now, Phase::kActive,
       false, "", {}, StatusCode::kFailedPrecondition},
  };
  for (const auto& row : rows) RunRow(row);
}

// ---- Failures ------------------------------------------------------------------------

TEST(RotationTableTest, Failures) {
  const RenewalPolicy p = Policy();
  const Instant now = kT1 + Duration::Seconds(1);
  const std::vector<Row> rows = {
      {"generate failed (transient): back off", InFlight(Phase::kIssuing), Transient(E::kGenerate), now,
       Phase::kBackoff, true, "rotation.failed", {}, StatusCode::kOk,
       [&](const StepResult& r) {
         EXPECT_EQ(r.record.consecutive_failures, 1u);
         EXPECT_EQ(r.record.next_due, now + BackoffDelay(p, "svc-a", 1));
         EXPECT_EQ(r.record.current, Active().current);
         EXPECT_EQ(Str(r, "stage"), "generate");
         EXPECT_EQ(Int(r, "transient"), 1);
       }},
      {"generate rejected: back off", InFlight(Phase::kIssuing), Rejection(E::kGenerate), now, Phase::kBackoff, true,
       "rotation.failed", {}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(Int(r, "transient"), 0); }},
      {"generate failed the Mth time: quarantined",
       Edit(InFlight(Phase::kIssuing), [](RotationRecord& r) { r.consecutive_failures = 2; }),
       Transient(E::kGenerate), now, Phase::kQuarantined, true, "identity.quarantined", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.record.consecutive_failures, 3u);
         EXPECT_EQ(r.record.current, Active().current);
       }},
      {"deliver failed (transient): same candidate, same stage", InFlight(Phase::kDelivering),
       Transient(E::kDeliver), now, Phase::kDelivering, true, "rotation.failed", {}, StatusCode::kOk,
       [&](const StepResult& r) {
         EXPECT_EQ(r.record.pending, InFlight(Phase::kDelivering).pending) << "the candidate must be kept";
         EXPECT_EQ(r.record.stage_attempts, 1u);
         EXPECT_EQ(r.record.consecutive_failures, 0u);
         EXPECT_EQ(r.record.next_due, now + BackoffDelay(p, "svc-a", 1));
         EXPECT_EQ(Str(r, "retry"), "same_candidate");
       }},
      {"deliver failed (transient), retries exhausted: roll back",
       Edit(InFlight(Phase::kDelivering), [](RotationRecord& r) { r.stage_attempts = 2; }), Transient(E::kDeliver),
       now, Phase::kRollingBack, true, "rotation.failed", {E::kDiscard}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(Str(r, "retry"), "new_candidate"); }},
      {"deliver rejected: roll back", InFlight(Phase::kDelivering), Rejection(E::kDeliver), now, Phase::kRollingBack,
       true, "rotation.failed", {E::kDiscard}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.record.consecutive_failures, 1u); }},
      {"verify failed (transient): same candidate", InFlight(Phase::kVerifying), Transient(E::kVerify), now,
       Phase::kVerifying, true, "rotation.failed", {}},
      {"verify rejected: roll back", InFlight(Phase::kVerifying), Rejection(E::kVerify), now, Phase::kRollingBack, true,
       "rotation.failed", {E::kDiscard}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.effects[0].version.generation, 2u);
         ASSERT_TRUE(r.effects[0].restore);
         EXPECT_EQ(r.effects[0].restore->generation, 1u);
       }},
      {"activate failed (even transient): roll back", InFlight(Phase::kCommitting), Transient(E::kActivate), now,
       Phase::kRollingBack, true, "rotation.failed", {E::kDiscard}},
      {"discard failed: retry later, nothing persisted", InFlight(Phase::kRollingBack), Transient(E::kDiscard), now,
       Phase::kRollingBack, false, "", {}, StatusCode::kOk,
       [&](const StepResult& r) { EXPECT_GT(r.record.next_due, now); }},
      {"retire failed while active: retry later", WithRetiring(), Transient(E::kRetire), kT1 + Duration::Minutes(6),
       Phase::kActive, false, "", {}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.record.retiring.size(), 1u); }},
      {"retire failed while retiring: retry later", Edit(WithRetiring(), [](RotationRecord& r) {
         r.phase = Phase::kRetiring;
       }),
       Transient(E::kRetire), now, Phase::kRetiring, false, "", {}},
      // A result about another effect than the stage's own (e.g. a retirement
      // queued before an operator rotation) must not fail the rotation.
      {"retire failed during a rotation: the rotation goes on",
       Edit(InFlight(Phase::kDelivering), [](RotationRecord& r) {
         r.retiring.push_back({V(0, kT0 - Duration::Hours(24)), kT0, false});
       }),
       Rejection(E::kRetire), now, Phase::kDelivering, false, "", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.record.consecutive_failures, 0u);
         EXPECT_EQ(r.record.stage_attempts, 0u);
       }},
      {"retire failed while issuing: the rotation goes on",
       Edit(InFlight(Phase::kIssuing), [](RotationRecord& r) {
         r.retiring.push_back({V(0, kT0 - Duration::Hours(24)), kT0, false});
       }),
       Transient(E::kRetire), now, Phase::kIssuing, false, "", {}},
      {"a deliver failure while verifying: stale", InFlight(Phase::kVerifying), Rejection(E::kDeliver), now,
       Phase::kVerifying, false, "", {}, StatusCode::kFailedPrecondition},
      {"a generate failure while committing: stale", InFlight(Phase::kCommitting), Rejection(E::kGenerate), now,
       Phase::kCommitting, false, "", {}, StatusCode::kFailedPrecondition},
  };
  for (const auto& row : rows) RunRow(row);
}

// ---- Operator events, removal, recovery --------------------------------------------

TEST(RotationTableTest, OperatorRotate) {
  const Instant now = kT0 + Duration::Hours(2);
  const Event rotate = Ev(EventType::kOperatorRotate);
  const std::vector<Row> rows = {
      {"active: rotates now", Active(), rotate, now, Phase::kIssuing, true, "rotation.started", {E::kGenerate},
       StatusCode::kOk, [](const StepResult& r) { EXPECT_EQ(r.record.reason, RotationReason::kOperator); }},
      {"new: first issuance", New(), rotate, now, Phase::kIssuing, true, "rotation.started", {E::kGenerate},
       StatusCode::kOk, [](const StepResult& r) { EXPECT_EQ(r.record.reason, RotationReason::kInitial); }},
      {"backoff: retries now", Backoff(), rotate, now, Phase::kIssuing, true, "rotation.started", {E::kGenerate}},
      {"quarantined: released", Quarantined(), rotate, kT1 + Duration::Minutes(10), Phase::kIssuing, true,
       "rotation.started", {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.record.consecutive_failures, 0u);
         EXPECT_EQ(r.record.issuances_in_window, 0u);
         EXPECT_EQ(r.record.window_start, kT1 + Duration::Minutes(10));
       }},
      {"active, K issuances in the window: quarantined, not bypassed",
       Edit(Active(), [&](RotationRecord& r) {
         r.issuances_in_window = 3;
         r.window_start = now - Duration::Minutes(1);
       }),
       rotate, now, Phase::kQuarantined, true, "identity.quarantined", {}},
      {"delivering: already rotating", InFlight(Phase::kDelivering), rotate, now, Phase::kDelivering, false, "", {},
       StatusCode::kUnavailable},
      {"issuing: already rotating", InFlight(Phase::kIssuing), rotate, now, Phase::kIssuing, false, "", {},
       StatusCode::kUnavailable},
      {"rolling back: already rotating", InFlight(Phase::kRollingBack), rotate, now, Phase::kRollingBack, false, "",
       {}, StatusCode::kUnavailable},
      {"retiring: refused", Retiring(), rotate, now, Phase::kRetiring, false, "", {}, StatusCode::kFailedPrecondition},
      {"retired: refused", Retired(), rotate, now, Phase::kRetired, false, "", {}, StatusCode::kFailedPrecondition},
  };
  for (const auto& row : rows) RunRow(row);
}

TEST(RotationTableTest, EmergencyRevoke) {
  const Instant now = kT0 + Duration::Hours(2);
  const Event revoke = Ev(EventType::kOperatorRevoke);
  const std::vector<Row> rows = {
      {"active: emergency rotation", Active(), revoke, now, Phase::kIssuing, true, "rotation.started",
       {E::kGenerate}, StatusCode::kOk,
       [&](const StepResult& r) {
         EXPECT_TRUE(r.record.emergency);
         EXPECT_EQ(r.record.reason, RotationReason::kEmergency);
         EXPECT_EQ(r.record.last_emergency_at, now);
         EXPECT_EQ(Int(r, "compromised_generation"), 1);
       }},
      {"active, K issuances in the window: bypasses the bound",
       Edit(Active(), [&](RotationRecord& r) {
         r.issuances_in_window = 3;
         r.window_start = now - Duration::Minutes(1);
       }),
       revoke, now, Phase::kIssuing, true, "rotation.started", {E::kGenerate}},
      {"second within the minimum interval: rate-limited",
       Edit(Active(), [&](RotationRecord& r) { r.last_emergency_at = now - Duration::Seconds(59); }), revoke, now,
       Phase::kActive, false, "", {}, StatusCode::kResourceExhausted},
      {"second after the minimum interval: accepted",
       Edit(Active(), [&](RotationRecord& r) { r.last_emergency_at = now - Duration::Seconds(60); }), revoke, now,
       Phase::kIssuing, true, "rotation.started", {E::kGenerate}},
      {"quarantined: emergency rotation", Quarantined(), revoke, now, Phase::kIssuing, true, "rotation.started",
       {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.record.consecutive_failures, 0u); }},
      {"backoff: emergency rotation", Backoff(), revoke, now, Phase::kIssuing, true, "rotation.started",
       {E::kGenerate}},
      {"mid-rotation: marked, the commit retires at once", InFlight(Phase::kDelivering), revoke, now,
       Phase::kDelivering, true, "credential.compromised", {}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_TRUE(r.record.emergency);
         EXPECT_EQ(r.record.pending, InFlight(Phase::kDelivering).pending);
       }},
      {"new: nothing to revoke", New(), revoke, now, Phase::kNew, false, "", {}, StatusCode::kFailedPrecondition},
      {"retiring: refused", Retiring(), revoke, now, Phase::kRetiring, false, "", {},
       StatusCode::kFailedPrecondition},
      {"retired: refused", Retired(), revoke, now, Phase::kRetired, false, "", {}, StatusCode::kFailedPrecondition},
  };
  for (const auto& row : rows) RunRow(row);
}

TEST(RotationTableTest, Remove) {
  const Instant now = kT0 + Duration::Hours(2);
  const Event remove = Ev(EventType::kRemove);
  const std::vector<Row> rows = {
      {"new: retired at once", New(), remove, now, Phase::kRetired, true, "identity.retired", {}},
      {"active: retiring, current discarded", Active(), remove, now, Phase::kRetiring, true, "identity.retiring",
       {E::kDiscard}},
      {"active with an older version: that one first", WithRetiring(), remove, now, Phase::kRetiring, true,
       "identity.retiring", {E::kRetire}},
      {"backoff before the first commit: retired at once",
       Edit(Backoff(), [](RotationRecord& r) { r.current.reset(); }), remove, now, Phase::kRetired, true,
       "identity.retired", {}},
      {"backoff: retiring", Backoff(), remove, now, Phase::kRetiring, true, "identity.retiring", {E::kDiscard}},
      {"quarantined: retiring", Quarantined(), remove, now, Phase::kRetiring, true, "identity.retiring",
       {E::kDiscard}},
      {"delivering: refused until it rests", InFlight(Phase::kDelivering), remove, now, Phase::kDelivering, false, "",
       {}, StatusCode::kUnavailable},
      {"retiring: no-op", Retiring(), remove, now, Phase::kRetiring, false, "", {}},
      {"retired: no-op", Retired(), remove, now, Phase::kRetired, false, "", {}},
  };
  for (const auto& row : rows) RunRow(row);
}

TEST(RotationTableTest, Recover) {
  const Instant now = kT1 + Duration::Minutes(1);
  const Event recover = Ev(EventType::kRecover);
  const std::vector<Row> rows = {
      {"new: rests", New(), recover, now, Phase::kNew, false, "", {}},
      {"active: rests", Active(), recover, now, Phase::kActive, false, "", {}},
      {"backoff: rests", Backoff(), recover, now, Phase::kBackoff, false, "", {}},
      {"quarantined: rests", Quarantined(), recover, now, Phase::kQuarantined, false, "", {}},
      {"retired: rests", Retired(), recover, now, Phase::kRetired, false, "", {}},
      {"issuing: generate the same generation again", InFlight(Phase::kIssuing), recover, now, Phase::kIssuing,
       false, "", {E::kGenerate}, StatusCode::kOk,
       [](const StepResult& r) { EXPECT_EQ(r.effects[0].version.generation, 2u); }},
      {"delivering: the material is gone, roll back", InFlight(Phase::kDelivering), recover, now,
       Phase::kRollingBack, true, "rotation.failed", {E::kDiscard}, StatusCode::kOk,
       [](const StepResult& r) {
         EXPECT_EQ(r.record.consecutive_failures, 0u) << "a restart is not the identity's fault";
         EXPECT_EQ(r.record.current, Active().current);
       }},
      {"verifying: verify again", InFlight(Phase::kVerifying), recover, now, Phase::kVerifying, false, "",
       {E::kVerify}},
      {"committing: activate again", InFlight(Phase::kCommitting), recover, now, Phase::kCommitting, false, "",
       {E::kActivate}},
      {"rolling back: discard again", InFlight(Phase::kRollingBack), recover, now, Phase::kRollingBack, false, "",
       {E::kDiscard}},
      {"retiring: retire again", Retiring(), recover, now, Phase::kRetiring, false, "", {E::kDiscard}},
      {"retiring with an older version: that one first",
       Edit(WithRetiring(), [](RotationRecord& r) { r.phase = Phase::kRetiring; }), recover, now, Phase::kRetiring,
       false, "", {E::kRetire}},
  };
  for (const auto& row : rows) RunRow(row);
}

// ---- Flows through the driver and the fakes -------------------------------------------

class RotationFlowTest : public ::testing::Test {
 protected:
  RotationFlowTest() : world_(kT0) {}

  void Start(const RenewalPolicy& policy, std::vector<std::string> ids = {"svc-a"}) {
    RotationDriver::Options options;
    options.on_step = [this](const RotationDriver::StepTrace& t) {
      EXPECT_TRUE(CheckInvariants(t.after).ok()) << CheckInvariants(t.after).ToString();
      if (t.result.persist) audit_.push_back(t.result.audit.type);
    };
    driver_ = std::make_unique<RotationDriver>(world_.ports(), MakeFleet("payments", policy, ids), options);
    ASSERT_TRUE(driver_->DeclareFleet().ok());
  }

  const RotationRecord& R(const std::string& id = "svc-a") { return *driver_->Find(id); }
  std::vector<uint64_t> SinkGenerations(const std::string& id = "svc-a") {
    return *world_.sink.ListGenerations(id);
  }
  uint64_t SinkCurrent(const std::string& id = "svc-a") { return *world_.sink.CurrentGeneration(id); }
  Instant Now() { return world_.clock.Now(); }

  // Audit types persisted since the last call.
  std::vector<std::string> TakeAudit() {
    std::vector<std::string> out;
    out.swap(audit_);
    return out;
  }

  FakeWorld world_;
  std::unique_ptr<RotationDriver> driver_;
  std::vector<std::string> audit_;
};

using Types = std::vector<std::string>;

TEST_F(RotationFlowTest, FirstIssuanceThenScheduledRotationThenGrace) {
  const RenewalPolicy p = Policy();
  Start(p);
  ASSERT_TRUE(driver_->RunUntil(kT0).ok());
  EXPECT_EQ(TakeAudit(), (Types{"rotation.started", "credential.issued", "credential.delivered",
                                "credential.verified", "rotation.committed"}));
  EXPECT_EQ(R().phase, Phase::kActive);
  EXPECT_EQ(R().current->generation, 1u);
  EXPECT_EQ(SinkCurrent(), 1u);
  EXPECT_EQ(R().next_due, kT0 + Duration::Hours(16));

  ASSERT_TRUE(driver_->RunUntil(kT1).ok());
  EXPECT_EQ(R().current->generation, 2u);
  EXPECT_EQ(SinkCurrent(), 2u);
  // The previous version stays delivered (valid) for its grace window…
  ASSERT_TRUE(driver_->RunUntil(kT1 + p.grace - Duration::Micros(1)).ok());
  EXPECT_EQ(SinkGenerations(), (std::vector<uint64_t>{1, 2}));
  ASSERT_EQ(R().retiring.size(), 1u);
  // …and is retired when it ends.
  ASSERT_TRUE(driver_->RunUntil(kT1 + p.grace).ok());
  EXPECT_EQ(SinkGenerations(), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(R().retiring.empty());
  const Types audit = TakeAudit();
  EXPECT_EQ(audit.back(), "credential.retired");
  EXPECT_EQ(driver_->stale_outcomes(), 0u);
}

TEST_F(RotationFlowTest, TransientDeliveryFailureRetriesTheSameCandidate) {
  Start(Policy());
  world_.sink.FailNext(E::kDeliver, Unavailable("disk busy"), 2);
  ASSERT_TRUE(driver_->Settle(Duration::Hours(1)).ok());
  EXPECT_EQ(world_.generator.calls(), 1) << "a transient failure must not regenerate";
  EXPECT_EQ(world_.sink.calls(E::kDeliver), 3);
  EXPECT_EQ(R().current->generation, 1u);
  EXPECT_EQ(R().next_generation, 2u);
  EXPECT_EQ(TakeAudit(), (Types{"rotation.started", "credential.issued", "rotation.failed", "rotation.failed",
                                "credential.delivered", "credential.verified", "rotation.committed"}));
}

TEST_F(RotationFlowTest, VerifyRejectionRollsBackAndTheNextAttemptIsANewGeneration) {
  const RenewalPolicy p = Policy();
  Start(p);
  ASSERT_TRUE(driver_->RunUntil(kT0).ok());
  TakeAudit();
  world_.sink.FailNext(E::kVerify, PermissionDenied("served leaf is the old one"));
  ASSERT_TRUE(driver_->RunUntil(kT1).ok());
  // Generation 2 was discarded; current is exactly what it was.
  EXPECT_EQ(R().phase, Phase::kBackoff);
  EXPECT_EQ(R().current->generation, 1u);
  EXPECT_EQ(SinkCurrent(), 1u);
  EXPECT_EQ(SinkGenerations(), (std::vector<uint64_t>{1}));
  ASSERT_TRUE(driver_->Settle(Duration::Hours(1)).ok());
  EXPECT_EQ(R().current->generation, 3u) << "the retry must use a fresh generation";
  EXPECT_EQ(SinkCurrent(), 3u);
  EXPECT_EQ(TakeAudit(), (Types{"rotation.started", "credential.issued", "credential.delivered", "rotation.failed",
                                "rotation.rolled_back", "rotation.started", "credential.issued",
                                "credential.delivered", "credential.verified", "rotation.committed",
                                "credential.retired"}));
}

TEST_F(RotationFlowTest, CircuitBreakerOnIssuancesAndOperatorRelease) {
  RenewalPolicy p = Policy();  // at most 3 issuances per hour
  Start(p);
  ASSERT_TRUE(driver_->RunUntil(kT0).ok());  // issuance 1
  ASSERT_TRUE(driver_->Rotate("svc-a").ok());  // 2
  ASSERT_TRUE(driver_->RunFor(Duration::Minutes(1)).ok());
  ASSERT_TRUE(driver_->Rotate("svc-a").ok());  // 3
  ASSERT_TRUE(driver_->RunFor(Duration::Minutes(1)).ok());
  EXPECT_EQ(R().current->generation, 3u);
  ASSERT_TRUE(driver_->Rotate("svc-a").ok());  // 4th: the breaker opens
  EXPECT_EQ(R().phase, Phase::kQuarantined);
  EXPECT_EQ(R().current->generation, 3u);
  TakeAudit();
  // No issuance while quarantined, however long we wait…
  ASSERT_TRUE(driver_->RunFor(Duration::Days(2)).ok());
  EXPECT_EQ(R().phase, Phase::kQuarantined);
  EXPECT_EQ(R().current->generation, 3u);
  // …until an operator acts.
  ASSERT_TRUE(driver_->Rotate("svc-a").ok());
  ASSERT_TRUE(driver_->Settle(Duration::Hours(1)).ok());
  EXPECT_EQ(R().phase, Phase::kActive);
  EXPECT_EQ(R().current->generation, 4u);
}

TEST_F(RotationFlowTest, CircuitBreakerOnConsecutiveFailures) {
  RenewalPolicy p = Policy();  // M = 3
  Start(p);
  world_.generator.FailNext(PermissionDenied("issuer refuses"), 3);
  ASSERT_TRUE(driver_->RunFor(Duration::Hours(1)).ok());
  EXPECT_EQ(R().phase, Phase::kQuarantined);
  EXPECT_EQ(R().consecutive_failures, 3u);
  EXPECT_EQ(world_.generator.calls(), 3);
  EXPECT_NE(R().last_error.find("issuer refuses"), std::string::npos) << R().last_error;
  ASSERT_TRUE(driver_->Rotate("svc-a").ok());
  ASSERT_TRUE(driver_->Settle(Duration::Hours(1)).ok());
  EXPECT_EQ(R().current->generation, 4u);
}

TEST_F(RotationFlowTest, EmergencyRevokeRetiresAtCommitAndIsRateLimited) {
  RenewalPolicy p = Policy();
  p.grace = Duration::Hours(1);
  Start(p);
  ASSERT_TRUE(driver_->RunUntil(kT0 + Duration::Minutes(1)).ok());
  // Use up the issuance bound, then revoke: the bound is bypassed.
  ASSERT_TRUE(driver_->Rotate("svc-a").ok());
  ASSERT_TRUE(driver_->RunFor(Duration::Seconds(1)).ok());
  ASSERT_TRUE(driver_->Rotate("svc-a").ok());
  ASSERT_TRUE(driver_->RunFor(Duration::Seconds(1)).ok());
  EXPECT_EQ(R().current->generation, 3u);
  EXPECT_EQ(SinkGenerations(), (std::vector<uint64_t>{1, 2, 3}));
  TakeAudit();
  ASSERT_TRUE(driver_->Revoke("svc-a").ok());
  ASSERT_TRUE(driver_->RunFor(Duration::Seconds(1)).ok());
  EXPECT_EQ(R().current->generation, 4u);
  // Generation 3 is gone at once; 1 and 2 keep their ordinary grace.
  EXPECT_EQ(SinkGenerations(), (std::vector<uint64_t>{1, 2, 4}));
  const Types audit = TakeAudit();
  EXPECT_EQ(audit.front(), "rotation.started");
  EXPECT_EQ(audit.back(), "credential.retired");
  // A second emergency within the minimum interval is refused.
  Status again = driver_->Revoke("svc-a");
  EXPECT_EQ(again.code(), StatusCode::kResourceExhausted) << again.ToString();
  ASSERT_TRUE(driver_->RunFor(p.emergency_min_interval).ok());
  EXPECT_TRUE(driver_->Revoke("svc-a").ok());
  ASSERT_TRUE(driver_->Settle(Duration::Hours(2)).ok());
  EXPECT_EQ(R().current->generation, 5u);
  EXPECT_EQ(SinkGenerations(), (std::vector<uint64_t>{5}));
}

TEST_F(RotationFlowTest, RevokeDuringARotationRetiresTheOldVersionAtCommit) {
  Start(Policy());
  ASSERT_TRUE(driver_->RunUntil(kT0).ok());
  world_.sink.FailNext(E::kDeliver, Unavailable("slow disk"));
  ASSERT_TRUE(driver_->RunUntil(kT1).ok());
  ASSERT_EQ(R().phase, Phase::kDelivering);
  TakeAudit();
  ASSERT_TRUE(driver_->Revoke("svc-a").ok());
  EXPECT_EQ(TakeAudit(), Types{"credential.compromised"});
  ASSERT_TRUE(driver_->Settle(Duration::Minutes(10)).ok());
  EXPECT_EQ(R().current->generation, 2u);
  EXPECT_EQ(SinkGenerations(), (std::vector<uint64_t>{2}));
  const Types audit = TakeAudit();
  ASSERT_GE(audit.size(), 2u);
  EXPECT_EQ(audit[audit.size() - 2], "rotation.committed");
  EXPECT_EQ(audit.back(), "credential.retired");
}

TEST_F(RotationFlowTest, RemoveFromTheFleetRetiresEverything) {
  RenewalPolicy p = Policy();
  p.grace = Duration::Hours(1);
  Start(p, {"svc-a", "svc-b"});
  ASSERT_TRUE(driver_->RunUntil(kT1).ok());  // both rotated once: generation 1 in grace
  ASSERT_EQ(R("svc-a").retiring.size(), 1u);
  TakeAudit();
  ASSERT_TRUE(driver_->Remove("svc-a").ok());
  ASSERT_TRUE(driver_->RunFor(Duration::Seconds(1)).ok());
  EXPECT_EQ(R("svc-a").phase, Phase::kRetired);
  EXPECT_FALSE(R("svc-a").current);
  EXPECT_TRUE(SinkGenerations("svc-a").empty());
  EXPECT_EQ(SinkCurrent("svc-a"), 0u);
  EXPECT_EQ(TakeAudit(), (Types{"identity.retiring", "credential.retired", "identity.retired"}));
  EXPECT_EQ(R("svc-b").phase, Phase::kActive);
  EXPECT_EQ(SinkCurrent("svc-b"), 2u);
  // Retired stays retired.
  ASSERT_TRUE(driver_->RunFor(Duration::Days(3)).ok());
  EXPECT_EQ(R("svc-a").phase, Phase::kRetired);
  EXPECT_EQ(driver_->Rotate("svc-a").code(), StatusCode::kFailedPrecondition);
}

TEST_F(RotationFlowTest, RemoveDuringARotationWaitsUntilItRests) {
  Start(Policy());
  ASSERT_TRUE(driver_->RunUntil(kT0).ok());
  world_.sink.FailNext(E::kDeliver, Unavailable("slow disk"));
  ASSERT_TRUE(driver_->RunUntil(kT1).ok());
  ASSERT_EQ(R().phase, Phase::kDelivering);
  ASSERT_TRUE(driver_->Remove("svc-a").ok());
  ASSERT_TRUE(driver_->Settle(Duration::Hours(1)).ok());
  EXPECT_EQ(R().phase, Phase::kRetired);
  EXPECT_TRUE(SinkGenerations().empty());
}

TEST_F(RotationFlowTest, PersistentRetireFailureWhileRetiringBacksOffInsteadOfSpinning) {
  RenewalPolicy p = Policy();
  p.grace = Duration::Hours(1);
  Start(p);
  ASSERT_TRUE(driver_->RunUntil(kT1).ok());
  ASSERT_EQ(R().retiring.size(), 1u);
  const Instant heal = Now() + Duration::Minutes(10);
  world_.sink.SetFault([&](EffectType op, const std::string&, uint64_t) {
    return op == E::kRetire && world_.clock.Now() < heal ? Unavailable("revocation endpoint down") : Status::Ok();
  });
  ASSERT_TRUE(driver_->Remove("svc-a").ok());
  Status s = driver_->Settle(Duration::Hours(1));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(R().phase, Phase::kRetired);
  EXPECT_TRUE(SinkGenerations().empty());
  EXPECT_LT(world_.sink.calls(E::kRetire), 100) << "retries must back off";
  // While the older version could not be retired, the current one stayed delivered.
  EXPECT_LE(world_.sink.calls(E::kDiscard), 2);
}

TEST_F(RotationFlowTest, StoreFailureLeavesTheDurableRecordInCharge) {
  Start(Policy());
  world_.store.FailNextCommits(Unavailable("disk full"));
  ASSERT_TRUE(driver_->Settle(Duration::Hours(1)).ok());
  EXPECT_EQ(driver_->store_errors(), 1u);
  EXPECT_EQ(R().phase, Phase::kActive);
  EXPECT_EQ(SinkCurrent(), R().current->generation);
}

TEST_F(RotationFlowTest, HookAndVerifyCommandGetTheirEnvironment) {
  FleetSpec fleet = MakeFleet("payments", Policy(), {"svc-a"});
  fleet.groups[0].hook = "reload-app";
  fleet.groups[0].verify_command = "probe";
  driver_ = std::make_unique<RotationDriver>(world_.ports(), fleet);
  ASSERT_TRUE(driver_->DeclareFleet().ok());
  world_.commands.FailNext(Status::Ok());
  world_.commands.FailNext(PermissionDenied("probe saw the old key"));
  ASSERT_TRUE(driver_->Settle(Duration::Hours(1)).ok());
  const auto& calls = world_.commands.calls();
  ASSERT_GE(calls.size(), 4u);
  EXPECT_EQ(calls[0].command, "reload-app");
  EXPECT_EQ(calls[0].env.at("ROTOR_IDENTITY"), "svc-a");
  EXPECT_EQ(calls[0].env.at("ROTOR_GENERATION"), "1");
  EXPECT_EQ(calls[1].command, "probe");
  EXPECT_EQ(R().current->generation, 2u) << "a failed verify command rolls back; the retry is generation 2";
}

}  // namespace
}  // namespace rotor

namespace rotor {
namespace {

// A group move (fleet reload) changes only the group, with one audit event,
// in any phase but retirement; a move to the same group or to none is refused.
TEST(RotationRegroupTest, MovesTheGroupWithOneEventAndNothingElse) {
  Event ev;
  ev.type = EventType::kRegroup;
  ev.group = "billing";
  for (const RotationRecord& before : {New(), Active(), InFlight(Phase::kVerifying)}) {
    SCOPED_TRACE(PhaseName(before.phase));
    const StepResult res = Step(before, ev, kT1, Policy());
    ASSERT_TRUE(res.rejected.ok()) << res.rejected.ToString();
    EXPECT_TRUE(res.persist);
    EXPECT_EQ(res.audit.type, "identity.updated");
    EXPECT_EQ(std::get<std::string>(res.audit.data.at("previous_group")), "payments");
    EXPECT_EQ(std::get<std::string>(res.audit.data.at("group")), "billing");
    EXPECT_TRUE(res.effects.empty());
    RotationRecord expected = before;
    expected.group = "billing";
    EXPECT_EQ(res.record, expected);
  }
  RotationRecord retired = New();
  retired.phase = Phase::kRetired;
  EXPECT_FALSE(Step(retired, ev, kT1, Policy()).rejected.ok());
  ev.group = "payments";
  EXPECT_FALSE(Step(Active(), ev, kT1, Policy()).rejected.ok());
  ev.group = "";
  EXPECT_FALSE(Step(Active(), ev, kT1, Policy()).rejected.ok());
}

}  // namespace
}  // namespace rotor
// clang-format on
