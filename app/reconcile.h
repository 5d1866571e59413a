// Reconciling the store with the declared fleet (ARCHITECTURE §7): new
// identities are declared (persisted with an identity.declared event),
// identities no longer declared are retired through the state machine.
#pragma once

#include <string>
#include <vector>

#include "actors/runtime.h"
#include "app/control.h"
#include "engine/fleet.h"
#include "engine/ports/credentials.h"
#include "engine/ports/state_store.h"

namespace rotor::app {

struct ReconcilePlan {
  std::vector<RotationRecord> records;   // to hand to the runtime
  std::vector<std::string> removed_ids;  // to retire
  uint64_t declared = 0;                 // newly declared identities
  std::vector<GroupMove> moved;          // declared identities now in another group
};

// Reconcile loads every record and declares the fleet's new identities.
StatusOr<ReconcilePlan> Reconcile(StateStore& store, const FleetSpec& fleet, const Hasher& hasher, Instant now,
                                  const std::string& source);
// ReconcileReload computes what changed between two fleets: `records` holds
// only the newly declared identities.
StatusOr<ReconcilePlan> ReconcileReload(StateStore& store, const FleetSpec& old_fleet, const FleetSpec& next,
                                        const Hasher& hasher, Instant now, const std::string& source);

// ResolveTargets turns explicit ids, a selector or "all" into identity ids.
std::vector<std::string> ResolveTargets(const FleetSpec& fleet, const std::vector<std::string>& ids,
                                        const std::string& key, const std::string& value, bool all);

// A queued command names one target: an identity id, "selector:k=v" or
// "all". RequestToQueued turns a request into one command per explicit id,
// plus one for its selector or --all.
ControlRequest QueuedToRequest(const QueuedCommand& command);
std::vector<QueuedCommand> RequestToQueued(const ControlRequest& request, Instant now);

// NodeName is this host's name, for the audit `source` attribute.
std::string NodeName();

}  // namespace rotor::app
