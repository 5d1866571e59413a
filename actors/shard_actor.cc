// The shard actor: owns the resting records of its identities (compact, see
// engine/resting_record.h) and a timer wheel of their next due instants;
// activates identity actors when due or addressed, highest priority first,
// at most max_active_per_shard at a time.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "actors/internal.h"
#include "engine/resting_record.h"

namespace rotor::actors {

namespace {

using Self = caf::stateful_actor<ShardState>;

Event MakeEvent(EventType type) {
  Event e;
  e.type = type;
  return e;
}

// Priority classes of admission (ARCHITECTURE §4).
enum ReadyClass : size_t { kEmergencyClass = 0, kOverdueClass = 1, kRoutineClass = 2 };

// Park keeps a resting record in its compact form and arms its timer.
void Park(Self* self, const RotationRecord& record) {
  auto& st = self->state;
  auto [it, inserted] = st.resting.try_emplace(record.id);
  RestingEntry& e = it->second;
  if (!inserted) {  // replaced: forget the old form's place
    if (e.timer != TimerWheel<void*>::kNoHandle) st.wheel.Cancel(e.timer);
    if (e.ready) --st.ready_count;
    --st.phase_counts[static_cast<size_t>(e.phase)];
  }
  e.packed = PackResting(record);
  e.phase = record.phase;
  e.ready = false;
  e.timer = TimerWheel<void*>::kNoHandle;
  ++st.phase_counts[static_cast<size_t>(e.phase)];
  if (record.phase != Phase::kRetired && record.next_due < kMaxInstant) {
    e.timer = st.wheel.Insert(record.next_due.micros, &*it);
  }
}

// Unpark takes an identity out of the shard's resting table and returns its
// record, or nothing when it is not resting here.
std::optional<RotationRecord> Unpark(Self* self, const std::string& id) {
  auto& st = self->state;
  auto it = st.resting.find(id);
  if (it == st.resting.end()) return std::nullopt;
  RestingEntry& e = it->second;
  if (e.timer != TimerWheel<void*>::kNoHandle) st.wheel.Cancel(e.timer);
  if (e.ready) --st.ready_count;
  --st.phase_counts[static_cast<size_t>(e.phase)];
  auto record = UnpackResting(id, e.packed);
  st.resting.erase(it);
  if (!record.ok()) {
    // Only PackResting wrote it: a failure here is a bug, not bad input.
    std::fprintf(stderr, "rotor: shard lost the resting record of %s: %s\n", id.c_str(),
                 record.status().ToString().c_str());
    std::abort();
  }
  return std::move(*record);
}

std::optional<RotationRecord> Peek(const Self* self, const std::string& id) {
  auto it = self->state.resting.find(id);
  if (it == self->state.resting.end()) return std::nullopt;
  auto record = UnpackResting(id, it->second.packed);
  if (!record.ok()) return std::nullopt;
  return std::move(*record);
}

// WakeNow makes a resting, not retired identity due now.
void WakeNow(Self* self, const Context* ctx, const std::string& id) {
  auto it = self->state.resting.find(id);
  if (it == self->state.resting.end() || it->second.phase == Phase::kRetired) return;
  auto record = Unpark(self, id);
  record->next_due = ctx->ports.clock->Now();
  Park(self, *record);
}

void Activate(Self* self, const Context* ctx, const std::string& id, const Event& first) {
  auto& st = self->state;
  auto record = Unpark(self, id);
  if (!record) return;
  RecordPtr ptr = std::make_shared<RotationRecord>(std::move(*record));
  auto actor =
      self->spawn(IdentityActor, ctx, caf::actor{self}, st.fleet, ptr, EventPtr(std::make_shared<Event>(first)));
  st.active.emplace(id, std::move(actor));
}

// FireDue moves every identity whose instant has come from the wheel to its
// ready queue.
void FireDue(Self* self, Instant now) {
  auto& st = self->state;
  std::vector<TimerWheel<void*>::Fired> fired;
  st.wheel.PopDue(now.micros, &fired);
  // In due order, ties by id: the order the ordered due queue this replaced
  // kept, so a fleet's first issuance runs in id order as before.
  std::sort(fired.begin(), fired.end(), [](const auto& a, const auto& b) {
    if (a.due_micros != b.due_micros) return a.due_micros < b.due_micros;
    return static_cast<const RestingMap::value_type*>(a.payload)->first <
           static_cast<const RestingMap::value_type*>(b.payload)->first;
  });
  for (const auto& f : fired) {
    auto* element = static_cast<RestingMap::value_type*>(f.payload);
    RestingEntry& e = element->second;
    e.timer = TimerWheel<void*>::kNoHandle;
    e.ready = true;
    ++st.ready_count;
    ReadyClass cls = kRoutineClass;
    if (auto r = UnpackResting(element->first, e.packed); r.ok()) {
      if (r->emergency)
        cls = kEmergencyClass;
      else if (r->current && now >= r->current->not_after)
        cls = kOverdueClass;
    }
    st.ready[cls].push_back(element->first);
  }
}

// NextReady pops the highest-priority ready identity still resting and ready,
// with its class.
std::optional<std::pair<std::string, ReadyClass>> NextReady(Self* self) {
  auto& st = self->state;
  for (size_t cls = 0; cls < st.ready.size(); ++cls) {
    auto& queue = st.ready[cls];
    while (!queue.empty()) {
      std::string id = std::move(queue.front());
      queue.pop_front();
      auto it = st.resting.find(id);
      if (it != st.resting.end() && it->second.ready)
        return std::make_pair(std::move(id), static_cast<ReadyClass>(cls));
    }
  }
  return std::nullopt;
}

// Admissible: the issuer of a non-emergency wake that would start an
// issuance has a token for it (a wake that only retires an old version, or
// moves a group, issues nothing and needs none).
bool Admissible(Self* self, const Context* ctx, const std::string& id, const Event& first, ReadyClass cls,
                Instant now) {
  if (!ctx->issuers || cls == kEmergencyClass || first.type != EventType::kDue) return true;
  auto record = Peek(self, id);
  if (!record) return true;
  StepResult trial = Step(*record, first, now, PolicyFor(ctx, self->state.fleet.get(), record->group));
  if (trial.record.phase != Phase::kIssuing) return true;
  return ctx->issuers->TryTake(record->kind, now);
}

void Tick(Self* self, const Context* ctx) {
  auto& st = self->state;
  if (st.stopping) {
    st.ticking = false;
    return;
  }
  const Instant now = ctx->ports.clock->Now();
  FireDue(self, now);
  const bool paused = ctx->routine_paused != nullptr && ctx->routine_paused->load(std::memory_order_relaxed);
  if (!paused && !st.held.empty()) {
    // Back in the routine queue: they are still ready. One that was re-armed
    // or activated meanwhile is skipped by NextReady.
    for (auto& held : st.held) st.ready[kRoutineClass].push_back(std::move(held));
    st.held.clear();
  }
  while (!st.requested_order.empty() && st.active.size() < ctx->options.max_active_per_shard) {
    std::string id = std::move(st.requested_order.front());
    st.requested_order.pop_front();
    auto req = st.requested.find(id);
    if (req == st.requested.end()) continue;
    const Event first = std::move(req->second);
    st.requested.erase(req);
    Activate(self, ctx, id, first);
  }
  while (st.ready_count > 0 && st.active.size() < ctx->options.max_active_per_shard) {
    auto next = NextReady(self);
    if (!next) break;
    const auto& [id, cls] = *next;
    const RestingEntry& entry = st.resting.at(id);
    const bool remove = st.removed.count(id) > 0 && IsResting(entry.phase);
    // Paused (the Kafka backlog policy pause-routine): a scheduled renewal of
    // an active identity waits, still ready; rotations under way, retirements
    // of removed identities, regroups, operator and emergency rotations go on.
    // An emergency is known by its ready class (FireDue reads the record).
    if (paused && !remove && st.regroup.count(id) == 0 && entry.phase == Phase::kActive && cls != kEmergencyClass) {
      st.held.push_back(id);
      continue;
    }
    Event first = MakeEvent(remove ? EventType::kRemove : EventType::kDue);
    auto move = st.regroup.find(id);
    if (!remove && move != st.regroup.end()) {
      first = MakeEvent(EventType::kRegroup);
      first.group = move->second;
    }
    if (!Admissible(self, ctx, id, first, cls, now)) {
      // Out of tokens: it keeps its place; the next tick tries again.
      st.ready[cls].push_front(id);
      break;
    }
    if (!remove && move != st.regroup.end()) st.regroup.erase(move);
    Activate(self, ctx, id, first);
  }
  self->delayed_send(self, std::chrono::milliseconds(ctx->options.tick_millis), tick_atom::value);
}

void Adopt(Self* self, const Context* ctx, const std::vector<RotationRecord>& records) {
  auto& st = self->state;
  const Instant now = ctx->ports.clock->Now();
  st.resting.reserve(st.resting.size() + records.size());
  for (const auto& r : records) {
    if (!IsResting(r.phase) || r.phase == Phase::kRetiring) {
      Park(self, r);
      Activate(self, ctx, r.id, MakeEvent(EventType::kRecover));
      continue;
    }
    if (st.removed.count(r.id) && r.phase != Phase::kRetired) {
      RotationRecord copy = r;
      copy.next_due = now;
      Park(self, copy);
    } else {
      // The id is copied, not moved in: the loaded records are freed as a
      // whole afterwards (and handed back by malloc_trim) only if nothing
      // the shard keeps lives among them (moving ids in cost 160 bytes per
      // idle identity at 1,000,000).
      Park(self, r);
    }
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
  FireDue(self, ctx->ports.clock->Now());
  snap.identities = st.resting.size() + st.active.size();
  snap.active_actors = st.active.size();
  for (size_t p = 0; p < st.phase_counts.size(); ++p) {
    if (st.phase_counts[p]) snap.by_phase[PhaseName(static_cast<Phase>(p))] += st.phase_counts[p];
  }
  snap.by_phase["rotating"] += st.active.size();
  snap.due = st.ready_count + st.requested.size();
  if (snap.due > 0) {
    snap.next_due = ctx->ports.clock->Now();
  } else if (auto earliest = st.wheel.EarliestDue()) {
    snap.next_due = Instant{*earliest};
  }
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
        if ((st.removed.count(record->id) || st.regroup.count(record->id)) && record->phase != Phase::kRetired &&
            record->phase != Phase::kRetiring) {
          RotationRecord r = *record;
          r.next_due = ctx->ports.clock->Now();  // retire or regroup it next
          Park(self, r);
        } else {
          Park(self, *record);
        }
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
        auto resting = Peek(self, id);
        if (!resting) return std::make_shared<Status>(NotFound("no such identity"));
        if (st.stopping) return std::make_shared<Status>(Unavailable("the daemon is stopping"));
        auto queued = st.requested.find(id);
        if (queued != st.requested.end() &&
            !(ev->type == EventType::kOperatorRevoke && queued->second.type != EventType::kOperatorRevoke)) {
          // A rotation is already on its way; only a revoke supersedes it.
          return std::make_shared<Status>(Unavailable(id + " " + kAlreadyRotating + " (queued)"));
        }
        // The machine is pure: try the event first so a refusal reaches the operator.
        StepResult trial = Step(*resting, *ev, ctx->ports.clock->Now(), PolicyFor(ctx, st.fleet.get(), resting->group));
        if (!trial.rejected.ok()) return std::make_shared<Status>(trial.rejected);
        if (queued != st.requested.end()) {
          queued->second = *ev;
        } else {
          st.requested.emplace(id, *ev);
          st.requested_order.push_back(id);
        }
        return std::make_shared<Status>(Status::Ok());
      },
      // Operator commands accepted but never started, in arrival order, for
      // the store's command queue: a stop loses none of them.
      [=](unqueue_atom) -> CommandsPtr {
        auto& st = self->state;
        auto commands = std::make_shared<std::vector<QueuedCommand>>();
        const Instant now = ctx->ports.clock->Now();
        for (const std::string& id : st.requested_order) {
          auto req = st.requested.find(id);
          if (req == st.requested.end()) continue;
          QueuedCommand c;
          c.verb = req->second.type == EventType::kOperatorRevoke ? "revoke" : "rotate";
          c.target = id;
          c.queued_at = now;
          commands->push_back(std::move(c));
          st.requested.erase(req);  // an id queued twice in the order is taken once
        }
        st.requested.clear();
        st.requested_order.clear();
        return commands;
      },
      [=](stats_atom) -> SnapshotPtr { return std::make_shared<RuntimeSnapshot>(Snapshot(self, ctx)); },
      [=](stop_atom) -> caf::result<bool> {
        auto& st = self->state;
        st.stopping = true;
        // Operator commands still queued stay queued: the runtime takes them
        // (unqueue) and the store keeps them for the next start.
        if (st.active.empty()) return true;
        auto rp = self->make_response_promise();
        st.stop_waiters.push_back(rp);
        return rp;
      },
  };
}

}  // namespace rotor::actors
