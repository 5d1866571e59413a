// AuditJournal: the local audit sink (ARCHITECTURE §6). It drains a
// StateStore's outbox into JSON Lines segments under <data_dir>/audit/,
// named journal-000001.jsonl, journal-000002.jsonl, ...
//
// Durability and crash safety. The journal's position lives in the store,
// under the sink name "journal", as "<last seq> <segment> <byte offset>": the
// last outbox entry durably in the journal and where the journal ends. A drain
// appends, fsyncs the segment once, then records the position, then trims
// the outbox. Bytes past the recorded offset were written by a drain that did
// not finish; opening the journal truncates them, and the outbox still holds
// those entries, so nothing is lost or duplicated. A roll to a new segment
// records the position (naming the new, empty segment) before the segment is
// created, so a segment beyond the recorded one means the store and journal
// disagree (e.g. a store restored from a backup) and the journal refuses to
// run rather than destroy audit data.
//
// Trimming. Every sink's position string starts with the decimal seq of the
// last outbox entry it durably holds; the outbox is trimmed to the minimum
// over the configured sinks (a sink without a position holds nothing).
//
// Retention. Segments are never removed here. Removal, when a retention
// policy exists, happens only after every sink shipped a segment, and records
// the chain heads at the cut as a checkpoint for `audit verify`.
//
// Thread-safety: thread-compatible — one thread drains. The StateStore must
// outlive the journal.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ports/state_store.h"
#include "engine/status.h"

namespace rotor {

inline constexpr char kJournalSinkName[] = "journal";
inline constexpr char kJournalDir[] = "audit";

// Where the durable journal ends.
struct JournalPosition {
  uint64_t seq = 0;      // last outbox seq in the journal; 0: none yet
  uint64_t segment = 1;  // the segment being appended to
  uint64_t offset = 0;   // its durable length in bytes

  bool operator==(const JournalPosition&) const = default;
};

std::string FormatJournalPosition(const JournalPosition& position);
// ParseJournalPosition accepts exactly "<seq> <segment> <offset>" (segment ≥ 1).
StatusOr<JournalPosition> ParseJournalPosition(std::string_view text);
// ReadJournalPosition reads the position from `store`; the start when none is recorded.
StatusOr<JournalPosition> ReadJournalPosition(StateStore& store);
// SinkPositionSeq returns the leading seq of any sink's position string.
StatusOr<uint64_t> SinkPositionSeq(std::string_view position);

// JournalSegmentName returns "journal-000001.jsonl" for 1.
std::string JournalSegmentName(uint64_t segment);
// ParseJournalSegmentName returns the number of a segment file name, or 0.
uint64_t ParseJournalSegmentName(std::string_view name);
// ListJournalSegments returns the segment numbers present in `audit_dir`, ascending.
StatusOr<std::vector<uint64_t>> ListJournalSegments(const std::string& audit_dir);

struct AuditJournalOptions {
  uint64_t segment_bytes = uint64_t{64} << 20;  // roll past this size
  // Sinks whose positions gate trimming of the outbox (e.g. {"journal", "kafka"}).
  std::vector<std::string> trim_sinks = {kJournalSinkName};
};

class AuditJournal {
 public:
  // Open recovers the journal of `data_dir` to its recorded position (see
  // above), creating <data_dir>/audit with mode 0700 when missing.
  static StatusOr<std::unique_ptr<AuditJournal>> Open(const std::string& data_dir, StateStore& store,
                                                      AuditJournalOptions options = {});
  ~AuditJournal();
  AuditJournal(const AuditJournal&) = delete;
  AuditJournal& operator=(const AuditJournal&) = delete;

  // DrainOnce appends up to `max_events` outbox entries after the journal's
  // position, makes them durable with one fsync, records the new position and
  // trims the outbox. Returns how many entries were appended. After a failure
  // the next call first recovers to the recorded position.
  StatusOr<size_t> DrainOnce(size_t max_events);

  // position is the last durable, recorded position.
  const JournalPosition& position() const { return position_; }
  const std::string& audit_dir() const { return audit_dir_; }

 private:
  AuditJournal(std::string audit_dir, StateStore& store, AuditJournalOptions options);

  Status Recover();
  Status OpenSegment(uint64_t segment);
  Status AppendBuffered(std::string* buffer);
  Status Roll(uint64_t last_seq);
  Status RecordPosition(const JournalPosition& position);
  Status TrimGatedOutbox();
  void CloseSegment();
  std::string SegmentPath(uint64_t segment) const;
  StatusOr<size_t> Drain(size_t max_events);

  // Constant after construction.
  const std::string audit_dir_;
  StateStore& store_;
  const AuditJournalOptions options_;

  // Drain state (one thread).
  JournalPosition position_;  // durable and recorded in the store
  JournalPosition written_;   // how far this drain has written (≥ position_)
  int segment_fd_ = -1;
  bool needs_recovery_ = true;
  uint64_t trimmed_upto_ = 0;
};

}  // namespace rotor
