// Crash recovery (ARCHITECTURE §3): a deterministic crash at every effect
// boundary — before and after each effect type, at every occurrence of it in a
// scenario that passes through all of them — then a restart from the store,
// with the invariants checked after the crash, after the restart, after every
// step and at the end.
//
// A crash happens only inside an effect (ScriptedFaults through EffectRunner):
// the driver loses its in-memory state (queued effects, candidate material);
// the store, the sink, the clock and the fleet's removals survive. Operator
// actions and fault arming never run an effect, so they cannot crash and each
// is applied exactly once; only the time-driven steps (RunUntil, Settle) can
// be interrupted, and they are resumed after the restart by running them again
// to the same deadline. That is what makes the scenario resumable.
//
// What is checked, and where:
//  - every step (RotationDriver::Options::on_step): CheckInvariants; `current`
//    moves only at a commit (to the verified pending version) or when the
//    identity retires; a failed rotation leaves `current` exactly as it was
//    when it started; a commit follows exactly credential.issued, .delivered
//    and .verified of that generation; the sink holds no generation the record
//    does not know, and `current` on the sink is the record's (or the pending
//    one while committing, or none while retiring);
//  - after a crash and after a restart (durable state): the store holds
//    exactly the last persisted record of each identity; the store's audit
//    lines are exactly one event per persisted change (declarations plus every
//    persisted step, in order), they verify with ChainVerifier and its heads
//    are the records' chain_seq/chain_hash; no lifecycle event is duplicated
//    for one generation; an identity that committed once has a current
//    version until it is retired;
//  - at rest (after each scenario step, for identities in a resting phase):
//    the sink holds exactly the current version and those in their grace
//    window, `current` points at the record's current version, the delivered
//    material has its fingerprint, and the last rotation.committed event names
//    it; a version revoked as compromised is gone once a newer one is current;
//  - at the end: settled (active with a current version, or retired with
//    nothing on the sink when removed), no stale effect outcome.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/audit.h"
#include "engine/json.h"
#include "engine/rotation.h"
#include "tests/support/fake_world.h"
#include "tests/support/printers.h"

namespace rotor {
namespace {

using testing::Boundary;
using testing::BoundaryName;
using testing::FakeWorld;
using testing::MakeFleet;
using testing::RotationDriver;

const Instant kT0 = Instant::FromSeconds(1735689600);  // 2025-01-01T00:00:00Z
const std::vector<std::string> kFleet = {"svc-a", "svc-b", "svc-c"};

constexpr Boundary kBoundaries[] = {Boundary::kBefore, Boundary::kAfter};
constexpr EffectType kEffectTypes[] = {EffectType::kGenerate, EffectType::kDeliver, EffectType::kVerify,
                                       EffectType::kActivate, EffectType::kDiscard, EffectType::kRetire};
// A sanity bound only: the scenario has fewer occurrences of every type, and
// every one of them is crashed at.
constexpr int kMaxOccurrences = 40;
constexpr int kMaxCrashesPerStep = 4;
constexpr int kMaxReportedViolations = 8;

// One-hour credentials renewed at 40 minutes, five minutes of grace: a few
// hours of virtual time hold several rotations of every identity.
RenewalPolicy ShortLivedPolicy() {
  RenewalPolicy p;
  p.name = "short-lived";
  p.lifetime = Duration::Hours(1);
  p.renew_fraction = 2.0 / 3.0;
  p.jitter = 0;
  p.grace = Duration::Minutes(5);
  p.backoff_base = Duration::Seconds(1);
  p.backoff_max = Duration::Minutes(1);
  p.max_issuances_per_window = 10;
  p.issuance_window = Duration::Hours(1);
  p.max_consecutive_failures = 3;
  p.emergency_min_interval = Duration::Seconds(60);
  return p;
}

std::string Gen(const std::optional<CredentialVersion>& v) {
  return v ? std::to_string(v->generation) : "none";
}

std::string Join(const std::set<uint64_t>& s) {
  std::string out;
  for (uint64_t g : s) out += (out.empty() ? "" : ",") + std::to_string(g);
  return "{" + out + "}";
}

std::string CrashName(Boundary boundary, EffectType type, int occurrence) {
  return std::string(BoundaryName(boundary)) + " " + EffectTypeName(type) + " #" + std::to_string(occurrence);
}

int64_t DataInt(const AuditFact& fact, const std::string& key) {
  auto it = fact.data.find(key);
  if (it == fact.data.end()) return -1;
  const auto* v = std::get_if<int64_t>(&it->second);
  return v ? *v : -1;
}

// An audit line, as far as the checks need it.
struct AuditEvent {
  std::string subject;
  std::string type;         // without the "dev.rotor." prefix
  int64_t generation = -1;  // data.generation, -1 when absent
  std::string fingerprint;  // data.fingerprint
  std::string reason;       // data.reason
};

StatusOr<AuditEvent> ParseAuditLine(const std::string& line) {
  auto parsed = ParseJson(line);
  if (!parsed.ok()) return parsed.status();
  AuditEvent e;
  const JsonValue* subject = parsed->Find("subject");
  const JsonValue* type = parsed->Find("type");
  const JsonValue* data = parsed->Find("data");
  if (!subject || !subject->is_string() || !type || !type->is_string() || !data || !data->is_object()) {
    return DataLoss("audit line without subject, type or data: " + line);
  }
  e.subject = subject->as_string();
  e.type = type->as_string();
  const std::string prefix = kEventTypePrefix;
  if (e.type.compare(0, prefix.size(), prefix) == 0) e.type = e.type.substr(prefix.size());
  if (const JsonValue* g = data->Find("generation"); g && g->is_int()) e.generation = g->as_int();
  if (const JsonValue* f = data->Find("fingerprint"); f && f->is_string()) e.fingerprint = f->as_string();
  if (const JsonValue* r = data->Find("reason"); r && r->is_string()) e.reason = r->as_string();
  return e;
}

// CrashHarness: one fresh FakeWorld and RotationDriver over `ids`, with every
// check of this file wired in. Violations are reported as gtest failures (the
// first few of them) and counted, so that a loop over crash points can go on
// and say which points failed. Not copyable: the driver points into world_.
class CrashHarness {
 public:
  CrashHarness(std::vector<std::string> ids, const RenewalPolicy& policy) : world_(kT0), ids_(std::move(ids)) {
    RotationDriver::Options options;
    options.on_step = [this](const RotationDriver::StepTrace& t) { OnStep(t); };
    driver_ = std::make_unique<RotationDriver>(world_.ports(), MakeFleet("fleet", policy, ids_), options);
    Expect(driver_->DeclareFleet(), "declare the fleet");
    declared_lines_ = world_.store.lines();
    for (const auto& id : ids_) {
      auto r = world_.store.Get(id);
      if (r.ok()) persisted_[id] = *r;
    }
  }
  CrashHarness(const CrashHarness&) = delete;
  CrashHarness& operator=(const CrashHarness&) = delete;

