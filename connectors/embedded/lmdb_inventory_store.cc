#include "connectors/embedded/lmdb_inventory_store.h"

#include <errno.h>
#include <lmdb.h>
#include <sys/stat.h>

#include <cstring>
#include <string_view>
#include <utility>

namespace rotor {
namespace {

constexpr size_t kMapSize = size_t{16} << 30;  // address space only

MDB_val Val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Txn aborts a transaction that was not committed.
class Txn {
 public:
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  MDB_txn** out() { return &txn_; }
  MDB_txn* get() const { return txn_; }
  int Commit() { return mdb_txn_commit(std::exchange(txn_, nullptr)); }

 private:
  MDB_txn* txn_ = nullptr;
};

}  // namespace

Status LmdbInventoryStore::Error(int rc, const std::string& what) const {
  std::string message = "lmdb " + what + " in " + path_ + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL || rc == ENOSPC) return Status(StatusCode::kResourceExhausted, std::move(message));
  return Internal(std::move(message));
}

StatusOr<std::unique_ptr<LmdbInventoryStore>> LmdbInventoryStore::Open(const std::string& data_dir, bool create) {
  const std::string path = data_dir + "/inventory";
  struct stat st;
  if (::stat((path + "/data.mdb").c_str(), &st) != 0) {
    if (!create) return NotFound("no inventory in " + data_dir + " (run `rotor import PATH...` first)");
    if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Unavailable("cannot create " + data_dir + ": " + std::strerror(errno));
    }
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return Unavailable("cannot create " + path + ": " + std::strerror(errno));
    }
  }
  std::unique_ptr<LmdbInventoryStore> store(new LmdbInventoryStore(path));
  int rc = mdb_env_create(&store->env_);
  if (rc != 0) return store->Error(rc, "env_create");
  if ((rc = mdb_env_set_mapsize(store->env_, kMapSize)) != 0) return store->Error(rc, "set_mapsize");
  if ((rc = mdb_env_set_maxdbs(store->env_, 2)) != 0) return store->Error(rc, "set_maxdbs");
  if ((rc = mdb_env_open(store->env_, path.c_str(), MDB_NOTLS, 0600)) != 0) return store->Error(rc, "env_open");
  int dead = 0;
  if ((rc = mdb_reader_check(store->env_, &dead)) != 0) return store->Error(rc, "reader_check");
  Txn txn;
  if ((rc = mdb_txn_begin(store->env_, nullptr, 0, txn.out())) != 0) return store->Error(rc, "txn_begin");
  if ((rc = mdb_dbi_open(txn.get(), "items", MDB_CREATE, &store->items_)) != 0) return store->Error(rc, "dbi_open");
  if ((rc = txn.Commit()) != 0) return store->Error(rc, "commit (open)");
  return store;
}

LmdbInventoryStore::~LmdbInventoryStore() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Status LmdbInventoryStore::Put(const std::vector<InventoryItem>& items) {
  for (const auto& item : items) {
    if (item.type == ItemType::kError || item.type == ItemType::kOther || item.fingerprint.empty()) {
      return InvalidArgument("inventory: " + Location(item) + " is not a credential and cannot be stored");
    }
  }
  Txn txn;
  int rc = mdb_txn_begin(env_, nullptr, 0, txn.out());
  if (rc == MDB_MAP_RESIZED) {
    if ((rc = mdb_env_set_mapsize(env_, 0)) != 0) return Error(rc, "set_mapsize");
    rc = mdb_txn_begin(env_, nullptr, 0, txn.out());
  }
  if (rc != 0) return Error(rc, "txn_begin");
  for (const auto& item : items) {
    const std::string key = InventoryKey(item);
    const std::string value = EncodeInventoryItem(item);
    MDB_val k = Val(key), v = Val(value);
    if ((rc = mdb_put(txn.get(), items_, &k, &v, 0)) != 0) return Error(rc, "put " + key);
  }
  if (before_commit_) before_commit_();
  if ((rc = txn.Commit()) != 0) return Error(rc, "commit");
  return Status::Ok();
}

Status LmdbInventoryStore::ForEach(const std::function<bool(const InventoryItem&)>& fn) {
  Txn txn;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, txn.out());
  if (rc != 0) return Error(rc, "txn_begin");
  MDB_cursor* cursor = nullptr;
  if ((rc = mdb_cursor_open(txn.get(), items_, &cursor)) != 0) return Error(rc, "cursor_open");
  MDB_val k, v;
  Status result;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    auto item = DecodeInventoryItem(View(v));
    if (!item.ok()) {
      result = DataLoss("inventory entry " + std::string(View(k)) + " in " + path_ + ": " + item.status().message());
      break;
    }
    if (!fn(*item)) break;
  }
  mdb_cursor_close(cursor);
  if (result.ok() && rc != 0 && rc != MDB_NOTFOUND) result = Error(rc, "cursor_get");
  return result;
}

}  // namespace rotor
