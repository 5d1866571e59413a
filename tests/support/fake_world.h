// FakeWorld: one of each fake port plus a VirtualClock, wired for a
// RotationDriver. The store, sink and clock outlive driver "crashes".
// Thread-compatible.
#pragma once

#include "engine/ports/clock.h"
#include "tests/support/fake_command_runner.h"
#include "tests/support/fake_delivery_sink.h"
#include "tests/support/fake_generator.h"
#include "tests/support/fake_hasher.h"
#include "tests/support/fake_state_store.h"
#include "tests/support/rotation_driver.h"
#include "tests/support/scripted_faults.h"

namespace rotor::testing {

struct FakeWorld {
  explicit FakeWorld(Instant start) : clock(start) {}

  RotationDriver::Ports ports(bool with_faults = true) {
    RotationDriver::Ports p;
    p.clock = &clock;
    p.hasher = &hasher;
    p.store = &store;
    p.generator = &generator;
    p.sink = &sink;
    p.commands = &commands;
    p.faults = with_faults ? &faults : nullptr;
    return p;
  }

  VirtualClock clock;
  FakeHasher hasher;
  FakeStateStore store;
  FakeDeliverySink sink;
  FakeGenerator generator{hasher};
  FakeCommandRunner commands;
  ScriptedFaults faults;
};

}  // namespace rotor::testing