  FakeWorld& world() { return world_; }
  RotationDriver& driver() { return *driver_; }
  bool ok() const { return violations_ == 0; }
  const RotationRecord& R(const std::string& id) const { return *driver_->Find(id); }

  // Step runs one scenario step. When it is interrupted by a crash, the
  // durable state is checked, the driver restarts and the step runs again.
  bool Step(const std::string& what, const std::function<Status()>& action) {
    SCOPED_TRACE("scenario step \"" + what + "\"");
    for (int attempt = 0;; ++attempt) {
      Status s = action();
      if (s.ok()) break;
      if (s.code() != StatusCode::kAborted) {
        Violation(what + ": " + s.ToString());
        return false;
      }
      if (attempt >= kMaxCrashesPerStep) {
        Violation(what + ": crashed " + std::to_string(attempt + 1) + " times in a row");
        return false;
      }
      if (!RecoverFromCrash(s.message())) return false;
    }
    CheckWorld(/*at_rest=*/true, "after " + what);
    return ok();
  }

  // RecoverFromCrash checks what survived a crash, restarts and checks again.
  bool RecoverFromCrash(const std::string& crash) {
    if (!driver_->crashed()) Violation("Aborted without a crash: " + crash);
    CheckDurable("after the crash (" + crash + ")");
    Status s = driver_->Restart();
    if (!s.ok()) {
      Violation("restart after " + crash + ": " + s.ToString());
      return false;
    }
    CheckDurable("after the restart");
    CheckWorld(/*at_rest=*/false, "after the restart");
    return ok();
  }

  Status Remove(const std::string& id) {
    removed_.insert(id);
    return driver_->Remove(id);
  }

  // Finish settles every identity and runs the final checks.
  bool Finish(Duration limit) {
    if (!Step("settle", [&] { return driver_->Settle(limit); })) return false;
    CheckDurable("at the end");
    for (const auto& id : ids_) {
      const RotationRecord* r = driver_->Find(id);
      if (r == nullptr) {
        Violation(id + " is gone from the driver");
        continue;
      }
      if (removed_.count(id)) {
        if (r->phase != Phase::kRetired) Violation(id + " was removed but ends " + PhaseName(r->phase));
        if (!world_.sink.ListGenerations(id)->empty() || *world_.sink.CurrentGeneration(id) != 0) {
          Violation(id + " was retired but versions are left on the sink");
        }
      } else if (r->phase != Phase::kActive || !r->current) {
        Violation(id + " ends " + PhaseName(r->phase) + " with current " + Gen(r->current) +
                  " instead of active with a current version (last error: " + r->last_error + ")");
      }
    }
    return ok();
  }

  // Audit events of `id` from line `from` of the store on.
  std::vector<AuditEvent> Events(const std::string& id, size_t from = 0) const {
    std::vector<AuditEvent> out;
    const std::vector<std::string> lines = world_.store.lines();
    for (size_t i = from; i < lines.size(); ++i) {
      auto e = ParseAuditLine(lines[i]);
      if (e.ok() && e->subject == id) out.push_back(*e);
    }
    return out;
  }
  std::vector<std::string> EventTypes(const std::string& id, size_t from = 0) const {
    std::vector<std::string> out;
    for (const auto& e : Events(id, from)) out.push_back(e.type);
    return out;
  }
  size_t AuditMark() const { return world_.store.lines().size(); }
  int CountEvents(const std::string& id, const std::string& type, int64_t generation) const {
    int n = 0;
    for (const auto& e : Events(id)) n += e.type == type && e.generation == generation;
    return n;
  }

