// StateStore: durable rotation records plus the audit outbox (ARCHITECTURE §6).
//
// A record and the audit event of its state change are written in the same
// transaction (the transactional outbox). Implementations: LmdbStateStore
// (connectors/embedded). Thread-safety: every method may be called from any
// thread; implementations serialise writes internally on one writer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/adoption.h"
#include "engine/model.h"
#include "engine/status.h"

namespace rotor {

struct StoreWrite {
  RotationRecord record;
  std::string audit_line;  // one canonical CloudEvent JSON line, no newline; empty = none
  // Set for the first write of an adopted identity: its declaration, stored
  // in the same transaction (engine/adoption.h).
  std::optional<AdoptedIdentity> adopted = std::nullopt;
};

struct OutboxEntry {
  uint64_t seq = 0;  // global, strictly increasing, never reused
  std::string line;  // the audit event, exactly as written
};

// An operator command queued while no daemon was running.
struct QueuedCommand {
  uint64_t seq = 0;
  std::string verb;    // "rotate" | "revoke"
  std::string target;  // identity id, "selector:k=v" or "all"
  Instant queued_at;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Commit durably writes every record of `batch`, appends each non-empty
  // audit line to the outbox and stores each adopted declaration, all in one
  // transaction, in batch order.
  virtual Status Commit(const std::vector<StoreWrite>& batch) = 0;

  // Get returns the record of `id`, or NotFound.
  virtual StatusOr<RotationRecord> Get(const std::string& id) = 0;
  // ForEach calls `fn` for every record, in id order. Stops early when fn returns false.
  virtual Status ForEach(const std::function<bool(const RotationRecord&)>& fn) = 0;
  // LoadAll returns every record, decoded on up to `threads` threads at once:
  // the start-up load (issue 4: a million records scheduled within seconds).
  // The records come in at most `threads` runs, each in id order, one run
  // after the other: concatenated they are ForEach's order. A malformed
  // record fails the whole load as ForEach does. The default implementation
  // is one run filled by ForEach.
  virtual StatusOr<std::vector<std::vector<RotationRecord>>> LoadAll(size_t threads);
  // Count returns the number of records.
  virtual StatusOr<uint64_t> Count() = 0;
  // ForEachAdopted calls `fn` for every adopted declaration, in id order.
  // Stops early when fn returns false.
  virtual Status ForEachAdopted(const std::function<bool(const AdoptedIdentity&)>& fn) = 0;

  // ReadOutbox returns up to `max` entries with seq > `after`, in order.
  virtual StatusOr<std::vector<OutboxEntry>> ReadOutbox(uint64_t after, size_t max) = 0;
  // TrimOutbox deletes entries with seq ≤ `upto` (all sinks have them).
  virtual Status TrimOutbox(uint64_t upto) = 0;
  // Sink positions: an opaque string per sink name (e.g. "journal").
  virtual StatusOr<std::string> GetSinkPosition(const std::string& sink) = 0;
  virtual Status SetSinkPosition(const std::string& sink, const std::string& position) = 0;

  // Operator commands queued for the next daemon start.
  virtual Status EnqueueCommand(const QueuedCommand& command) = 0;
  // EnqueueCommands queues `commands` in order; a store that can makes them
  // one durable write (the runtime hands back thousands at a stop).
  virtual Status EnqueueCommands(const std::vector<QueuedCommand>& commands);
  // TakeCommands returns and deletes every queued command, oldest first.
  virtual StatusOr<std::vector<QueuedCommand>> TakeCommands() = 0;
};

inline Status StateStore::EnqueueCommands(const std::vector<QueuedCommand>& commands) {
  for (const QueuedCommand& c : commands) ROTOR_RETURN_IF_ERROR(EnqueueCommand(c));
  return Status::Ok();
}

inline StatusOr<std::vector<std::vector<RotationRecord>>> StateStore::LoadAll(size_t /*threads*/) {
  std::vector<std::vector<RotationRecord>> runs(1);
  ROTOR_RETURN_IF_ERROR(ForEach([&](const RotationRecord& r) {
    runs[0].push_back(r);
    return true;
  }));
  return runs;
}

}  // namespace rotor
