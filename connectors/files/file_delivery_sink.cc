#include "connectors/files/file_delivery_sink.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <optional>
#include <system_error>
#include <utility>

namespace rotor {
namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;
constexpr char kVersionsDir[] = "versions";
constexpr char kCurrentLink[] = "current";
// A file `name` is written as ".<name>.tmp-<random>" and renamed into place.
constexpr std::string_view kTmpInfix = ".tmp-";
constexpr std::string_view kCurrentTmpPrefix = "current.tmp-";
// A delivered file is a key or a certificate chain; anything larger than
// this is not ours.
constexpr size_t kMaxSecretSize = 1 << 20;
constexpr int kMaxRemoveDepth = 4;

// Fd owns a file descriptor. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// ErrnoStatus classifies a failed system call: transient conditions become
// Unavailable so that the state machine retries instead of regenerating.
Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = what + ": " + std::error_code(err, std::generic_category()).message();
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EAGAIN:
    case EINTR:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EBUSY:
    case ETIMEDOUT:
    case ESTALE: return Unavailable(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS: return PermissionDenied(std::move(msg));
    case ENOENT: return NotFound(std::move(msg));
    case EEXIST: return {StatusCode::kAlreadyExists, std::move(msg)};
    case ELOOP:
    case ENOTDIR:
    case EISDIR: return FailedPrecondition(std::move(msg) + " (unexpected file type or symlink)");
    default: return Internal(std::move(msg));
  }
}

// ValidateId refuses anything that could name a path outside <root>/<id>.
// Fleet validation already restricts ids to [A-Za-z0-9._-]; this is the
// second line of defence at the boundary that touches the filesystem.
Status ValidateId(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 255) {
    return InvalidArgument("invalid identity id for a path: \"" + id + "\"");
  }
  for (char c : id) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return InvalidArgument("invalid identity id for a path: \"" + id + "\"");
  }
  return Status::Ok();
}

Status ValidateGeneration(uint64_t generation) {
  if (generation == 0) return InvalidArgument("generation 0 is not a version");
  return Status::Ok();
}

// ParseGeneration accepts exactly the decimal form std::to_string writes.
std::optional<uint64_t> ParseGeneration(std::string_view text) {
  if (text.empty() || text[0] == '0') return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string RandomSuffix() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != static_cast<ssize_t>(sizeof(r))) {
    // Uniqueness, not secrecy, is what matters: O_EXCL / symlinkat catch a clash.
    static std::atomic<uint64_t> counter{0};
    r = (static_cast<uint64_t>(::getpid()) << 32) ^ counter.fetch_add(1);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, r >>= 4) s[i] = kHex[r & 15];
  return s;
}

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// CheckPrivate verifies what every node below <root> must be: of the expected
// type, owned by this user, with exactly `want` permissions.
Status CheckPrivate(const struct stat& st, bool want_dir, mode_t want, const std::string& path) {
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    return FailedPrecondition(path + " is not a " + (want_dir ? "directory" : "regular file"));
  }
  if (st.st_uid != ::geteuid()) {
    return FailedPrecondition(path + " is owned by uid " + std::to_string(st.st_uid) + ", not " +
                              std::to_string(::geteuid()));
  }
  if ((st.st_mode & 07777) != want) {
    return FailedPrecondition(path + " has mode " + ModeString(st.st_mode) + ", want " + ModeString(want));
  }
  return Status::Ok();
}

enum class DirMode {
  kCreate,   // create 0700 if missing; must be private
  kPrivate,  // must exist and be private
  kAny,      // must exist and be a directory (removal paths: a wrong mode must not block cleanup)
};

// OpenDir opens `name` below `parent` without following a symlink. A missing
// directory is NotFound unless `mode` is kCreate.
StatusOr<Fd> OpenDir(int parent, const char* name, DirMode mode, const std::string& path) {
  if (mode == DirMode::kCreate) {
    // mkdir's mode is filtered by the umask, which can only clear bits: the
    // directory is never wider than 0700, not even for an instant. A umask
    // that clears owner bits is caught by CheckPrivate below, never chmod'ed.
    if (::mkdirat(parent, name, kDirMode) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "mkdir " + path);
    }
  }
  Fd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (mode != DirMode::kAny) {
    Status s = CheckPrivate(st, /*want_dir=*/true, kDirMode, path);
    if (!s.ok()) return s;
  }
  return fd;
}