  // CheckDurable checks what a crash leaves behind: the store and its audit
  // lines, and the sink against the stored records.
  void CheckDurable(const std::string& when) {
    SCOPED_TRACE(when);
    std::map<std::string, RotationRecord> stored;
    Expect(world_.store.ForEach([&](const RotationRecord& r) {
      stored[r.id] = r;
      return true;
    }),
           "read the store");
    for (const auto& [id, r] : stored) {
      Expect(CheckInvariants(r), "stored record of " + id);
      auto it = persisted_.find(id);
      if (it == persisted_.end()) {
        Violation("the store holds " + id + ", which was never persisted");
      } else if (!(it->second == r)) {
        Violation("the store's record of " + id + " is not the last one persisted:\n  stored    " + DebugString(r) +
                  "\n  persisted " + DebugString(it->second));
      }
    }

    // Exactly one audit event per persisted change, in commit order.
    const std::vector<std::string> lines = world_.store.lines();
    std::vector<std::string> expected = declared_lines_;
    expected.insert(expected.end(), traced_lines_.begin(), traced_lines_.end());
    if (lines != expected) {
      Violation("the audit lines are not one per persisted change: " + std::to_string(lines.size()) + " lines for " +
                std::to_string(expected.size()) + " persisted changes");
    }
    ChainVerifier verifier(world_.hasher);
    for (size_t i = 0; i < lines.size(); ++i) {
      Status s = verifier.Feed(lines[i]);
      if (!s.ok()) {
        Violation("audit line " + std::to_string(i + 1) + ": " + s.ToString());
        break;
      }
    }
    if (verifier.events() != lines.size()) return;
    for (const auto& [id, r] : stored) {
      auto head = verifier.heads().find(id);
      const uint64_t seq = head == verifier.heads().end() ? 0 : head->second.seq;
      const std::string hash = head == verifier.heads().end() ? "" : head->second.hash;
      if (seq != r.chain_seq || hash != r.chain_hash) {
        Violation(id + ": the audit chain ends at " + std::to_string(seq) + ":" + hash.substr(0, 8) +
                  " but the record's head is " + std::to_string(r.chain_seq) + ":" + r.chain_hash.substr(0, 8));
      }
    }
    for (const auto& [id, head] : verifier.heads()) {
      if (!stored.count(id)) Violation("audit events for " + id + ", which has no record");
    }

    // No lifecycle event twice for one generation; who has committed.
    static const std::set<std::string> kOncePerGeneration = {"rotation.started",     "credential.issued",
                                                             "credential.delivered", "credential.verified",
                                                             "rotation.committed",   "credential.retired"};
    std::map<std::tuple<std::string, std::string, int64_t>, int> counts;
    std::set<std::string> committed;
    for (size_t i = 0; i < lines.size(); ++i) {
      auto e = ParseAuditLine(lines[i]);
      if (!e.ok()) {
        Violation("audit line " + std::to_string(i + 1) + ": " + e.status().ToString());
        continue;
      }
      if (e->type == "rotation.committed") committed.insert(e->subject);
      if (kOncePerGeneration.count(e->type) && ++counts[{e->subject, e->type, e->generation}] == 2) {
        Violation(e->subject + ": " + e->type + " twice for generation " + std::to_string(e->generation));
      }
    }
    for (const auto& [id, r] : stored) {
      // Exactly one current version from the first commit until retirement.
      if (committed.count(id) && r.phase != Phase::kRetired && !r.current) {
        Violation(id + " committed once but has no current version in phase " + PhaseName(r.phase));
      }
      if (!committed.count(id) && r.current) Violation(id + " has a current version but never committed one");
      CheckSink(r, /*at_rest=*/false, when);
    }
  }

  // CheckWorld checks the driver's in-memory records against the store and
  // the sink; at rest, strictly for identities in a resting phase.
  void CheckWorld(bool at_rest, const std::string& when) {
    SCOPED_TRACE(when);
    for (const auto& id : driver_->Ids()) {
      const RotationRecord& r = *driver_->Find(id);
      Expect(CheckInvariants(r), "record of " + id);
      auto stored = world_.store.Get(id);
      if (!stored.ok()) {
        Violation(id + " is not in the store: " + stored.status().ToString());
        continue;
      }
      const auto durable = [](const RotationRecord& x) {
        return std::tie(x.phase, x.current, x.pending, x.retiring, x.next_generation, x.chain_seq, x.chain_hash);
      };
      if (durable(r) != durable(*stored)) {
        Violation(id + ": the driver and the store disagree:\n  driver " + DebugString(r) + "\n  store  " +
                  DebugString(*stored));
      }
      const bool strict = at_rest && IsResting(r.phase);
      CheckSink(r, strict, when);
      if (strict && r.current) {
        // The audit log names the same current version as the store and the sink.
        std::optional<AuditEvent> last;
        for (const auto& e : Events(id)) {
          if (e.type == "rotation.committed") last = e;
        }
        if (!last || last->generation != static_cast<int64_t>(r.current->generation) ||
            last->fingerprint != r.current->fingerprint) {
          Violation(id + ": the last rotation.committed event names generation " +
                    (last ? std::to_string(last->generation) : std::string("none")) + " but current is " +
                    DebugString(*r.current));
        }
      }
    }
    if (driver_->stale_outcomes() != 0) {
      Violation(std::to_string(driver_->stale_outcomes()) + " effect outcomes were rejected as stale");
    }
  }

 private:
  void Violation(const std::string& what) {
    if (++violations_ <= kMaxReportedViolations) ADD_FAILURE() << what;
  }
  void Expect(const Status& s, const std::string& what) {
    if (!s.ok()) Violation(what + ": " + s.ToString());
  }

