#include "connectors/embedded/lmdb_state_store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "engine/decimal.h"
#include "engine/json.h"

namespace rotor {
namespace {

static_assert(std::is_same_v<MDB_dbi, unsigned int>, "the header stores MDB_dbi as unsigned int");

constexpr size_t kMapSize = size_t{64} << 30;  // address space only: the file grows as used
constexpr unsigned int kMaxDbs = 8;
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

constexpr char kFormatVersionKey[] = "format_version";
constexpr char kOutboxNextKey[] = "outbox_next";
constexpr char kCommandsNextKey[] = "commands_next";

std::string ErrnoText(int err) {
  return std::strerror(err);
}

MDB_val Val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Big-endian keys make LMDB's byte order the numeric order.
std::array<char, 8> SeqKey(uint64_t seq) {
  std::array<char, 8> key;
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return key;
}

std::optional<uint64_t> DecodeSeqKey(const MDB_val& v) {
  if (v.mv_size != 8) return std::nullopt;
  uint64_t seq = 0;
  for (size_t i = 0; i < 8; ++i) seq = (seq << 8) | static_cast<unsigned char>(static_cast<const char*>(v.mv_data)[i]);
  return seq;
}

// MakeDirs creates `path` and missing parents with mode 0700 (mkdir -p).
Status MakeDirs(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return Unavailable("cannot create directory " + prefix + ": " + ErrnoText(errno));
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FailedPrecondition(path + " is not a directory");
  }
  return Status::Ok();
}

std::string ReadLockHolder(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return ParseDecimal(text) ? std::string(text) : "unknown";
}

// LockDataDir takes the daemon's exclusive lock of `data_dir` and writes this
// process's pid into the lock file for the message another process will show.
StatusOr<int> LockDataDir(const std::string& data_dir) {
  const std::string path = data_dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd < 0) return Unavailable("cannot open lock file " + path + ": " + ErrnoText(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = ReadLockHolder(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPrecondition("data directory " + data_dir + " is in use by another rotor process (pid " + holder +
                                ")");
    }
    return Unavailable("cannot lock " + path + ": " + ErrnoText(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int err = errno;
    ::close(fd);
    return Unavailable("cannot write pid to lock file " + path + ": " + ErrnoText(err));
  }
  return fd;
}

// LMDB corrupts its lock table when one process opens an environment twice,
// so the store refuses it. Entries carry the pid: a forked child inherits the
// set but not the parent's environments.
std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::set<std::pair<pid_t, std::string>>& Registry() {
  static std::set<std::pair<pid_t, std::string>> open_stores;
  return open_stores;
}

StatusOr<std::string> RegisterOpen(const std::string& store_path) {
  char resolved[PATH_MAX];
  if (::realpath(store_path.c_str(), resolved) == nullptr) {
    return Unavailable("cannot resolve " + store_path + ": " + ErrnoText(errno));
  }
  std::lock_guard lock(RegistryMutex());
  if (!Registry().emplace(::getpid(), resolved).second) {
    return FailedPrecondition("store " + store_path +
                              " is already open in this process (LMDB forbids opening it twice)");
  }
  return std::string(resolved);
}

void UnregisterOpen(const std::string& key) {
  std::lock_guard lock(RegistryMutex());
  Registry().erase({::getpid(), key});
}

std::string EncodeCommand(const QueuedCommand& command) {
  JsonValue v = JsonValue::Object();
  v.Set("verb", JsonValue::String(command.verb));
  v.Set("target", JsonValue::String(command.target));
  v.Set("queued_at", JsonValue::Int(command.queued_at.micros));
  return CanonicalJson(v);
}

StatusOr<QueuedCommand> DecodeCommand(uint64_t seq, std::string_view bytes) {
  auto parsed = ParseJson(bytes);
  if (!parsed.ok()) return InvalidArgument(parsed.status().message());
  const JsonValue* verb = parsed->Find("verb");
  const JsonValue* target = parsed->Find("target");
  const JsonValue* queued_at = parsed->Find("queued_at");
  if (!verb || !verb->is_string() || !target || !target->is_string() || !queued_at || !queued_at->is_int()) {
    return InvalidArgument("missing or mistyped verb, target or queued_at");
  }
  QueuedCommand command;
  command.seq = seq;
  command.verb = verb->as_string();
  command.target = target->as_string();
  command.queued_at = Instant::FromMicros(queued_at->as_int());
  return command;
}

}  // namespace

// Txn aborts its transaction unless committed, so every early return is safe.
class LmdbStateStore::Txn {
 public:
  Txn() = default;
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  MDB_txn** out() { return &txn_; }
  MDB_txn* get() const { return txn_; }
  // Commit ends the transaction whatever the outcome (LMDB frees it on failure too).
  int Commit() { return mdb_txn_commit(std::exchange(txn_, nullptr)); }

 private:
  MDB_txn* txn_ = nullptr;
};

namespace {

// Cursor closes itself; write-transaction cursors must close before commit,
// which scoping guarantees.
class Cursor {
 public:
  ~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  MDB_cursor** out() { return &cursor_; }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
};

}  // namespace

LmdbStateStore::LmdbStateStore(std::string store_path, OpenMode mode)
    : store_path_(std::move(store_path)), mode_(mode) {}

LmdbStateStore::~LmdbStateStore() {
  if (env_ != nullptr) mdb_env_close(env_);
  if (!registry_key_.empty()) UnregisterOpen(registry_key_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the data-directory lock
}

StatusOr<std::unique_ptr<LmdbStateStore>> LmdbStateStore::Open(const std::string& data_dir, OpenMode mode) {
  if (data_dir.empty()) return InvalidArgument("empty data directory");
  const std::string store_path = data_dir + "/store";
  std::unique_ptr<LmdbStateStore> store(new LmdbStateStore(store_path, mode));
  if (mode == OpenMode::kReadWrite) {
    ROTOR_RETURN_IF_ERROR(MakeDirs(data_dir));
    ROTOR_ASSIGN_OR_RETURN(store->lock_fd_, LockDataDir(data_dir));
    ROTOR_RETURN_IF_ERROR(MakeDirs(store_path));
  } else {
    struct stat st;
    const std::string data_file = store_path + "/data.mdb";
    if (::stat(data_file.c_str(), &st) != 0) {
      return NotFound("no rotor store at " + store_path + " (" + ErrnoText(errno) + ")");
    }
  }
  ROTOR_ASSIGN_OR_RETURN(store->registry_key_, RegisterOpen(store_path));
  ROTOR_RETURN_IF_ERROR(store->OpenEnvironment());
  ROTOR_RETURN_IF_ERROR(store->OpenDatabases());
  return store;
}

bool LmdbStateStore::IsLocked(const std::string& data_dir) {
  const std::string path = data_dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // also drops the shared lock if it was granted
  return locked;
}

Status LmdbStateStore::LmdbError(int rc, const std::string& what) const {
  std::string message = "lmdb " + what + " in " + store_path_ + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_MAP_FULL:
    case ENOSPC: return Status(StatusCode::kResourceExhausted, std::move(message));
    case MDB_BAD_VALSIZE: return InvalidArgument(std::move(message));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: return DataLoss(std::move(message));
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
    case EAGAIN:
    case EIO: return Unavailable(std::move(message));
    default: return Internal(std::move(message));
  }
}

Status LmdbStateStore::OpenEnvironment() {
  int rc = mdb_env_create(&env_);
  if (rc != 0) return LmdbError(rc, "env_create");
  if ((rc = mdb_env_set_mapsize(env_, kMapSize)) != 0) return LmdbError(rc, "set_mapsize");
  if ((rc = mdb_env_set_maxdbs(env_, kMaxDbs)) != 0) return LmdbError(rc, "set_maxdbs");
  unsigned int flags = MDB_NOTLS | (mode_ == OpenMode::kReadOnly ? MDB_RDONLY : 0);
  if ((rc = mdb_env_open(env_, store_path_.c_str(), flags, kFileMode)) != 0) return LmdbError(rc, "env_open");
  // Reader slots of processes that died (a crashed CLI) would pin old pages forever.
  int dead = 0;
  if ((rc = mdb_reader_check(env_, &dead)) != 0) return LmdbError(rc, "reader_check");
  return Status::Ok();
}

Status LmdbStateStore::OpenDatabases() {
  // Only the daemon creates databases; a sink writer opens what exists.
  const bool write = mode_ == OpenMode::kReadWrite;
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(write, &txn));
  const unsigned int flags = write ? MDB_CREATE : 0;
  const std::pair<const char*, unsigned int*> dbs[] = {{"meta", &dbs_.meta},
                                                       {"records", &dbs_.records},
                                                       {"outbox", &dbs_.outbox},
                                                       {"sinks", &dbs_.sinks},
                                                       {"commands", &dbs_.commands}};
  for (const auto& [name, dbi] : dbs) {
    int rc = mdb_dbi_open(txn.get(), name, flags, dbi);
    if (rc == MDB_NOTFOUND) {
      return FailedPrecondition("store " + store_path_ + " lacks database \"" + name + "\": not a rotor store");
    }
    if (rc != 0) return LmdbError(rc, std::string("dbi_open ") + name);
  }
  // Adopted declarations came later: a store no daemon or adoption of this
  // version has opened for writing yet has none, which reads as empty.
  if (int rc = mdb_dbi_open(txn.get(), "adopted", flags, &dbs_.adopted); rc == 0) {
    dbs_.has_adopted = true;
  } else if (rc != MDB_NOTFOUND) {
    return LmdbError(rc, "dbi_open adopted");
  }

  MDB_val key = Val(kFormatVersionKey), value;
  int rc = mdb_get(txn.get(), dbs_.meta, &key, &value);
  if (rc == 0 && View(value) != kStoreFormatVersion) {
    return FailedPrecondition("store format version " + std::string(View(value)) + " in " + store_path_ +
                              ", this rotor understands " + kStoreFormatVersion);
  }
  if (rc == MDB_NOTFOUND) {
    MDB_stat stat;
    if ((rc = mdb_stat(txn.get(), dbs_.records, &stat)) != 0) return LmdbError(rc, "stat records");
    if (!write || stat.ms_entries != 0) {
      return FailedPrecondition("store " + store_path_ + " has no format version: not initialised by rotor");
    }
    MDB_val version = Val(kStoreFormatVersion);
    if ((rc = mdb_put(txn.get(), dbs_.meta, &key, &version, 0)) != 0) return LmdbError(rc, "put format_version");
  } else if (rc != 0) {
    return LmdbError(rc, "get format_version");
  }
  // Committing a read-only transaction keeps its database handles open.
  if ((rc = txn.Commit()) != 0) return LmdbError(rc, "commit (open databases)");
  return Status::Ok();
}

Status LmdbStateStore::CheckWritable() const {
  if (mode_ == OpenMode::kReadOnly) return FailedPrecondition("store " + store_path_ + " is open read-only");
  if (mode_ == OpenMode::kSinkWriter) {
    return FailedPrecondition("store " + store_path_ + " is open for a sink's position only");
  }
  return Status::Ok();
}

Status LmdbStateStore::BeginTxn(bool write, Txn* txn) {
  int rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, txn->out());
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt its size and retry once.
    if ((rc = mdb_env_set_mapsize(env_, 0)) != 0) return LmdbError(rc, "set_mapsize");
    rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, txn->out());
  }
  if (rc != 0) return LmdbError(rc, write ? "begin write transaction" : "begin read transaction");
  return Status::Ok();
}

