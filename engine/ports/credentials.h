// Ports for credential material: hashing, generation, delivery, verification,
// and external commands (hooks). Implementations live in connectors/.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/fleet.h"
#include "engine/model.h"
#include "engine/status.h"

namespace rotor {

// SecretBytes holds credential material and wipes it on destruction.
// Move-only; thread-compatible.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string bytes) : bytes_(std::move(bytes)) {}
  SecretBytes(SecretBytes&& o) noexcept : bytes_(std::move(o.bytes_)) { o.Wipe(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      bytes_ = std::move(o.bytes_);
      o.Wipe();
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { Wipe(); }

  std::string_view view() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  void Wipe();

 private:
  std::string bytes_;
};

// Hasher computes SHA-256. Thread-safe.
class Hasher {
 public:
  virtual ~Hasher() = default;
  virtual std::array<uint8_t, 32> Sha256(std::string_view data) const = 0;
};

// HexSha256 returns the lowercase hex SHA-256 of `data`.
std::string HexSha256(const Hasher& hasher, std::string_view data);

// One file of a credential's delivered material, e.g. "secret" for an API
// key or "cert.pem", "chain.pem", "key.pem" for a certificate. Names are
// 1–64 bytes of [a-z0-9._-] not starting with '.'.
struct MaterialFile {
  std::string name;
  SecretBytes bytes;
};
using Material = std::vector<MaterialFile>;

// ValidMaterialFileName reports whether `name` may name a MaterialFile.
bool ValidMaterialFileName(std::string_view name);
// FindFile returns the file named `name` in `material`, or nullptr.
const MaterialFile* FindFile(const Material& material, std::string_view name);

// PrimaryFileName is the file that identifies a version of `kind`: its
// fingerprint is taken over it ("secret" for API keys; "cert.pem" for
// certificates, whose fingerprint is over the certificate's DER).
const char* PrimaryFileName(CredentialKind kind);

// A generated candidate: its material, held only in memory until delivered.
struct Candidate {
  Material files;
  std::string fingerprint;  // "sha256:<hex>"
  // The signing instant and the expiry the credential carries. Zero: the
  // runner takes issued_at from its clock and the machine derives not_after
  // from the policy. A certificate sets both: its notAfter may be capped by
  // its issuer's and is what the renewal point must be computed from.
  Instant issued_at;
  Instant not_after;
};

// What a generator is asked to produce or check.
struct CredentialJob {
  const RotationRecord* record = nullptr;
  const CredentialVersion* version = nullptr;  // generation always set
  const GroupSpec* group = nullptr;            // null when the group left the fleet
  Instant now;
};

// CredentialGenerator creates new credential material and checks what was
// delivered of it. Thread-safe.
class CredentialGenerator {
 public:
  virtual ~CredentialGenerator() = default;
  // Generate creates the candidate for `job.version`.
  virtual StatusOr<Candidate> Generate(const CredentialJob& job) = 0;
  // Check is the verify step's inspection of `delivered` (the files read back
  // from the destination) against `job.version` as issued. PermissionDenied
  // with a specific message when it does not match.
  virtual Status Check(const CredentialJob& job, const Material& delivered) = 0;
};

// Where the files of one delivered version live.
struct DeliveredPaths {
  std::string version_dir;   // out/<id>/versions/<generation>
  std::string current_link;  // out/<id>/current
};

// DeliverySink writes versions where consumers read them (ARCHITECTURE §6).
// Batch methods group durability: one durability point per call. Each returns
// one Status per item, in order. Thread-safety: the batch methods and the
// reads CurrentGeneration and ListGenerations from one thread at a time;
// ReadBack and Paths from any thread, also while a batch method runs on
// another (the runtime verifies on its crypto pool while its file worker
// writes; the identities differ, since an identity has one effect in flight).
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;

  struct DeliverItem {
    std::string id;
    uint64_t generation = 0;
    const Material* files = nullptr;  // every file of the version; not owned
  };
  virtual std::vector<Status> Deliver(const std::vector<DeliverItem>& items) = 0;

  struct ActivateItem {
    std::string id;
    uint64_t generation = 0;
  };
  // Activate atomically points `current` at `generation`.
  virtual std::vector<Status> Activate(const std::vector<ActivateItem>& items) = 0;

  struct DiscardItem {
    std::string id;
    uint64_t generation = 0;      // the version to remove
    uint64_t restore_generation;  // 0: no current to restore (first issuance)
  };
  // Discard removes `generation` and re-points `current` at `restore_generation`.
  virtual std::vector<Status> Discard(const std::vector<DiscardItem>& items) = 0;
  // Retire removes a version that is no longer current. Removing a missing version is OK.
  virtual std::vector<Status> Retire(const std::vector<ActivateItem>& items) = 0;

  // Paths returns where `id`'s `generation` lives.
  virtual DeliveredPaths Paths(const std::string& id, uint64_t generation) const = 0;
  // ReadBack reads every file of the delivered version, sorted by name, and
  // checks their modes (0600 files, 0700 dirs).
  virtual StatusOr<Material> ReadBack(const std::string& id, uint64_t generation) = 0;
  // CurrentGeneration returns the generation `current` points at, or 0 if none.
  virtual StatusOr<uint64_t> CurrentGeneration(const std::string& id) = 0;
  // ListGenerations returns the generations present on disk for `id`.
  virtual StatusOr<std::vector<uint64_t>> ListGenerations(const std::string& id) = 0;
};

// CommandRunner runs an external command (hooks, verify commands) with extra
// environment variables and a timeout. OK iff it exited 0. Thread-safe.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual Status Run(const std::string& command, const std::map<std::string, std::string>& env, Duration timeout) = 0;
};

}  // namespace rotor
