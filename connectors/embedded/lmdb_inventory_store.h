// LmdbInventoryStore: the InventoryStore of one data directory, an LMDB
// environment of its own at <data_dir>/inventory/ (database "items":
// InventoryKey -> EncodeInventoryItem). Separate from the state store so that
// `rotor import` and `rotor inventory` work beside a running daemon, which
// holds the state store's lock: LMDB serialises writers across processes.
//
// Thread-safety: every method may be called from any thread (MDB_NOTLS).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/ports/inventory_store.h"

struct MDB_env;

namespace rotor {

class LmdbInventoryStore : public InventoryStore {
 public:
  // Open opens (creating it when `create`) the inventory of `data_dir`.
  // NotFound when it does not exist and `create` is false.
  static StatusOr<std::unique_ptr<LmdbInventoryStore>> Open(const std::string& data_dir, bool create);
  ~LmdbInventoryStore() override;
  LmdbInventoryStore(const LmdbInventoryStore&) = delete;
  LmdbInventoryStore& operator=(const LmdbInventoryStore&) = delete;

  // A test seam: called inside Put's write transaction after every item is
  // written and before the commit (crash tests _exit there).
  void SetBeforeCommit(std::function<void()> hook) { before_commit_ = std::move(hook); }

  // InventoryStore:
  Status Put(const std::vector<InventoryItem>& items) override;
  Status ForEach(const std::function<bool(const InventoryItem&)>& fn) override;

 private:
  explicit LmdbInventoryStore(std::string path) : path_(std::move(path)) {}
  Status Error(int rc, const std::string& what) const;

  // Constant after construction.
  const std::string path_;
  MDB_env* env_ = nullptr;
  unsigned int items_ = 0;
  std::function<void()> before_commit_;
};

}  // namespace rotor
