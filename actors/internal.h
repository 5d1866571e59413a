// Internal to actors/: the CAF message vocabulary and the shared context of
// identity and shard actors. Not included outside actors/.
#pragma once

#include <caf/all.hpp>

#include <array>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/batch_worker.h"
#include "actors/runtime.h"
#include "engine/audit.h"
#include "engine/effect_runner.h"
#include "engine/rotation.h"
#include "engine/timer_wheel.h"
#include "engine/token_bucket.h"

namespace rotor::actors {

// Atoms (at most 10 characters in CAF 0.17).
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using due_atom = caf::atom_constant<caf::atom("due")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using persisted_atom = caf::atom_constant<caf::atom("persisted")>;
using effect_atom = caf::atom_constant<caf::atom("effectdone")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using operator_atom = caf::atom_constant<caf::atom("operator")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using fleet_atom = caf::atom_constant<caf::atom("fleet")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using unqueue_atom = caf::atom_constant<caf::atom("unqueue")>;

// Boxed payloads: local messages only, never serialised.
using RecordPtr = std::shared_ptr<const RotationRecord>;
using RecordsPtr = std::shared_ptr<const std::vector<RotationRecord>>;
using IdsPtr = std::shared_ptr<const std::vector<std::string>>;
using MovesPtr = std::shared_ptr<const std::vector<GroupMove>>;
using FleetPtr = std::shared_ptr<const FleetSpec>;
using EventPtr = std::shared_ptr<const Event>;
using OutcomePtr = std::shared_ptr<EffectOutcome>;
using StatusPtr = std::shared_ptr<const Status>;
using SnapshotPtr = std::shared_ptr<const RuntimeSnapshot>;
using CommandsPtr = std::shared_ptr<const std::vector<QueuedCommand>>;

struct StoreJob {
  StoreWrite write;
  caf::actor reply_to;
};

struct EffectRequest {
  EffectJob job;
  FleetPtr fleet;  // keeps job.group alive
  caf::actor reply_to;
};

// IssuerBuckets: the token buckets of ARCHITECTURE §4, one per issuer, shared
// by the shards of this node. Thread-safe.
class IssuerBuckets {
 public:
  IssuerBuckets(double rate, double burst) : rate_(rate), burst_(burst > 0 ? burst : rate) {}
  bool TryTake(CredentialKind issuer_of, Instant now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = buckets_.find(static_cast<int>(issuer_of));
    if (it == buckets_.end()) it = buckets_.emplace(static_cast<int>(issuer_of), TokenBucket(rate_, burst_, now)).first;
    return it->second.TryTake(now);
  }

 private:
  const double rate_;
  const double burst_;
  std::mutex mu_;
  // Keyed by the kind issued: each kind has exactly one issuer on a node.
  std::unordered_map<int, TokenBucket> buckets_;  // guarded by mu_
};

// Everything an actor may touch besides its own state. Constant after the
// runtime starts; outlives every actor.
struct Context {
  RuntimePorts ports;
  RuntimeOptions options;
  RuntimeCounters* counters = nullptr;
  BatchWorker<StoreJob>* store_writer = nullptr;
  BatchWorker<EffectRequest>* crypto_worker = nullptr;
  BatchWorker<EffectRequest>* file_worker = nullptr;
  IssuerBuckets* issuers = nullptr;  // null: admission is not rate-limited
  RenewalPolicy retire_policy;       // for identities whose group left the fleet
  // Set while routine rotations are held (the Kafka backlog policy
  // pause-routine); owned by the runtime.
  const std::atomic<bool>* routine_paused = nullptr;
};

// State of an identity actor: one rotation of one identity.
struct IdentityState {
  RotationRecord record;
  RotationRecord durable;  // the record as last committed to the store
  FleetPtr fleet;
  const GroupSpec* group = nullptr;
  caf::actor shard;
  std::shared_ptr<Candidate> candidate;  // material between generate and deliver
  std::deque<Effect> effects;
  std::deque<Event> inbox;  // operator events arriving mid-rotation
  bool waiting = false;     // a persist or an effect is outstanding
  bool timer_armed = false;
  int immediate_wakes = 0;
};

// A resting identity as its shard keeps it (ARCHITECTURE §4): the record in
// its compact form (engine/resting_record.h) and its place in the timer wheel.
struct RestingEntry {
  std::string packed;
  TimerWheel<void*>::Handle timer = TimerWheel<void*>::kNoHandle;
  Phase phase = Phase::kNew;
  bool ready = false;  // due, waiting in `ready` for an admission slot
};
using RestingMap = std::unordered_map<std::string, RestingEntry>;

// State of a shard actor: resting records, their timer wheel, and the due
// identities waiting for admission.
struct ShardState {
  FleetPtr fleet;
  RestingMap resting;
  // Payload: the RestingMap element (pointers to unordered_map elements stay
  // valid across rehashing). Resolution 1 ms: the shard ticks every 20.
  TimerWheel<void*> wheel{1000};
  // Due identities waiting for an admission slot, by priority class
  // (emergency, overdue, routine), each in firing order. An id whose entry was
  // activated or rescheduled meanwhile is stale and skipped.
  std::array<std::deque<std::string>, 3> ready;
  size_t ready_count = 0;  // entries with `ready` set
  std::array<uint64_t, 11> phase_counts{};
  std::unordered_map<std::string, caf::actor> active;
  std::unordered_set<std::string> removed;               // to retire once resting
  std::unordered_map<std::string, std::string> regroup;  // id -> new group, applied once resting
  std::vector<std::string> held;                         // due routine rotations held while paused
  // Operator commands accepted for resting identities, waiting for an
  // admission slot: they are admitted first, in arrival order, but like
  // everything else at most max_active_per_shard at a time (a `rotate --all`
  // of a million identities must not spawn a million actors at once).
  std::unordered_map<std::string, Event> requested;
  std::deque<std::string> requested_order;
  bool ticking = false;
  bool stopping = false;
  std::vector<caf::response_promise> stop_waiters;
};

// PolicyFor returns the policy of `group` in `fleet` (which may be null), or
// the retirement policy when the group is not in the fleet (any more).
const RenewalPolicy& PolicyFor(const Context* ctx, const FleetSpec* fleet, const std::string& group);

caf::behavior IdentityActor(caf::stateful_actor<IdentityState>* self, const Context* ctx, caf::actor shard,
                            FleetPtr fleet, RecordPtr record, EventPtr first);

caf::behavior ShardActor(caf::stateful_actor<ShardState>* self, const Context* ctx, size_t index);

}  // namespace rotor::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::RecordPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::RecordsPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::IdsPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::MovesPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::FleetPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::EventPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::OutcomePtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::StatusPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::SnapshotPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rotor::actors::CommandsPtr)
