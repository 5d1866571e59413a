// The rotation state machine (ARCHITECTURE §3).
//
// Step is a pure function (record, event, now, policy) -> (record', effects,
// audit). No threads, no I/O. The caller (an identity actor, or a test driver)
// must, in this order:
//   1. if `persist` is set: durably write `record` together with its one audit
//      event (an outbox entry in the same transaction);
//   2. execute `effects` through the ports and feed each outcome back as the
//      next Event;
//   3. wake the identity again at `record.next_due` if `record.phase` is
//      resting and next_due is set.
// Recover() is the event to feed every loaded record after a restart.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "engine/model.h"
#include "engine/policy.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

enum class EventType : uint8_t {
  kDue,             // the shard's timer fired for this identity
  kGenerated,       // Generate succeeded: issued_at, fingerprint
  kDelivered,       // Deliver succeeded
  kVerified,        // Verify succeeded
  kActivated,       // Activate succeeded (current switched to pending)
  kDiscarded,       // Discard succeeded (pending removed, current restored)
  kVersionRetired,  // Retire succeeded for `generation`
  kStepFailed,      // the effect named in `failed` failed with `error`
  kOperatorRotate,  // rotor rotate
  kOperatorRevoke,  // rotor revoke --compromised
  kRemove,          // removed from the fleet file
  kRecover,         // loaded from the store after a (re)start
  kRegroup,         // the fleet file moved the identity to `group`; Step gets that group's policy
};
const char* EventTypeName(EventType type);

enum class EffectType : uint8_t {
  kGenerate,  // create candidate material for `version` (generation, not_after)
  kDeliver,   // write `version`'s material to its destination (+ hook)
  kVerify,    // check what was delivered for `version`
  kActivate,  // make `version` the one consumers use (e.g. switch `current`)
  kDiscard,   // remove `version`, make `restore` (if any) current again
  kRetire,    // remove (and revoke where supported) `version`
};
const char* EffectTypeName(EffectType type);

struct Event {
  EventType type = EventType::kDue;
  // kGenerated
  Instant issued_at;
  std::string fingerprint;
  Instant not_after;  // zero: issued_at + the policy's lifetime; else > issued_at
  // Every effect result (kGenerated ... kVersionRetired): the generation of
  // the effect's version. A result for another generation than the one in
  // flight is rejected as stale.
  uint64_t generation = 0;
  // kStepFailed
  EffectType failed = EffectType::kGenerate;
  Status error;
  // kRegroup
  std::string group;
};

struct Effect {
  EffectType type = EffectType::kGenerate;
  CredentialVersion version;                 // generation always set
  std::optional<CredentialVersion> restore;  // kDiscard: the version to keep current
};

// One audit fact; engine/audit.h turns it into a chained CloudEvent.
struct AuditFact {
  std::string type;  // e.g. "rotation.committed"
  // Values are strings or integers, rendered as JSON in canonical order.
  std::map<std::string, std::variant<std::string, int64_t>> data;
};

struct StepResult {
  RotationRecord record;
  std::vector<Effect> effects;
  bool persist = false;  // record changed: write it with `audit` in one transaction
  AuditFact audit;       // meaningful only when persist
  Status rejected;       // an operator event that was refused (record unchanged)
};

// Step applies `event` to `record` at `now` under `policy`.
// Postcondition: CheckInvariants(result.record) is OK whenever it held before.
StepResult Step(const RotationRecord& record, const Event& event, Instant now, const RenewalPolicy& policy);

// kAlreadyRotating is in the message of the Unavailable refusal of an
// operator rotate while a rotation is in flight: callers that treat "a new
// credential is already on its way" as success match on it.
inline constexpr char kAlreadyRotating[] = "is already rotating";

// NewRecord declares an identity: phase kNew, due at `now`.
RotationRecord NewRecord(std::string id, std::string group, CredentialKind kind, Instant now);

}  // namespace rotor