namespace {

// ReadCounter reads a decimal counter of `meta`, 1 when absent (nothing used yet).
StatusOr<uint64_t> ReadCounter(MDB_txn* txn, MDB_dbi meta, const char* name, const std::string& where) {
  MDB_val key = Val(name), value;
  int rc = mdb_get(txn, meta, &key, &value);
  if (rc == MDB_NOTFOUND) return uint64_t{1};
  if (rc != 0) return Internal("lmdb get meta/" + std::string(name) + " in " + where + ": " + mdb_strerror(rc));
  auto parsed = ParseDecimal(View(value));
  if (!parsed || *parsed == 0) return DataLoss("store " + where + ": meta/" + name + " is malformed");
  return *parsed;
}

int WriteCounter(MDB_txn* txn, MDB_dbi meta, const char* name, uint64_t value) {
  std::string text = std::to_string(value);
  MDB_val key = Val(name), val = Val(text);
  return mdb_put(txn, meta, &key, &val, 0);
}

}  // namespace

Status LmdbStateStore::Commit(const std::vector<StoreWrite>& batch) {
  ROTOR_RETURN_IF_ERROR(CheckWritable());
  if (batch.empty()) return Status::Ok();
  std::lock_guard lock(write_mu_);
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(true, &txn));
  ROTOR_ASSIGN_OR_RETURN(uint64_t next, ReadCounter(txn.get(), dbs_.meta, kOutboxNextKey, store_path_));
  const uint64_t first = next;
  for (const StoreWrite& write : batch) {
    if (write.record.id.empty()) return InvalidArgument("a record without an id cannot be stored");
    std::string bytes = EncodeRecord(write.record);
    MDB_val key = Val(write.record.id), value = Val(bytes);
    int rc = mdb_put(txn.get(), dbs_.records, &key, &value, 0);
    if (rc != 0) return LmdbError(rc, "put record " + write.record.id);
    if (write.adopted) {
      if (write.adopted->id != write.record.id) {
        return InvalidArgument("adopted declaration of " + write.adopted->id + " written with record " +
                               write.record.id);
      }
      if (!dbs_.has_adopted) return FailedPrecondition("store " + store_path_ + " has no adopted database");
      std::string declaration = EncodeAdoptedIdentity(*write.adopted);
      MDB_val adopted = Val(declaration);
      if ((rc = mdb_put(txn.get(), dbs_.adopted, &key, &adopted, 0)) != 0) {
        return LmdbError(rc, "put adopted " + write.record.id);
      }
    }
    if (write.audit_line.empty()) continue;
    auto seq_key = SeqKey(next);
    MDB_val okey = Val({seq_key.data(), seq_key.size()}), line = Val(write.audit_line);
    // MDB_APPEND refuses a key that is not the largest: a reused seq fails loudly.
    if ((rc = mdb_put(txn.get(), dbs_.outbox, &okey, &line, MDB_APPEND)) != 0) {
      return LmdbError(rc, "append outbox entry " + std::to_string(next));
    }
    ++next;
  }
  if (next != first) {
    int rc = WriteCounter(txn.get(), dbs_.meta, kOutboxNextKey, next);
    if (rc != 0) return LmdbError(rc, "put meta/outbox_next");
  }
  int rc = txn.Commit();
  if (rc != 0) return LmdbError(rc, "commit batch of " + std::to_string(batch.size()));
  return Status::Ok();
}

