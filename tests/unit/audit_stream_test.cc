// engine/audit_stream: AuditStreamVerifier counts what an at-least-once
// stream (Kafka) may hold — resends as duplicates, missing events as gaps,
// anything altered, unlinked or reordered as breaks — and checks the rest of
// each chain after a problem, with the journal's ChainVerifier.
#include "engine/audit_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/audit.h"
#include "engine/rotation.h"
#include "tests/support/fake_hasher.h"

namespace rotor {
namespace {

using testing::FakeHasher;

// Chain returns `n` chained events of identity `id`.
std::vector<std::string> Chain(const Hasher& hasher, const std::string& id, int n) {
  RotationRecord record;
  record.id = id;
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    AuditFact fact;
    fact.type = "rotation.started";
    fact.data["phase"] = std::string("issuing");
    fact.data["attempt"] = int64_t{i + 1};
    lines.push_back(ChainAuditEvent(hasher, fact, Instant::FromMicros(1'000'000 * (i + 1)), "/rotor/test", &record));
  }
  return lines;
}

class AuditStreamTest : public ::testing::Test {
 protected:
  StreamVerifyReport Feed(const std::vector<std::string>& lines) {
    AuditStreamVerifier verifier(hasher_);
    for (size_t i = 0; i < lines.size(); ++i) verifier.Feed(lines[i], "offset " + std::to_string(i));
    return verifier.Report();
  }
  FakeHasher hasher_;
};

TEST_F(AuditStreamTest, InterleavedChainsVerify) {
  auto a = Chain(hasher_, "a", 5), b = Chain(hasher_, "b", 3);
  StreamVerifyReport r = Feed({a[0], b[0], a[1], a[2], b[1], a[3], b[2], a[4]});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.records, 8u);
  EXPECT_EQ(r.events, 8u);
  EXPECT_EQ(r.identities, 2u);
  EXPECT_EQ(r.duplicates + r.gaps + r.breaks, 0u);
  EXPECT_TRUE(r.problems.empty());
}

TEST_F(AuditStreamTest, ResentEventsAreDuplicatesNotErrors) {
  auto a = Chain(hasher_, "a", 4);
  // A relay restart resends what was delivered but not yet recorded.
  StreamVerifyReport r = Feed({a[0], a[1], a[2], a[1], a[2], a[3]});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.duplicates, 2u);
  EXPECT_EQ(r.events, 4u);
}

TEST_F(AuditStreamTest, MissingEventsAreGapsAndTheRestStillVerifies) {
  auto a = Chain(hasher_, "a", 6);
  StreamVerifyReport r = Feed({a[0], a[1], a[4], a[5]});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.gaps, 2u);
  EXPECT_EQ(r.breaks, 0u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("offset 2: identity a: sequence jumps from 2 to 5"), std::string::npos) << r.problems[0];
}

TEST_F(AuditStreamTest, AlteredEventIsOneBreak) {
  auto a = Chain(hasher_, "a", 4);
  std::string altered = a[1];
  altered.replace(altered.find("\"attempt\":2"), 11, "\"attempt\":9");
  StreamVerifyReport r = Feed({a[0], altered, a[2], a[3]});
  EXPECT_EQ(r.breaks, 1u);  // the events after it link to the original and still check out
  EXPECT_EQ(r.gaps, 0u);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].find("hash mismatch"), std::string::npos) << r.problems[0];
}

TEST_F(AuditStreamTest, SameIdWithOtherContentIsABreakNotADuplicate) {
  auto a = Chain(hasher_, "a", 2);
  std::string forged = a[1];
  forged.replace(forged.find("\"attempt\":2"), 11, "\"attempt\":7");
  StreamVerifyReport r = Feed({a[0], a[1], forged});
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(r.breaks, 1u);
}

TEST_F(AuditStreamTest, ReorderingIsABreak) {
  auto a = Chain(hasher_, "a", 3);
  StreamVerifyReport r = Feed({a[0], a[2], a[1]});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.breaks, 1u);
  EXPECT_EQ(r.gaps, 0u);  // every sequence arrived in the end
}

TEST_F(AuditStreamTest, NotAnEventIsABreakWithItsPlace) {
  auto a = Chain(hasher_, "a", 1);
  StreamVerifyReport r = Feed({a[0], "hello", "{\"id\":\"x\"}"});
  EXPECT_EQ(r.breaks, 2u);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0].rfind("offset 1: ", 0), 0u) << r.problems[0];
}

TEST_F(AuditStreamTest, ChainStartingLateCountsItsMissingStart) {
  auto a = Chain(hasher_, "a", 3);
  StreamVerifyReport r = Feed({a[1], a[2]});
  EXPECT_EQ(r.gaps, 1u);
  EXPECT_EQ(r.breaks, 0u);
}

}  // namespace
}  // namespace rotor
