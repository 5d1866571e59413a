// engine/model: the persisted binary form of RotationRecord (format 1) —
// and engine/resting_record, the compact in-memory form shards keep —
// round trips, a pinned golden encoding, and malformed input rejected with
// InvalidArgument (never a crash or an over-read).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "engine/model.h"
#include "engine/resting_record.h"

namespace rotor {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

RotationRecord Sample() {
  RotationRecord r;
  r.id = "svc-a";
  r.group = "pay";
  r.phase = Phase::kVerifying;
  r.current = CredentialVersion{1, Instant{1}, Instant{2}, "sha256:c"};
  r.pending = CredentialVersion{2, Instant{3}, Instant{4}, "sha256:p"};
  r.retiring.push_back(RetiringVersion{CredentialVersion{0x10, Instant{5}, Instant{6}, "r"}, Instant{7}, true});
  r.next_generation = 3;
  r.next_due = Instant{-1};
  r.reason = RotationReason::kEmergency;
  r.emergency = true;
  r.stage_attempts = 4;
  r.consecutive_failures = 5;
  r.last_error = "e";
  r.window_start = Instant{8};
  r.issuances_in_window = 9;
  r.last_emergency_at = Instant{10};
  r.chain_seq = 11;
  r.chain_hash = "h";
  return r;
}

TEST(RecordCodecTest, GoldenEncodingOfFormat1) {
  // The on-disk format of every existing store. If this changes, the format
  // version must change with a migration — not this constant alone.
  const std::string expected =
      "01"  // format
      "05000000"
      "7376632d61"  // id "svc-a"
      "03000000"
      "706179"  // group "pay"
      "01"      // kind api_key
      "04"      // phase verifying
      "01"
      "0100000000000000"
      "0100000000000000"
      "0200000000000000"
      "08000000"
      "7368613235363a63"
      "01"
      "0200000000000000"
      "0300000000000000"
      "0400000000000000"
      "08000000"
      "7368613235363a70"
      "01000000"  // one retiring version
      "1000000000000000"
      "0500000000000000"
      "0600000000000000"
      "01000000"
      "72"
      "0700000000000000"
      "01"
      "0300000000000000"  // next_generation
      "ffffffffffffffff"  // next_due = -1
      "05"
      "01"  // reason emergency, emergency
      "04000000"
      "05000000"  // stage_attempts, consecutive_failures
      "01000000"
      "65"  // last_error
      "0800000000000000"
      "09000000"
      "0a00000000000000"
      "0b00000000000000"
      "01000000"
      "68";  // chain head
  EXPECT_EQ(Hex(EncodeRecord(Sample())), expected);
}

TEST(RecordCodecTest, RoundTripsSampleAndDefaults) {
  for (const RotationRecord& r : {Sample(), RotationRecord{}}) {
    auto back = DecodeRecord(EncodeRecord(r));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, r);
  }
}

