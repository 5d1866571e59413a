// AuditJournal and VerifyJournal over a real LMDB store and real segment
// files: draining, rolling, crash recovery, trimming gated by sinks, and
// verification that names where the journal went wrong.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/crypto/boring_hasher.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "connectors/sinks/journal_sink.h"
#include "connectors/sinks/journal_verify.h"
#include "engine/audit.h"
#include "engine/rotation.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace rotor {
namespace {

using testing::ReadFile;

// A fresh directory under /tmp, removed with its contents.
class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("rotor-journal-test") {}
};

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void AppendFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = LmdbStateStore::Open(dir_.path(), LmdbStateStore::OpenMode::kReadWrite);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  // Emit commits `n` events round-robin over three identities, two per batch.
  void Emit(int n) {
    std::vector<StoreWrite> batch;
    for (int i = 0; i < n; ++i) {
      RotationRecord& record = NextRecord();
      AuditFact fact{"rotation.committed", {{"generation", int64_t{++generation_}}, {"reason", "scheduled"}}};
      std::string line = ChainAuditEvent(hasher_, fact, now_, "rotor://test", &record);
      now_ = now_ + Duration::Seconds(1);
      batch.push_back({record, std::move(line)});
      if (batch.size() == 2) {
        ASSERT_TRUE(store_->Commit(batch).ok());
        batch.clear();
      }
    }
    if (!batch.empty()) {
      ASSERT_TRUE(store_->Commit(batch).ok());
    }
  }

  RotationRecord& NextRecord() {
    static const char* const kIds[] = {"svc-a", "svc-b", "svc-c"};
    const std::string id = kIds[emitted_++ % 3];
    auto [it, inserted] = records_.try_emplace(id);
    if (inserted) {
      it->second.id = id;
      it->second.group = "payments";
    }
    return it->second;
  }

  std::unique_ptr<AuditJournal> OpenJournal(AuditJournalOptions options = {}) {
    auto journal = AuditJournal::Open(dir_.path(), *store_, std::move(options));
    EXPECT_TRUE(journal.ok()) << journal.status().ToString();
    return journal.ok() ? std::move(journal).value() : nullptr;
  }

  VerifyReport Verify() {
    auto report = VerifyJournal(dir_.path(), *store_, hasher_);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{};
  }

  std::string Segment(uint64_t n) const { return dir_.path() + "/audit/" + JournalSegmentName(n); }
  size_t OutboxSize() { return store_->ReadOutbox(0, 100000)->size(); }

  TempDir dir_;
  BoringHasher hasher_;
  std::unique_ptr<LmdbStateStore> store_;
  std::map<std::string, RotationRecord> records_;
  Instant now_ = Instant::FromSeconds(1700000000);
  int emitted_ = 0;
  int64_t generation_ = 0;
};

