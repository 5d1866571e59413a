// The shard actor: owns the resting records of its identities and the queue of
// their next due instants; activates identity actors when due or addressed.

#include <set>
#include <unordered_map>
#include <unordered_set>

#include "actors/internal.h"

namespace rotor::actors {

namespace {

using Self = caf::stateful_actor<ShardState>;

Event MakeEvent(EventType type) {
  Event e;
  e.type = type;
  return e;
}

void Park(Self* self, RotationRecord record) {
  auto& st = self->state;
  const std::string id = record.id;
  if (record.phase != Phase::kRetired && record.next_due < kMaxInstant) {
    st.due.emplace(record.next_due.micros, id);
  }
  st.resting[id] = std::move(record);
}

void Unpark(Self* self, const std::string& id) {
  auto& st = self->state;
  auto it = st.resting.find(id);
  if (it == st.resting.end()) return;
  st.due.erase({it->second.next_due.micros, id});
}

// WakeNow moves a resting, not retired identity to the front of the due queue.
void WakeNow(Self* self, const Context* ctx, const std::string& id) {
  auto& st = self->state;
  auto it = st.resting.find(id);
  if (it == st.resting.end() || it->second.phase == Phase::kRetired) return;
  Unpark(self, id);
  it->second.next_due = ctx->ports.clock->Now();
  st.due.emplace(it->second.next_due.micros, id);
}

void Activate(Self* self, const Context* ctx, const std::string& id, const Event& first) {
  auto& st = self->state;
  auto it = st.resting.find(id);
  if (it == st.resting.end()) return;
  Unpark(self, id);
  RecordPtr record = std::make_shared<RotationRecord>(std::move(it->second));
  st.resting.erase(it);
  auto actor =
      self->spawn(IdentityActor, ctx, caf::actor{self}, st.fleet, record, EventPtr(std::make_shared<Event>(first)));
  st.active.emplace(id, std::move(actor));
}

void Tick(Self* self, const Context* ctx) {
  auto& st = self->state;
  if (st.stopping) {
    st.ticking = false;
    return;
  }
  const Instant now = ctx->ports.clock->Now();
  const bool paused = ctx->routine_paused != nullptr && ctx->routine_paused->load(std::memory_order_relaxed);
  if (!paused && !st.held.empty()) {
    // Back in the queue at their own due time (a set: an entry Park or
    // WakeNow made meanwhile is not doubled).
    for (const std::string& id : st.held) {
      auto it = st.resting.find(id);
      if (it != st.resting.end() && it->second.next_due < kMaxInstant) st.due.emplace(it->second.next_due.micros, id);
    }
    st.held.clear();
  }
  while (!st.due.empty() && st.due.begin()->first <= now.micros &&
         st.active.size() < ctx->options.max_active_per_shard) {
    std::string id = st.due.begin()->second;
    st.due.erase(st.due.begin());
    auto it = st.resting.find(id);
    if (it == st.resting.end()) continue;
    const bool remove = st.removed.count(id) > 0 && IsResting(it->second.phase);
    // Paused: a scheduled renewal of an active identity waits; rotations under
    // way, retirements, regroups, operator and emergency rotations go on.
    if (paused && !remove && st.regroup.count(id) == 0 && it->second.phase == Phase::kActive && !it->second.emergency) {
      st.held.push_back(id);
      continue;
    }
    Event first = MakeEvent(remove ? EventType::kRemove : EventType::kDue);
    if (auto move = st.regroup.find(id); !remove && move != st.regroup.end()) {
      first = MakeEvent(EventType::kRegroup);
      first.group = move->second;
      st.regroup.erase(move);
    }
    Activate(self, ctx, id, first);
  }
  self->delayed_send(self, std::chrono::milliseconds(ctx->options.tick_millis), tick_atom::value);
}

void Adopt(Self* self, const Context* ctx, const std::vector<RotationRecord>& records) {
  auto& st = self->state;
  const Instant now = ctx->ports.clock->Now();
  for (const auto& r : records) {
    RotationRecord copy = r;
    if (!IsResting(copy.phase) || copy.phase == Phase::kRetiring) {
      Park(self, std::move(copy));
      Activate(self, ctx, r.id, MakeEvent(EventType::kRecover));
      continue;
    }
    if (st.removed.count(r.id) && copy.phase != Phase::kRetired) copy.next_due = now;
    Park(self, std::move(copy));
  }
}

void MaybeFinishStop(Self* self) {
  auto& st = self->state;
  if (!st.stopping || !st.active.empty()) return;
  for (auto& rp : st.stop_waiters) rp.deliver(true);
  st.stop_waiters.clear();
}

RuntimeSnapshot Snapshot(Self* self, const Context* ctx) {
  auto& st = self->state;
  RuntimeSnapshot snap;
  const Instant now = ctx->ports.clock->Now();
  snap.identities = st.resting.size() + st.active.size();
  snap.active_actors = st.active.size();
  for (const auto& [id, r] : st.resting) snap.by_phase[PhaseName(r.phase)]++;
  snap.by_phase["rotating"] += st.active.size();
  for (const auto& [when, id] : st.due) {
    if (when <= now.micros)
      snap.due++;
    else
      break;
  }
  snap.due += st.held.size();  // due, held by the backlog policy
  if (!st.due.empty()) snap.next_due = Instant{st.due.begin()->first};
  return snap;
}

}  // namespace

caf::behavior ShardActor(Self* self, const Context* ctx, size_t /*index*/) {
  return {
      [=](fleet_atom, FleetPtr fleet) { self->state.fleet = std::move(fleet); },
      [=](adopt_atom, RecordsPtr records, IdsPtr removed, MovesPtr moved) {
        auto& st = self->state;
        for (const auto& id : *removed) {
          st.removed.insert(id);
          WakeNow(self, ctx, id);
        }
        Adopt(self, ctx, *records);
        // Group moves are applied through the machine (identity.updated) when
        // the identity rests: wake resting ones now, active ones at passivation.
        for (const auto& m : *moved) {
          st.regroup[m.id] = m.group;
          WakeNow(self, ctx, m.id);
        }
        if (!st.ticking && !st.stopping) {
          st.ticking = true;
          Tick(self, ctx);
        }
      },
      [=](tick_atom) { Tick(self, ctx); },
      [=](passivate_atom, RecordPtr record) {
        auto& st = self->state;
        st.active.erase(record->id);
        RotationRecord r = *record;
        if ((st.removed.count(r.id) || st.regroup.count(r.id)) && r.phase != Phase::kRetired &&
            r.phase != Phase::kRetiring) {
          r.next_due = ctx->ports.clock->Now();  // retire or regroup it next
        }
        Park(self, std::move(r));
        MaybeFinishStop(self);
      },
      [=](operator_atom, EventPtr ev, const std::string& id) -> caf::result<StatusPtr> {
        auto& st = self->state;
        auto active = st.active.find(id);
        if (active != st.active.end()) {
          // The identity actor decides: it may only be retiring an old version
          // (a rotate is then taken) or be mid-rotation (refused).
          auto rp = self->make_response_promise();
          rp.delegate(active->second, operator_atom::value, ev);
          return rp;
        }
        auto it = st.resting.find(id);
        if (it == st.resting.end()) return std::make_shared<Status>(NotFound("no such identity"));
        if (st.stopping) return std::make_shared<Status>(Unavailable("the daemon is stopping"));
        // The machine is pure: try the event first so a refusal reaches the operator.
        StepResult trial =
            Step(it->second, *ev, ctx->ports.clock->Now(), PolicyFor(ctx, st.fleet.get(), it->second.group));
        if (!trial.rejected.ok()) return std::make_shared<Status>(trial.rejected);
        Activate(self, ctx, id, *ev);
        return std::make_shared<Status>(Status::Ok());
      },
      [=](stats_atom) -> SnapshotPtr { return std::make_shared<RuntimeSnapshot>(Snapshot(self, ctx)); },
      [=](stop_atom) -> caf::result<bool> {
        auto& st = self->state;
        st.stopping = true;
        if (st.active.empty()) return true;
        auto rp = self->make_response_promise();
        st.stop_waiters.push_back(rp);
        return rp;
      },
  };
}

}  // namespace rotor::actors
