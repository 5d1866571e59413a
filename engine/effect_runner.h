// EffectRunner executes the effects of the rotation state machine through the
// ports and turns each outcome into the Event to feed back (ARCHITECTURE §3).
//
// Synchronous and blocking (file I/O, hooks): call it from a dedicated thread,
// never from a CAF worker. Batch methods group durability (one sink call per
// batch). Thread-compatible: one instance per thread, ports shared.
#pragma once

#include <memory>
#include <vector>

#include "engine/fleet.h"
#include "engine/ports/clock.h"
#include "engine/ports/credentials.h"
#include "engine/rotation.h"

namespace rotor {

// FaultInjector lets tests crash or fail the runner at an effect boundary.
// Before/After return non-OK to fail the effect (After: the effect happened,
// its outcome is then lost — a crash right after the effect).
class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  virtual Status Before(const std::string& id, EffectType type) = 0;
  virtual Status After(const std::string& id, EffectType type) = 0;
};

struct EffectRunnerPorts {
  const Clock* clock = nullptr;
  const Hasher* hasher = nullptr;
  CredentialGenerator* generator = nullptr;
  DeliverySink* sink = nullptr;
  CommandRunner* commands = nullptr;  // optional: hooks and verify commands
  FaultInjector* faults = nullptr;    // optional: tests only
};

// One effect to run, with what it needs.
struct EffectJob {
  RotationRecord record;  // snapshot when the effect was emitted
  Effect effect;
  const GroupSpec* group = nullptr;      // hooks, verify command (may be null)
  std::shared_ptr<Candidate> candidate;  // kDeliver: the material from kGenerate
};

struct EffectOutcome {
  Event event;
  std::shared_ptr<Candidate> candidate;  // set by kGenerate on success
  bool crashed = false;                  // the fault injector simulated a crash
};

class EffectRunner {
 public:
  explicit EffectRunner(EffectRunnerPorts ports) : ports_(ports) {}

  // Run executes `jobs` (any mix of types) and returns one outcome per job,
  // in order. Jobs of the same type share one sink call (one durability point).
  std::vector<EffectOutcome> Run(std::vector<EffectJob>& jobs);

 private:
  EffectOutcome Generate(EffectJob& job);
  void Deliver(std::vector<EffectJob*>& jobs, std::vector<EffectOutcome*>& outs);
  EffectOutcome Verify(EffectJob& job);
  void FileBatch(EffectType type, std::vector<EffectJob*>& jobs, std::vector<EffectOutcome*>& outs);
  std::map<std::string, std::string> CommandEnv(const EffectJob& job) const;
  CredentialJob JobFor(const EffectJob& job) const;

  EffectRunnerPorts ports_;
};

// Helpers for the events the runner produces.
Event FailedEvent(EffectType type, Status error);

}  // namespace rotor
