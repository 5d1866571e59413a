// BringUpCa: the managed CA's intermediate is rotated by the same state
// machine as every leaf, but leaves cannot be signed before it exists. At
// start, before the runtime schedules anything, the daemon drives the
// intermediate's first issuance (or finishes a rotation a crash interrupted)
// synchronously through Step, the store and the effect runner: the same
// transitions, the same audit events, one at a time.
#pragma once

#include <cstdint>
#include <string>

#include "engine/effect_runner.h"
#include "engine/fleet.h"
#include "engine/ports/state_store.h"
#include "engine/status.h"

namespace rotor::app {

// BringUpCa drives `record` (the CA identity's) until it rests with a current
// version. OK at once when it already does. Unavailable with the machine's
// last error when the attempt ended in back-off (the runtime retries later).
// `events`, when given, is increased by each audit event committed.
Status BringUpCa(RotationRecord* record, const GroupSpec& group, StateStore& store, const EffectRunnerPorts& ports,
                 const std::string& source, uint64_t* events = nullptr);

}  // namespace rotor::app
