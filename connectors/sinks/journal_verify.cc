#include "connectors/sinks/journal_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "connectors/sinks/journal_sink.h"
#include "engine/audit.h"

namespace rotor {
namespace {

// A running daemon may change the store while we read; start over this often,
// pausing between passes so that a burst of rotations can pass (the daemon
// commits in batches, so quiet moments come between them).
constexpr int kMaxAttempts = 20;
constexpr auto kRetryPause = std::chrono::milliseconds(100);
constexpr size_t kOutboxPage = 1024;
constexpr size_t kReadChunk = size_t{1} << 20;

// What we learnt about the last segment read, for truncation messages.
struct SegmentSummary {
  std::string label;   // "audit/journal-000001.jsonl"
  uint64_t lines = 0;  // complete lines read
  uint64_t size = 0;   // file size
};

// FeedSegment feeds the lines within the first `limit` bytes of `path` to
// `verifier`. A chain problem goes to *problem with its file and line; a
// non-OK status means the file could not be read.
Status FeedSegment(const std::string& path, uint64_t limit, ChainVerifier* verifier, const AuditObserver& observer,
                   SegmentSummary* summary, std::optional<std::string>* problem) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Unavailable("cannot stat " + path + ": " + std::strerror(err));
  }
  summary->size = static_cast<uint64_t>(st.st_size);
  std::string pending;
  std::string chunk(kReadChunk, '\0');
  uint64_t consumed = 0;
  Status status;
  while (consumed < limit && !problem->has_value()) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, limit - consumed));
    ssize_t n = ::read(fd, chunk.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Unavailable("cannot read " + path + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    consumed += static_cast<uint64_t>(n);
    pending.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      ++summary->lines;
      const std::string_view line = std::string_view(pending).substr(start, nl - start);
      Status fed = verifier->Feed(line);
      if (!fed.ok()) {
        *problem = summary->label + " line " + std::to_string(summary->lines) + ": " + fed.message();
        break;
      }
      if (observer) observer(line);
    }
    pending.erase(0, start);
  }
  ::close(fd);
  if (status.ok() && !problem->has_value() && !pending.empty()) {
    *problem = summary->label + " line " + std::to_string(summary->lines + 1) +
               ": not newline-terminated: the journal was truncated";
  }
  return status;
}

class Verification {
 public:
  Verification(const std::string& data_dir, StateStore& store, const Hasher& hasher, const AuditObserver& observer)
      : data_dir_(data_dir), store_(store), verifier_(hasher), observer_(observer) {}

  // Run performs one pass. `journal_problem` tells a problem in the durable
  // journal (final whatever the store does) from one that may be a race.
  Status Run();

  bool stable() const { return stable_; }
  bool journal_problem() const { return journal_problem_; }
  VerifyReport Report() const {
    VerifyReport report;
    report.ok = !problem_.has_value();
    report.events = verifier_.events();
    report.identities = verifier_.heads().size();
    report.first_error = problem_.value_or("");
    return report;
  }

 private:
  Status FeedJournal();
  Status FeedOutbox();
  Status CompareHeads();
  Status CheckStable();
  std::string TruncationContext() const;

  const std::string& data_dir_;
  StateStore& store_;
  ChainVerifier verifier_;
  const AuditObserver& observer_;
  JournalPosition position_;
  uint64_t outbox_after_ = 0;
  std::optional<SegmentSummary> last_segment_;
  std::optional<std::string> problem_;
  bool journal_problem_ = false;
  bool stable_ = true;
};

Status Verification::Run() {
  ROTOR_ASSIGN_OR_RETURN(position_, ReadJournalPosition(store_));
  ROTOR_RETURN_IF_ERROR(FeedJournal());
  if (problem_) {
    journal_problem_ = true;
    return Status::Ok();
  }
  ROTOR_RETURN_IF_ERROR(FeedOutbox());
  if (!problem_) ROTOR_RETURN_IF_ERROR(CompareHeads());
  if (!problem_ && last_segment_ && last_segment_->size < position_.offset) {
    problem_ = last_segment_->label + " has " + std::to_string(last_segment_->size) + " bytes but the store recorded " +
               std::to_string(position_.offset) + " drained: journal truncated";
  }
  return CheckStable();
}

