// FileDeliverySink: the DeliverySink port over a local directory tree
// (ARCHITECTURE §6).
//
//   <root>/<id>/versions/<generation>/<file>   0600 each (e.g. "secret", or
//                                              cert.pem, chain.pem, key.pem),
//                                              written whole then renamed
//   <root>/<id>/current -> versions/<generation>   switched by rename(2)
//
// Every directory below <root> is created 0700 and the secret file 0600 at
// creation; nothing is chmod'ed afterwards, so no instant exists at which
// material is readable by anyone else. All paths below <root> are walked with
// openat(O_NOFOLLOW) from a descriptor of <root>, so a symlink planted inside
// the tree cannot redirect a write.
//
// Durability is grouped per batch: each batch call ends with one syncfs(2) on
// <root>'s filesystem instead of an fsync per file and per parent directory.
// A batch of N rotations would otherwise cost about 3N journal commits (file,
// version directory, identity directory); syncfs commits them all at once. The
// price is that syncfs also flushes unrelated dirty data of that filesystem,
// so a busy shared filesystem makes it slower: put <root> on its own
// filesystem when that matters. An item whose changes were made but whose
// syncfs failed reports Unavailable (retryable: every operation is
// idempotent).
//
// Errors: ENOSPC, EDQUOT, EIO, EAGAIN, ENOMEM, EMFILE... -> Unavailable
// (transient); EACCES/EPERM/EROFS -> PermissionDenied; a wrong mode, owner,
// file type or a symlink where none belongs -> FailedPrecondition.
//
// Thread-safety as the port's contract: ReadBack and Paths may run beside a
// batch method on another thread, since the sink's members are constant after
// construction and every call walks the tree with descriptors of its own. Two
// sinks on the same root in different processes are not supported (the
// daemon holds an exclusive lock on its data directory).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ports/credentials.h"

namespace rotor {

class FileDeliverySink final : public DeliverySink {
 public:
  enum class RootMode { kCreate, kMustExist };
  // Open returns a sink writing under `root` (e.g. "<data-dir>/out"), creating
  // `root` itself 0700 if it is missing (its parent must exist) — unless
  // `mode` is kMustExist, for readers: then a missing root is NotFound.
  static StatusOr<std::unique_ptr<FileDeliverySink>> Open(std::string root, RootMode mode = RootMode::kCreate);

  ~FileDeliverySink() override;
  FileDeliverySink(const FileDeliverySink&) = delete;
  FileDeliverySink& operator=(const FileDeliverySink&) = delete;

  const std::string& root() const { return root_; }

  // DeliverySink:
  // Deliver is idempotent: identical files already in place are OK; a
  // different one is AlreadyExists (a generation is never reused).
  std::vector<Status> Deliver(const std::vector<DeliverItem>& items) override;
  // Activate requires the version to be delivered (NotFound otherwise).
  std::vector<Status> Activate(const std::vector<ActivateItem>& items) override;
  // Discard re-points `current` first, then removes the version, so `current`
  // never dangles. `restore_generation` must be delivered when nonzero.
  std::vector<Status> Discard(const std::vector<DiscardItem>& items) override;
  // Retire refuses the version `current` points at (FailedPrecondition).
  std::vector<Status> Retire(const std::vector<ActivateItem>& items) override;
  DeliveredPaths Paths(const std::string& id, uint64_t generation) const override;
  // ReadBack fails with FailedPrecondition if a file is not a regular 0600
  // file owned by this user, a directory on its way is not 0700, or the
  // version holds an entry that is no material file name.
  StatusOr<Material> ReadBack(const std::string& id, uint64_t generation) override;
  StatusOr<uint64_t> CurrentGeneration(const std::string& id) override;
  StatusOr<std::vector<uint64_t>> ListGenerations(const std::string& id) override;

 private:
  FileDeliverySink(std::string root, int root_fd);

  Status DeliverOne(const DeliverItem& item);
  Status WriteFileOnce(int gen_dir, const std::string& gen_path, const MaterialFile& file);
  Status ActivateOne(const ActivateItem& item);
  Status DiscardOne(const DiscardItem& item);
  Status RetireOne(const ActivateItem& item);
  // SyncBatch makes a batch's changes durable; items that succeeded become
  // Unavailable if it fails.
  void SyncBatch(std::vector<Status>* results);

  // Constant after construction.
  const std::string root_;
  const int root_fd_;  // O_DIRECTORY descriptor of root_, owned
};

}  // namespace rotor