RotationRecord RandomRecord(std::mt19937_64& rng) {
  auto u = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  auto str = [&](size_t max) {
    std::string s(u(max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  auto version = [&] {
    return CredentialVersion{rng(), Instant{static_cast<int64_t>(rng())}, Instant{static_cast<int64_t>(rng())},
                             str(80)};
  };
  RotationRecord r;
  r.id = str(200);
  r.group = str(20);
  r.phase = static_cast<Phase>(u(11));
  if (u(2)) r.current = version();
  if (u(2)) r.pending = version();
  for (uint64_t i = u(4); i > 0; --i)
    r.retiring.push_back({version(), Instant{static_cast<int64_t>(rng())}, u(2) == 1});
  r.next_generation = rng();
  r.next_due = Instant{static_cast<int64_t>(rng())};
  r.reason = static_cast<RotationReason>(u(6));
  r.emergency = u(2);
  r.stage_attempts = static_cast<uint32_t>(rng());
  r.consecutive_failures = static_cast<uint32_t>(rng());
  r.last_error = str(100);
  r.window_start = Instant{static_cast<int64_t>(rng())};
  r.issuances_in_window = static_cast<uint32_t>(rng());
  r.last_emergency_at = Instant{static_cast<int64_t>(rng())};
  r.chain_seq = rng();
  r.chain_hash = str(64);
  return r;
}

TEST(RecordCodecTest, RandomRoundTrips) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 5000; ++i) {
    const RotationRecord r = RandomRecord(rng);
    auto back = DecodeRecord(EncodeRecord(r));
    ASSERT_TRUE(back.ok()) << i << ": " << back.status().ToString();
    ASSERT_EQ(*back, r) << i;
  }
}

TEST(RecordCodecTest, EveryTruncationIsRejected) {
  const std::string bytes = EncodeRecord(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeRecord(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "accepted " << n << " of " << bytes.size() << " bytes";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(RecordCodecTest, TrailingBytesAreRejected) {
  auto r = DecodeRecord(EncodeRecord(Sample()) + "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trailing bytes"), std::string::npos);
}

TEST(RecordCodecTest, UnknownEnumsAndFormatsAreRejected) {
  const std::string good = EncodeRecord(Sample());
  const size_t kind_at = 1 + 4 + 5 + 4 + 3;
  const size_t phase_at = kind_at + 1;
  struct Row {
    const char* name;
    size_t offset;
    char value;
    const char* error;
  };
  const Row rows[] = {
      {"format 2", 0, 2, "record format 2 is not understood"},
      {"format 0", 0, 0, "record format 0"},
      {"kind 0", kind_at, 0, "unknown kind 0"},
      {"kind 4", kind_at, 4, "unknown kind 4"},
      {"phase 11", phase_at, 11, "unknown phase 11"},
      {"phase 255", phase_at, static_cast<char>(255), "unknown phase 255"},
  };
  for (const auto& row : rows) {
    std::string bytes = good;
    bytes[row.offset] = row.value;
    auto r = DecodeRecord(bytes);
    ASSERT_FALSE(r.ok()) << row.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << row.name;
    EXPECT_NE(r.status().message().find(row.error), std::string::npos) << row.name << ": " << r.status().message();
  }
  // The reason byte sits right after next_generation and next_due.
  std::string bytes = good;
  // After it: emergency, two u32, last_error "e", window_start, issuances,
  // last_emergency_at, chain_seq, chain_hash "h".
  const size_t reason_at = good.size() - (1 + 1 + 4 + 4 + (4 + 1) + 8 + 4 + 8 + 8 + (4 + 1));
  ASSERT_EQ(bytes[reason_at], static_cast<char>(RotationReason::kEmergency));
  bytes[reason_at] = 6;
  EXPECT_FALSE(DecodeRecord(bytes).ok());
}

TEST(RecordCodecTest, HugeLengthsAreRejectedWithoutAllocating) {
  std::string bytes = EncodeRecord(Sample());
  bytes[1] = bytes[2] = bytes[3] = bytes[4] = static_cast<char>(0xff);  // id length 4 GiB
  EXPECT_FALSE(DecodeRecord(bytes).ok());
  // A retiring count far beyond what the input could hold.
  RotationRecord r;
  std::string none = EncodeRecord(r);
  const size_t count_at = 1 + 4 + 4 + 1 + 1 + 1 + 1;
  none[count_at] = none[count_at + 1] = none[count_at + 2] = none[count_at + 3] = static_cast<char>(0xff);
  auto bad = DecodeRecord(none);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("retiring count"), std::string::npos) << bad.status().message();
}

TEST(RecordCodecTest, RandomMutationsNeverCrash) {
  std::mt19937_64 rng(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = EncodeRecord(RandomRecord(rng));
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    auto r = DecodeRecord(bytes);
    if (r.ok()) {
      ++accepted;
      // Whatever decodes re-encodes to something that decodes to the same record.
      auto again = DecodeRecord(EncodeRecord(*r));
      ASSERT_TRUE(again.ok());
      ASSERT_EQ(*again, *r);
    } else {
      ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(accepted, 0);
}

// The resting form (engine/resting_record.h): shards keep it in memory only.

std::string RandomDigest(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (auto& c : s) c = kHex[rng() % 16];
  return s;
}

RotationRecord RandomRestingRecord(std::mt19937_64& rng) {
  RotationRecord r = RandomRecord(rng);
  r.kind = static_cast<CredentialKind>(1 + rng() % 3);
  // Half of them with the digests real records carry, packed as raw bytes.
  if (rng() % 2) {
    r.chain_hash = RandomDigest(rng);
    if (r.current) r.current->fingerprint = "sha256:" + RandomDigest(rng);
    if (r.pending) r.pending->fingerprint = "sha256:" + RandomDigest(rng);
    for (auto& rv : r.retiring) rv.version.fingerprint = "sha256:" + RandomDigest(rng);
  }
  return r;
}

TEST(RestingRecordTest, RandomRoundTrips) {
  std::mt19937_64 rng(43);
  for (int i = 0; i < 5000; ++i) {
    const RotationRecord r = RandomRestingRecord(rng);
    auto back = UnpackResting(r.id, PackResting(r));
    ASSERT_TRUE(back.ok()) << i << ": " << back.status().ToString();
    ASSERT_EQ(*back, r) << i;
  }
  for (const RotationRecord& r : {Sample(), RotationRecord{}}) {
    auto back = UnpackResting(r.id, PackResting(r));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, r);
  }
}

TEST(RestingRecordTest, NearDigestsStayText) {
  // Uppercase, one character short, a bad character: kept verbatim.
  const std::string digest(64, 'a');
  for (const std::string& text : {std::string(64, 'A'), digest.substr(1), "sha256:" + digest.substr(1),
                                  "sha256:" + digest.substr(1) + "g", "sha512:" + digest, digest + "0"}) {
    RotationRecord r = Sample();
    r.chain_hash = text;
    r.current->fingerprint = text;
    auto back = UnpackResting(r.id, PackResting(r));
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, r) << text;
  }
}

TEST(RestingRecordTest, ATypicalIdleApiKeyPacksSmall) {
  std::mt19937_64 rng(1);
  RotationRecord r;
  r.id = "payments-api-000123";
  r.group = "payments";
  r.phase = Phase::kActive;
  const Instant issued{1'780'000'000'000'000};
  r.current = CredentialVersion{7, issued, issued + Duration::Hours(24 * 30), "sha256:" + RandomDigest(rng)};
  r.next_generation = 8;
  r.next_due = issued + Duration::Hours(24 * 20);
  r.reason = RotationReason::kScheduled;
  r.window_start = issued;
  r.issuances_in_window = 1;
  r.chain_seq = 42;
  r.chain_hash = RandomDigest(rng);
  const std::string packed = PackResting(r);
  // group 9, header 4, next_due 8, version 1+7+7+33, small varints 5, empty
  // error 2, window start 7, last emergency (never) 9, chain 1+33: about 125
  // bytes; the store form is about 280.
  EXPECT_LE(packed.size(), 130u);
  EXPECT_GT(EncodeRecord(r).size(), 2 * packed.size());
  auto back = UnpackResting(r.id, packed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
}

TEST(RestingRecordTest, TruncationsAndMutationsAreRejectedNeverOverread) {
  const std::string bytes = PackResting(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = UnpackResting("x", std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "accepted " << n << " of " << bytes.size() << " bytes";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(UnpackResting("x", bytes + "x").ok());
  std::mt19937_64 rng(8);
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = PackResting(RandomRestingRecord(rng));
    for (int f = 1 + static_cast<int>(rng() % 4); f > 0; --f)
      mutated[rng() % mutated.size()] = static_cast<char>(rng());
    auto r = UnpackResting("x", mutated);
    if (r.ok()) {
      auto again = UnpackResting("x", PackResting(*r));
      ASSERT_TRUE(again.ok());
      ASSERT_EQ(*again, *r);
    } else {
      ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace rotor
