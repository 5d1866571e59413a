// Explorer: drives engine/rotation through one sequence of events chosen by a
// ChoiceSource, checking after every step the invariants of ARCHITECTURE §3
// and the properties that span steps (see tests/unit/rotation_random_test.cc
// for the list). The choices come from a seeded PRNG in the property test and
// from the fuzzer's bytes in tests/fuzz/state_machine_fuzz.cc, so both explore
// with the same checks. Thread-compatible.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/rotation.h"
#include "tests/support/printers.h"

namespace rotor {

// ChoiceSource hands the explorer its decisions.
class ChoiceSource {
 public:
  virtual ~ChoiceSource() = default;
  // Below returns a value in [0, n); n ≥ 1.
  virtual uint64_t Below(uint64_t n) = 0;
  // exhausted: no more choices worth making (the explorer stops the sequence).
  virtual bool exhausted() const = 0;
};

// PrngChoices: an endless seeded stream (the property test).
class PrngChoices final : public ChoiceSource {
 public:
  explicit PrngChoices(uint64_t seed) : rng_(seed) {}
  uint64_t Below(uint64_t n) override { return rng_() % n; }
  bool exhausted() const override { return false; }

 private:
  std::mt19937_64 rng_;
};

// ByteChoices: decisions read from a byte string, as few bytes per choice as
// `n` needs; zeros once the bytes run out (the fuzz target).
class ByteChoices final : public ChoiceSource {
 public:
  ByteChoices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t Below(uint64_t n) override {
    uint64_t v = 0;
    for (uint64_t span = n - 1; span > 0; span >>= 8) {
      v = (v << 8) | (pos_ < size_ ? data_[pos_++] : 0);
    }
    return v % n;
  }
  bool exhausted() const override { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

inline const Instant kStart = Instant::FromSeconds(1709164800);  // 2024-02-29T00:00:00Z

inline bool Rotating(Phase p) {
  return p == Phase::kIssuing || p == Phase::kDelivering || p == Phase::kVerifying || p == Phase::kCommitting ||
         p == Phase::kRollingBack;
}

class Explorer {
 public:
  // `label` names the sequence in failure messages (the seed, or "fuzz").
  Explorer(uint64_t label, ChoiceSource& choices) : seed_(label), choices_(choices) {}

  // Run explores one sequence; returns an empty string or what went wrong.
  std::string Run() {
    policy_ = RandomPolicy();
    now_ = kStart + Duration{static_cast<int64_t>(U(366ULL * 86400 * 1000000))};
    if (!ValidatePolicy(policy_, now_).ok()) return "";
    record_ = NewRecord("id-" + std::to_string(U(100000)), "g", CredentialKind::kApiKey, now_);
    persisted_ = record_;
    const int steps = 10 + static_cast<int>(U(90));
    for (step_ = 0; step_ < steps && !choices_.exhausted(); ++step_) {
      if (now_ > Instant::FromSeconds(253402300799 - 40LL * 365 * 86400)) break;  // stay clear of year 9999
      Event ev = NextEvent();
      std::string err = Apply(ev);
      if (!err.empty()) return err;
    }
    return "";
  }

  uint64_t steps_taken() const { return static_cast<uint64_t>(step_); }

 private:
  uint64_t U(uint64_t n) { return choices_.Below(n); }
  bool P(int percent) { return static_cast<int>(U(100)) < percent; }

  RenewalPolicy RandomPolicy() {
    RenewalPolicy p;
    const Duration lifetimes[] = {Duration::Micros(1),   Duration::Micros(3), Duration::Millis(500),
                                  Duration::Seconds(90), Duration::Hours(1),  Duration::Hours(24),
                                  Duration::Days(90),    Duration::Days(3650)};
    p.lifetime = lifetimes[U(8)];
    if (P(30) && p.lifetime.micros > 1) {
      p.renew_before = Duration{1 + static_cast<int64_t>(U(static_cast<uint64_t>(p.lifetime.micros - 1)))};
    } else {
      p.renew_fraction = 0.05 + 0.9 * static_cast<double>(U(1000)) / 1000.0;
    }
    p.jitter = static_cast<double>(U(6)) / 10.0;
    const Duration graces[] = {Duration::Zero(), Duration::Micros(1), Duration::Seconds(30), Duration::Minutes(5),
                               Duration::Days(2)};
    p.grace = graces[U(5)];
    p.backoff_base = Duration{1 + static_cast<int64_t>(U(2000000))};
    p.backoff_max = p.backoff_base + Duration{static_cast<int64_t>(U(600000000))};
    p.max_issuances_per_window = 1 + static_cast<uint32_t>(U(6));
    p.issuance_window = Duration{1 + static_cast<int64_t>(U(7200000000))};
    p.max_consecutive_failures = 1 + static_cast<uint32_t>(U(5));
    p.emergency_min_interval = Duration{static_cast<int64_t>(U(120000000))};
    return p;
  }

  Status RandomError() {
    switch (U(4)) {
      case 0: return Unavailable("flaky");
      case 1: return Status(StatusCode::kResourceExhausted, "busy");
      case 2: return PermissionDenied("rejected");
      default: return InvalidArgument("bad");
    }
  }

  void Advance(Duration d) {
    if (d.micros > 0) now_ = now_ + d;
  }

  Event Outcome(const Effect& effect) {
    Event e;
    e.generation = effect.version.generation;
    if (P(12)) {
      e.type = EventType::kStepFailed;
      e.failed = effect.type;
      e.error = RandomError();
      e.generation = 0;
      return e;
    }
    switch (effect.type) {
      case EffectType::kGenerate:
        e.type = EventType::kGenerated;
        e.issued_at = now_;
        e.fingerprint = "sha256:" + std::to_string(seed_) + "-" + std::to_string(effect.version.generation) + "-" +
                        std::to_string(U(1000000));
        break;
      case EffectType::kDeliver: e.type = EventType::kDelivered; break;
      case EffectType::kVerify: e.type = EventType::kVerified; break;
      case EffectType::kActivate: e.type = EventType::kActivated; break;
      case EffectType::kDiscard: e.type = EventType::kDiscarded; break;
      case EffectType::kRetire: e.type = EventType::kVersionRetired; break;
    }
    return e;
  }

  Event Implausible() {
    Event e;
    e.type = static_cast<EventType>(U(13));
    const char* groups[] = {"", "g", "h"};
    e.group = groups[U(3)];
    e.generation = U(record_.next_generation + 2);
    e.issued_at = now_;
    e.fingerprint = "sha256:odd-" + std::to_string(U(1000));
    e.failed = static_cast<EffectType>(U(6));
    e.error = RandomError();
    if (e.type == EventType::kRecover) outstanding_.clear();  // only after a restart
    return e;
  }

  Event NextEvent() {
    // Time moves: mostly a little, sometimes to the next wake-up, sometimes far.
    if (P(40)) {
      Advance(Duration{static_cast<int64_t>(U(3000000))});
    } else if (P(10)) {
      Advance(Duration{static_cast<int64_t>(U(static_cast<uint64_t>(policy_.lifetime.micros) * 2 + 2))});
    }
    const int roll = static_cast<int>(U(100));
    if (!outstanding_.empty() && roll < 75) {
      size_t i = P(95) ? 0 : U(outstanding_.size());  // rarely out of order
      Effect effect = outstanding_[i];
      outstanding_.erase(outstanding_.begin() + static_cast<long>(i));
      return Outcome(effect);
    }
    if (roll < 79) return Simple(EventType::kOperatorRotate);
    if (roll < 83) return Simple(EventType::kOperatorRevoke);
    if (roll < 85) return Simple(EventType::kRemove);
    if (roll < 89) {
      // A crash: in-memory state is gone, the last persisted record comes back.
      outstanding_.clear();
      record_ = persisted_;
      return Simple(EventType::kRecover);
    }
    if (roll < 95) return Implausible();
    if (outstanding_.empty() && record_.next_due > now_ && record_.next_due < kMaxInstant && P(70)) {
      now_ = record_.next_due;
    }
    return Simple(EventType::kDue);
  }

  static Event Simple(EventType t) {
    Event e;
    e.type = t;
    return e;
  }

  std::string Fail(const Event& ev, const RotationRecord& before, const StepResult& res, const std::string& what) {
    std::ostringstream os;
    os << "seed " << seed_ << " step " << step_ << ": " << what << "\n  event  " << DebugString(ev) << " at "
       << FormatRfc3339(now_) << " (" << now_.micros << ")\n  before " << DebugString(before) << "\n  after  "
       << DebugString(res.record) << "\n  effects";
    for (const auto& e : res.effects) os << " " << DebugString(e);
    os << "\n  audit " << res.audit.type << (res.rejected.ok() ? "" : " rejected: " + res.rejected.ToString());
    os << "\n  policy lifetime " << FormatDuration(policy_.lifetime) << " renew_before "
       << (policy_.renew_before ? FormatDuration(*policy_.renew_before) : "-") << " fraction " << policy_.renew_fraction
       << " jitter " << policy_.jitter << " grace " << FormatDuration(policy_.grace) << " K "
       << policy_.max_issuances_per_window << "/" << FormatDuration(policy_.issuance_window) << " M "
       << policy_.max_consecutive_failures;
    return os.str();
  }

  // StableErrorCode: the fact's stage and the status code leading its error
  // are among those docs/audit-events.md lists.
  static bool StableErrorCode(const AuditFact& fact) {
    auto text = [&](const char* key) -> std::string {
      auto it = fact.data.find(key);
      return it != fact.data.end() && std::holds_alternative<std::string>(it->second)
                 ? std::get<std::string>(it->second)
                 : std::string();
    };
    static const std::set<std::string> kStages = {"generate", "deliver", "verify", "activate"};
    static const std::set<std::string> kCodes = {"UNAVAILABLE",      "RESOURCE_EXHAUSTED",  "PERMISSION_DENIED",
                                                 "NOT_FOUND",        "FAILED_PRECONDITION", "ALREADY_EXISTS",
                                                 "INVALID_ARGUMENT", "DATA_LOSS",           "INTERNAL"};
    const std::string error = text("error");
    return kStages.count(text("stage")) > 0 && kCodes.count(error.substr(0, error.find(':'))) > 0;
  }

  static RotationRecord Durable(RotationRecord r) {
    r.next_due = Instant{};
    r.last_error.clear();
    r.stage_attempts = 0;
    return r;
  }

  static Instant EarliestRetirement(const RotationRecord& r) {
    Instant t = kMaxInstant;
    for (const auto& rv : r.retiring) t = std::min(t, rv.retire_at);
    return t;
  }

  std::string Apply(const Event& ev) {
    const RotationRecord before = record_;
    const StepResult res = Step(before, ev, now_, policy_);
    const RotationRecord& a = res.record;
    auto fail = [&](const std::string& what) { return Fail(ev, before, res, what); };

    if (!res.rejected.ok()) {
      if (!(a == before) || !res.effects.empty() || res.persist) return fail("a rejected event changed something");
      return "";
    }
    if (Status s = CheckInvariants(a); !s.ok()) return fail(s.ToString());

    // One audit fact per persisted step, naming the persisted phase; nothing
    // durable changes without one.
    if (res.persist) {
      if (res.audit.type.empty()) return fail("persisted without an audit type");
      auto it = res.audit.data.find("phase");
      if (it == res.audit.data.end() || std::get<std::string>(it->second) != PhaseName(a.phase)) {
        return fail("audit phase does not match the persisted phase");
      }
      if (res.audit.type == "rotation.failed" && !StableErrorCode(res.audit)) {
        return fail("rotation.failed without a stable error code (docs/audit-events.md, Error codes)");
      }
    } else {
      if (!res.audit.type.empty()) return fail("an audit fact for a step that is not persisted");
      if (!(Durable(a) == Durable(before))) return fail("a durable field changed without persisting");
    }

    // Pending versions: new only from kGenerated, never a reused generation.
    if (a.pending && (!before.pending || before.pending->generation != a.pending->generation)) {
      const uint64_t g = a.pending->generation;
      if (ev.type != EventType::kGenerated || ev.generation != g) return fail("pending appeared without kGenerated");
      if (used_.count(g)) return fail("generation " + std::to_string(g) + " reused");
      if (a.pending->issued_at != ev.issued_at) return fail("pending issued_at is not the signing instant");
      used_.insert(g);
      progress_[g] = 1;
    }
    if (a.phase == Phase::kVerifying && before.phase != Phase::kVerifying) {
      const uint64_t g = a.pending->generation;
      if (ev.type != EventType::kDelivered || ev.generation != g || progress_[g] != 1) {
        return fail("verifying without kDelivered for generation " + std::to_string(g));
      }
      progress_[g] = 2;
    }
    if (a.phase == Phase::kCommitting && before.phase != Phase::kCommitting) {
      const uint64_t g = a.pending->generation;
      if (ev.type != EventType::kVerified || ev.generation != g || progress_[g] != 2) {
        return fail("committing without kVerified for generation " + std::to_string(g));
      }
      progress_[g] = 3;
    }
    if (a.current != before.current) {
      if (a.current) {
        const uint64_t g = a.current->generation;
        if (ev.type != EventType::kActivated || ev.generation != g || !before.pending ||
            *before.pending != *a.current || progress_[g] != 3) {
          return fail("generation " + std::to_string(g) + " became current without delivered, verified, activated");
        }
        ever_current_ = true;
      } else if (a.phase != Phase::kRetired) {
        return fail("current vanished before retirement");
      }
    }
    if (ever_current_ && !a.current && a.phase != Phase::kRetired) return fail("no current after the first commit");

    // A failed rotation leaves current exactly as it was when it started.
    if (!Rotating(before.phase) && Rotating(a.phase)) current_at_start_ = before.current;
    if (Rotating(before.phase) && a.phase != Phase::kActive && a.phase != Phase::kRetired &&
        !(a.current == current_at_start_)) {
      return fail("current changed by a rotation that did not commit");
    }

    // Retiring versions: added only by a commit (the previous current, with
    // its grace window), removed only by kVersionRetired for that version.
    for (const auto& rv : a.retiring) {
      auto was = std::find_if(before.retiring.begin(), before.retiring.end(),
                              [&](const RetiringVersion& x) { return x.version.generation == rv.version.generation; });
      if (was != before.retiring.end()) {
        if (!(*was == rv)) return fail("a retiring version changed");
        continue;
      }
      if (ev.type != EventType::kActivated || !before.current || rv.version != *before.current) {
        return fail("a version started retiring without a commit");
      }
      const Instant expected = before.emergency ? now_ : std::min(now_ + policy_.grace, before.current->not_after);
      if (rv.retire_at != expected || rv.compromised != before.emergency) return fail("wrong grace window");
    }
    for (const auto& rv : before.retiring) {
      const bool still = std::any_of(a.retiring.begin(), a.retiring.end(), [&](const RetiringVersion& x) {
        return x.version.generation == rv.version.generation;
      });
      if (!still && !(ev.type == EventType::kVersionRetired && ev.generation == rv.version.generation)) {
        return fail("a version left retiring without kVersionRetired");
      }
    }

    // Effects target the right versions; retirements respect grace.
    for (const auto& e : res.effects) {
      switch (e.type) {
        case EffectType::kGenerate:
          if (a.phase != Phase::kIssuing || e.version.generation != a.next_generation - 1) {
            return fail("generate outside issuing or for the wrong generation");
          }
          break;
        case EffectType::kDeliver:
        case EffectType::kVerify:
        case EffectType::kActivate:
          if (!a.pending || e.version != *a.pending) return fail("effect not for the pending version");
          break;
        case EffectType::kDiscard:
          if (a.phase == Phase::kRollingBack) {
            if (e.version != *a.pending || e.restore != a.current) return fail("rollback does not restore current");
          } else if (a.phase != Phase::kRetiring || !a.current || e.version != *a.current || e.restore ||
                     !a.retiring.empty()) {
            return fail("discard of current outside retirement, or before older versions");
          }
          break;
        case EffectType::kRetire: {
          auto it = std::find_if(a.retiring.begin(), a.retiring.end(),
                                 [&](const RetiringVersion& rv) { return rv.version == e.version; });
          if (it == a.retiring.end()) return fail("retire of a version that is not retiring");
          if (it->retire_at > now_ && a.phase != Phase::kRetiring) return fail("retired inside its grace window");
          break;
        }
      }
    }

    // Wake-ups.
    if (a.phase == Phase::kActive && (res.persist || ev.type == EventType::kDue)) {
      const Instant renew = RenewalPoint(policy_, a.id, a.current->issued_at, a.current->not_after);
      if (renew <= a.current->issued_at || renew > a.current->not_after) return fail("renewal point out of range");
      if (a.next_due != std::min(renew, EarliestRetirement(a))) return fail("active next_due is not the next wake-up");
    }
    if (a.phase == Phase::kBackoff && before.phase != Phase::kBackoff && a.next_due < now_) {
      return fail("back-off wakes in the past");
    }
    if (a.phase == Phase::kRetired && a.next_due != kMaxInstant) return fail("a retired identity still wakes");
    if (a.phase == Phase::kQuarantined && res.persist && a.next_due != EarliestRetirement(a)) {
      return fail("a quarantined identity wakes for something other than a retirement");
    }

    // Circuit breaker.
    if (!Rotating(before.phase) && a.phase == Phase::kIssuing && a.reason != RotationReason::kEmergency &&
        a.issuances_in_window >= policy_.max_issuances_per_window) {
      return fail("a rotation started past the issuance bound");
    }
    if (before.phase != Phase::kIssuing || a.phase != Phase::kDelivering) {
      // (issuance counted at generation)
    } else if (a.issuances_in_window != before.issuances_in_window + 1) {
      return fail("issuance not counted");
    }
    if (a.consecutive_failures > policy_.max_consecutive_failures) return fail("consecutive failures past M");
    if (a.phase == Phase::kBackoff && a.consecutive_failures >= policy_.max_consecutive_failures) {
      return fail("M consecutive failures but not quarantined");
    }
    if (ev.type == EventType::kOperatorRevoke && IsResting(before.phase) && a.phase != Phase::kIssuing) {
      return fail("an accepted emergency rotation did not start");
    }

    // Never healthy once expired.
    if (a.current && now_ >= a.current->not_after && HealthAt(a, now_) == Health::kHealthy) {
      return fail("expired but healthy");
    }

    record_ = a;
    if (res.persist) persisted_ = a;
    for (const auto& e : res.effects) outstanding_.push_back(e);
    return "";
  }

  const uint64_t seed_;
  ChoiceSource& choices_;
  RenewalPolicy policy_;
  Instant now_;
  RotationRecord record_;
  RotationRecord persisted_;
  std::deque<Effect> outstanding_;
  std::set<uint64_t> used_;
  std::map<uint64_t, int> progress_;  // 1 issued, 2 delivered, 3 verified
  std::optional<CredentialVersion> current_at_start_;
  bool ever_current_ = false;
  int step_ = 0;
};

}  // namespace rotor
