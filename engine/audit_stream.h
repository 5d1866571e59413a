// AuditStreamVerifier: checks an audit stream read back from Kafka, where
// at-least-once delivery is expected, with ChainVerifier — the same check as
// the journal's — and counts what it finds instead of stopping at the first
// problem (ARCHITECTURE §6, docs/audit-events.md).
//
//   duplicates  an event id seen again with the same bytes (a resend after a
//               relay restart; harmless, consumers dedupe by id)
//   gaps        sequences missing below an identity's last event seen
//   breaks      everything else: a line that is not a canonical event, a hash
//               or prevhash that does not check out, an event id seen twice
//               with different content, or an event older than one already
//               seen for its identity (reordering)
//
// After a gap or a break the identity's chain is checked on from the event
// that follows, so one problem is counted once.
//
// Thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/audit.h"
#include "engine/ports/credentials.h"

namespace rotor {

struct StreamVerifyReport {
  uint64_t records = 0;     // lines fed
  uint64_t events = 0;      // distinct event ids
  uint64_t identities = 0;  // identities with at least one event
  uint64_t duplicates = 0;
  uint64_t gaps = 0;  // missing events
  uint64_t breaks = 0;
  std::vector<std::string> problems;  // the first kMaxProblems, each with where it was found

  bool ok() const { return gaps == 0 && breaks == 0; }
};

class AuditStreamVerifier {
 public:
  static constexpr size_t kMaxProblems = 20;

  explicit AuditStreamVerifier(const Hasher& hasher) : hasher_(hasher), chain_(hasher) {}

  // Feed checks one record; `where` locates it in messages ("partition 3 offset 17").
  void Feed(std::string_view line, std::string_view where);
  // Report counts the gaps left at this point and returns the totals.
  StreamVerifyReport Report() const;

 private:
  struct Identity {
    uint64_t last = 0;      // highest sequence seen
    uint64_t distinct = 0;  // distinct sequences seen
  };
  void Problem(std::string_view where, const std::string& what);

  const Hasher& hasher_;
  ChainVerifier chain_;
  std::unordered_map<std::string, std::array<uint8_t, 32>> seen_;  // event id -> SHA-256 of its line
  std::map<std::string, Identity> identities_;
  StreamVerifyReport report_;
};

}  // namespace rotor
