#include "bench/typical_identity.h"

#include <cstdio>
#include <deque>
#include <utility>

#include "engine/audit.h"

namespace rotor::bench {
namespace {

// A settle that takes more steps than this is a livelock in the machine.
constexpr int kMaxSettleSteps = 64;

// A fingerprint of the real length: "sha256:" and 64 hex digits.
std::string SyntheticFingerprint(uint64_t generation) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "sha256:%064llx", static_cast<unsigned long long>(generation));
  return buf;
}

}  // namespace

std::string TypicalId(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "payments-api-%06llu", static_cast<unsigned long long>(n % 1000000));
  return buf;
}

Event SuccessOutcome(const Effect& effect, Instant now) {
  Event ev;
  ev.generation = effect.version.generation;
  switch (effect.type) {
    case EffectType::kGenerate:
      ev.type = EventType::kGenerated;
      ev.issued_at = now;
      ev.fingerprint = SyntheticFingerprint(effect.version.generation);
      break;
    case EffectType::kDeliver: ev.type = EventType::kDelivered; break;
    case EffectType::kVerify: ev.type = EventType::kVerified; break;
    case EffectType::kActivate: ev.type = EventType::kActivated; break;
    case EffectType::kDiscard: ev.type = EventType::kDiscarded; break;
    case EffectType::kRetire: ev.type = EventType::kVersionRetired; break;
  }
  return ev;
}

Status Settle(RotationRecord* record, const Event& first, Instant now, const RenewalPolicy& policy,
              const Hasher& hasher, std::vector<std::string>* lines, std::vector<AppliedStep>* steps) {
  std::deque<Event> events{first};
  for (int n = 0; !events.empty(); ++n) {
    if (n == kMaxSettleSteps) return Internal(record->id + " does not settle");
    Event ev = std::move(events.front());
    events.pop_front();
    StepResult res = Step(*record, ev, now, policy);
    if (!res.rejected.ok()) {
      return Internal(std::string(EventTypeName(ev.type)) + " rejected for " + record->id + ": " +
                      res.rejected.ToString());
    }
    if (steps) steps->push_back(AppliedStep{*record, ev});
    *record = std::move(res.record);
    if (Status s = CheckInvariants(*record); !s.ok()) return Internal(s.ToString());
    if (res.persist) {
      std::string line = ChainAuditEvent(hasher, res.audit, now, kAuditSource, record);
      if (lines) lines->push_back(std::move(line));
    }
    for (const Effect& effect : res.effects) events.push_back(SuccessOutcome(effect, now));
  }
  return Status::Ok();
}

StatusOr<Instant> SettleNextWake(RotationRecord* record, const RenewalPolicy& policy, const Hasher& hasher,
                                 std::vector<std::string>* lines) {
  const Instant wake = record->next_due;
  Event due;
  due.type = EventType::kDue;
  ROTOR_RETURN_IF_ERROR(Settle(record, due, wake, policy, hasher, lines));
  return wake;
}

StatusOr<RotationRecord> TypicalRecord(const std::string& id, const RenewalPolicy& policy, const Hasher& hasher,
                                       std::vector<std::string>* lines) {
  RotationRecord record = NewRecord(id, kBenchGroup, CredentialKind::kApiKey, kBenchEpoch);
  for (int wake = 0; wake < 3; ++wake) {  // first issuance, rotation, retirement
    auto at = SettleNextWake(&record, policy, hasher, lines);
    if (!at.ok()) return at.status();
  }
  if (record.phase != Phase::kActive || !record.current || record.current->generation != 2 ||
      !record.retiring.empty()) {
    return Internal("typical record of " + id + " did not settle as expected (phase " + PhaseName(record.phase) + ")");
  }
  return record;
}

}  // namespace rotor::bench
