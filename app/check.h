// `rotor check`: do the store, the delivered files and the audit journal
// agree on which version of every identity is current (ARCHITECTURE §3)?
//
// For every record: the `current` link on disk points at the record's current
// generation and nothing else (a record caught mid-commit may point at either
// its current or its pending version); the delivered material hashes to the
// recorded fingerprint and has the right modes; no generation on disk is
// unknown to the record; and the last commit or retirement in the audit trail
// (journal plus the outbox not drained yet) names the same generation.
//
// Reads only: safe beside a running daemon, though a busy one makes
// in-flight identities look inconsistent; run it against a stopped daemon
// for a verdict.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"

namespace rotor::app {

struct ConsistencyReport {
  uint64_t identities = 0;            // records checked
  uint64_t current = 0;               // identities with a current version
  uint64_t in_flight = 0;             // records caught mid-rotation (checked leniently)
  std::vector<std::string> problems;  // "<id>: <what>", at most kMaxProblems
  uint64_t problem_count = 0;
  bool ok() const { return problem_count == 0; }
};

inline constexpr size_t kMaxProblems = 100;

StatusOr<ConsistencyReport> CheckConsistency(const std::string& data_dir);

// RunCheck prints the report; exit code 0 when consistent, 1 otherwise.
int RunCheck(const std::string& data_dir, bool json);

}  // namespace rotor::app