  void OnStep(const RotationDriver::StepTrace& t) {
    const std::string where = t.id + " on " + EventTypeName(t.event.type) + " at " + FormatRfc3339(t.now);
    Expect(CheckInvariants(t.after), where);
    const std::string type = t.result.persist ? t.result.audit.type : "";
    if (t.result.persist) {
      traced_lines_.push_back(t.audit_line);
      persisted_[t.id] = t.after;
    }

    // `current` moves only at a commit, to the pending version, or when the
    // identity retires.
    if (!(t.before.current == t.after.current)) {
      const bool commit = type == "rotation.committed" && t.before.pending && t.after.current == t.before.pending;
      const bool retired = type == "identity.retired" && !t.after.current;
      if (!commit && !retired) {
        Violation(where + ": current moved from " + Gen(t.before.current) + " to " + Gen(t.after.current) +
                  " outside a commit (" + (type.empty() ? "not persisted" : type) + ")");
      }
    }
    // A failed rotation leaves current exactly as it was when it started.
    if (type == "rotation.started") start_current_[t.id] = t.after.current;
    if (type == "rotation.failed" || type == "rotation.rolled_back" || type == "identity.quarantined") {
      auto it = start_current_.find(t.id);
      if (it != start_current_.end() && !(it->second == t.after.current)) {
        Violation(where + ": " + type + " left current at " + Gen(t.after.current) + " but the rotation started with " +
                  Gen(it->second));
      }
    }
    // A version becomes current only after it was persisted as issued, then
    // delivered, then verified.
    if (type == "credential.issued" || type == "credential.delivered" || type == "credential.verified") {
      milestones_[{t.id, DataInt(t.result.audit, "generation")}].push_back(type);
    }
    if (type == "rotation.committed") {
      const int64_t g = DataInt(t.result.audit, "generation");
      const std::vector<std::string> want = {"credential.issued", "credential.delivered", "credential.verified"};
      if (milestones_[{t.id, g}] != want) {
        Violation(where + ": generation " + std::to_string(g) +
                  " committed without exactly issued, delivered, verified before it");
      }
    }
    // revoke --compromised: the compromised version goes as soon as its
    // replacement is committed, whatever crashed in between.
    if (type == "rotation.started" && DataInt(t.result.audit, "compromised_generation") > 0) {
      compromised_[t.id] = DataInt(t.result.audit, "compromised_generation");
    }
    if (type == "credential.compromised") compromised_[t.id] = DataInt(t.result.audit, "generation");
    if (auto c = compromised_.find(t.id); type == "rotation.committed" && c != compromised_.end()) {
      for (const auto& rv : t.after.retiring) {
        if (static_cast<int64_t>(rv.version.generation) == c->second && (!rv.compromised || rv.retire_at > t.now)) {
          Violation(where + ": compromised generation " + std::to_string(c->second) +
                    " was given a grace window at the commit of its replacement");
        }
      }
    }
    CheckSink(t.after, /*at_rest=*/false, where);
  }

  // CheckSink compares what the sink holds for `r.id` with the record. At
  // rest it must be exactly the current version plus those in their grace
  // window; in between, only versions the record knows.
  void CheckSink(const RotationRecord& r, bool at_rest, const std::string& where) {
    auto listed = world_.sink.ListGenerations(r.id);
    auto current = world_.sink.CurrentGeneration(r.id);
    if (!listed.ok() || !current.ok()) {
      Violation(where + ": the sink cannot list " + r.id);
      return;
    }
    const std::set<uint64_t> on_sink(listed->begin(), listed->end());
    std::set<uint64_t> retiring;
    for (const auto& rv : r.retiring) retiring.insert(rv.version.generation);
    std::set<uint64_t> named = retiring;  // current and retiring
    if (r.current) named.insert(r.current->generation);
    std::set<uint64_t> known = named;
    if (r.pending) known.insert(r.pending->generation);
    const uint64_t record_current = r.current ? r.current->generation : 0;
    const std::string state = r.id + " in phase " + PhaseName(r.phase) + ": the sink holds " + Join(on_sink) +
                              " with current " + std::to_string(*current) + ", the record has current " +
                              Gen(r.current) + ", pending " + Gen(r.pending) + ", retiring " + Join(retiring);
    for (uint64_t g : on_sink) {
      if (!known.count(g)) {
        Violation(where + ": generation " + std::to_string(g) + " is on the sink but unknown to the record; " + state);
        return;
      }
    }
    if (at_rest) {
      if (on_sink != named || *current != record_current) Violation(where + ": at rest, " + state);
      if (r.current && on_sink.count(r.current->generation)) {
        const std::string& material = world_.sink.files().at(r.id).generations.at(r.current->generation);
        if ("sha256:" + HexSha256(world_.hasher, material) != r.current->fingerprint) {
          Violation(where + ": " + r.id + "'s delivered current material does not match its fingerprint");
        }
      }
      auto compromised = compromised_.find(r.id);
      if (compromised != compromised_.end() && r.current &&
          static_cast<int64_t>(r.current->generation) > compromised->second &&
          (named.count(compromised->second) || on_sink.count(compromised->second))) {
        Violation(where + ": compromised generation " + std::to_string(compromised->second) +
                  " outlived the commit of its replacement; " + state);
      }
      return;
    }
    const bool fine = *current == record_current ||
                      (r.phase == Phase::kCommitting && r.pending && *current == r.pending->generation) ||
                      (r.phase == Phase::kRetiring && *current == 0);
    if (!fine) Violation(where + ": " + state);
  }

  FakeWorld world_;
  std::vector<std::string> ids_;
  std::unique_ptr<RotationDriver> driver_;

