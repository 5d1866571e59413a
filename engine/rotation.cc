#include "engine/rotation.h"

#include <algorithm>
#include <limits>
#include <optional>

namespace rotor {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kDue: return "due";
    case EventType::kGenerated: return "generated";
    case EventType::kDelivered: return "delivered";
    case EventType::kVerified: return "verified";
    case EventType::kActivated: return "activated";
    case EventType::kDiscarded: return "discarded";
    case EventType::kVersionRetired: return "version_retired";
    case EventType::kStepFailed: return "step_failed";
    case EventType::kOperatorRotate: return "operator_rotate";
    case EventType::kOperatorRevoke: return "operator_revoke";
    case EventType::kRemove: return "remove";
    case EventType::kRecover: return "recover";
    case EventType::kRegroup: return "regroup";
  }
  return "unknown";
}

const char* EffectTypeName(EffectType type) {
  switch (type) {
    case EffectType::kGenerate: return "generate";
    case EffectType::kDeliver: return "deliver";
    case EffectType::kVerify: return "verify";
    case EffectType::kActivate: return "activate";
    case EffectType::kDiscard: return "discard";
    case EffectType::kRetire: return "retire";
  }
  return "unknown";
}

RotationRecord NewRecord(std::string id, std::string group, CredentialKind kind, Instant now) {
  RotationRecord r;
  r.id = std::move(id);
  r.group = std::move(group);
  r.kind = kind;
  r.phase = Phase::kNew;
  r.next_due = now;
  r.window_start = now;
  return r;
}

namespace {

constexpr Instant kNever = kMaxInstant;

// Machine carries one step: the working copy of the record and what it produces.
class Machine {
 public:
  Machine(const RotationRecord& r, Instant now, const RenewalPolicy& p) : now_(now), p_(p) { res_.record = r; }

  StepResult Apply(const Event& ev) {
    switch (ev.type) {
      case EventType::kDue: OnDue(); break;
      case EventType::kGenerated: OnGenerated(ev); break;
      case EventType::kDelivered:
        Advance(ev, Phase::kDelivering, Phase::kVerifying, "credential.delivered", EffectType::kVerify);
        break;
      case EventType::kVerified:
        Advance(ev, Phase::kVerifying, Phase::kCommitting, "credential.verified", EffectType::kActivate);
        break;
      case EventType::kActivated: OnActivated(ev); break;
      case EventType::kDiscarded: OnDiscarded(ev); break;
      case EventType::kVersionRetired: OnVersionRetired(ev.generation); break;
      case EventType::kStepFailed: OnFailed(ev); break;
      case EventType::kOperatorRotate: OnOperatorRotate(); break;
      case EventType::kOperatorRevoke: OnOperatorRevoke(); break;
      case EventType::kRemove: OnRemove(); break;
      case EventType::kRecover: OnRecover(); break;
      case EventType::kRegroup: OnRegroup(ev); break;
    }
    return std::move(res_);
  }

 private:
  RotationRecord& r() { return res_.record; }

  void Persist(std::string type) {
    res_.persist = true;
    res_.audit.type = std::move(type);
    res_.audit.data["phase"] = std::string(PhaseName(r().phase));
  }
  void Data(const std::string& key, std::string value) { res_.audit.data[key] = std::move(value); }
  void Data(const std::string& key, int64_t value) { res_.audit.data[key] = value; }
  void Reject(Status s) { res_.rejected = std::move(s); }
  void Emit(EffectType type, const CredentialVersion& v, std::optional<CredentialVersion> restore = std::nullopt) {
    res_.effects.push_back(Effect{type, v, std::move(restore)});
  }

  uint64_t InFlightGeneration() { return r().next_generation - 1; }

  Instant EarliestRetirement() {
    Instant t = kNever;
    for (const auto& rv : r().retiring) t = std::min(t, rv.retire_at);
    return t;
  }

