// FakeStateStore: an in-memory StateStore (engine/ports/state_store.h).
//
// Records are kept in their encoded form (EncodeRecord), as a real store keeps
// them, so every Get goes through DecodeRecord. The outbox keeps every line
// ever committed (lines()) besides the trimmable outbox itself. Commits can be
// made to fail for tests of the store-error path. Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ports/state_store.h"

namespace rotor::testing {

class FakeStateStore final : public StateStore {
 public:
  // StateStore:
  Status Commit(const std::vector<StoreWrite>& batch) override;
  StatusOr<RotationRecord> Get(const std::string& id) override;
  Status ForEach(const std::function<bool(const RotationRecord&)>& fn) override;
  StatusOr<uint64_t> Count() override;
  Status ForEachAdopted(const std::function<bool(const AdoptedIdentity&)>& fn) override;
  StatusOr<std::vector<OutboxEntry>> ReadOutbox(uint64_t after, size_t max) override;
  Status TrimOutbox(uint64_t upto) override;
  StatusOr<std::string> GetSinkPosition(const std::string& sink) override;
  Status SetSinkPosition(const std::string& sink, const std::string& position) override;
  Status EnqueueCommand(const QueuedCommand& command) override;
  StatusOr<std::vector<QueuedCommand>> TakeCommands() override;

  // Test controls.
  // FailNextCommits makes the next `times` Commit calls fail with `error`,
  // writing nothing.
  void FailNextCommits(Status error, int times = 1);
  // lines returns every audit line committed so far, in commit order,
  // including those trimmed from the outbox.
  std::vector<std::string> lines() const;
  uint64_t commits() const;

 private:
  mutable std::mutex mu_;
  // Protected by mu_.
  std::map<std::string, std::string> records_;  // id -> EncodeRecord bytes
  std::map<std::string, std::string> adopted_;  // id -> EncodeAdoptedIdentity bytes
  std::deque<OutboxEntry> outbox_;
  std::vector<std::string> lines_;
  uint64_t next_outbox_seq_ = 1;
  uint64_t commits_ = 0;
  std::map<std::string, std::string> positions_;
  std::vector<QueuedCommand> commands_;
  uint64_t next_command_seq_ = 1;
  std::deque<Status> commit_failures_;
};

}  // namespace rotor::testing