// ListNames returns the entries of the directory `dir` (not consumed).
StatusOr<std::vector<std::string>> ListNames(int dir, const std::string& path) {
  int dup = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoStatus(errno, "dup " + path);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    int err = errno;
    ::close(dup);
    return ErrnoStatus(err, "opendir " + path);
  }
  ::rewinddir(d);  // the duplicate shares its offset with `dir`
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus(err, "readdir " + path);
  return names;
}

// RemoveStale unlinks leftovers of an interrupted write (a crash between
// creating a temporary and renaming it).
Status RemoveStale(int dir, std::string_view prefix, const std::string& path) {
  auto names = ListNames(dir, path);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    if (n.starts_with(prefix) && ::unlinkat(dir, n.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "unlink " + path + "/" + n);
    }
  }
  return Status::Ok();
}

// RemoveTree removes `name` below `parent` and everything in it; a missing
// entry is OK. A symlink is removed itself, never followed.
Status RemoveTree(int parent, const std::string& name, const std::string& path, int depth = 0) {
  Fd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.get() < 0) {
    if (errno == ENOENT) return Status::Ok();
    if (errno == ELOOP || errno == ENOTDIR) {
      if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, "unlink " + path);
      }
      return Status::Ok();
    }
    return ErrnoStatus(errno, "open " + path);
  }
  auto names = ListNames(dir.get(), path);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    if (::unlinkat(dir.get(), n.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR) return ErrnoStatus(errno, "unlink " + path + "/" + n);
    if (depth >= kMaxRemoveDepth) return FailedPrecondition(path + " is nested too deeply to remove");
    ROTOR_RETURN_IF_ERROR(RemoveTree(dir.get(), n, path + "/" + n, depth + 1));
  }
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "rmdir " + path);
  }
  return Status::Ok();
}

// WriteAll writes `data` to `fd`, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// WipeString zeroes a string's whole buffer. Written through a volatile
// pointer so the stores are not elided (this connector links no crypto library).
void WipeString(std::string* s) {
  volatile char* p = s->data();
  for (size_t i = 0; i < s->capacity(); ++i) p[i] = 0;
  s->clear();
}

// ReadSecret opens `name` in `dir`, checks that it is a private regular file
// and reads it whole into a buffer that never reallocates.
StatusOr<SecretBytes> ReadSecret(int dir, const char* name, const std::string& path) {
  Fd fd(::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  ROTOR_RETURN_IF_ERROR(CheckPrivate(st, /*want_dir=*/false, kFileMode, path));
  if (static_cast<uint64_t>(st.st_size) > kMaxSecretSize) {
    return FailedPrecondition(path + " is larger than " + std::to_string(kMaxSecretSize) + " bytes");
  }
  // One spare byte detects a file that grew after fstat.
  std::string buf(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus(errno, "read " + path);
      WipeString(&buf);
      return s;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != static_cast<size_t>(st.st_size)) {
    WipeString(&buf);
    return Unavailable(path + " changed while being read");
  }
  buf.resize(got);  // shrinking never reallocates
  return SecretBytes(std::move(buf));
}

// EqualBytes compares without an early exit, so timing does not reveal how
// much of a secret matched.
bool EqualBytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string CurrentTarget(uint64_t generation) {
  return std::string(kVersionsDir) + "/" + std::to_string(generation);
}

// ReadCurrent returns the generation `current` in `id_dir` points at, 0 if
// there is no `current`.
StatusOr<uint64_t> ReadCurrent(int id_dir, const std::string& link_path) {
  char buf[256];
  ssize_t n = ::readlinkat(id_dir, kCurrentLink, buf, sizeof(buf));
  if (n < 0) {
    if (errno == ENOENT) return uint64_t{0};
    if (errno == EINVAL) return FailedPrecondition(link_path + " is not a symlink");
    return ErrnoStatus(errno, "readlink " + link_path);
  }
  std::string_view target(buf, static_cast<size_t>(n));
  constexpr std::string_view kPrefix = "versions/";
  std::optional<uint64_t> gen;
  if (static_cast<size_t>(n) < sizeof(buf) && target.starts_with(kPrefix)) {
    gen = ParseGeneration(target.substr(kPrefix.size()));
  }
  if (!gen) return DataLoss(link_path + " points at unexpected target \"" + std::string(target) + "\"");
  return *gen;
}

std::string TmpPrefix(std::string_view name) {
  return "." + std::string(name) + std::string(kTmpInfix);
}

// ListMaterial returns the names of the material files in a version
// directory, sorted; temporaries of an interrupted write are skipped, and
// anything else that is no material file name is FailedPrecondition.
StatusOr<std::vector<std::string>> ListMaterial(int gen_dir, const std::string& gen_path) {
  ROTOR_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(gen_dir, gen_path));
  std::vector<std::string> files;
  for (std::string& n : names) {
    if (n.starts_with('.') && n.find(kTmpInfix) != std::string::npos) continue;
    if (!ValidMaterialFileName(n)) return FailedPrecondition(gen_path + " holds an unexpected entry \"" + n + "\"");
    files.push_back(std::move(n));
  }
  std::sort(files.begin(), files.end());
  return files;
}