  // Wake time of a resting identity.
  void ScheduleResting() {
    switch (r().phase) {
      case Phase::kActive: {
        const auto& c = *r().current;
        r().next_due = std::min(RenewalPoint(p_, r().id, c.issued_at, c.not_after), EarliestRetirement());
        break;
      }
      case Phase::kQuarantined: r().next_due = EarliestRetirement(); break;
      case Phase::kRetired: r().next_due = kNever; break;
      default: break;  // kBackoff and kNew set next_due explicitly
    }
  }

  void EmitDueRetirements() {
    for (const auto& rv : r().retiring) {
      if (rv.retire_at <= now_) Emit(EffectType::kRetire, rv.version);
    }
  }

  void OnDue() {
    switch (r().phase) {
      case Phase::kNew: StartRotation(RotationReason::kInitial); return;
      case Phase::kActive:
      case Phase::kBackoff:
      case Phase::kQuarantined: {
        EmitDueRetirements();
        if (!res_.effects.empty()) {  // retire first; the next wake rotates
          if (r().phase != Phase::kBackoff) ScheduleResting();
          return;
        }
        if (r().phase == Phase::kQuarantined) {
          ScheduleResting();
          return;
        }
        if (r().phase == Phase::kBackoff) {
          if (now_ >= r().next_due) {
            StartRotation(r().emergency ? RotationReason::kEmergency : r().reason);
          }
          return;
        }
        const auto& c = *r().current;
        if (now_ >= c.not_after) {
          StartRotation(RotationReason::kOverdue);
        } else if (now_ >= RenewalPoint(p_, r().id, c.issued_at, c.not_after)) {
          StartRotation(RotationReason::kScheduled);
        } else {
          ScheduleResting();
        }
        return;
      }
      case Phase::kIssuing: Emit(EffectType::kGenerate, CredentialVersion{InFlightGeneration(), {}, {}, {}}); return;
      case Phase::kDelivering:
        if (now_ >= r().next_due) Emit(EffectType::kDeliver, *r().pending);
        return;
      case Phase::kVerifying:
        if (now_ >= r().next_due) Emit(EffectType::kVerify, *r().pending);
        return;
      case Phase::kCommitting: Emit(EffectType::kActivate, *r().pending); return;
      case Phase::kRollingBack: Emit(EffectType::kDiscard, *r().pending, r().current); return;
      case Phase::kRetiring: EmitRetiring(); return;
      case Phase::kRetired: return;
    }
  }

  void StartRotation(RotationReason reason) {
    auto& rec = r();
    if (now_ - rec.window_start >= p_.issuance_window) {
      rec.window_start = now_;
      rec.issuances_in_window = 0;
    }
    if (!rec.emergency && rec.issuances_in_window >= p_.max_issuances_per_window) {
      Quarantine("circuit breaker: " + std::to_string(rec.issuances_in_window) + " issuances within " +
                 FormatDuration(p_.issuance_window) + " (limit " + std::to_string(p_.max_issuances_per_window) + ")");
      return;
    }
    rec.phase = Phase::kIssuing;
    rec.reason = reason;
    rec.stage_attempts = 0;
    const uint64_t generation = rec.next_generation++;
    Persist("rotation.started");
    Data("reason", RotationReasonName(reason));
    Data("generation", static_cast<int64_t>(generation));
    Data("attempt", static_cast<int64_t>(rec.consecutive_failures) + 1);
    if (rec.current) Data("current_generation", static_cast<int64_t>(rec.current->generation));
    Emit(EffectType::kGenerate, CredentialVersion{generation, {}, {}, {}});
  }

  void Quarantine(const std::string& why) {
    r().phase = Phase::kQuarantined;
    r().last_error = why;
    ScheduleResting();
    Persist("identity.quarantined");
    Data("reason", why);
    Data("consecutive_failures", static_cast<int64_t>(r().consecutive_failures));
  }

