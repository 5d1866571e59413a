#include "tests/support/rotation_driver.h"

#include <algorithm>

#include "engine/audit.h"

namespace rotor::testing {

FleetSpec MakeFleet(const std::string& group, const RenewalPolicy& policy, const std::vector<std::string>& ids) {
  FleetSpec fleet;
  GroupSpec g;
  g.name = group;
  g.policy = policy;
  g.identities = ids;
  fleet.groups.push_back(std::move(g));
  return fleet;
}

RotationDriver::RotationDriver(Ports ports, FleetSpec fleet, Options options)
    : ports_(ports), fleet_(std::move(fleet)), options_(std::move(options)) {}

const GroupSpec* RotationDriver::GroupOf(const RotationRecord& record) const {
  return fleet_.FindGroup(record.group);
}

Status RotationDriver::Declare(const std::string& id, const std::string& group) {
  if (crashed_) return FailedPrecondition("driver crashed: Restart first");
  const GroupSpec* g = fleet_.FindGroup(group);
  if (g == nullptr) return NotFound("no group " + group);
  if (entries_.count(id)) return Status(StatusCode::kAlreadyExists, id + " is already declared");
  const Instant now = ports_.clock->Now();
  RotationRecord record = NewRecord(id, group, g->kind, now);
  AuditFact fact;
  fact.type = "identity.declared";
  fact.data["group"] = group;
  fact.data["kind"] = std::string(CredentialKindName(g->kind));
  fact.data["policy"] = g->policy.name;
  fact.data["phase"] = std::string(PhaseName(record.phase));
  std::string line = ChainAuditEvent(*ports_.hasher, fact, now, options_.audit_source, &record);
  ROTOR_RETURN_IF_ERROR(ports_.store->Commit({StoreWrite{record, std::move(line)}}));
  entries_[id].record = std::move(record);
  return Status::Ok();
}

Status RotationDriver::DeclareFleet() {
  for (const auto& g : fleet_.groups) {
    for (const auto& id : g.identities) ROTOR_RETURN_IF_ERROR(Declare(id, g.name));
  }
  return Status::Ok();
}

Status RotationDriver::Feed(Entry& entry, const Event& event) {
  const Instant now = ports_.clock->Now();
  const GroupSpec* group = GroupOf(entry.record);
  const RenewalPolicy& policy = group ? group->policy : options_.retire_policy;
  StepResult res = Step(entry.record, event, now, policy);
  if (!res.rejected.ok()) return res.rejected;
  ++steps_;
  RotationRecord after = res.record;
  std::string line;
  if (res.persist) {
    line = ChainAuditEvent(*ports_.hasher, res.audit, now, options_.audit_source, &after);
    Status s = ports_.store->Commit({StoreWrite{after, line}});
    if (!s.ok()) {
      // As the identity actor does: the durable record is the truth; reload
      // it, forget what was queued, and look again a little later.
      ++store_errors_;
      auto stored = ports_.store->Get(entry.record.id);
      if (stored.ok()) entry.record = *stored;
      entry.effects.clear();
      entry.candidate.reset();
      entry.record.next_due = now + Duration::Seconds(1);
      entry.record.last_error = "store: " + s.ToString();
      return Status::Ok();
    }
  }
  RotationRecord before = std::move(entry.record);
  entry.record = after;
  for (const auto& e : res.effects) entry.effects.push_back(e);
  if (IsResting(entry.record.phase) && before.phase != entry.record.phase) entry.candidate.reset();
  if (options_.on_step) options_.on_step(StepTrace{after.id, event, now, before, res, after, line});
  return Status::Ok();
}

Status RotationDriver::Submit(const std::string& id, const Event& event) {
  if (crashed_) return FailedPrecondition("driver crashed: Restart first");
  auto it = entries_.find(id);
  if (it == entries_.end()) return NotFound("no identity " + id);
  return Feed(it->second, event);
}

Status RotationDriver::Rotate(const std::string& id) {
  Event e;
  e.type = EventType::kOperatorRotate;
  return Submit(id, e);
}

Status RotationDriver::Revoke(const std::string& id) {
  Event e;
  e.type = EventType::kOperatorRevoke;
  return Submit(id, e);
}

Status RotationDriver::Remove(const std::string& id) {
  if (!entries_.count(id) && !crashed_) return NotFound("no identity " + id);
  removed_.insert(id);
  return Status::Ok();
}

Status RotationDriver::RunEffect(Entry& entry) {
  Effect effect = std::move(entry.effects.front());
  entry.effects.pop_front();
  std::vector<EffectJob> jobs(1);
  jobs[0].record = entry.record;
  jobs[0].effect = effect;
  jobs[0].group = GroupOf(entry.record);
  if (effect.type == EffectType::kDeliver) jobs[0].candidate = entry.candidate;
  EffectRunner runner(
      EffectRunnerPorts{ports_.clock, ports_.hasher, ports_.generator, ports_.sink, ports_.commands, ports_.faults});
  std::vector<EffectOutcome> outs = runner.Run(jobs);
  EffectOutcome& out = outs.at(0);
  if (out.crashed) {
    const std::string what = out.event.error.ToString();
    Crash();
    return Aborted(what);
  }
  if (out.candidate) entry.candidate = std::move(out.candidate);
  Status s = Feed(entry, out.event);
  if (!s.ok()) ++stale_outcomes_;
  return Status::Ok();
}

Status RotationDriver::Work(Entry& entry, bool* did) {
  *did = false;
  RotationRecord& r = entry.record;
  if (!entry.effects.empty()) {
    *did = true;
    entry.idle_wakes = 0;
    return RunEffect(entry);
  }
  if (removed_.count(r.id) && IsResting(r.phase) && r.phase != Phase::kRetired) {
    Event e;
    e.type = EventType::kRemove;
    Status s = Feed(entry, e);
    if (!s.ok()) return Internal("kRemove rejected for resting " + r.id + ": " + s.ToString());
    *did = true;
    return Status::Ok();
  }
  const Instant now = ports_.clock->Now();
  if (r.phase == Phase::kRetired || r.next_due > now) return Status::Ok();
  *did = true;
  const Phase phase_before = r.phase;
  const uint64_t seq_before = r.chain_seq;
  Event due;
  due.type = EventType::kDue;
  Status s = Feed(entry, due);
  // Idle: nothing queued, nothing persisted, same phase — and still due.
  const bool idle =
      !s.ok() || (entry.effects.empty() && entry.record.phase == phase_before && entry.record.chain_seq == seq_before);
  if (idle && entry.record.next_due <= now) {
    if (++entry.idle_wakes > options_.max_idle_wakes) {
      return Internal("livelock: " + r.id + " in phase " + PhaseName(r.phase) + " is due at " +
                      FormatRfc3339(r.next_due) + " but kDue changes nothing (now " + FormatRfc3339(now) + ")");
    }
  } else {
    entry.idle_wakes = 0;
  }
  return Status::Ok();
}

Status RotationDriver::RunPending(uint64_t* budget) {
  if (crashed_) return FailedPrecondition("driver crashed: Restart first");
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& [id, entry] : entries_) {
      while (true) {
        bool did = false;
        ROTOR_RETURN_IF_ERROR(Work(entry, &did));
        if (!did) break;
        progress = true;
        if (++*budget > options_.max_steps) {
          return Status(StatusCode::kResourceExhausted, "runaway: more than " + std::to_string(options_.max_steps) +
                                                            " steps (last: " + id + " in phase " +
                                                            PhaseName(entry.record.phase) + ")");
        }
      }
    }
  }
  return Status::Ok();
}

