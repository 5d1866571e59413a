#include "app/ca_bootstrap.h"

#include <chrono>
#include <deque>
#include <thread>

#include "engine/audit.h"
#include "engine/rotation.h"

namespace rotor::app {

Status BringUpCa(RotationRecord* record, const GroupSpec& group, StateStore& store, const EffectRunnerPorts& ports,
                 const std::string& source, uint64_t* events) {
  if (record->current && IsResting(record->phase)) return Status::Ok();
  EffectRunner runner(ports);
  std::deque<Effect> effects;
  std::shared_ptr<Candidate> candidate;
  Event next;
  next.type = IsResting(record->phase) ? EventType::kDue : EventType::kRecover;
  constexpr int kMaxRetries = 5;
  const Duration kMaxWait = Duration::Seconds(10);
  int retries = 0;
  // A full rotation is a handful of steps; the bound only stops a machine
  // that would never settle from spinning here forever.
  for (int steps = 0; steps < 64; ++steps) {
    const Instant now = ports.clock->Now();
    StepResult res = Step(*record, next, now, group.policy);
    if (!res.rejected.ok()) return res.rejected;
    RotationRecord stepped = std::move(res.record);
    if (res.persist) {
      std::string line = ChainAuditEvent(*ports.hasher, res.audit, now, source, &stepped);
      ROTOR_RETURN_IF_ERROR(store.Commit({StoreWrite{stepped, std::move(line)}}));
      if (events != nullptr) ++*events;
    }
    *record = std::move(stepped);
    for (auto& e : res.effects) effects.push_back(std::move(e));
    if (effects.empty()) {
      if (record->current && IsResting(record->phase)) return Status::Ok();
      // Rolled back (a crash lost the candidate) or failed: the machine
      // schedules a retry. Wait for it here, a little, rather than start
      // the fleet without a signer.
      const Duration wait = record->next_due - ports.clock->Now();
      if ((record->phase == Phase::kBackoff || record->phase == Phase::kNew) && ++retries <= kMaxRetries &&
          wait <= kMaxWait) {
        if (wait > Duration::Zero()) std::this_thread::sleep_for(std::chrono::microseconds(wait.micros));
        next = Event{};
        next.type = EventType::kDue;
        continue;
      }
      return Unavailable("the CA's intermediate is not active yet (" + std::string(PhaseName(record->phase)) +
                         "): " + record->last_error);
    }
    std::vector<EffectJob> jobs(1);
    jobs[0].record = *record;
    jobs[0].effect = std::move(effects.front());
    effects.pop_front();
    jobs[0].group = &group;
    if (jobs[0].effect.type == EffectType::kDeliver) jobs[0].candidate = candidate;
    std::vector<EffectOutcome> outs = runner.Run(jobs);
    if (outs[0].crashed) return Aborted("crash injected while bringing up the CA");
    if (outs[0].candidate) candidate = std::move(outs[0].candidate);
    next = outs[0].event;
  }
  return Internal("the CA's intermediate did not come to rest in 64 steps");
}

}  // namespace rotor::app
