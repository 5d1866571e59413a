// RotationDriver: a synchronous, single-threaded stand-in for the identity
// and shard actors (actors/), for tests. It drives a set of identities through
// the pure state machine (engine/rotation.h) over the ports alone, so the same
// driver runs over fakes (tests/support) or real connectors (integration).
//
// For each identity it does what rotation.h asks of a caller:
//   Step(record, event, now, policy) -> if persist: ChainAuditEvent and
//   StateStore::Commit({record, line}) -> queue the effects -> run them one at
//   a time through EffectRunner, feeding each outcome back through Step ->
//   when nothing is queued, wake the identity with kDue at next_due, moving
//   the VirtualClock forward to the earliest next_due.
//
// An effect outcome with crashed=true (ScriptedFaults) drops all in-memory
// state (records, queued effects, candidate material) and the run returns
// Aborted; Restart() reloads every record from the store and feeds kRecover.
// The store, the sink and the clock survive a crash; the removal set (the
// fleet file) does too.
//
// Bug detectors: a kDue that changes nothing while the identity stays due is
// a livelock (Internal); more than Options::max_steps steps in one call is a
// runaway (ResourceExhausted). Effect outcomes that the machine rejects as
// stale are counted (stale_outcomes()); a correct run has none.
//
// Thread-compatible: one thread drives it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/effect_runner.h"
#include "engine/fleet.h"
#include "engine/ports/clock.h"
#include "engine/ports/credentials.h"
#include "engine/ports/state_store.h"
#include "engine/rotation.h"

namespace rotor::testing {

class RotationDriver {
 public:
  struct Ports {
    VirtualClock* clock = nullptr;
    const Hasher* hasher = nullptr;
    StateStore* store = nullptr;
    CredentialGenerator* generator = nullptr;
    DeliverySink* sink = nullptr;
    CommandRunner* commands = nullptr;  // optional
    FaultInjector* faults = nullptr;    // optional
  };

  // One applied (not rejected) step, for observers.
  struct StepTrace {
    const std::string& id;
    const Event& event;
    Instant now;
    const RotationRecord& before;
    const StepResult& result;       // result.record is before the audit chain advanced
    const RotationRecord& after;    // as persisted (chain head advanced) or kept in memory
    const std::string& audit_line;  // empty unless result.persist
  };

  struct Options {
    std::string audit_source = "rotor://test";
    RenewalPolicy retire_policy;  // for records whose group is not in the fleet
    uint64_t max_steps = 200000;  // per Run/Settle call
    int max_idle_wakes = 4;       // kDue events in a row that change nothing
    std::function<void(const StepTrace&)> on_step;
  };

  RotationDriver(Ports ports, FleetSpec fleet, Options options);
  RotationDriver(Ports ports, FleetSpec fleet) : RotationDriver(ports, std::move(fleet), Options{}) {}

  // Declare commits a new identity of `group` (phase kNew, due now) with its
  // "identity.declared" event, as app/reconcile does.
  Status Declare(const std::string& id, const std::string& group);
  // DeclareFleet declares every identity of every group.
  Status DeclareFleet();

  // Submit applies an external event (operator rotate/revoke) now. Returns
  // the machine's rejection, if any.
  Status Submit(const std::string& id, const Event& event);
  Status Rotate(const std::string& id);
  Status Revoke(const std::string& id);
  // Remove takes `id` out of the fleet: kRemove is fed as soon as it rests.
  Status Remove(const std::string& id);

  // RunUntil runs every effect and wake-up due at or before `deadline`,
  // advancing the clock from wake-up to wake-up, and leaves it at `deadline`.
  // Aborted: a simulated crash happened (call Restart).
  Status RunUntil(Instant deadline);
  Status RunFor(Duration d) { return RunUntil(ports_.clock->Now() + d); }
  // Settle runs until every identity is settled — active, quarantined or
  // retired, nothing queued, no version left in its grace window, no removal
  // outstanding — or fails when that takes longer than `limit`.
  Status Settle(Duration limit);

  // Crash drops every in-memory state; Restart reloads from the store and
  // feeds kRecover to every record.
  void Crash();
  Status Restart();
  bool crashed() const { return crashed_; }

  // Accessors.
  const RotationRecord* Find(const std::string& id) const;
  std::vector<std::string> Ids() const;
  bool Settled(const std::string& id) const;
  uint64_t steps() const { return steps_; }
  uint64_t stale_outcomes() const { return stale_outcomes_; }
  uint64_t store_errors() const { return store_errors_; }
  int restarts() const { return restarts_; }
  const FleetSpec& fleet() const { return fleet_; }

 private:
  struct Entry {
    RotationRecord record;
    std::deque<Effect> effects;
    std::shared_ptr<Candidate> candidate;  // material between generate and deliver
    int idle_wakes = 0;
  };

  const GroupSpec* GroupOf(const RotationRecord& record) const;
  // Feed applies one event. Returns the machine's rejection (record unchanged)
  // or OK; a failed store commit is absorbed as the identity actor does.
  Status Feed(Entry& entry, const Event& event);
  // Work does one unit of work for `entry` if it has any due now; sets *did.
  Status Work(Entry& entry, bool* did);
  Status RunEffect(Entry& entry);
  // RunPending does all work due at the current instant.
  Status RunPending(uint64_t* budget);
  Instant NextWake() const;

  Ports ports_;
  FleetSpec fleet_;
  Options options_;
  std::map<std::string, Entry> entries_;
  std::set<std::string> removed_;
  bool crashed_ = false;
  uint64_t steps_ = 0;
  uint64_t stale_outcomes_ = 0;
  uint64_t store_errors_ = 0;
  int restarts_ = 0;
};

// MakeFleet builds a one-group fleet: `ids` under `group` with `policy`.
FleetSpec MakeFleet(const std::string& group, const RenewalPolicy& policy, const std::vector<std::string>& ids);

}  // namespace rotor::testing