// CheckDelivered verifies that versions/<generation> below `id_dir` is a real
// directory holding at least one regular material file.
Status CheckDelivered(int id_dir, uint64_t generation, const std::string& id_path) {
  // Walk without following: versions and <generation> must be real directories.
  auto versions = OpenDir(id_dir, kVersionsDir, DirMode::kAny, id_path + "/" + kVersionsDir);
  if (!versions.ok()) return versions.status();
  std::string gen_name = std::to_string(generation);
  const std::string gen_path = id_path + "/" + CurrentTarget(generation);
  auto gen = OpenDir(versions->get(), gen_name.c_str(), DirMode::kAny, gen_path);
  if (!gen.ok()) return gen.status();
  ROTOR_ASSIGN_OR_RETURN(std::vector<std::string> files, ListMaterial(gen->get(), gen_path));
  if (files.empty()) return NotFound(gen_path + " holds no delivered file");
  for (const std::string& f : files) {
    struct stat st;
    if (::fstatat(gen->get(), f.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, "stat " + gen_path + "/" + f);
    }
    if (!S_ISREG(st.st_mode)) return FailedPrecondition(gen_path + "/" + f + " is not a regular file");
  }
  return Status::Ok();
}

// PointCurrent atomically (re)points `current` in `id_dir` at `generation`:
// a new symlink under a temporary name is renamed over the old one, so a
// reader resolves either the old or the new version, never nothing.
Status PointCurrent(int id_dir, uint64_t generation, const std::string& id_path) {
  ROTOR_RETURN_IF_ERROR(CheckDelivered(id_dir, generation, id_path));
  std::string link_path = id_path + "/" + kCurrentLink;
  auto now = ReadCurrent(id_dir, link_path);
  if (now.ok() && *now == generation) return Status::Ok();
  ROTOR_RETURN_IF_ERROR(RemoveStale(id_dir, kCurrentTmpPrefix, id_path));
  std::string tmp = std::string(kCurrentTmpPrefix) + RandomSuffix();
  if (::symlinkat(CurrentTarget(generation).c_str(), id_dir, tmp.c_str()) != 0) {
    return ErrnoStatus(errno, "symlink " + id_path + "/" + tmp);
  }
  if (::renameat(id_dir, tmp.c_str(), id_dir, kCurrentLink) != 0) {
    Status s = ErrnoStatus(errno, "rename " + id_path + "/" + tmp + " to " + link_path);
    ::unlinkat(id_dir, tmp.c_str(), 0);
    return s;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<FileDeliverySink>> FileDeliverySink::Open(std::string root, RootMode mode) {
  if (root.empty()) return InvalidArgument("delivery root is empty");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  bool created = mode == RootMode::kCreate && ::mkdir(root.c_str(), kDirMode) == 0;
  if (mode == RootMode::kCreate && !created && errno != EEXIST) return ErrnoStatus(errno, "mkdir " + root);
  // The root may be reached through a symlink the operator configured; only
  // the tree below it is walked with O_NOFOLLOW.
  Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + root);
  if (created) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + root);
    ROTOR_RETURN_IF_ERROR(CheckPrivate(st, /*want_dir=*/true, kDirMode, root));
  }
  return std::unique_ptr<FileDeliverySink>(new FileDeliverySink(std::move(root), fd.release()));
}

FileDeliverySink::FileDeliverySink(std::string root, int root_fd) : root_(std::move(root)), root_fd_(root_fd) {}