  void OnGenerated(const Event& ev) {
    auto& rec = r();
    if (rec.phase != Phase::kIssuing) return Reject(FailedPrecondition("stale generation result"));
    if (ev.generation != InFlightGeneration())
      return Reject(FailedPrecondition("generation result for another generation"));
    CredentialVersion v;
    v.generation = InFlightGeneration();
    v.issued_at = ev.issued_at;
    if (ev.not_after.micros != 0) {
      v.not_after = ev.not_after;  // what the credential itself carries (e.g. a capped notAfter)
    } else {
      v.not_after =
          ev.issued_at.micros > kMaxInstant.micros - p_.lifetime.micros ? kMaxInstant : ev.issued_at + p_.lifetime;
    }
    v.fingerprint = ev.fingerprint;
    rec.pending = v;
    rec.issuances_in_window++;
    rec.phase = Phase::kDelivering;
    rec.stage_attempts = 0;
    rec.next_due = now_;
    Persist("credential.issued");
    Data("generation", static_cast<int64_t>(v.generation));
    Data("fingerprint", v.fingerprint);
    Data("issued_at", FormatRfc3339(v.issued_at));
    Data("not_after", FormatRfc3339(v.not_after));
    Emit(EffectType::kDeliver, v);
  }

  // A result counts only for the version in flight: one about another
  // generation is stale, so a version advances only on its own results.
  bool ForPending(const Event& ev) { return r().pending && ev.generation == r().pending->generation; }

  void Advance(const Event& ev, Phase from, Phase to, const char* audit_type, EffectType next) {
    auto& rec = r();
    if (rec.phase != from || !ForPending(ev)) return Reject(FailedPrecondition("stale result"));
    rec.phase = to;
    rec.stage_attempts = 0;
    rec.next_due = now_;
    Persist(audit_type);
    Data("generation", static_cast<int64_t>(rec.pending->generation));
    Emit(next, *rec.pending);
  }

  void OnActivated(const Event& ev) {
    auto& rec = r();
    if (rec.phase != Phase::kCommitting || !ForPending(ev)) return Reject(FailedPrecondition("stale activation"));
    std::optional<CredentialVersion> previous = rec.current;
    if (previous) {
      Instant retire_at = rec.emergency ? now_ : std::min(now_ + p_.grace, previous->not_after);
      rec.retiring.push_back(RetiringVersion{*previous, retire_at, rec.emergency});
    }
    rec.current = rec.pending;
    rec.pending.reset();
    rec.phase = Phase::kActive;
    const bool was_emergency = rec.emergency;
    rec.emergency = false;
    rec.consecutive_failures = 0;
    rec.stage_attempts = 0;
    rec.last_error.clear();
    ScheduleResting();
    Persist("rotation.committed");
    Data("generation", static_cast<int64_t>(rec.current->generation));
    Data("fingerprint", rec.current->fingerprint);
    Data("not_after", FormatRfc3339(rec.current->not_after));
    Data("renew_at", FormatRfc3339(RenewalPoint(p_, rec.id, rec.current->issued_at, rec.current->not_after)));
    Data("reason", RotationReasonName(rec.reason));
    if (previous) {
      Data("previous_generation", static_cast<int64_t>(previous->generation));
      Data("previous_retire_at", FormatRfc3339(rec.retiring.back().retire_at));
    }
    if (was_emergency) Data("emergency", int64_t{1});
    EmitDueRetirements();
  }

