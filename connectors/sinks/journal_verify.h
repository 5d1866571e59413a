// VerifyJournal: `rotor audit verify` — checks that the audit journal, the
// outbox and the store tell one unbroken story (ARCHITECTURE §6).
//
// It feeds every journal line up to the position recorded in the store (later
// bytes belong to an unfinished drain), then the outbox entries not drained
// yet, to a ChainVerifier, and compares each identity's chain head with the
// head kept in its record: a store head ahead of the journal means events are
// missing or the journal was truncated; a journal head ahead of the store
// means the store was rolled back or the journal holds events never committed.
//
// It reads through the StateStore port only, so it runs beside a daemon on a
// read-only store; when the store changes while it reads, it starts over a
// few times and then gives up with Unavailable.
//
// Thread-safety: a free function; `store` and `hasher` must be usable from
// the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/ports/credentials.h"
#include "engine/ports/state_store.h"
#include "engine/status.h"

namespace rotor {

struct VerifyReport {
  bool ok = false;
  uint64_t events = 0;      // events whose chain checked out, journal and outbox
  uint64_t identities = 0;  // identities with at least one event
  // The first problem, with its location, e.g.
  // "audit/journal-000001.jsonl line 1234: <reason>"; empty when ok.
  std::string first_error;
};

// AuditObserver sees every event that verified, in audit order (journal, then
// outbox). When the store changes during a pass, the events are seen again
// from the first one, so it must keep only what the latest event says.
using AuditObserver = std::function<void(std::string_view line)>;

// VerifyJournal verifies the journal of `data_dir` against `store`. A broken
// chain is reported in the VerifyReport; a non-OK status means the check
// itself could not run (unreadable file, store error, store kept changing).
StatusOr<VerifyReport> VerifyJournal(const std::string& data_dir, StateStore& store, const Hasher& hasher,
                                     const AuditObserver& observer = {});

}  // namespace rotor