FileDeliverySink::~FileDeliverySink() {
  ::close(root_fd_);
}

DeliveredPaths FileDeliverySink::Paths(const std::string& id, uint64_t generation) const {
  DeliveredPaths p;
  p.version_dir = root_ + "/" + id + "/" + CurrentTarget(generation);
  p.current_link = root_ + "/" + id + "/" + kCurrentLink;
  return p;
}

void FileDeliverySink::SyncBatch(std::vector<Status>* results) {
  if (std::none_of(results->begin(), results->end(), [](const Status& s) { return s.ok(); })) return;
  // Since Linux 5.8 syncfs also reports writeback errors of the filesystem
  // that occurred since this descriptor was opened or last synced.
  if (::syncfs(root_fd_) == 0) return;
  Status failed = ErrnoStatus(errno, "syncfs " + root_);
  if (!IsTransient(failed)) failed = Unavailable(failed.message());
  for (Status& s : *results) {
    if (s.ok()) s = failed;
  }
}

std::vector<Status> FileDeliverySink::Deliver(const std::vector<DeliverItem>& items) {
  std::vector<Status> results;
  results.reserve(items.size());
  for (const DeliverItem& item : items) results.push_back(DeliverOne(item));
  SyncBatch(&results);
  return results;
}

Status FileDeliverySink::DeliverOne(const DeliverItem& item) {
  ROTOR_RETURN_IF_ERROR(ValidateId(item.id));
  ROTOR_RETURN_IF_ERROR(ValidateGeneration(item.generation));
  if (item.files == nullptr || item.files->empty()) return InvalidArgument("no material for " + item.id);
  for (const MaterialFile& f : *item.files) {
    if (!ValidMaterialFileName(f.name)) return InvalidArgument("invalid material file name \"" + f.name + "\"");
    if (f.bytes.empty()) return InvalidArgument("empty " + f.name + " for " + item.id);
    if (f.bytes.view().size() > kMaxSecretSize) return InvalidArgument(f.name + " too large for " + item.id);
  }

  const std::string id_path = root_ + "/" + item.id;
  const std::string versions_path = id_path + "/" + kVersionsDir;
  const std::string gen_name = std::to_string(item.generation);
  const std::string gen_path = versions_path + "/" + gen_name;

  ROTOR_ASSIGN_OR_RETURN(Fd id_dir, OpenDir(root_fd_, item.id.c_str(), DirMode::kCreate, id_path));
  ROTOR_ASSIGN_OR_RETURN(Fd versions, OpenDir(id_dir.get(), kVersionsDir, DirMode::kCreate, versions_path));
  ROTOR_ASSIGN_OR_RETURN(Fd gen_dir, OpenDir(versions.get(), gen_name.c_str(), DirMode::kCreate, gen_path));
  for (const MaterialFile& f : *item.files) {
    ROTOR_RETURN_IF_ERROR(WriteFileOnce(gen_dir.get(), gen_path, f));
  }
  return Status::Ok();
}

