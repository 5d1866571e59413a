// Audit events: CloudEvents 1.0 JSON, hash-chained per identity
// (ARCHITECTURE §6, docs/audit-events.md).
//
// hash = lowercase hex SHA-256 of (prevhash as 64 ASCII hex characters)
// followed by the canonical JSON (engine/json.h) of the event without its
// "hash" member. The journal line is the canonical JSON of the whole event.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/json.h"
#include "engine/model.h"
#include "engine/ports/credentials.h"
#include "engine/rotation.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

inline constexpr char kGenesisHash[] = "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr char kEventTypePrefix[] = "dev.rotor.";

// FormatSequence renders a chain sequence as 20 zero-padded decimal digits so
// that it orders lexicographically (CloudEvents sequence extension).
std::string FormatSequence(uint64_t seq);

// ChainAuditEvent renders `fact` as the next event of `record`'s chain at
// `now`, advances record->chain_seq / chain_hash, and returns the line.
std::string ChainAuditEvent(const Hasher& hasher, const AuditFact& fact, Instant now, std::string_view source,
                            RotationRecord* record);

// EventHash computes the hash of a parsed event (its "hash" member ignored).
std::string EventHash(const Hasher& hasher, const JsonValue& event);

// ChainVerifier checks journal lines in order. Thread-compatible.
class ChainVerifier {
 public:
  struct Head {
    uint64_t seq = 0;
    std::string hash;
  };

  explicit ChainVerifier(const Hasher& hasher) : hasher_(hasher) {}

  // Feed checks one line: canonical form, required attributes, sequence
  // continuity, prevhash linkage and the hash itself. Duplicated event ids
  // are errors too. The error message says what is wrong; the caller adds
  // where (file and line).
  Status Feed(std::string_view line);

  // ResumeAt makes `subject`'s chain continue from (seq, hash), for readers
  // that report a gap or a break and check the rest of the chain on its own
  // (AuditStreamVerifier). The journal verifier never calls it.
  void ResumeAt(const std::string& subject, uint64_t seq, const std::string& hash) {
    heads_[subject] = Head{seq, hash};
  }

  const std::map<std::string, Head>& heads() const { return heads_; }
  uint64_t events() const { return events_; }

 private:
  const Hasher& hasher_;
  std::map<std::string, Head> heads_;
  uint64_t events_ = 0;
};

}  // namespace rotor
