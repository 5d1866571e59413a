#include "connectors/sinks/journal_sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "engine/decimal.h"

namespace rotor {
namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// MakeAuditDir creates <data_dir>/audit (0700); the data directory itself
// belongs to the store, which exists before any journal.
Status MakeAuditDir(const std::string& path) {
  if (::mkdir(path.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return Unavailable("cannot create directory " + path + ": " + ErrnoText(errno));
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FailedPrecondition(path + " is not a directory");
  }
  return Status::Ok();
}

// SyncDir makes a created or removed directory entry durable.
Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Unavailable("cannot open directory " + dir + ": " + ErrnoText(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Unavailable("cannot fsync directory " + dir + ": " + ErrnoText(err));
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable("cannot append to " + path + ": " + ErrnoText(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

std::string FormatJournalPosition(const JournalPosition& position) {
  return std::to_string(position.seq) + " " + std::to_string(position.segment) + " " + std::to_string(position.offset);
}

StatusOr<JournalPosition> ParseJournalPosition(std::string_view text) {
  auto bad = [&] { return DataLoss("journal position \"" + std::string(text) + "\" is malformed"); };
  size_t first = text.find(' ');
  size_t second = first == std::string_view::npos ? first : text.find(' ', first + 1);
  if (second == std::string_view::npos) return bad();
  auto seq = ParseDecimal(text.substr(0, first));
  auto segment = ParseDecimal(text.substr(first + 1, second - first - 1));
  auto offset = ParseDecimal(text.substr(second + 1));
  if (!seq || !segment || !offset || *segment == 0) return bad();
  return JournalPosition{*seq, *segment, *offset};
}

StatusOr<JournalPosition> ReadJournalPosition(StateStore& store) {
  auto text = store.GetSinkPosition(kJournalSinkName);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return JournalPosition{};
    return text.status();
  }
  return ParseJournalPosition(*text);
}

StatusOr<uint64_t> SinkPositionSeq(std::string_view position) {
  auto seq = ParseDecimal(position.substr(0, position.find(' ')));
  if (!seq) return DataLoss("sink position \"" + std::string(position) + "\" does not start with a sequence");
  return *seq;
}

std::string JournalSegmentName(uint64_t segment) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "journal-%06llu.jsonl", static_cast<unsigned long long>(segment));
  return buf;
}

uint64_t ParseJournalSegmentName(std::string_view name) {
  constexpr std::string_view kPrefix = "journal-", kSuffix = ".jsonl";
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) || !name.ends_with(kSuffix)) {
    return 0;
  }
  auto number = ParseDecimal(name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
  // Only the canonical spelling counts, so one segment has one name.
  if (!number || *number == 0 || JournalSegmentName(*number) != name) return 0;
  return *number;
}

StatusOr<std::vector<uint64_t>> ListJournalSegments(const std::string& audit_dir) {
  std::vector<uint64_t> segments;
  DIR* dir = ::opendir(audit_dir.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return segments;
    return Unavailable("cannot list " + audit_dir + ": " + ErrnoText(errno));
  }
  while (const dirent* entry = ::readdir(dir)) {
    if (uint64_t n = ParseJournalSegmentName(entry->d_name); n != 0) segments.push_back(n);
  }
  ::closedir(dir);
  std::sort(segments.begin(), segments.end());
  return segments;
}

AuditJournal::AuditJournal(std::string audit_dir, StateStore& store, AuditJournalOptions options)
    : audit_dir_(std::move(audit_dir)), store_(store), options_(std::move(options)) {}

AuditJournal::~AuditJournal() {
  CloseSegment();
}

StatusOr<std::unique_ptr<AuditJournal>> AuditJournal::Open(const std::string& data_dir, StateStore& store,
                                                           AuditJournalOptions options) {
  if (options.segment_bytes == 0) return InvalidArgument("journal segment size must be positive");
  if (std::find(options.trim_sinks.begin(), options.trim_sinks.end(), kJournalSinkName) == options.trim_sinks.end()) {
    // Otherwise the outbox could be trimmed before the journal has it.
    return InvalidArgument("the sinks gating outbox trimming must include \"journal\"");
  }
  std::string audit_dir = data_dir + "/" + kJournalDir;
  ROTOR_RETURN_IF_ERROR(MakeAuditDir(audit_dir));
  std::unique_ptr<AuditJournal> journal(new AuditJournal(std::move(audit_dir), store, std::move(options)));
  ROTOR_RETURN_IF_ERROR(journal->Recover());
  return journal;
}

std::string AuditJournal::SegmentPath(uint64_t segment) const {
  return audit_dir_ + "/" + JournalSegmentName(segment);
}

void AuditJournal::CloseSegment() {
  if (segment_fd_ >= 0) ::close(segment_fd_);
  segment_fd_ = -1;
}

Status AuditJournal::Recover() {
  CloseSegment();
  needs_recovery_ = true;
  ROTOR_ASSIGN_OR_RETURN(JournalPosition recorded, ReadJournalPosition(store_));
  ROTOR_ASSIGN_OR_RETURN(std::vector<uint64_t> segments, ListJournalSegments(audit_dir_));
  if (!segments.empty() && segments.back() > recorded.segment) {
    return FailedPrecondition(SegmentPath(segments.back()) +
                              " lies beyond the journal position recorded in the store (" +
                              FormatJournalPosition(recorded) +
                              "): the store and the journal disagree (was the store restored from a backup?)");
  }
  const std::string path = SegmentPath(recorded.segment);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < recorded.offset) {
      return DataLoss(path + " has " + std::to_string(size) + " bytes but the store recorded " +
                      std::to_string(recorded.offset) + " drained: journal truncated (run `rotor audit verify`)");
    }
    // Bytes past the recorded offset belong to a drain that never recorded
    // them; the outbox still holds those entries and will append them again.
    if (size > recorded.offset && ::truncate(path.c_str(), static_cast<off_t>(recorded.offset)) != 0) {
      return Unavailable("cannot truncate " + path + " to its recorded length: " + ErrnoText(errno));
    }
  } else if (errno != ENOENT) {
    return Unavailable("cannot stat " + path + ": " + ErrnoText(errno));
  } else if (recorded.offset > 0) {
    return DataLoss(path + " is missing but the store recorded " + std::to_string(recorded.offset) +
                    " bytes drained into it");
  }
  ROTOR_RETURN_IF_ERROR(OpenSegment(recorded.segment));
  if (::fsync(segment_fd_) != 0) return Unavailable("cannot fsync " + path + ": " + ErrnoText(errno));
  position_ = written_ = recorded;
  needs_recovery_ = false;
  return Status::Ok();
}