StatusOr<RotationRecord> LmdbStateStore::Get(const std::string& id) {
  if (id.empty()) return NotFound("empty identity id");
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(false, &txn));
  MDB_val key = Val(id), value;
  int rc = mdb_get(txn.get(), dbs_.records, &key, &value);
  if (rc == MDB_NOTFOUND) return NotFound("identity " + id + " not found in " + store_path_);
  if (rc == MDB_BAD_VALSIZE) return NotFound("identity " + id + " not found (id too long) in " + store_path_);
  if (rc != 0) return LmdbError(rc, "get record " + id);
  auto record = DecodeRecord(View(value));
  if (!record.ok()) {
    return DataLoss("record " + id + " in " + store_path_ + " is malformed: " + record.status().message());
  }
  return record;
}

Status LmdbStateStore::ForEach(const std::function<bool(const RotationRecord&)>& fn) {
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(false, &txn));
  Cursor cursor;
  int rc = mdb_cursor_open(txn.get(), dbs_.records, cursor.out());
  if (rc != 0) return LmdbError(rc, "open records cursor");
  MDB_val key, value;
  for (rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT)) {
    auto record = DecodeRecord(View(value));
    if (!record.ok()) {
      return DataLoss("record " + std::string(View(key)) + " in " + store_path_ +
                      " is malformed: " + record.status().message());
    }
    if (!fn(*record)) return Status::Ok();
  }
  if (rc != MDB_NOTFOUND) return LmdbError(rc, "iterate records");
  return Status::Ok();
}