  // What the checks remember; all of it survives a crash of the driver.
  std::vector<std::string> declared_lines_;
  std::vector<std::string> traced_lines_;            // audit line of every persisted step
  std::map<std::string, RotationRecord> persisted_;  // last persisted record per identity
  std::map<std::string, std::optional<CredentialVersion>> start_current_;
  std::map<std::pair<std::string, int64_t>, std::vector<std::string>> milestones_;
  std::map<std::string, int64_t> compromised_;  // generation named by revoke --compromised
  std::set<std::string> removed_;
  int violations_ = 0;
};

// RunScenario passes through every effect type with kFleet under
// ShortLivedPolicy (renewal 40 minutes after issuance, 5 minutes of grace):
//   0m    first issuance of generation 1 for all three identities;
//   40m   scheduled rotation to generation 2; generation 1 retired at 45m;
//   80m   scheduled rotation: svc-a's verify is rejected, its candidate is
//         discarded and a fresh generation committed about a second later;
//         generation 2 retired at 85m;
//   90m   revoke --compromised svc-c: an emergency rotation retires svc-c's
//         old version as soon as the new one is committed;
//   120m  scheduled rotations of svc-a and svc-b, old versions in grace;
//   121m  svc-a removed from the fleet: its version in grace is retired, then
//         its current one discarded; the rest settles by 125m.
bool RunScenario(CrashHarness& h) {
  RotationDriver& d = h.driver();
  return h.Step("first issuance", [&] { return d.RunUntil(kT0 + Duration::Minutes(1)); }) &&
         h.Step("scheduled rotation and grace retirements", [&] { return d.RunUntil(kT0 + Duration::Minutes(50)); }) &&
         h.Step("arm a verify rejection",
                [&] {
                  h.world().sink.FailNext(EffectType::kVerify, PermissionDenied("served key is the old one"));
                  return Status::Ok();
                }) &&
         h.Step("rotation with a verify rejection", [&] { return d.RunUntil(kT0 + Duration::Minutes(90)); }) &&
         h.Step("revoke svc-c", [&] { return d.Revoke("svc-c"); }) &&
         h.Step("emergency rotation", [&] { return d.RunUntil(kT0 + Duration::Minutes(110)); }) &&
         h.Step("scheduled rotation", [&] { return d.RunUntil(kT0 + Duration::Minutes(121)); }) &&
         h.Step("remove svc-a", [&] { return h.Remove("svc-a"); }) && h.Finish(Duration::Hours(2));
}

struct Outcome {
  Phase phase;
  uint64_t current;  // generation, 0: none
};

std::map<std::string, Outcome> Outcomes(CrashHarness& h) {
  std::map<std::string, Outcome> out;
  for (const auto& id : h.driver().Ids()) {
    const RotationRecord& r = h.R(id);
    out[id] = Outcome{r.phase, r.current ? r.current->generation : 0};
  }
  return out;
}

// ---- The fault-free scenario ----------------------------------------------------

TEST(CrashRecoveryTest, FaultFreeScenarioPassesEveryEffectBoundary) {
  CrashHarness h(kFleet, ShortLivedPolicy());
  ASSERT_TRUE(RunScenario(h));
  for (Boundary b : kBoundaries) {
    for (EffectType type : kEffectTypes) {
      EXPECT_GT(h.world().faults.seen(b, type), 0) << BoundaryName(b) << " " << EffectTypeName(type);
    }
  }
  for (EffectType type : kEffectTypes) {
    EXPECT_EQ(h.world().faults.seen(Boundary::kBefore, type), h.world().faults.seen(Boundary::kAfter, type))
        << EffectTypeName(type);
  }
  // The paths the crash points are meant to cut through.
  const std::vector<std::string> a = h.EventTypes("svc-a");
  EXPECT_NE(std::find(a.begin(), a.end(), "rotation.rolled_back"), a.end()) << "no rollback after the rejection";
  EXPECT_EQ(a.back(), "identity.retired");
  EXPECT_EQ(h.R("svc-a").phase, Phase::kRetired);
  int compromised = 0, grace_ended = 0, identity_retired = 0;
  for (const auto& id : kFleet) {
    for (const auto& e : h.Events(id)) {
      if (e.type != "credential.retired") continue;
      compromised += e.reason == "compromised";
      grace_ended += e.reason == "grace_ended";
      identity_retired += e.reason == "identity_retired";
    }
  }
  EXPECT_EQ(compromised, 1);
  EXPECT_GE(grace_ended, 6);
  EXPECT_EQ(identity_retired, 1);
  EXPECT_EQ(h.R("svc-a").next_generation, 6u) << "svc-a: generations 1, 2, 3 (rejected), 4, 5";
  EXPECT_EQ(h.R("svc-b").current->generation, 4u);
  EXPECT_EQ(h.R("svc-c").current->generation, 4u) << "svc-c: generations 1, 2, 3, 4 (emergency)";
  EXPECT_EQ(h.driver().restarts(), 0);
}

// ---- A crash at every effect boundary ----------------------------------------------

TEST(CrashRecoveryTest, EveryBoundaryRecovers) {
  const auto started = std::chrono::steady_clock::now();
  CrashHarness baseline(kFleet, ShortLivedPolicy());
  ASSERT_TRUE(RunScenario(baseline)) << "the fault-free scenario fails";
  const std::map<std::string, Outcome> expected = Outcomes(baseline);

  int points = 0;
  std::vector<std::string> failed;
  std::string table;
  for (Boundary boundary : kBoundaries) {
    for (EffectType type : kEffectTypes) {
      const int seen = baseline.world().faults.seen(boundary, type);
      ASSERT_GT(seen, 0) << "the scenario never passes " << BoundaryName(boundary) << " " << EffectTypeName(type);
      ASSERT_LE(seen, kMaxOccurrences) << "raise kMaxOccurrences: every occurrence is meant to be crashed at";
      table += " " + std::string(BoundaryName(boundary)) + "/" + EffectTypeName(type) + "=" + std::to_string(seen);
      for (int n = 1; n <= seen; ++n) {
        const std::string point = CrashName(boundary, type, n);
        SCOPED_TRACE("crash " + point);
        CrashHarness h(kFleet, ShortLivedPolicy());
        h.world().faults.CrashAt(boundary, type, n);
        RunScenario(h);
        ++points;
        EXPECT_EQ(h.world().faults.fired(), 1) << "the crash did not happen";
        EXPECT_EQ(h.driver().restarts(), 1);
        // The same end as without the crash: a crash during a delivery costs
        // one more generation; one after the consumed verify rejection saves one.
        for (const auto& [id, want] : expected) {
          const RotationRecord* r = h.driver().Find(id);
          if (r == nullptr) continue;
          EXPECT_EQ(r->phase, want.phase) << id;
          const uint64_t got = r->current ? r->current->generation : 0;
          EXPECT_LE(got, want.current + 1) << id;
          EXPECT_GE(got + 1, want.current) << id;
        }
        if (!h.ok()) failed.push_back(point);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RecordProperty("crash_points", points);
  std::printf("[ crashes  ] %d crash points (%d failed) in %.2fs; boundaries:%s\n", points,
              static_cast<int>(failed.size()), seconds, table.c_str());
  std::string list;
  for (const auto& f : failed) list += "\n  " + f;
  EXPECT_TRUE(failed.empty()) << failed.size() << " crash points failed:" << list;
}

// ---- Focused crash points -------------------------------------------------------------

const Instant kRenewal = kT0 + Duration::Minutes(40);  // of generation 1

TEST(CrashRecoveryTest, CrashAfterActivateBeforePersistCommitsOnRestart) {
  CrashHarness h({"svc-a"}, ShortLivedPolicy());
  ASSERT_TRUE(h.Step("first issuance", [&] { return h.driver().RunUntil(kT0 + Duration::Minutes(1)); }));
  h.world().faults.CrashAt(Boundary::kAfter, EffectType::kActivate, 1);
  const size_t mark = h.AuditMark();
  Status s = h.driver().RunUntil(kRenewal + Duration::Minutes(1));
  ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  // Consumers already use generation 2; the store still says committing.
  auto stored = h.world().store.Get("svc-a");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->phase, Phase::kCommitting);
  ASSERT_TRUE(stored->pending && stored->current);
  EXPECT_EQ(stored->pending->generation, 2u);
  EXPECT_EQ(stored->current->generation, 1u);
  EXPECT_EQ(*h.world().sink.CurrentGeneration("svc-a"), 2u);
  const CredentialVersion verified = *stored->pending;
  const int generated = h.world().generator.calls();

  ASSERT_TRUE(h.RecoverFromCrash(s.message()));
  ASSERT_TRUE(h.Step("resume", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(1)); }));
  EXPECT_EQ(h.R("svc-a").phase, Phase::kActive);
  ASSERT_TRUE(h.R("svc-a").current);
  EXPECT_EQ(*h.R("svc-a").current, verified) << "the verified candidate is committed, not a new one";
  EXPECT_EQ(h.world().generator.calls(), generated);
  EXPECT_EQ(h.world().sink.calls(EffectType::kActivate), 3) << "activation 1, the lost one, its replay";
  EXPECT_EQ(h.EventTypes("svc-a", mark),
            (std::vector<std::string>{"rotation.started", "credential.issued", "credential.delivered",
                                      "credential.verified", "rotation.committed"}));
  ASSERT_EQ(h.R("svc-a").retiring.size(), 1u);
  EXPECT_EQ(h.R("svc-a").retiring[0].retire_at, kRenewal + Duration::Minutes(5))
      << "the grace window starts at the commit, which happened at the renewal instant";
  ASSERT_TRUE(h.Finish(Duration::Hours(1)));
  EXPECT_EQ(*h.world().sink.ListGenerations("svc-a"), std::vector<uint64_t>{2});
}

TEST(CrashRecoveryTest, CrashDuringDeliveryRegeneratesAFreshCandidate) {
  for (Boundary boundary : kBoundaries) {
    SCOPED_TRACE(std::string("crash ") + BoundaryName(boundary) + " deliver");
    CrashHarness h({"svc-a"}, ShortLivedPolicy());
    ASSERT_TRUE(h.Step("first issuance", [&] { return h.driver().RunUntil(kT0 + Duration::Minutes(1)); }));
    h.world().faults.CrashAt(boundary, EffectType::kDeliver, 1);
    const size_t mark = h.AuditMark();
    Status s = h.driver().RunUntil(kRenewal + Duration::Minutes(1));
    ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
    auto stored = h.world().store.Get("svc-a");
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->phase, Phase::kDelivering);
    EXPECT_EQ(Gen(stored->pending), "2");
    EXPECT_EQ(*h.world().sink.ListGenerations("svc-a"),
              (boundary == Boundary::kAfter ? std::vector<uint64_t>{1, 2} : std::vector<uint64_t>{1}));

    // The material of generation 2 lived only in memory: it is discarded, and
    // generation 3 is issued at once (a restart is not the identity's fault).
    ASSERT_TRUE(h.RecoverFromCrash(s.message()));
    ASSERT_TRUE(h.Step("resume", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(1)); }));
    const RotationRecord& r = h.R("svc-a");
    EXPECT_EQ(r.phase, Phase::kActive);
    ASSERT_TRUE(r.current);
    EXPECT_EQ(r.current->generation, 3u);
    EXPECT_EQ(r.current->issued_at, kRenewal) << "the fresh candidate was not issued at once";
    EXPECT_EQ(r.consecutive_failures, 0u);
    EXPECT_EQ(*h.world().sink.ListGenerations("svc-a"), (std::vector<uint64_t>{1, 3}));
    EXPECT_EQ(*h.world().sink.CurrentGeneration("svc-a"), 3u);
    EXPECT_EQ(h.CountEvents("svc-a", "rotation.committed", 2), 0) << "generation 2 must never be current";
    const std::vector<AuditEvent> events = h.Events("svc-a", mark);
    std::vector<std::string> types;
    for (const auto& e : events) types.push_back(e.type);
    EXPECT_EQ(types, (std::vector<std::string>{"rotation.started", "credential.issued", "rotation.failed",
                                               "rotation.rolled_back", "rotation.started", "credential.issued",
                                               "credential.delivered", "credential.verified", "rotation.committed"}));
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events[2].generation, 2);
    ASSERT_TRUE(h.Finish(Duration::Hours(1)));
  }
}

