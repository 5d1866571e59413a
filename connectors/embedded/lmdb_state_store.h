// LmdbStateStore: the embedded StateStore (ARCHITECTURE §6), one LMDB
// environment at <data_dir>/store/.
//
// Named databases:
//   meta      "format_version" = "1", "outbox_next" and "commands_next"
//             (decimal counters, so seqs are never reused after a trim)
//   records   identity id -> EncodeRecord bytes
//   outbox    8-byte big-endian seq -> audit line
//   sinks     sink name -> position string
//   commands  8-byte big-endian seq -> canonical JSON of a QueuedCommand
//   adopted   identity id -> EncodeAdoptedIdentity (rotor import --adopt);
//             created by the first read-write open, absent (empty) before
//
// A kReadWrite store (the daemon) holds an exclusive flock on <data_dir>/LOCK
// for its lifetime, so one daemon owns a data directory. A kReadOnly store
// takes no lock: LMDB lets any number of reader processes share the
// environment with its one writer, which is how the CLI reads status while a
// daemon runs. A kSinkWriter store (rotor-relay) takes no lock either and may
// write only its sink position: LMDB serialises its write transactions with
// the daemon's through the environment's lock file. LMDB forbids opening one
// environment twice in one process, so a second Open of the same store in a
// process is refused.
//
// Thread-safety: every method may be called from any thread (MDB_NOTLS: read
// transactions are not tied to threads). Writes are serialised by a mutex, as
// LMDB has one writer. The destructor must not race with other calls.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ports/state_store.h"
#include "engine/status.h"

// Opaque LMDB handles; lmdb.h stays out of this header so that users of the
// store need not see LMDB (rotor::lmdb is a private dependency).
struct MDB_env;

namespace rotor {

inline constexpr char kStoreFormatVersion[] = "1";

class LmdbStateStore : public StateStore {
 public:
  enum class OpenMode { kReadWrite, kReadOnly, kSinkWriter };

  // Open opens (kReadWrite: creating, with directories 0700 and files 0600)
  // the store of `data_dir`. Fails with FailedPrecondition when another
  // process holds the data directory (kReadWrite) or the on-disk format is
  // not kStoreFormatVersion, and with NotFound when kReadOnly or kSinkWriter
  // finds no store (only the daemon creates one).
  static StatusOr<std::unique_ptr<LmdbStateStore>> Open(const std::string& data_dir, OpenMode mode);

  // IsLocked reports whether some open file description — normally a running
  // daemon — holds the exclusive lock of `data_dir`. It briefly takes a shared
  // lock itself, so a daemon starting at that very instant may be refused once.
  static bool IsLocked(const std::string& data_dir);

  ~LmdbStateStore() override;
  LmdbStateStore(const LmdbStateStore&) = delete;
  LmdbStateStore& operator=(const LmdbStateStore&) = delete;

  // StateStore:
  Status Commit(const std::vector<StoreWrite>& batch) override;
  StatusOr<RotationRecord> Get(const std::string& id) override;
  Status ForEach(const std::function<bool(const RotationRecord&)>& fn) override;
  // LoadAll walks the records once in one read transaction, noting where
  // each value lies in the map, then decodes contiguous ranges on `threads`
  // threads while the transaction keeps those pages in place.
  StatusOr<std::vector<std::vector<RotationRecord>>> LoadAll(size_t threads) override;
  StatusOr<uint64_t> Count() override;
  Status ForEachAdopted(const std::function<bool(const AdoptedIdentity&)>& fn) override;
  StatusOr<std::vector<OutboxEntry>> ReadOutbox(uint64_t after, size_t max) override;
  Status TrimOutbox(uint64_t upto) override;
  // GetSinkPosition returns NotFound for a sink that never recorded a position.
  StatusOr<std::string> GetSinkPosition(const std::string& sink) override;
  // SetSinkPosition is the one write a kSinkWriter store allows.
  Status SetSinkPosition(const std::string& sink, const std::string& position) override;
  // EnqueueCommand assigns the command's seq itself (command.seq is ignored).
  Status EnqueueCommand(const QueuedCommand& command) override;
  // EnqueueCommands appends every command in one write transaction.
  Status EnqueueCommands(const std::vector<QueuedCommand>& commands) override;
  StatusOr<std::vector<QueuedCommand>> TakeCommands() override;

  // store_path is <data_dir>/store, for messages.
  const std::string& store_path() const { return store_path_; }

 private:
  struct Dbs {
    unsigned int meta = 0;
    unsigned int records = 0;
    unsigned int outbox = 0;
    unsigned int sinks = 0;
    unsigned int commands = 0;
    unsigned int adopted = 0;
    bool has_adopted = false;
  };
  class Txn;

  LmdbStateStore(std::string store_path, OpenMode mode);

  Status OpenEnvironment();
  Status OpenDatabases();
  Status CheckWritable() const;
  Status BeginTxn(bool write, Txn* txn);
  Status LmdbError(int rc, const std::string& what) const;

  // Constant after construction.
  const std::string store_path_;
  const OpenMode mode_;
  std::string registry_key_;  // set once registered as open in this process
  int lock_fd_ = -1;          // holds the flock of <data_dir>/LOCK (kReadWrite)
  MDB_env* env_ = nullptr;
  Dbs dbs_;

  // Serialises write transactions (LMDB allows one writer).
  std::mutex write_mu_;
};

}  // namespace rotor