Status LmdbStateStore::ForEachAdopted(const std::function<bool(const AdoptedIdentity&)>& fn) {
  if (!dbs_.has_adopted) return Status::Ok();
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(false, &txn));
  Cursor cursor;
  int rc = mdb_cursor_open(txn.get(), dbs_.adopted, cursor.out());
  if (rc != 0) return LmdbError(rc, "open adopted cursor");
  MDB_val key, value;
  for (rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT)) {
    auto adopted = DecodeAdoptedIdentity(View(value));
    if (!adopted.ok()) {
      return DataLoss("adopted declaration " + std::string(View(key)) + " in " + store_path_ +
                      " is malformed: " + adopted.status().message());
    }
    if (!fn(*adopted)) return Status::Ok();
  }
  if (rc != MDB_NOTFOUND) return LmdbError(rc, "iterate adopted");
  return Status::Ok();
}

StatusOr<std::vector<std::vector<RotationRecord>>> LmdbStateStore::LoadAll(size_t threads) {
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(false, &txn));
  Cursor cursor;
  int rc = mdb_cursor_open(txn.get(), dbs_.records, cursor.out());
  if (rc != 0) return LmdbError(rc, "open records cursor");
  MDB_stat stat;
  rc = mdb_stat(txn.get(), dbs_.records, &stat);
  if (rc != 0) return LmdbError(rc, "stat records");
  std::vector<std::pair<MDB_val, MDB_val>> entries;  // views into the map, valid while txn lives
  entries.reserve(stat.ms_entries);
  MDB_val key, value;
  for (rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT)) {
    entries.emplace_back(key, value);
  }
  if (rc != MDB_NOTFOUND) return LmdbError(rc, "iterate records");

  // Small stores are decoded on the calling thread: a thread costs more.
  constexpr size_t kPerThreadAtLeast = 4096;
  const size_t runs_wanted =
      std::max<size_t>(1, std::min(std::max<size_t>(threads, 1), entries.size() / kPerThreadAtLeast));
  std::vector<std::vector<RotationRecord>> runs(runs_wanted);
  std::vector<Status> errors(runs_wanted);
  auto decode = [&](size_t run) {
    const size_t begin = entries.size() * run / runs_wanted, end = entries.size() * (run + 1) / runs_wanted;
    std::vector<RotationRecord>& out = runs[run];
    out.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      auto record = DecodeRecord(View(entries[i].second));
      if (!record.ok()) {
        errors[run] = DataLoss("record " + std::string(View(entries[i].first)) + " in " + store_path_ +
                               " is malformed: " + record.status().message());
        return;
      }
      out.push_back(std::move(*record));
    }
  };
  std::vector<std::thread> helpers;
  for (size_t run = 1; run < runs_wanted; ++run) helpers.emplace_back(decode, run);
  decode(0);
  for (auto& t : helpers) t.join();
  for (const Status& e : errors) ROTOR_RETURN_IF_ERROR(e);
  return runs;
}