TEST(CrashRecoveryTest, CrashAfterGenerateIssuesTheSameGenerationAgain) {
  CrashHarness h({"svc-a"}, ShortLivedPolicy());
  ASSERT_TRUE(h.Step("first issuance", [&] { return h.driver().RunUntil(kT0 + Duration::Minutes(1)); }));
  h.world().faults.CrashAt(Boundary::kAfter, EffectType::kGenerate, 1);
  Status s = h.driver().RunUntil(kRenewal + Duration::Minutes(1));
  ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  auto stored = h.world().store.Get("svc-a");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->phase, Phase::kIssuing);
  EXPECT_EQ(stored->next_generation, 3u);
  ASSERT_TRUE(h.RecoverFromCrash(s.message()));
  ASSERT_TRUE(h.Step("resume", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(1)); }));
  EXPECT_EQ(h.R("svc-a").current->generation, 2u) << "an unrecorded candidate does not use up a generation";
  EXPECT_EQ(h.R("svc-a").next_generation, 3u);
  EXPECT_EQ(h.world().generator.calls(), 3);
  EXPECT_EQ(h.CountEvents("svc-a", "rotation.started", 2), 1);
  ASSERT_TRUE(h.Finish(Duration::Hours(1)));
}

TEST(CrashRecoveryTest, CrashAfterVerifyVerifiesAgainBeforeCommitting) {
  CrashHarness h({"svc-a"}, ShortLivedPolicy());
  ASSERT_TRUE(h.Step("first issuance", [&] { return h.driver().RunUntil(kT0 + Duration::Minutes(1)); }));
  h.world().faults.CrashAt(Boundary::kAfter, EffectType::kVerify, 1);
  Status s = h.driver().RunUntil(kRenewal + Duration::Minutes(1));
  ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  EXPECT_EQ(h.world().store.Get("svc-a")->phase, Phase::kVerifying);
  EXPECT_EQ(*h.world().sink.CurrentGeneration("svc-a"), 1u) << "nothing switched before the verification counted";
  ASSERT_TRUE(h.RecoverFromCrash(s.message()));
  ASSERT_TRUE(h.Step("resume", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(1)); }));
  EXPECT_EQ(h.R("svc-a").current->generation, 2u);
  EXPECT_EQ(h.world().sink.calls(EffectType::kVerify), 3) << "verify 1, the lost one, its replay";
  EXPECT_EQ(h.CountEvents("svc-a", "credential.verified", 2), 1);
  ASSERT_TRUE(h.Finish(Duration::Hours(1)));
}