Instant RotationDriver::NextWake() const {
  Instant next = kMaxInstant;
  for (const auto& [id, e] : entries_) {
    if (e.record.phase == Phase::kRetired) continue;
    next = std::min(next, e.record.next_due);
  }
  return next;
}

Status RotationDriver::RunUntil(Instant deadline) {
  uint64_t budget = 0;
  while (true) {
    ROTOR_RETURN_IF_ERROR(RunPending(&budget));
    const Instant next = NextWake();
    if (next > deadline) {
      if (ports_.clock->Now() < deadline) ports_.clock->Set(deadline);
      return Status::Ok();
    }
    if (next > ports_.clock->Now()) ports_.clock->Set(next);
  }
}

bool RotationDriver::Settled(const std::string& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  const Phase p = e.record.phase;
  if (!e.effects.empty() || !e.record.retiring.empty()) return false;
  if (removed_.count(id)) return p == Phase::kRetired;
  return p == Phase::kActive || p == Phase::kQuarantined || p == Phase::kRetired;
}

Status RotationDriver::Settle(Duration limit) {
  const Instant deadline = ports_.clock->Now() + limit;
  uint64_t budget = 0;
  while (true) {
    ROTOR_RETURN_IF_ERROR(RunPending(&budget));
    std::string unsettled;
    for (const auto& [id, e] : entries_) {
      if (!Settled(id)) {
        unsettled = id + " (" + PhaseName(e.record.phase) + ", " + std::to_string(e.record.retiring.size()) +
                    " retiring, last error: " + e.record.last_error + ")";
        break;
      }
    }
    if (unsettled.empty()) return Status::Ok();
    const Instant next = NextWake();
    if (next > deadline) {
      return FailedPrecondition("not settled by " + FormatRfc3339(deadline) + ": " + unsettled);
    }
    if (next > ports_.clock->Now()) ports_.clock->Set(next);
  }
}

void RotationDriver::Crash() {
  entries_.clear();
  crashed_ = true;
}

Status RotationDriver::Restart() {
  entries_.clear();
  crashed_ = false;
  ++restarts_;
  std::vector<RotationRecord> loaded;
  ROTOR_RETURN_IF_ERROR(ports_.store->ForEach([&](const RotationRecord& r) {
    loaded.push_back(r);
    return true;
  }));
  for (auto& r : loaded) {
    const std::string id = r.id;
    entries_[id].record = std::move(r);
  }
  for (auto& [id, entry] : entries_) {
    Event e;
    e.type = EventType::kRecover;
    Status s = Feed(entry, e);
    if (!s.ok()) return Internal("kRecover rejected for " + id + ": " + s.ToString());
  }
  return Status::Ok();
}

const RotationRecord* RotationDriver::Find(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second.record;
}

std::vector<std::string> RotationDriver::Ids() const {
  std::vector<std::string> out;
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

}  // namespace rotor::testing
