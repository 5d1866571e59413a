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

// A generated candidate: its material (held only in memory until delivered).
struct Candidate {
  SecretBytes material;     // e.g. the API key text
  std::string fingerprint;  // "sha256:<hex>" of material
};

// CredentialGenerator creates new credential material. Thread-safe.
class CredentialGenerator {
 public:
  virtual ~CredentialGenerator() = default;
  virtual StatusOr<Candidate> Generate(const RotationRecord& record, const CredentialVersion& version) = 0;
};

// Where the files of one delivered version live.
struct DeliveredPaths {
  std::string version_dir;   // out/<id>/versions/<generation>
  std::string secret_path;   // the material
  std::string current_link;  // out/<id>/current
};

// DeliverySink writes versions where consumers read them (ARCHITECTURE §6).
// Batch methods group durability: one durability point per call. Each returns
// one Status per item, in order. Thread-compatible: call from one thread.
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;

  struct DeliverItem {
    std::string id;
    uint64_t generation = 0;
    std::string_view material;
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
  // ReadBack reads the delivered material and checks its modes (0600 file, 0700 dirs).
  virtual StatusOr<SecretBytes> ReadBack(const std::string& id, uint64_t generation) = 0;
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