TEST(CrashRecoveryTest, CrashAfterRetireRetiresTheVersionOnceOnRestart) {
  CrashHarness h({"svc-a"}, ShortLivedPolicy());
  ASSERT_TRUE(h.Step("first rotation", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(1)); }));
  h.world().faults.CrashAt(Boundary::kAfter, EffectType::kRetire, 1);
  Status s = h.driver().RunUntil(kRenewal + Duration::Minutes(10));
  ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  // Gone from the sink, still listed as retiring by the store.
  EXPECT_EQ(*h.world().sink.ListGenerations("svc-a"), std::vector<uint64_t>{2});
  ASSERT_EQ(h.world().store.Get("svc-a")->retiring.size(), 1u);
  ASSERT_TRUE(h.RecoverFromCrash(s.message()));
  ASSERT_TRUE(h.Step("resume", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(10)); }));
  EXPECT_TRUE(h.R("svc-a").retiring.empty());
  EXPECT_EQ(h.CountEvents("svc-a", "credential.retired", 1), 1);
  ASSERT_TRUE(h.Finish(Duration::Hours(1)));
}

TEST(CrashRecoveryTest, CrashDuringRemovalFinishesTheRetirement) {
  const std::vector<std::tuple<Boundary, EffectType>> points = {
      {Boundary::kBefore, EffectType::kRetire},
      {Boundary::kAfter, EffectType::kRetire},
      {Boundary::kBefore, EffectType::kDiscard},
      {Boundary::kAfter, EffectType::kDiscard},
  };
  for (const auto& [boundary, type] : points) {
    SCOPED_TRACE("crash " + CrashName(boundary, type, 1));
    CrashHarness h({"svc-a", "svc-b"}, ShortLivedPolicy());
    // Generation 2 current, generation 1 in its grace window.
    ASSERT_TRUE(h.Step("first rotation", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(1)); }));
    ASSERT_EQ(h.R("svc-a").retiring.size(), 1u);
    ASSERT_TRUE(h.Step("remove svc-a", [&] { return h.Remove("svc-a"); }));
    h.world().faults.CrashAt(boundary, type, 1, "svc-a");
    Status s = h.driver().RunFor(Duration::Seconds(1));
    ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
    EXPECT_EQ(h.world().store.Get("svc-a")->phase, Phase::kRetiring);
    ASSERT_TRUE(h.RecoverFromCrash(s.message()));
    ASSERT_TRUE(h.Finish(Duration::Hours(1)));
    EXPECT_EQ(h.EventTypes("svc-a").back(), "identity.retired");
    EXPECT_EQ(h.CountEvents("svc-a", "credential.retired", 1), 1);
    EXPECT_EQ(h.R("svc-b").phase, Phase::kActive) << "the other identity is not touched";
  }
}