Status AuditJournal::OpenSegment(uint64_t segment) {
  const std::string path = SegmentPath(segment);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
    created = true;
  }
  if (fd < 0) return Unavailable("cannot open " + path + ": " + ErrnoText(errno));
  segment_fd_ = fd;
  if (created) ROTOR_RETURN_IF_ERROR(SyncDir(audit_dir_));
  return Status::Ok();
}

Status AuditJournal::AppendBuffered(std::string* buffer) {
  if (buffer->empty()) return Status::Ok();
  ROTOR_RETURN_IF_ERROR(WriteAll(segment_fd_, *buffer, SegmentPath(written_.segment)));
  buffer->clear();
  return Status::Ok();
}

Status AuditJournal::RecordPosition(const JournalPosition& position) {
  ROTOR_RETURN_IF_ERROR(store_.SetSinkPosition(kJournalSinkName, FormatJournalPosition(position)));
  position_ = position;
  return Status::Ok();
}

// Roll closes the full segment durably and records the next one before
// creating it, so a segment file never exists beyond the recorded position.
Status AuditJournal::Roll(uint64_t last_seq) {
  if (::fsync(segment_fd_) != 0) {
    return Unavailable("cannot fsync " + SegmentPath(written_.segment) + ": " + ErrnoText(errno));
  }
  JournalPosition next{last_seq, written_.segment + 1, 0};
  ROTOR_RETURN_IF_ERROR(RecordPosition(next));
  CloseSegment();
  written_ = next;
  return OpenSegment(next.segment);
}

StatusOr<size_t> AuditJournal::Drain(size_t max_events) {
  ROTOR_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries, store_.ReadOutbox(position_.seq, max_events));
  if (entries.empty()) return size_t{0};
  std::string buffer;
  for (const OutboxEntry& entry : entries) {
    if (entry.line.find('\n') != std::string::npos) {
      return DataLoss("outbox entry " + std::to_string(entry.seq) + " contains a newline; a journal line cannot");
    }
    const uint64_t size = entry.line.size() + 1;
    if (written_.offset > 0 && written_.offset + size > options_.segment_bytes) {
      ROTOR_RETURN_IF_ERROR(AppendBuffered(&buffer));
      ROTOR_RETURN_IF_ERROR(Roll(written_.seq));
    }
    buffer.append(entry.line).push_back('\n');
    written_.seq = entry.seq;
    written_.offset += size;
  }
  ROTOR_RETURN_IF_ERROR(AppendBuffered(&buffer));
  // One fsync per drain: the group of events becomes durable together.
  if (::fsync(segment_fd_) != 0) {
    return Unavailable("cannot fsync " + SegmentPath(written_.segment) + ": " + ErrnoText(errno));
  }
  ROTOR_RETURN_IF_ERROR(RecordPosition(written_));
  return entries.size();
}

Status AuditJournal::TrimGatedOutbox() {
  uint64_t upto = UINT64_MAX;
  for (const std::string& sink : options_.trim_sinks) {
    uint64_t seq = position_.seq;
    if (sink != kJournalSinkName) {
      auto position = store_.GetSinkPosition(sink);
      if (position.ok()) {
        ROTOR_ASSIGN_OR_RETURN(seq, SinkPositionSeq(*position));
      } else if (position.status().code() == StatusCode::kNotFound) {
        seq = 0;  // that sink holds nothing yet
      } else {
        return position.status();
      }
    }
    upto = std::min(upto, seq);
  }
  if (upto <= trimmed_upto_) return Status::Ok();
  ROTOR_RETURN_IF_ERROR(store_.TrimOutbox(upto));
  trimmed_upto_ = upto;
  return Status::Ok();
}

StatusOr<size_t> AuditJournal::DrainOnce(size_t max_events) {
  if (needs_recovery_) ROTOR_RETURN_IF_ERROR(Recover());
  auto drained = Drain(max_events);
  if (!drained.ok()) {
    // Whatever was written past the recorded position is truncated by Recover.
    needs_recovery_ = true;
    CloseSegment();
    return drained.status();
  }
  // A failed trim loses nothing: the entries are journaled and the next call retries it.
  ROTOR_RETURN_IF_ERROR(TrimGatedOutbox());
  return drained;
}

}  // namespace rotor