Status FileDeliverySink::WriteFileOnce(int gen_dir, const std::string& gen_path, const MaterialFile& f) {
  const std::string path = gen_path + "/" + f.name;
  // Idempotence: a retry after a crash or a failed syncfs finds its own file.
  if (struct stat st; ::fstatat(gen_dir, f.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    ROTOR_ASSIGN_OR_RETURN(SecretBytes existing, ReadSecret(gen_dir, f.name.c_str(), path));
    if (!EqualBytes(existing.view(), f.bytes.view())) {
      return {StatusCode::kAlreadyExists, path + " already holds different material"};
    }
    return Status::Ok();
  } else if (errno != ENOENT) {
    return ErrnoStatus(errno, "stat " + path);
  }

  ROTOR_RETURN_IF_ERROR(RemoveStale(gen_dir, TmpPrefix(f.name), gen_path));
  const std::string tmp = TmpPrefix(f.name) + RandomSuffix();
  const std::string tmp_path = gen_path + "/" + tmp;
  // Created 0600: the umask can only narrow it, and a narrowed file is
  // refused below rather than chmod'ed.
  Fd file(::openat(gen_dir, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, kFileMode));
  if (file.get() < 0) return ErrnoStatus(errno, "create " + tmp_path);
  auto fail = [&](Status s) {
    ::unlinkat(gen_dir, tmp.c_str(), 0);
    return s;
  };
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return fail(ErrnoStatus(errno, "stat " + tmp_path));
  if (Status s = CheckPrivate(st, /*want_dir=*/false, kFileMode, tmp_path); !s.ok()) {
    return fail(FailedPrecondition(s.message() + " (umask too narrow?)"));
  }
  if (Status s = WriteAll(file.get(), f.bytes.view(), tmp_path); !s.ok()) return fail(s);
  if (::close(file.release()) != 0) return fail(ErrnoStatus(errno, "close " + tmp_path));
  // RENAME_NOREPLACE: an existing file is never silently replaced.
  if (::renameat2(gen_dir, tmp.c_str(), gen_dir, f.name.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EINVAL) return fail(ErrnoStatus(errno, "rename " + tmp_path + " to " + path));
    // The filesystem lacks RENAME_NOREPLACE; the file was absent above and
    // this sink has a single writer.
    if (::renameat(gen_dir, tmp.c_str(), gen_dir, f.name.c_str()) != 0) {
      return fail(ErrnoStatus(errno, "rename " + tmp_path + " to " + path));
    }
  }
  return Status::Ok();
}

std::vector<Status> FileDeliverySink::Activate(const std::vector<ActivateItem>& items) {
  std::vector<Status> results;
  results.reserve(items.size());
  for (const ActivateItem& item : items) results.push_back(ActivateOne(item));
  SyncBatch(&results);
  return results;
}

Status FileDeliverySink::ActivateOne(const ActivateItem& item) {
  ROTOR_RETURN_IF_ERROR(ValidateId(item.id));
  ROTOR_RETURN_IF_ERROR(ValidateGeneration(item.generation));
  const std::string id_path = root_ + "/" + item.id;
  ROTOR_ASSIGN_OR_RETURN(Fd id_dir, OpenDir(root_fd_, item.id.c_str(), DirMode::kPrivate, id_path));
  return PointCurrent(id_dir.get(), item.generation, id_path);
}

std::vector<Status> FileDeliverySink::Discard(const std::vector<DiscardItem>& items) {
  std::vector<Status> results;
  results.reserve(items.size());
  for (const DiscardItem& item : items) results.push_back(DiscardOne(item));
  SyncBatch(&results);
  return results;
}

Status FileDeliverySink::DiscardOne(const DiscardItem& item) {
  ROTOR_RETURN_IF_ERROR(ValidateId(item.id));
  ROTOR_RETURN_IF_ERROR(ValidateGeneration(item.generation));
  if (item.generation == item.restore_generation) {
    return InvalidArgument("cannot discard generation " + std::to_string(item.generation) + " of " + item.id +
                           " and restore it");
  }
  const std::string id_path = root_ + "/" + item.id;
  auto id_dir = OpenDir(root_fd_, item.id.c_str(), DirMode::kAny, id_path);
  if (!id_dir.ok()) {
    // Nothing was ever delivered for a first issuance: nothing to undo.
    if (id_dir.status().code() == StatusCode::kNotFound && item.restore_generation == 0) return Status::Ok();
    return id_dir.status();
  }
  // Re-point first, remove second: `current` never names a missing version.
  if (item.restore_generation != 0) {
    ROTOR_RETURN_IF_ERROR(PointCurrent(id_dir->get(), item.restore_generation, id_path));
  } else if (::unlinkat(id_dir->get(), kCurrentLink, 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "unlink " + id_path + "/" + kCurrentLink);
  }
  auto versions = OpenDir(id_dir->get(), kVersionsDir, DirMode::kAny, id_path + "/" + kVersionsDir);
  if (!versions.ok()) {
    return versions.status().code() == StatusCode::kNotFound ? Status::Ok() : versions.status();
  }
  return RemoveTree(versions->get(), std::to_string(item.generation), id_path + "/" + CurrentTarget(item.generation));
}

std::vector<Status> FileDeliverySink::Retire(const std::vector<ActivateItem>& items) {
  std::vector<Status> results;
  results.reserve(items.size());
  for (const ActivateItem& item : items) results.push_back(RetireOne(item));
  SyncBatch(&results);
  return results;
}

Status FileDeliverySink::RetireOne(const ActivateItem& item) {
  ROTOR_RETURN_IF_ERROR(ValidateId(item.id));
  ROTOR_RETURN_IF_ERROR(ValidateGeneration(item.generation));
  const std::string id_path = root_ + "/" + item.id;
  auto id_dir = OpenDir(root_fd_, item.id.c_str(), DirMode::kAny, id_path);
  if (!id_dir.ok()) return id_dir.status().code() == StatusCode::kNotFound ? Status::Ok() : id_dir.status();
  ROTOR_ASSIGN_OR_RETURN(uint64_t current, ReadCurrent(id_dir->get(), id_path + "/" + kCurrentLink));
  if (current == item.generation) {
    return FailedPrecondition("cannot retire generation " + std::to_string(item.generation) + " of " + item.id +
                              ": it is current");
  }
  auto versions = OpenDir(id_dir->get(), kVersionsDir, DirMode::kAny, id_path + "/" + kVersionsDir);
  if (!versions.ok()) {
    return versions.status().code() == StatusCode::kNotFound ? Status::Ok() : versions.status();
  }
  return RemoveTree(versions->get(), std::to_string(item.generation), id_path + "/" + CurrentTarget(item.generation));
}

StatusOr<Material> FileDeliverySink::ReadBack(const std::string& id, uint64_t generation) {
  ROTOR_RETURN_IF_ERROR(ValidateId(id));
  ROTOR_RETURN_IF_ERROR(ValidateGeneration(generation));
  const DeliveredPaths p = Paths(id, generation);
  const std::string id_path = root_ + "/" + id;
  const std::string gen_name = std::to_string(generation);
  ROTOR_ASSIGN_OR_RETURN(Fd id_dir, OpenDir(root_fd_, id.c_str(), DirMode::kPrivate, id_path));
  ROTOR_ASSIGN_OR_RETURN(Fd versions,
                         OpenDir(id_dir.get(), kVersionsDir, DirMode::kPrivate, id_path + "/" + kVersionsDir));
  ROTOR_ASSIGN_OR_RETURN(Fd gen_dir, OpenDir(versions.get(), gen_name.c_str(), DirMode::kPrivate, p.version_dir));
  ROTOR_ASSIGN_OR_RETURN(std::vector<std::string> names, ListMaterial(gen_dir.get(), p.version_dir));
  if (names.empty()) return NotFound(p.version_dir + " holds no delivered file");
  Material out;
  for (std::string& n : names) {
    ROTOR_ASSIGN_OR_RETURN(SecretBytes bytes, ReadSecret(gen_dir.get(), n.c_str(), p.version_dir + "/" + n));
    out.push_back({std::move(n), std::move(bytes)});
  }
  return out;
}

StatusOr<uint64_t> FileDeliverySink::CurrentGeneration(const std::string& id) {
  ROTOR_RETURN_IF_ERROR(ValidateId(id));
  const std::string id_path = root_ + "/" + id;
  auto id_dir = OpenDir(root_fd_, id.c_str(), DirMode::kAny, id_path);
  if (!id_dir.ok()) {
    if (id_dir.status().code() == StatusCode::kNotFound) return uint64_t{0};
    return id_dir.status();
  }
  return ReadCurrent(id_dir->get(), id_path + "/" + kCurrentLink);
}

StatusOr<std::vector<uint64_t>> FileDeliverySink::ListGenerations(const std::string& id) {
  ROTOR_RETURN_IF_ERROR(ValidateId(id));
  const std::string id_path = root_ + "/" + id;
  const std::string versions_path = id_path + "/" + kVersionsDir;
  std::vector<uint64_t> gens;
  auto id_dir = OpenDir(root_fd_, id.c_str(), DirMode::kAny, id_path);
  if (!id_dir.ok()) {
    if (id_dir.status().code() == StatusCode::kNotFound) return gens;
    return id_dir.status();
  }
  auto versions = OpenDir(id_dir->get(), kVersionsDir, DirMode::kAny, versions_path);
  if (!versions.ok()) {
    if (versions.status().code() == StatusCode::kNotFound) return gens;
    return versions.status();
  }
  ROTOR_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(versions->get(), versions_path));
  for (const std::string& n : names) {
    if (std::optional<uint64_t> g = ParseGeneration(n)) gens.push_back(*g);
  }
  std::sort(gens.begin(), gens.end());
  return gens;
}

}  // namespace rotor