TEST(CrashRecoveryTest, CrashDuringAnEmergencyRotationStillRetiresTheCompromisedVersionAtCommit) {
  CrashHarness h({"svc-a"}, ShortLivedPolicy());
  ASSERT_TRUE(h.Step("first issuance", [&] { return h.driver().RunUntil(kT0 + Duration::Minutes(1)); }));
  ASSERT_TRUE(h.Step("revoke", [&] { return h.driver().Revoke("svc-a"); }));
  h.world().faults.CrashAt(Boundary::kAfter, EffectType::kDeliver, 1);
  Status s = h.driver().RunFor(Duration::Seconds(1));
  ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  EXPECT_TRUE(h.world().store.Get("svc-a")->emergency);
  ASSERT_TRUE(h.RecoverFromCrash(s.message()));
  const Instant resumed = h.world().clock.Now();
  ASSERT_TRUE(h.Step("resume", [&] { return h.driver().RunFor(Duration::Seconds(1)); }));
  const RotationRecord& r = h.R("svc-a");
  EXPECT_EQ(r.current->generation, 3u);
  EXPECT_EQ(r.current->issued_at, resumed) << "the emergency retry must not wait";
  EXPECT_FALSE(r.emergency);
  EXPECT_TRUE(r.retiring.empty()) << "the compromised version outlived its replacement's commit";
  EXPECT_EQ(*h.world().sink.ListGenerations("svc-a"), std::vector<uint64_t>{3});
  std::vector<AuditEvent> retired;
  for (const auto& e : h.Events("svc-a")) {
    if (e.type == "credential.retired") retired.push_back(e);
  }
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0].generation, 1);
  EXPECT_EQ(retired[0].reason, "compromised");
  ASSERT_TRUE(h.Finish(Duration::Hours(1)));
}

TEST(CrashRecoveryTest, RevokeDuringARotationSurvivesACrash) {
  CrashHarness h({"svc-a"}, ShortLivedPolicy());
  ASSERT_TRUE(h.Step("first issuance", [&] { return h.driver().RunUntil(kT0 + Duration::Minutes(1)); }));
  h.world().sink.FailNext(EffectType::kDeliver, Unavailable("slow disk"));
  ASSERT_TRUE(h.Step("rotation waiting to retry its delivery", [&] { return h.driver().RunUntil(kRenewal); }));
  ASSERT_EQ(h.R("svc-a").phase, Phase::kDelivering);
  ASSERT_TRUE(h.Step("revoke", [&] { return h.driver().Revoke("svc-a"); }));
  EXPECT_EQ(h.EventTypes("svc-a").back(), "credential.compromised");
  h.world().faults.CrashAt(Boundary::kBefore, EffectType::kDeliver, 1);
  Status s = h.driver().RunFor(Duration::Minutes(1));
  ASSERT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  EXPECT_TRUE(h.world().store.Get("svc-a")->emergency) << "the revocation was not durable";
  ASSERT_TRUE(h.RecoverFromCrash(s.message()));
  ASSERT_TRUE(h.Step("resume", [&] { return h.driver().RunFor(Duration::Minutes(1)); }));
  // Well inside what would have been generation 1's grace window: gone.
  EXPECT_EQ(h.R("svc-a").current->generation, 3u);
  EXPECT_EQ(*h.world().sink.ListGenerations("svc-a"), std::vector<uint64_t>{3});
  EXPECT_EQ(h.CountEvents("svc-a", "credential.retired", 1), 1);
  ASSERT_TRUE(h.Finish(Duration::Hours(1)));
}

TEST(CrashRecoveryTest, CrashDuringRecoveryRecoversAgain) {
  CrashHarness h({"svc-a"}, ShortLivedPolicy());
  ASSERT_TRUE(h.Step("first issuance", [&] { return h.driver().RunUntil(kT0 + Duration::Minutes(1)); }));
  // The first crash leaves a delivered candidate; the second hits the
  // recovery's own discard of it.
  h.world().faults.CrashAt(Boundary::kAfter, EffectType::kDeliver, 1);
  h.world().faults.CrashAt(Boundary::kBefore, EffectType::kDiscard, 1);
  ASSERT_TRUE(h.Step("rotation, crashed twice", [&] { return h.driver().RunUntil(kRenewal + Duration::Minutes(1)); }));
  EXPECT_EQ(h.driver().restarts(), 2);
  EXPECT_EQ(h.world().faults.fired(), 2);
  EXPECT_EQ(h.R("svc-a").current->generation, 3u);
  EXPECT_EQ(h.CountEvents("svc-a", "rotation.failed", 2), 1) << "the second recovery only discards again";
  EXPECT_EQ(h.CountEvents("svc-a", "rotation.rolled_back", -1), 1);
  ASSERT_TRUE(h.Finish(Duration::Hours(1)));
}

}  // namespace
}  // namespace rotor
