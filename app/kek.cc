#include "app/kek.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "app/credential_stack.h"
#include "app/daemon.h"
#include "app/fleet_loader.h"
#include "connectors/crypto/key_wrap.h"
#include "connectors/crypto/managed_ca.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "engine/ports/clock.h"

namespace rotor::app {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "rotor: kek rotate: %s\n", message.c_str());
  return code;
}

// KekFileOfFleet returns the fleet's ca.kek_file, resolved against the fleet
// file's directory ("" when the fleet names none).
StatusOr<std::string> KekFileOfFleet(const std::string& config) {
  if (config.empty()) return std::string();
  auto fleet = LoadFleetFile(config, SystemClock().Now());
  if (!fleet.ok()) return fleet.status();
  return ResolveIn(ConfigDir(config), fleet->ca.kek_file);
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Unavailable("open " + dir + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : Unavailable("fsync " + dir + ": " + std::strerror(err));
}

}  // namespace

int RunKekRotate(const KekRotateOptions& options) {
  const std::string& dir = options.data_dir;
  const std::string ca_dir = dir + "/ca";
  if (!Exists(ca_dir + "/ca.pem")) {
    return Fail(kExitDataDir, "no managed CA in " + dir + " (nothing is sealed under a KEK there)");
  }
  // Holding the store read-write takes the data directory's lock: no daemon
  // may open a key while it is being re-sealed.
  auto store = LmdbStateStore::Open(dir, LmdbStateStore::OpenMode::kReadWrite);
  if (!store.ok()) return Fail(kExitDataDir, store.status().message());

  auto fleet_kek = KekFileOfFleet(options.config);
  if (!fleet_kek.ok()) return Fail(kExitUsage, fleet_kek.status().message());
  auto from = ResolveKek(dir, *fleet_kek, /*create=*/false);
  if (!from.ok()) return Fail(kExitDataDir, "the key-encryption key in use: " + from.status().message());
  auto set = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0';
  };
  const bool default_kek = fleet_kek->empty() && !set("ROTOR_KEK_FILE") && !set("ROTOR_KEK");

  const std::string staged = dir + "/kek.new";
  StatusOr<KeyEncryptionKey> to = InvalidArgument("no new KEK");
  if (!options.new_kek_file.empty()) {
    to = KeyEncryptionKey::LoadFile(options.new_kek_file);
  } else if (!default_kek) {
    return Fail(kExitUsage, "the KEK in use is not " + dir +
                                "/kek (it comes from the fleet's ca.kek_file, ROTOR_KEK_FILE or "
                                "ROTOR_KEK): give the new one with --new-kek-file");
  } else {
    // A kek.new left by an interrupted run is the KEK that run was moving to.
    to = Exists(staged) ? KeyEncryptionKey::LoadFile(staged) : KeyEncryptionKey::CreateFile(staged);
  }
  if (!to.ok()) {
    std::string why = "the new key-encryption key: " + to.status().message();
    if (to.status().code() == StatusCode::kNotFound && !options.new_kek_file.empty()) {
      why += " (create it first, 64 hex digits readable only by rotor's user: (umask 077; openssl rand -hex 32 > " +
             options.new_kek_file + "); or leave out --new-kek-file and rotor makes a fresh <data-dir>/kek)";
    }
    return Fail(kExitFailure, why);
  }
  if (to->KeyId() == from->KeyId()) return Fail(kExitUsage, "the new KEK is the one already in use");

  auto report = ManagedCa::ResealKeys(ca_dir, *from, *to);
  if (!report.ok()) return Fail(kExitFailure, report.status().message());
  if (options.new_kek_file.empty()) {
    if (::rename(staged.c_str(), (dir + "/kek").c_str()) != 0) {
      return Fail(kExitFailure, "rename " + staged + " to " + dir + "/kek: " + std::strerror(errno));
    }
    if (Status s = SyncDirectory(dir); !s.ok()) return Fail(kExitFailure, s.message());
  }
  std::printf("kek rotate: %zu CA key%s re-sealed from KEK %s to KEK %s", report->resealed,
              report->resealed == 1 ? "" : "s", from->KeyId().c_str(), to->KeyId().c_str());
  if (report->already > 0) std::printf(" (%zu already under it)", report->already);
  std::printf("\n");
  if (!options.new_kek_file.empty()) {
    std::printf("kek rotate: point the fleet's ca.kek_file or ROTOR_KEK_FILE at %s before the next start\n",
                options.new_kek_file.c_str());
  } else {
    std::printf("kek rotate: %s/kek is the new KEK; the old one opens nothing any more\n", dir.c_str());
  }
  return kExitOk;
}

}  // namespace rotor::app