TEST_F(JournalTest, DrainAppendsLinesDurablyAndTrimsTheOutbox) {
  Emit(30);
  auto journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  auto drained = journal->DrainOnce(1000);
  ASSERT_TRUE(drained.ok()) << drained.status().ToString();
  EXPECT_EQ(*drained, 30u);
  EXPECT_EQ(*journal->DrainOnce(1000), 0u);

  const std::string text = ReadFile(Segment(1));
  EXPECT_EQ(Lines(text).size(), 30u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(OutboxSize(), 0u);
  EXPECT_EQ(*store_->GetSinkPosition("journal"), "30 1 " + std::to_string(text.size()));

  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() + "/audit").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(Segment(1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.first_error;
  EXPECT_EQ(report.events, 30u);
  EXPECT_EQ(report.identities, 3u);
}

TEST_F(JournalTest, DrainTakesAtMostMaxEvents) {
  Emit(25);
  auto journal = OpenJournal();
  EXPECT_EQ(*journal->DrainOnce(10), 10u);
  EXPECT_EQ(OutboxSize(), 15u);
  EXPECT_EQ(journal->position().seq, 10u);
  EXPECT_EQ(*journal->DrainOnce(10), 10u);
  EXPECT_EQ(*journal->DrainOnce(10), 5u);
  EXPECT_EQ(Lines(ReadFile(Segment(1))).size(), 25u);
}

TEST_F(JournalTest, RollsToNewSegmentsPastTheSizeBound) {
  Emit(40);
  AuditJournalOptions options;
  options.segment_bytes = 2000;
  auto journal = OpenJournal(options);
  EXPECT_EQ(*journal->DrainOnce(1000), 40u);

  auto segments = ListJournalSegments(dir_.path() + "/audit");
  ASSERT_TRUE(segments.ok());
  ASSERT_GT(segments->size(), 2u);
  size_t lines = 0;
  for (uint64_t n : *segments) {
    const std::string text = ReadFile(Segment(n));
    EXPECT_LE(text.size(), 2000u) << JournalSegmentName(n);
    lines += Lines(text).size();
  }
  EXPECT_EQ(lines, 40u);
  EXPECT_EQ(journal->position().segment, segments->back());

  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.first_error;
  EXPECT_EQ(report.events, 40u);
}

// A crash after the append but before the position was recorded leaves
// bytes past the recorded offset; the outbox still has those entries.
TEST_F(JournalTest, ReopenTruncatesWhatACrashedDrainLeftBehind) {
  Emit(10);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 10u);
  const uint64_t recorded = journal->position().offset;
  journal.reset();

  Emit(5);
  std::string crashed_drain;
  auto pending = store_->ReadOutbox(10, 100);
  ASSERT_TRUE(pending.ok());
  for (const OutboxEntry& e : *pending) crashed_drain += e.line + "\n";
  AppendFile(Segment(1), crashed_drain + "{\"half a li");

  journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(std::filesystem::file_size(Segment(1)), recorded);
  EXPECT_EQ(*journal->DrainOnce(1000), 5u);
  EXPECT_EQ(Lines(ReadFile(Segment(1))).size(), 15u);

  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.first_error;
  EXPECT_EQ(report.events, 15u);
}

TEST_F(JournalTest, BytesPastTheRecordedPositionAreNotPartOfTheJournal) {
  Emit(6);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 6u);
  AppendFile(Segment(1), "garbage from an unfinished drain");
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.first_error;
  EXPECT_EQ(report.events, 6u);
}

TEST_F(JournalTest, OutboxIsTrimmedOnlyAsFarAsTheSlowestSink) {
  AuditJournalOptions options;
  options.trim_sinks = {"journal", "kafka"};
  Emit(10);
  auto journal = OpenJournal(options);
  ASSERT_EQ(*journal->DrainOnce(1000), 10u);
  EXPECT_EQ(OutboxSize(), 10u);  // kafka has shipped nothing

  ASSERT_TRUE(store_->SetSinkPosition("kafka", "4 partition-offsets").ok());
  ASSERT_EQ(*journal->DrainOnce(1000), 0u);
  auto rest = store_->ReadOutbox(0, 100);
  ASSERT_EQ(rest->size(), 6u);
  EXPECT_EQ(rest->front().seq, 5u);

  // Verification skips outbox entries the journal already holds.
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.first_error;
  EXPECT_EQ(report.events, 10u);

  ASSERT_TRUE(store_->SetSinkPosition("kafka", "10").ok());
  ASSERT_EQ(*journal->DrainOnce(1000), 0u);
  EXPECT_EQ(OutboxSize(), 0u);
}

TEST_F(JournalTest, TrimSinksMustIncludeTheJournal) {
  AuditJournalOptions options;
  options.trim_sinks = {"kafka"};
  auto journal = AuditJournal::Open(dir_.path(), *store_, options);
  EXPECT_EQ(journal.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(JournalTest, VerifyCoversEventsStillInTheOutbox) {
  Emit(20);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(12), 12u);
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.first_error;
  EXPECT_EQ(report.events, 20u);
  EXPECT_EQ(report.identities, 3u);
}

TEST_F(JournalTest, VerifyNamesTheFileAndLineOfAnEditedByte) {
  Emit(20);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 20u);

  std::string text = ReadFile(Segment(1));
  std::vector<std::string> lines = Lines(text);
  const size_t start = text.find(lines[6]);  // line 7
  const size_t at = text.find("rotor://test", start);
  ASSERT_NE(at, std::string::npos);
  text[at] = 'R';
  WriteFile(Segment(1), text);

  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_error.rfind("audit/journal-000001.jsonl line 7: ", 0), 0u) << report.first_error;
  EXPECT_NE(report.first_error.find("hash mismatch"), std::string::npos) << report.first_error;
}

