// FakeDeliverySink: an in-memory DeliverySink (engine/ports/credentials.h).
//
// Per identity it keeps the delivered generations (generation -> material)
// and the generation `current` points at (0: none), i.e. what
// out/<id>/versions/ and out/<id>/current hold for the file sink. It survives
// a simulated crash of the driver, as files on disk do.
//
// It is stricter than the contract requires so that engine bugs surface:
// Activate of a missing version, Discard re-pointing at a missing version and
// Retire of the current version fail with FailedPrecondition. Removing a
// missing version is OK (the contract's idempotence).
//
// Faults: FailNext queues failures per operation; SetFault installs a
// function consulted for every item. A failed item changes nothing.
// Thread-safe (the port asks less: ReadBack beside the batch methods, which
// the runtime's crypto pool does), except files(): see there.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ports/credentials.h"
#include "engine/rotation.h"

namespace rotor::testing {

class FakeDeliverySink final : public DeliverySink {
 public:
  struct Files {
    std::map<uint64_t, std::string> generations;  // generation -> its one file, "secret"
    uint64_t current = 0;
  };
  // The operation an item belongs to; kVerify names ReadBack.
  using FaultFn = std::function<Status(EffectType op, const std::string& id, uint64_t generation)>;

  // DeliverySink:
  std::vector<Status> Deliver(const std::vector<DeliverItem>& items) override;
  std::vector<Status> Activate(const std::vector<ActivateItem>& items) override;
  std::vector<Status> Discard(const std::vector<DiscardItem>& items) override;
  std::vector<Status> Retire(const std::vector<ActivateItem>& items) override;
  DeliveredPaths Paths(const std::string& id, uint64_t generation) const override;
  StatusOr<Material> ReadBack(const std::string& id, uint64_t generation) override;
  StatusOr<uint64_t> CurrentGeneration(const std::string& id) override;
  StatusOr<std::vector<uint64_t>> ListGenerations(const std::string& id) override;

  // Test controls.
  // FailNext makes the next `times` items of `op` fail with `error`.
  void FailNext(EffectType op, Status error, int times = 1);
  void SetFault(FaultFn fn);
  // Tamper overwrites the delivered material of a version (a verify failure).
  void Tamper(const std::string& id, uint64_t generation, std::string material);
  // files() is the sink's own map, unlocked: only while no other thread
  // calls the sink.
  const std::map<std::string, Files>& files() const { return files_; }
  int calls(EffectType op) const;

 private:
  // Fault counts the call and returns the scripted or injected result; the
  // fault function runs with mu_ released (a test's may block one call).
  Status Fault(EffectType op, const std::string& id, uint64_t generation);

  mutable std::mutex mu_;
  // Protected by mu_.
  std::map<std::string, Files> files_;
  std::map<EffectType, std::deque<Status>> scripted_;
  std::map<EffectType, int> calls_;
  FaultFn fault_;
};

}  // namespace rotor::testing
