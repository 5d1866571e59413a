// The identity model: what rotor knows about each credential it manages.
//
// RotationRecord is the compact, persisted state of one identity; the rotation
// state machine (engine/rotation.h) is the only code that changes it. Value
// types; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

// kCaIntermediate is the managed CA's intermediate (ARCHITECTURE §5): rotated
// by the same machine, delivered into <data-dir>/ca, never declared by a user.
enum class CredentialKind : uint8_t { kApiKey = 1, kX509 = 2, kCaIntermediate = 3 };
const char* CredentialKindName(CredentialKind kind);
StatusOr<CredentialKind> ParseCredentialKind(std::string_view name);

// Phase of an identity in its rotation lifecycle (ARCHITECTURE §3).
enum class Phase : uint8_t {
  kNew = 0,          // declared, nothing issued yet
  kActive = 1,       // one current version, waiting for its renewal point
  kIssuing = 2,      // candidate being generated
  kDelivering = 3,   // candidate persisted as pending, being written to its destination
  kVerifying = 4,    // delivered, being checked
  kCommitting = 5,   // verified, `current` being switched to it
  kRollingBack = 6,  // a failed candidate being discarded, `current` restored
  kBackoff = 7,      // waiting to retry after a failure
  kQuarantined = 8,  // circuit breaker open: no issuance until an operator acts
  kRetiring = 9,     // removed from the fleet; its versions being retired
  kRetired = 10,     // nothing left
};
const char* PhaseName(Phase phase);
StatusOr<Phase> ParsePhase(std::string_view name);
// IsResting: no effect is outstanding in this phase.
bool IsResting(Phase phase);
// IsRotating: a rotation is in flight (issuing through rolling back); a
// retiring identity is neither resting nor rotating.
bool IsRotating(Phase phase);

// Why a rotation started.
enum class RotationReason : uint8_t { kNone = 0, kInitial, kScheduled, kOverdue, kOperator, kEmergency };
const char* RotationReasonName(RotationReason reason);

struct CredentialVersion {
  uint64_t generation = 0;  // unique per identity, never reused
  Instant issued_at;        // the signing/generation instant
  Instant not_after;
  std::string fingerprint;  // "sha256:<hex>" of the credential material, never the material

  bool operator==(const CredentialVersion&) const = default;
};

struct RetiringVersion {
  CredentialVersion version;
  Instant retire_at;  // end of its grace window
  bool compromised = false;

  bool operator==(const RetiringVersion&) const = default;
};

struct RotationRecord {
  // Identity (constant after declaration).
  std::string id;
  std::string group;
  CredentialKind kind = CredentialKind::kApiKey;

  Phase phase = Phase::kNew;
  std::optional<CredentialVersion> current;
  std::optional<CredentialVersion> pending;
  std::vector<RetiringVersion> retiring;  // previous versions still inside their grace window
  uint64_t next_generation = 1;
  Instant next_due;  // when the shard must wake this identity

  // The rotation in flight (or last attempted).
  RotationReason reason = RotationReason::kNone;
  bool emergency = false;       // commit retires the old version at once
  uint32_t stage_attempts = 0;  // transient retries of the current stage
  uint32_t consecutive_failures = 0;
  std::string last_error;

  // Circuit breaker: issuances in the current window.
  Instant window_start;
  uint32_t issuances_in_window = 0;
  Instant last_emergency_at;

  // Audit chain head (ARCHITECTURE §6): sequence of the last event and its hash.
  uint64_t chain_seq = 0;
  std::string chain_hash;  // 64 lowercase hex; empty means genesis

  bool operator==(const RotationRecord&) const = default;
};

// CheckInvariants verifies the per-record invariants of ARCHITECTURE §3.
// Returns OK or a DataLoss status naming the first violation.
Status CheckInvariants(const RotationRecord& record);

// Health as reported to operators: never healthy once expired.
enum class Health : uint8_t { kHealthy, kPending, kExpired, kQuarantined, kRetired };
Health HealthAt(const RotationRecord& record, Instant now);
const char* HealthName(Health h);

// EncodeRecord / DecodeRecord: the versioned binary form persisted by stores.
// DecodeRecord never reads past `bytes` and fails with InvalidArgument on any
// malformed input.
std::string EncodeRecord(const RotationRecord& record);
StatusOr<RotationRecord> DecodeRecord(std::string_view bytes);

}  // namespace rotor
