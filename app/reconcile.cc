#include "app/reconcile.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <thread>

#include "engine/audit.h"
#include "engine/rotation.h"

namespace rotor::app {
namespace {

constexpr size_t kDeclareBatch = 4096;

StoreWrite Declare(RotationRecord record, const GroupSpec& group, const Hasher& hasher, Instant now,
                   const std::string& source, const char* type, const std::string& previous_group = "") {
  AuditFact fact;
  fact.type = type;
  fact.data["group"] = group.name;
  if (!previous_group.empty()) fact.data["previous_group"] = previous_group;
  fact.data["kind"] = std::string(CredentialKindName(group.kind));
  fact.data["policy"] = group.policy.name;
  fact.data["phase"] = std::string(PhaseName(record.phase));
  std::string line = ChainAuditEvent(hasher, fact, now, source, &record);
  return StoreWrite{std::move(record), std::move(line)};
}

Status CommitInBatches(StateStore& store, std::vector<StoreWrite>& writes) {
  for (size_t i = 0; i < writes.size(); i += kDeclareBatch) {
    std::vector<StoreWrite> batch(writes.begin() + static_cast<long>(i),
                                  writes.begin() + static_cast<long>(std::min(writes.size(), i + kDeclareBatch)));
    ROTOR_RETURN_IF_ERROR(store.Commit(batch));
  }
  return Status::Ok();
}

// Redeclare starts a new lifecycle for a retired identity declared again. Its
// chain and generation counter continue: versions are never reused.
RotationRecord Redeclare(const RotationRecord& old, const GroupSpec& group, Instant now) {
  RotationRecord r = NewRecord(old.id, group.name, group.kind, now);
  r.next_generation = old.next_generation;
  r.chain_seq = old.chain_seq;
  r.chain_hash = old.chain_hash;
  return r;
}

}  // namespace

StatusOr<ReconcilePlan> Reconcile(StateStore& store, const FleetSpec& fleet, const Hasher& hasher, Instant now,
                                  const std::string& source) {
  // What the store holds of each declared id, by its place in the fleet.
  // The store's records come in id order and so, once sorted, do the
  // fleet's ids: one merge pass matches them, with no per-id lookup (a hash
  // table of a million ids costs a cache miss or three per lookup).
  constexpr size_t kNone = SIZE_MAX;
  struct Declared {
    std::string_view id;  // into `fleet`, which outlives this call
    const GroupSpec* group;
    bool stored = false;
    bool moved = false;      // in another group, mid-rotation: moved once it rests
    size_t changed = kNone;  // index in `changed`: retired (declared again) or resting in another group
  };
  std::vector<Declared> declared;
  for (const auto& group : fleet.groups) {
    for (const auto& id : group.identities) declared.push_back(Declared{id, &group});
  }
  std::vector<uint32_t> by_id(declared.size());
  for (size_t i = 0; i < by_id.size(); ++i) by_id[i] = static_cast<uint32_t>(i);
  auto id_less = [&](uint32_t a, uint32_t b) { return declared[a].id < declared[b].id; };
  if (!std::is_sorted(by_id.begin(), by_id.end(), id_less)) std::sort(by_id.begin(), by_id.end(), id_less);

  // Every record, decoded in parallel (the store's LoadAll), in id order.
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  ROTOR_ASSIGN_OR_RETURN(std::vector<std::vector<RotationRecord>> runs, store.LoadAll(threads));

  ReconcilePlan plan;
  std::vector<RotationRecord>& kept = plan.records;  // handed to the runtime as they are
  std::vector<RotationRecord> changed;               // persisted again below, with their event
  size_t loaded = 0;
  for (const auto& run : runs) loaded += run.size();
  kept.reserve(loaded + (declared.size() > loaded ? declared.size() - loaded : 0));
  size_t next = 0;  // in by_id
  for (auto& run : runs) {
    for (RotationRecord& r : run) {
      while (next < by_id.size() && declared[by_id[next]].id < r.id) ++next;
      if (next == by_id.size() || declared[by_id[next]].id != r.id) {
        if (r.phase == Phase::kRetired) continue;
        plan.removed_ids.push_back(r.id);
        kept.push_back(std::move(r));
        continue;
      }
      Declared& d = declared[by_id[next]];
      d.stored = true;
      if (r.phase == Phase::kRetired || (r.group != d.group->name && IsResting(r.phase))) {
        d.changed = changed.size();
        changed.push_back(std::move(r));
        continue;
      }
      d.moved = r.group != d.group->name;
      kept.push_back(std::move(r));
    }
    run = {};  // hand the run's memory back before the next one is moved
  }
  // Declarations, in fleet order: new identities, retired ones declared
  // again, resting ones moved to another group.
  std::vector<StoreWrite> writes;
  for (const Declared& d : declared) {
    const GroupSpec& group = *d.group;
    if (!d.stored) {
      writes.push_back(Declare(NewRecord(std::string(d.id), group.name, group.kind, now), group, hasher, now, source,
                               "identity.declared"));
    } else if (d.changed != kNone) {
      RotationRecord& r = changed[d.changed];
      if (r.phase == Phase::kRetired) {
        writes.push_back(Declare(Redeclare(r, group, now), group, hasher, now, source, "identity.declared"));
      } else {
        const std::string previous = r.group;
        r.group = group.name;
        writes.push_back(Declare(std::move(r), group, hasher, now, source, "identity.updated", previous));
      }
    } else if (d.moved) {
      plan.moved.push_back(GroupMove{std::string(d.id), group.name});
    }
  }
  plan.declared = writes.size();
  ROTOR_RETURN_IF_ERROR(CommitInBatches(store, writes));
  for (auto& w : writes) plan.records.push_back(std::move(w.record));
  return plan;
}

StatusOr<ReconcilePlan> ReconcileReload(StateStore& store, const FleetSpec& old_fleet, const FleetSpec& next,
                                        const Hasher& hasher, Instant now, const std::string& source) {
  std::map<std::string, std::string> old_group;  // id -> group in the running fleet
  std::set<std::string> next_ids;
  for (const auto& g : old_fleet.groups) {
    for (const auto& id : g.identities) old_group.emplace(id, g.name);
  }
  ReconcilePlan plan;
  std::vector<StoreWrite> writes;
  for (const auto& group : next.groups) {
    for (const auto& id : group.identities) {
      next_ids.insert(id);
      if (auto old = old_group.find(id); old != old_group.end()) {
        if (old->second != group.name) plan.moved.push_back(GroupMove{id, group.name});
        continue;
      }
      auto existing = store.Get(id);
      if (existing.ok()) {
        if (existing->phase != Phase::kRetired) continue;  // still retiring: it stays under its old lifecycle
        writes.push_back(Declare(Redeclare(*existing, group, now), group, hasher, now, source, "identity.declared"));
      } else if (existing.status().code() == StatusCode::kNotFound) {
        writes.push_back(
            Declare(NewRecord(id, group.name, group.kind, now), group, hasher, now, source, "identity.declared"));
      } else {
        return existing.status();
      }
    }
  }
  for (const auto& [id, group] : old_group) {
    if (!next_ids.count(id)) plan.removed_ids.push_back(id);
  }
  plan.declared = writes.size();
  ROTOR_RETURN_IF_ERROR(CommitInBatches(store, writes));
  for (auto& w : writes) plan.records.push_back(std::move(w.record));
  return plan;
}

std::vector<std::string> ResolveTargets(const FleetSpec& fleet, const std::vector<std::string>& ids,
                                        const std::string& key, const std::string& value, bool all) {
  std::vector<std::string> out = ids;
  if (all || !key.empty()) {
    for (const auto& g : fleet.groups) {
      // --all means the fleet's credentials: the CA's intermediate is rotated
      // only when named (rotor rotate rotor-ca) or selected by group or kind.
      if (all && g.kind == CredentialKind::kCaIntermediate) continue;
      if (all || MatchesSelector(g, key, value)) out.insert(out.end(), g.identities.begin(), g.identities.end());
    }
  }
  return out;
}

ControlRequest QueuedToRequest(const QueuedCommand& c) {
  ControlRequest r;
  r.op = c.verb;
  r.compromised = c.verb == "revoke";
  if (c.target == "all") {
    r.all = true;
  } else if (c.target.rfind("selector:", 0) == 0) {
    (void)ParseSelector(std::string_view(c.target).substr(9), &r.selector_key, &r.selector_value);
  } else {
    r.ids.push_back(c.target);
  }
  return r;
}

std::vector<QueuedCommand> RequestToQueued(const ControlRequest& r, Instant now) {
  std::vector<QueuedCommand> out;
  auto add = [&](std::string target) { out.push_back(QueuedCommand{0, r.op, std::move(target), now}); };
  for (const auto& id : r.ids) add(id);
  if (r.all) {
    add("all");
  } else if (!r.selector_key.empty()) {
    add("selector:" + r.selector_key + "=" + r.selector_value);
  }
  return out;
}

std::string NodeName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "node";
  return buf;
}

}  // namespace rotor::app
