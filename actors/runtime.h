// RotationRuntime: the actor side of rotor (ARCHITECTURE §4).
//
// Identities are partitioned into shards by hash(id) mod N. A shard actor keeps
// the compact records of its resting identities and a due queue; when one is
// due (or addressed by an operator) it activates a short-lived identity actor
// that drives the rotation state machine through the ports, then passivates
// back into the shard. Blocking work runs on BatchWorker threads: one store
// writer (one transaction per batch), the crypto pool (one thread per core),
// one file worker.
//
// This header exposes no CAF type. Thread-safe: every method may be called
// from any non-CAF thread (they block on replies).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/effect_runner.h"
#include "engine/fleet.h"
#include "engine/model.h"
#include "engine/ports/clock.h"
#include "engine/ports/credentials.h"
#include "engine/ports/state_store.h"

namespace rotor {

// A declared identity that the fleet file now puts in another group.
struct GroupMove {
  std::string id;
  std::string group;
};

struct RuntimePorts {
  const Clock* clock = nullptr;
  const Hasher* hasher = nullptr;
  StateStore* store = nullptr;
  CredentialGenerator* generator = nullptr;
  DeliverySink* sink = nullptr;
  CommandRunner* commands = nullptr;
  FaultInjector* faults = nullptr;
};

struct RuntimeOptions {
  size_t shards = 4;
  size_t max_active_per_shard = 512;  // bounds outstanding work end to end
  size_t store_batch = 1024;
  size_t effect_batch = 256;
  // The crypto pool (key generation and signing): 0 threads means one per
  // core. Outstanding work is bounded by max_active_per_shard × shards: an
  // identity actor has at most one effect outstanding.
  size_t crypto_threads = 0;
  size_t crypto_batch = 64;
  size_t caf_threads = 2;
  int64_t tick_millis = 20;
  // Admission of issuances per issuer (the managed CA's intermediate for
  // certificates, its root for the intermediate, rotor itself for API keys),
  // shared by every shard: a token bucket of `issuer_rate` per second holding
  // up to `issuer_burst` (0: one second's worth). 0 = unlimited. Emergency
  // rotations are admitted first and never wait for a token.
  double issuer_rate = 0;
  double issuer_burst = 0;
  std::string audit_source = "/rotor";
};

// Counters updated by the actors; read by progress displays.
struct RuntimeCounters {
  std::atomic<uint64_t> rotations_started{0};
  std::atomic<uint64_t> rotations_committed{0};
  std::atomic<uint64_t> rotations_failed{0};
  std::atomic<uint64_t> rollbacks{0};
  std::atomic<uint64_t> quarantined{0};
  std::atomic<uint64_t> retired_versions{0};
  std::atomic<uint64_t> events_persisted{0};
  std::atomic<uint64_t> store_errors{0};
  std::atomic<uint64_t> commands_requeued{0};  // accepted, not started at a stop: queued in the store
};

struct RuntimeSnapshot {
  uint64_t identities = 0;
  uint64_t active_actors = 0;  // identity actors alive (rotating)
  uint64_t due = 0;            // resting identities whose next_due has passed
  std::map<std::string, uint64_t> by_phase;
  Instant next_due = kMaxInstant;
};

class RotationRuntime {
 public:
  static std::unique_ptr<RotationRuntime> Create(RuntimePorts ports, RuntimeOptions options);
  virtual ~RotationRuntime() = default;

  // Start hands the loaded records to their shards and starts scheduling.
  // Records in a non-resting phase are recovered (ARCHITECTURE §3).
  // `moved` names identities the fleet file put in another group: (id, group).
  virtual void Start(std::shared_ptr<const FleetSpec> fleet, std::vector<RotationRecord> records,
                     const std::vector<std::string>& removed_ids, const std::vector<GroupMove>& moved = {}) = 0;
  // Reload swaps in a new fleet: `added` records are new identities (already
  // persisted by the caller), `removed_ids` are retired through the machine.
  virtual void Reload(std::shared_ptr<const FleetSpec> fleet, std::vector<RotationRecord> added,
                      const std::vector<std::string>& removed_ids, const std::vector<GroupMove>& moved = {}) = 0;

  // Operator commands. Return a human-readable outcome; non-OK if refused.
  virtual Status Rotate(const std::string& id) = 0;
  virtual Status Revoke(const std::string& id) = 0;

  // SetRoutinePaused holds (true) or releases (false) scheduled renewals of
  // active identities; everything else keeps running (the Kafka backlog
  // policy pause-routine).
  virtual void SetRoutinePaused(bool paused) = 0;

  virtual RuntimeSnapshot Snapshot() = 0;
  virtual const RuntimeCounters& counters() const = 0;

  // Stop stops admitting rotations, waits up to `grace` for identity actors to
  // come to rest, then stops the workers (everything queued is handled).
  virtual void Stop(Duration grace) = 0;
};

// ShardOf returns the shard index of an identity.
size_t ShardOf(const std::string& id, size_t shards);

}  // namespace rotor