  void OnDiscarded(const Event& ev) {
    auto& rec = r();
    if (rec.phase == Phase::kRetiring && rec.current && ev.generation == rec.current->generation) {
      return FinishRetiring();
    }
    if (rec.phase != Phase::kRollingBack || !ForPending(ev)) return Reject(FailedPrecondition("stale discard"));
    const uint64_t discarded = rec.pending->generation;
    rec.pending.reset();
    if (rec.consecutive_failures >= p_.max_consecutive_failures) {
      Quarantine("circuit breaker: " + std::to_string(rec.consecutive_failures) +
                 " consecutive failures; last: " + rec.last_error);
      Data("discarded_generation", static_cast<int64_t>(discarded));
      return;
    }
    rec.phase = Phase::kBackoff;
    // A rollback caused by a restart is not the identity's fault: retry at once.
    rec.next_due = rec.consecutive_failures == 0 || rec.emergency
                       ? now_
                       : now_ + BackoffDelay(p_, rec.id, rec.consecutive_failures);
    Persist("rotation.rolled_back");
    Data("discarded_generation", static_cast<int64_t>(discarded));
    if (rec.current) Data("current_generation", static_cast<int64_t>(rec.current->generation));
    Data("next_attempt_at", FormatRfc3339(rec.next_due));
  }

  void OnVersionRetired(uint64_t generation) {
    auto& rec = r();
    auto it = std::find_if(rec.retiring.begin(), rec.retiring.end(),
                           [&](const RetiringVersion& rv) { return rv.version.generation == generation; });
    if (it == rec.retiring.end()) return Reject(FailedPrecondition("stale retirement"));
    const bool compromised = it->compromised;
    rec.retiring.erase(it);
    if (rec.phase == Phase::kActive || rec.phase == Phase::kQuarantined) ScheduleResting();
    Persist("credential.retired");
    Data("generation", static_cast<int64_t>(generation));
    Data("reason", compromised ? "compromised" : rec.phase == Phase::kRetiring ? "identity_retired" : "grace_ended");
    // The older versions are gone: now the current one may go.
    if (rec.phase == Phase::kRetiring && rec.retiring.empty()) EmitRetiring();
  }

  // The effect whose outcome moves a rotation in `phase` on.
  static std::optional<EffectType> StageEffect(Phase phase) {
    switch (phase) {
      case Phase::kIssuing: return EffectType::kGenerate;
      case Phase::kDelivering: return EffectType::kDeliver;
      case Phase::kVerifying: return EffectType::kVerify;
      case Phase::kCommitting: return EffectType::kActivate;
      default: return std::nullopt;
    }
  }

  void OnFailed(const Event& ev) {
    auto& rec = r();
    const std::string stage = EffectTypeName(ev.failed);
    const auto own = StageEffect(rec.phase);
    if (own && ev.failed != *own) {
      // Not this stage's effect. A retirement queued before the rotation
      // started is retried once the identity rests; it must not fail the
      // rotation. Anything else is a stale result.
      if (ev.failed != EffectType::kRetire) return Reject(FailedPrecondition("stale " + stage + " failure"));
      rec.last_error = stage + ": " + ev.error.ToString();
      return;
    }
    switch (rec.phase) {
      case Phase::kIssuing: {
        rec.consecutive_failures++;
        rec.last_error = stage + ": " + ev.error.ToString();
        if (rec.consecutive_failures >= p_.max_consecutive_failures) {
          Quarantine("circuit breaker: " + std::to_string(rec.consecutive_failures) +
                     " consecutive failures; last: " + rec.last_error);
          return;
        }
        rec.phase = Phase::kBackoff;
        rec.next_due = now_ + BackoffDelay(p_, rec.id, rec.consecutive_failures);
        Persist("rotation.failed");
        FailureData(stage, ev.error);
        Data("generation", static_cast<int64_t>(InFlightGeneration()));  // never issued, never reused
        return;
      }
      case Phase::kDelivering:
      case Phase::kVerifying:
      case Phase::kCommitting: {
        rec.last_error = stage + ": " + ev.error.ToString();
        if (IsTransient(ev.error) && rec.phase != Phase::kCommitting &&
            rec.stage_attempts + 1 < p_.max_consecutive_failures) {
          // Transient: retry the same candidate at the same stage after a back-off.
          rec.stage_attempts++;
          rec.next_due = now_ + BackoffDelay(p_, rec.id, rec.stage_attempts);
          Persist("rotation.failed");
          FailureData(stage, ev.error);
          Data("retry", "same_candidate");
          return;
        }
        // A rejection: discard this candidate; the next attempt generates a fresh one.
        rec.consecutive_failures++;
        rec.phase = Phase::kRollingBack;
        // The candidate's retries are over: a leftover count would report the
        // last retry's (past) time as next_attempt_at.
        rec.stage_attempts = 0;
        Persist("rotation.failed");
        FailureData(stage, ev.error);
        Data("retry", "new_candidate");
        Emit(EffectType::kDiscard, *rec.pending, rec.current);
        return;
      }
      default:
        // Only a discard or a retirement can fail outside a rotation stage;
        // anything else (or anything once retired) is a stale result.
        if (rec.phase == Phase::kRetired || rec.phase == Phase::kNew ||
            (ev.failed != EffectType::kDiscard && ev.failed != EffectType::kRetire)) {
          return Reject(FailedPrecondition("stale " + stage + " failure"));
        }
        // Discard or retire failed: nothing changes durably; try again later.
        rec.last_error = stage + ": " + ev.error.ToString();
        rec.next_due = now_ + BackoffDelay(p_, rec.id, ++rec.stage_attempts);
        return;
    }
  }