TEST_F(JournalTest, VerifyReportsARemovedLastLineAsTruncation) {
  Emit(10);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 10u);
  journal.reset();

  std::string text = ReadFile(Segment(1));
  text.erase(text.rfind('\n', text.size() - 2) + 1);
  WriteFile(Segment(1), text);

  // The 10th event was the 4th of svc-a (round-robin a, b, c).
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_error,
            "journal ends before identity svc-a's head: store has sequence 4, journal stops at 3 "
            "(audit/journal-000001.jsonl has 9 lines): events missing or journal truncated");

  // The daemon refuses to append after a journal shorter than recorded.
  auto reopened = AuditJournal::Open(dir_.path(), *store_);
  EXPECT_EQ(reopened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(reopened.status().message().find(Segment(1)), std::string::npos);
}

TEST_F(JournalTest, VerifyReportsAnUnterminatedLastLine) {
  Emit(10);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 10u);
  std::string text = ReadFile(Segment(1));
  text.pop_back();
  WriteFile(Segment(1), text);

  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_error.rfind("audit/journal-000001.jsonl line 10: not newline-terminated", 0), 0u)
      << report.first_error;
}

TEST_F(JournalTest, VerifyReportsAStoreHeadAheadOfTheJournal) {
  Emit(9);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 9u);
  // An event whose line never reached the outbox: the store's head moves alone.
  RotationRecord& record = records_["svc-b"];
  ChainAuditEvent(hasher_, AuditFact{"rotation.committed", {}}, now_, "rotor://test", &record);
  ASSERT_TRUE(store_->Commit({{record, ""}}).ok());

  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_error,
            "journal ends before identity svc-b's head: store has sequence 4, journal stops at 3 "
            "(audit/journal-000001.jsonl has 9 lines): events missing or journal truncated");
}

TEST_F(JournalTest, VerifyReportsAJournalHeadBeyondTheStore) {
  Emit(6);
  RotationRecord rolled_back = records_["svc-c"];
  Emit(3);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 9u);
  ASSERT_TRUE(store_->Commit({{rolled_back, ""}}).ok());

  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(
      report.first_error.rfind("journal goes beyond identity svc-c's head: journal has sequence 3, store has 2", 0), 0u)
      << report.first_error;
}

TEST_F(JournalTest, VerifyReportsAMissingSegment) {
  Emit(40);
  AuditJournalOptions options;
  options.segment_bytes = 2000;
  auto journal = OpenJournal(options);
  ASSERT_EQ(*journal->DrainOnce(1000), 40u);
  ASSERT_TRUE(std::filesystem::remove(Segment(2)));

  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_error.rfind("audit/journal-000002.jsonl: missing", 0), 0u) << report.first_error;
}

TEST_F(JournalTest, OpenRefusesASegmentBeyondTheRecordedPosition) {
  Emit(3);
  auto journal = OpenJournal();
  ASSERT_EQ(*journal->DrainOnce(1000), 3u);
  journal.reset();
  WriteFile(Segment(2), "");
  auto reopened = AuditJournal::Open(dir_.path(), *store_);
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find(JournalSegmentName(2)), std::string::npos);
}

TEST(JournalPositionTest, RoundTripsAndRejectsMalformedText) {
  JournalPosition p{42, 3, 1234};
  EXPECT_EQ(FormatJournalPosition(p), "42 3 1234");
  auto parsed = ParseJournalPosition("42 3 1234");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, p);
  for (const char* bad : {"", "42", "42 3", "42 0 5", "a b c", "1 2 3 4", "1  2 3", "-1 2 3"}) {
    EXPECT_EQ(ParseJournalPosition(bad).status().code(), StatusCode::kDataLoss) << bad;
  }
  EXPECT_EQ(*SinkPositionSeq("17 anything"), 17u);
  EXPECT_EQ(*SinkPositionSeq("17"), 17u);
  EXPECT_FALSE(SinkPositionSeq("x").ok());
  EXPECT_EQ(ParseJournalSegmentName("journal-000012.jsonl"), 12u);
  EXPECT_EQ(ParseJournalSegmentName("journal-12.jsonl"), 0u);
  EXPECT_EQ(ParseJournalSegmentName("journal-000000.jsonl"), 0u);
  EXPECT_EQ(JournalSegmentName(1234567), "journal-1234567.jsonl");
}

}  // namespace
}  // namespace rotor