StatusOr<uint64_t> LmdbStateStore::Count() {
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(false, &txn));
  MDB_stat stat;
  int rc = mdb_stat(txn.get(), dbs_.records, &stat);
  if (rc != 0) return LmdbError(rc, "stat records");
  return uint64_t{stat.ms_entries};
}

StatusOr<std::vector<OutboxEntry>> LmdbStateStore::ReadOutbox(uint64_t after, size_t max) {
  std::vector<OutboxEntry> entries;
  if (max == 0 || after == UINT64_MAX) return entries;
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(false, &txn));
  Cursor cursor;
  int rc = mdb_cursor_open(txn.get(), dbs_.outbox, cursor.out());
  if (rc != 0) return LmdbError(rc, "open outbox cursor");
  auto start = SeqKey(after + 1);
  MDB_val key = Val({start.data(), start.size()}), value;
  for (rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE); rc == 0 && entries.size() < max;
       rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT)) {
    auto seq = DecodeSeqKey(key);
    if (!seq) return DataLoss("outbox of " + store_path_ + " holds a key that is not an 8-byte sequence");
    entries.push_back({*seq, std::string(View(value))});
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, "read outbox");
  return entries;
}

Status LmdbStateStore::TrimOutbox(uint64_t upto) {
  ROTOR_RETURN_IF_ERROR(CheckWritable());
  std::lock_guard lock(write_mu_);
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(true, &txn));
  size_t deleted = 0;
  {
    Cursor cursor;
    int rc = mdb_cursor_open(txn.get(), dbs_.outbox, cursor.out());
    if (rc != 0) return LmdbError(rc, "open outbox cursor");
    MDB_val key, value;
    // After a delete the cursor sits on the next entry; MDB_FIRST finds it
    // without relying on that subtlety.
    while ((rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST)) == 0) {
      auto seq = DecodeSeqKey(key);
      if (!seq) return DataLoss("outbox of " + store_path_ + " holds a key that is not an 8-byte sequence");
      if (*seq > upto) break;
      if ((rc = mdb_cursor_del(cursor.get(), 0)) != 0) return LmdbError(rc, "trim outbox");
      ++deleted;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, "trim outbox");
  }
  if (deleted == 0) return Status::Ok();  // the transaction aborts: nothing to make durable
  int rc = txn.Commit();
  if (rc != 0) return LmdbError(rc, "commit outbox trim");
  return Status::Ok();
}