  void FailureData(const std::string& stage, const Status& error) {
    Data("stage", stage);
    Data("error", error.ToString());
    Data("transient", static_cast<int64_t>(IsTransient(error) ? 1 : 0));
    Data("consecutive_failures", static_cast<int64_t>(r().consecutive_failures));
    if (r().pending) Data("generation", static_cast<int64_t>(r().pending->generation));
    if (r().phase == Phase::kBackoff || r().stage_attempts > 0) Data("next_attempt_at", FormatRfc3339(r().next_due));
  }

  void OnOperatorRotate() {
    auto& rec = r();
    switch (rec.phase) {
      case Phase::kNew:
      case Phase::kActive:
      case Phase::kBackoff:
      case Phase::kQuarantined:
        if (rec.phase == Phase::kQuarantined) {
          rec.consecutive_failures = 0;
          rec.issuances_in_window = 0;
          rec.window_start = now_;
        }
        // An emergency waiting in back-off stays one: the compromised version
        // must still go at commit, and the issuance bound still does not apply.
        StartRotation(rec.phase == Phase::kNew ? RotationReason::kInitial
                      : rec.emergency          ? RotationReason::kEmergency
                                               : RotationReason::kOperator);
        return;
      case Phase::kRetiring:
      case Phase::kRetired: return Reject(FailedPrecondition(rec.id + " is retired"));
      default: return Reject(Unavailable(rec.id + " " + kAlreadyRotating + " (" + PhaseName(rec.phase) + ")"));
    }
  }

  void OnOperatorRevoke() {
    auto& rec = r();
    if (rec.phase == Phase::kRetiring || rec.phase == Phase::kRetired) {
      return Reject(FailedPrecondition(rec.id + " is retired"));
    }
    if (!rec.current) return Reject(FailedPrecondition(rec.id + " has no issued credential to revoke"));
    if (rec.last_emergency_at.micros != 0 && now_ - rec.last_emergency_at < p_.emergency_min_interval) {
      return Reject(Status(
          StatusCode::kResourceExhausted,
          "emergency rotations of " + rec.id + " are limited to one per " + FormatDuration(p_.emergency_min_interval)));
    }
    rec.last_emergency_at = now_;
    rec.emergency = true;
    if (IsResting(rec.phase)) {
      rec.consecutive_failures = 0;
      StartRotation(RotationReason::kEmergency);
      Data("compromised_generation", static_cast<int64_t>(rec.current->generation));
      return;
    }
    Persist("credential.compromised");
    Data("generation", static_cast<int64_t>(rec.current->generation));
  }