// FeedJournal reads segments 1..position.segment; bytes past the recorded
// offset, and later segments, belong to a drain that has not finished.
Status Verification::FeedJournal() {
  for (uint64_t segment = 1; segment <= position_.segment && !problem_; ++segment) {
    const std::string name = JournalSegmentName(segment);
    const std::string path = data_dir_ + "/" + kJournalDir + "/" + name;
    const bool last = segment == position_.segment;
    if (::access(path.c_str(), F_OK) != 0) {
      if (last && position_.offset == 0) break;  // recorded by a roll, not created yet
      problem_ = std::string(kJournalDir) + "/" + name + ": missing (the store recorded the journal up to " +
                 JournalSegmentName(position_.segment) + ")";
      break;
    }
    SegmentSummary summary;
    summary.label = std::string(kJournalDir) + "/" + name;
    ROTOR_RETURN_IF_ERROR(
        FeedSegment(path, last ? position_.offset : UINT64_MAX, &verifier_, observer_, &summary, &problem_));
    last_segment_ = std::move(summary);
  }
  return Status::Ok();
}

Status Verification::FeedOutbox() {
  outbox_after_ = position_.seq;
  for (;;) {
    ROTOR_ASSIGN_OR_RETURN(std::vector<OutboxEntry> page, store_.ReadOutbox(outbox_after_, kOutboxPage));
    if (page.empty()) return Status::Ok();
    for (const OutboxEntry& entry : page) {
      outbox_after_ = entry.seq;
      Status fed = verifier_.Feed(entry.line);
      if (!fed.ok()) {
        problem_ = "outbox entry " + std::to_string(entry.seq) + " (not journaled yet): " + fed.message();
        return Status::Ok();
      }
      if (observer_) observer_(entry.line);
    }
  }
}

std::string Verification::TruncationContext() const {
  if (!last_segment_) return "no journal segment written";
  return last_segment_->label + " has " + std::to_string(last_segment_->lines) + " lines";
}

Status Verification::CompareHeads() {
  const auto& heads = verifier_.heads();
  uint64_t matched = 0;
  ROTOR_RETURN_IF_ERROR(store_.ForEach([&](const RotationRecord& record) {
    auto it = heads.find(record.id);
    const uint64_t journal_seq = it == heads.end() ? 0 : it->second.seq;
    if (it != heads.end()) ++matched;
    if (record.chain_seq > journal_seq) {
      problem_ = "journal ends before identity " + record.id + "'s head: store has sequence " +
                 std::to_string(record.chain_seq) + ", journal stops at " + std::to_string(journal_seq) + " (" +
                 TruncationContext() + "): events missing or journal truncated";
    } else if (record.chain_seq < journal_seq) {
      problem_ = "journal goes beyond identity " + record.id + "'s head: journal has sequence " +
                 std::to_string(journal_seq) + ", store has " + std::to_string(record.chain_seq) +
                 ": the store was rolled back or the journal holds events it never committed";
    } else if (journal_seq > 0 && it->second.hash != record.chain_hash) {
      problem_ = "identity " + record.id + ": journal and store disagree on the hash of sequence " +
                 std::to_string(journal_seq) + ": the journal or the store was altered";
    }
    return !problem_.has_value();
  }));
  if (problem_ || matched == heads.size()) return Status::Ok();
  // Some identity has events but no record: find the first, in id order.
  for (const auto& [id, head] : heads) {
    auto record = store_.Get(id);
    if (record.ok()) continue;
    if (record.status().code() != StatusCode::kNotFound) return record.status();
    problem_ = "journal has events of identity " + id + " (up to sequence " + std::to_string(head.seq) +
               ") that the store does not know";
    break;
  }
  return Status::Ok();
}

// CheckStable: a commit after our reads shows as an outbox entry past those
// we read (it cannot be trimmed without the journal position moving).
Status Verification::CheckStable() {
  ROTOR_ASSIGN_OR_RETURN(JournalPosition now, ReadJournalPosition(store_));
  ROTOR_ASSIGN_OR_RETURN(std::vector<OutboxEntry> more, store_.ReadOutbox(outbox_after_, 1));
  stable_ = now == position_ && more.empty();
  return Status::Ok();
}

}  // namespace

StatusOr<VerifyReport> VerifyJournal(const std::string& data_dir, StateStore& store, const Hasher& hasher,
                                     const AuditObserver& observer) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Verification verification(data_dir, store, hasher, observer);
    ROTOR_RETURN_IF_ERROR(verification.Run());
    if (verification.journal_problem() || verification.stable()) return verification.Report();
    std::this_thread::sleep_for(kRetryPause);
  }
  return Unavailable("the store of " + data_dir + " kept changing during " + std::to_string(kMaxAttempts) +
                     " verification attempts (a daemon is busy); retry, or stop the daemon");
}

}  // namespace rotor