StatusOr<std::string> LmdbStateStore::GetSinkPosition(const std::string& sink) {
  if (sink.empty()) return InvalidArgument("empty sink name");
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(false, &txn));
  MDB_val key = Val(sink), value;
  int rc = mdb_get(txn.get(), dbs_.sinks, &key, &value);
  if (rc == MDB_NOTFOUND) return NotFound("sink " + sink + " has no position in " + store_path_);
  if (rc != 0) return LmdbError(rc, "get sink position " + sink);
  return std::string(View(value));
}

Status LmdbStateStore::SetSinkPosition(const std::string& sink, const std::string& position) {
  if (mode_ == OpenMode::kReadOnly) return FailedPrecondition("store " + store_path_ + " is open read-only");
  if (sink.empty()) return InvalidArgument("empty sink name");
  std::lock_guard lock(write_mu_);
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(true, &txn));
  MDB_val key = Val(sink), value = Val(position);
  int rc = mdb_put(txn.get(), dbs_.sinks, &key, &value, 0);
  if (rc != 0) return LmdbError(rc, "put sink position " + sink);
  if ((rc = txn.Commit()) != 0) return LmdbError(rc, "commit sink position " + sink);
  return Status::Ok();
}

Status LmdbStateStore::EnqueueCommand(const QueuedCommand& command) {
  return EnqueueCommands({command});
}

Status LmdbStateStore::EnqueueCommands(const std::vector<QueuedCommand>& commands) {
  ROTOR_RETURN_IF_ERROR(CheckWritable());
  if (commands.empty()) return Status::Ok();
  std::lock_guard lock(write_mu_);
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(true, &txn));
  ROTOR_ASSIGN_OR_RETURN(uint64_t seq, ReadCounter(txn.get(), dbs_.meta, kCommandsNextKey, store_path_));
  int rc = 0;
  for (const QueuedCommand& command : commands) {
    auto seq_key = SeqKey(seq);
    std::string bytes = EncodeCommand(command);
    MDB_val key = Val({seq_key.data(), seq_key.size()}), value = Val(bytes);
    rc = mdb_put(txn.get(), dbs_.commands, &key, &value, MDB_APPEND);
    if (rc != 0) return LmdbError(rc, "append command " + std::to_string(seq));
    ++seq;
  }
  if ((rc = WriteCounter(txn.get(), dbs_.meta, kCommandsNextKey, seq)) != 0) {
    return LmdbError(rc, "put meta/commands_next");
  }
  if ((rc = txn.Commit()) != 0) return LmdbError(rc, "commit commands");
  return Status::Ok();
}

StatusOr<std::vector<QueuedCommand>> LmdbStateStore::TakeCommands() {
  ROTOR_RETURN_IF_ERROR(CheckWritable());
  std::lock_guard lock(write_mu_);
  Txn txn;
  ROTOR_RETURN_IF_ERROR(BeginTxn(true, &txn));
  std::vector<QueuedCommand> commands;
  {
    Cursor cursor;
    int rc = mdb_cursor_open(txn.get(), dbs_.commands, cursor.out());
    if (rc != 0) return LmdbError(rc, "open commands cursor");
    MDB_val key, value;
    for (rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT)) {
      auto seq = DecodeSeqKey(key);
      if (!seq) return DataLoss("command queue of " + store_path_ + " holds a key that is not an 8-byte sequence");
      auto command = DecodeCommand(*seq, View(value));
      if (!command.ok()) {
        return DataLoss("queued command " + std::to_string(*seq) + " in " + store_path_ +
                        " is malformed: " + command.status().message());
      }
      commands.push_back(std::move(command).value());
    }
    if (rc != MDB_NOTFOUND) return LmdbError(rc, "read commands");
  }
  if (commands.empty()) return commands;
  int rc = mdb_drop(txn.get(), dbs_.commands, 0);  // 0: empty it, keep the handle
  if (rc != 0) return LmdbError(rc, "clear commands");
  if ((rc = txn.Commit()) != 0) return LmdbError(rc, "commit taken commands");
  return commands;
}

}  // namespace rotor