  void OnRemove() {
    auto& rec = r();
    switch (rec.phase) {
      case Phase::kNew:
        rec.phase = Phase::kRetired;
        rec.next_due = kNever;
        Persist("identity.retired");
        return;
      case Phase::kActive:
      case Phase::kBackoff:
      case Phase::kQuarantined:
        if (!rec.current) {  // failed before its first commit: nothing to retire
          rec.phase = Phase::kRetired;
          rec.next_due = kNever;
          Persist("identity.retired");
          return;
        }
        rec.phase = Phase::kRetiring;
        rec.next_due = now_;
        Persist("identity.retiring");
        Data("current_generation", static_cast<int64_t>(rec.current->generation));
        EmitRetiring();
        return;
      case Phase::kRetiring:
      case Phase::kRetired: return;
      default: return Reject(Unavailable(rec.id + " is rotating; retire it when it rests"));
    }
  }

  // Older versions go first; the current one only once none is left, so a
  // retirement that keeps failing backs off instead of looping, and the
  // current version stays delivered while the record still names it.
  void EmitRetiring() {
    for (const auto& rv : r().retiring) Emit(EffectType::kRetire, rv.version);
    if (r().current && r().retiring.empty()) Emit(EffectType::kDiscard, *r().current, std::nullopt);
  }

  void FinishRetiring() {
    auto& rec = r();
    if (!rec.retiring.empty()) {
      // Older versions must go first; ask again for what is left.
      EmitRetiring();
      return;
    }
    const uint64_t last = rec.current ? rec.current->generation : 0;
    rec.current.reset();
    rec.phase = Phase::kRetired;
    rec.next_due = kNever;
    Persist("identity.retired");
    Data("last_generation", static_cast<int64_t>(last));
  }

  // A group move changes which policy, hook and verify command apply from the
  // next step on; a rotation in flight carries on with the new group.
  void OnRegroup(const Event& ev) {
    auto& rec = r();
    if (rec.phase == Phase::kRetiring || rec.phase == Phase::kRetired) {
      return Reject(FailedPrecondition(rec.id + " is retired"));
    }
    if (ev.group.empty()) return Reject(InvalidArgument("regroup without a group"));
    if (ev.group == rec.group) return Reject(FailedPrecondition(rec.id + " is already in group " + ev.group));
    const std::string previous = rec.group;
    rec.group = ev.group;
    // The caller passes the new group's policy: the next wake follows it.
    if (rec.phase == Phase::kActive || rec.phase == Phase::kQuarantined) ScheduleResting();
    Persist("identity.updated");
    Data("group", rec.group);
    Data("previous_group", previous);
  }

  void OnRecover() {
    auto& rec = r();
    switch (rec.phase) {
      case Phase::kIssuing: Emit(EffectType::kGenerate, CredentialVersion{InFlightGeneration(), {}, {}, {}}); return;
      case Phase::kDelivering:
        // The candidate's material lived only in memory: discard and regenerate.
        rec.phase = Phase::kRollingBack;
        rec.last_error = Unavailable("interrupted by a restart during delivery; candidate discarded").ToString();
        Persist("rotation.failed");
        Data("stage", "deliver");
        Data("error", rec.last_error);
        Data("transient", int64_t{1});
        Data("generation", static_cast<int64_t>(rec.pending->generation));
        Data("retry", "new_candidate");
        Emit(EffectType::kDiscard, *rec.pending, rec.current);
        return;
      case Phase::kVerifying: Emit(EffectType::kVerify, *rec.pending); return;
      case Phase::kCommitting: Emit(EffectType::kActivate, *rec.pending); return;
      case Phase::kRollingBack: Emit(EffectType::kDiscard, *rec.pending, rec.current); return;
      case Phase::kRetiring: EmitRetiring(); return;
      default: return;  // resting: the shard wakes it at next_due
    }
  }

  Instant now_;
  const RenewalPolicy& p_;
  StepResult res_;
};

}  // namespace

StepResult Step(const RotationRecord& record, const Event& event, Instant now, const RenewalPolicy& policy) {
  return Machine(record, now, policy).Apply(event);
}

}  // namespace rotor
