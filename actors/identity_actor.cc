// The identity actor: one rotation of one identity, from activation to rest.
//
// It feeds events to the pure state machine, persists each state change with
// its audit event through the store writer, runs effects on the worker
// threads, and passivates back into its shard when the identity rests.

#include <deque>

#include "actors/internal.h"

namespace rotor::actors {

namespace {

using Self = caf::stateful_actor<IdentityState>;

const RenewalPolicy& PolicyOf(Self* self, const Context* ctx) {
  return self->state.group ? self->state.group->policy : ctx->retire_policy;
}

void Continue(Self* self, const Context* ctx);

void Feed(Self* self, const Context* ctx, const Event& ev) {
  auto& st = self->state;
  const Instant now = ctx->ports.clock->Now();
  // A group move is stepped under the policy of the group it moves to.
  StepResult res =
      Step(st.record, ev, now,
           ev.type == EventType::kRegroup ? PolicyFor(ctx, st.fleet.get(), ev.group) : PolicyOf(self, ctx));
  if (!res.rejected.ok()) {
    Continue(self, ctx);
    return;
  }
  const Phase before = st.record.phase;
  st.record = std::move(res.record);
  if (ev.type == EventType::kRegroup) st.group = st.fleet->FindGroup(st.record.group);
  for (auto& e : res.effects) st.effects.push_back(std::move(e));
  auto* c = ctx->counters;
  if (res.persist) {
    const std::string& t = res.audit.type;
    if (t == "rotation.started")
      c->rotations_started++;
    else if (t == "rotation.committed")
      c->rotations_committed++;
    else if (t == "rotation.failed")
      c->rotations_failed++;
    else if (t == "rotation.rolled_back")
      c->rollbacks++;
    else if (t == "identity.quarantined")
      c->quarantined++;
    else if (t == "credential.retired")
      c->retired_versions++;
    std::string line = ChainAuditEvent(*ctx->ports.hasher, res.audit, now, ctx->options.audit_source, &st.record);
    st.waiting = true;
    ctx->store_writer->Submit(StoreJob{StoreWrite{st.record, std::move(line)}, caf::actor{self}});
  }
  if (IsResting(st.record.phase) && before != st.record.phase) st.candidate.reset();
  Continue(self, ctx);
}

void RunNextEffect(Self* self, const Context* ctx) {
  auto& st = self->state;
  Effect effect = std::move(st.effects.front());
  st.effects.pop_front();
  EffectRequest req;
  req.job.record = st.record;
  req.job.effect = std::move(effect);
  req.job.group = st.group;
  if (req.job.effect.type == EffectType::kDeliver) req.job.candidate = st.candidate;
  req.fleet = st.fleet;
  req.reply_to = caf::actor{self};
  st.waiting = true;
  // Generation, and a verification that runs no command (for a certificate:
  // parsing and signature checks), are CPU work for the crypto pool; file
  // changes, hooks and verify commands go to the file worker.
  const EffectType type = req.job.effect.type;
  const bool runs_command = st.group && !st.group->verify_command.empty();
  if (type == EffectType::kGenerate || (type == EffectType::kVerify && !runs_command)) {
    ctx->crypto_worker->Submit(std::move(req));
  } else {
    ctx->file_worker->Submit(std::move(req));
  }
}

void Passivate(Self* self) {
  auto& st = self->state;
  st.candidate.reset();
  self->send(st.shard, passivate_atom::value, RecordPtr(std::make_shared<RotationRecord>(st.record)));
  self->quit();
}

void Continue(Self* self, const Context* ctx) {
  auto& st = self->state;
  if (st.waiting) return;
  if (!st.inbox.empty()) {
    Event ev = std::move(st.inbox.front());
    st.inbox.pop_front();
    Feed(self, ctx, ev);
    return;
  }
  if (!st.effects.empty()) {
    RunNextEffect(self, ctx);
    return;
  }
  const Instant now = ctx->ports.clock->Now();
  if (st.record.next_due <= now && st.record.phase != Phase::kRetired && st.immediate_wakes < 16) {
    ++st.immediate_wakes;
    Event due;
    due.type = EventType::kDue;
    Feed(self, ctx, due);
    return;
  }
  if (IsResting(st.record.phase)) {
    Passivate(self);
    return;
  }
  // In flight but waiting (a transient retry of the same candidate): keep the
  // material in this actor and wake up at next_due.
  if (!st.timer_armed) {
    st.timer_armed = true;
    const int64_t wait_us = std::max<int64_t>(st.record.next_due.micros - now.micros, 1000);
    self->delayed_send(self, std::chrono::microseconds(wait_us), due_atom::value);
  }
}

}  // namespace

const RenewalPolicy& PolicyFor(const Context* ctx, const FleetSpec* fleet, const std::string& group) {
  const GroupSpec* g = fleet ? fleet->FindGroup(group) : nullptr;
  return g ? g->policy : ctx->retire_policy;
}

caf::behavior IdentityActor(Self* self, const Context* ctx, caf::actor shard, FleetPtr fleet, RecordPtr record,
                            EventPtr first) {
  auto& st = self->state;
  st.record = *record;
  st.durable = *record;
  st.fleet = std::move(fleet);
  st.group = st.fleet->FindGroup(st.record.group);
  st.shard = std::move(shard);
  Feed(self, ctx, *first);
  return {
      [=](persisted_atom, StatusPtr status) {
        auto& s = self->state;
        s.waiting = false;
        ctx->counters->events_persisted++;
        if (!status->ok()) {
          // The store did not take the change: the in-memory record is ahead
          // of the durable one. Fall back to what the store holds (kept here,
          // so no store read on a CAF worker) and let recovery decide, later.
          ctx->counters->store_errors++;
          s.record = s.durable;
          s.effects.clear();
          s.record.next_due = ctx->ports.clock->Now() + Duration::Seconds(1);
          s.record.last_error = "store: " + status->ToString();
          self->send(s.shard, passivate_atom::value, RecordPtr(std::make_shared<RotationRecord>(s.record)));
          self->quit();
          return;
        }
        s.durable = s.record;  // nothing steps while a commit is outstanding
        Continue(self, ctx);
      },
      [=](effect_atom, OutcomePtr outcome) {
        auto& s = self->state;
        s.waiting = false;
        if (outcome->candidate) s.candidate = std::move(outcome->candidate);
        Feed(self, ctx, outcome->event);
      },
      [=](event_atom, EventPtr ev) {
        self->state.inbox.push_back(*ev);
        Continue(self, ctx);
      },
      // An operator command for this identity while it is active: refused now
      // if the machine would refuse it in the current state, else queued.
      [=](operator_atom, EventPtr ev) -> StatusPtr {
        auto& s = self->state;
        StepResult trial = Step(s.record, *ev, ctx->ports.clock->Now(), PolicyOf(self, ctx));
        if (!trial.rejected.ok()) return std::make_shared<Status>(trial.rejected);
        s.inbox.push_back(*ev);
        Continue(self, ctx);
        return std::make_shared<Status>(Status::Ok());
      },
      [=](due_atom) {
        self->state.timer_armed = false;
        self->state.immediate_wakes = 0;
        Continue(self, ctx);
      },
  };
}

}  // namespace rotor::actors
