// engine/time: RFC 3339 formatting and parsing, the civil calendar, duration
// parsing — all UTC maths that must not depend on the process time zone.
#include "engine/time.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace rotor {
namespace {

// ScopedTimeZone sets TZ for the test's duration and restores it.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (old_)
      ::setenv("TZ", old_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

Instant Parse(const std::string& s) {
  auto t = ParseRfc3339(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.status().ToString();
  return t.ok() ? *t : Instant{};
}

TEST(CivilTest, KnownDays) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 2, 29), 19782);
  EXPECT_EQ(DaysFromCivil(9999, 12, 31), 2932896);
  EXPECT_EQ(DaysFromCivil(0, 3, 1), -719468);
}

TEST(CivilTest, RoundTripsEveryDayFromYear0To10000) {
  int64_t y;
  unsigned m, d;
  int64_t prev_y = -1;
  unsigned prev_m = 12, prev_d = 31;
  for (int64_t days = DaysFromCivil(0, 1, 1); days <= DaysFromCivil(10000, 1, 1); ++days) {
    CivilFromDays(days, &y, &m, &d);
    ASSERT_EQ(DaysFromCivil(y, m, d), days) << y << "-" << m << "-" << d;
    // Consecutive days: the next calendar date.
    const bool next_day = (y == prev_y && m == prev_m && d == prev_d + 1);
    const bool next_month = (y == prev_y && m == prev_m + 1 && d == 1);
    const bool next_year = (y == prev_y + 1 && m == 1 && d == 1 && prev_m == 12 && prev_d == 31);
    ASSERT_TRUE(next_day || next_month || next_year) << y << "-" << m << "-" << d;
    prev_y = y;
    prev_m = m;
    prev_d = d;
  }
}

TEST(Rfc3339Test, FormatsKnownInstants) {
  EXPECT_EQ(FormatRfc3339(Instant{0}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Seconds(Instant{0}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Instant::FromSeconds(1735689600)), "2025-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(Instant{1735689600123456}), "2025-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatRfc3339Seconds(Instant{1735689600999999}), "2025-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Instant{-1}), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(kMaxInstant), "9999-12-31T23:59:59.999Z");
}

TEST(Rfc3339Test, RoundTripsTable) {
  struct Row {
    const char* text;
    int64_t micros;
  };
  const Row rows[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00.000001Z", 1},
      {"2025-01-01T00:00:00Z", 1735689600000000},
      {"2024-02-29T12:34:56.789012Z", 1709210096789012},
      {"2000-02-29T00:00:00Z", 951782400000000},
      {"1999-12-31T23:59:59.999999Z", 946684799999999},
      {"9999-12-31T23:59:59Z", 253402300799000000},
      {"9999-12-31T23:59:59.999999Z", 253402300799999999},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.text);
    EXPECT_EQ(Parse(row.text).micros, row.micros);
    // Formatting (milliseconds) and parsing again returns the instant
    // truncated to the millisecond.
    const Instant t{row.micros};
    EXPECT_EQ(Parse(FormatRfc3339(t)).micros, row.micros - row.micros % 1000);
    EXPECT_EQ(Parse(FormatRfc3339Seconds(t)).micros, row.micros - row.micros % 1000000);
  }
}

TEST(Rfc3339Test, RandomRoundTripsAtMillisecondPrecision) {
  std::mt19937_64 rng(20250101);
  std::uniform_int_distribution<int64_t> dist(0, kMaxInstant.micros);
  for (int i = 0; i < 100000; ++i) {
    const Instant t{dist(rng) / 1000 * 1000};
    auto back = ParseRfc3339(FormatRfc3339(t));
    ASSERT_TRUE(back.ok()) << FormatRfc3339(t);
    ASSERT_EQ(back->micros, t.micros) << FormatRfc3339(t);
  }
}

TEST(Rfc3339Test, MaxInstantIsTheLastSecondOfYear9999) {
  EXPECT_EQ(Parse("9999-12-31T23:59:59Z").micros, kMaxInstant.micros / 1000000 * 1000000);
  EXPECT_EQ(Parse("9999-12-31T23:59:59.999999Z"), kMaxInstant);
  // One past it needs a fifth year digit, which RFC 3339 cannot write.
  EXPECT_FALSE(ParseRfc3339("10000-01-01T00:00:00Z").ok());
}

TEST(Rfc3339Test, LeapDays) {
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("1600-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("1900-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2024-02-30T00:00:00Z").ok());
  // The day after a leap day is March 1st.
  EXPECT_EQ(Parse("2024-02-29T00:00:00Z") + Duration::Days(1), Parse("2024-03-01T00:00:00Z"));
  EXPECT_EQ(Parse("2023-02-28T00:00:00Z") + Duration::Days(1), Parse("2023-03-01T00:00:00Z"));
  EXPECT_EQ(FormatRfc3339Seconds(Parse("2024-02-28T23:59:59Z") + Duration::Seconds(1)), "2024-02-29T00:00:00Z");
}

TEST(Rfc3339Test, Offsets) {
  const Instant utc = Parse("2025-03-30T12:00:00Z");
  EXPECT_EQ(Parse("2025-03-30T12:00:00z"), utc);
  EXPECT_EQ(Parse("2025-03-30t12:00:00Z"), utc);
  EXPECT_EQ(Parse("2025-03-30T13:00:00+01:00"), utc);
  EXPECT_EQ(Parse("2025-03-30T08:30:00-03:30"), utc);  // Newfoundland
  EXPECT_EQ(Parse("2025-03-31T01:45:00+13:45"), utc);  // Chatham, daylight time
  EXPECT_EQ(Parse("2025-03-30T12:00:00+00:00"), utc);
  EXPECT_EQ(Parse("2025-03-30T12:00:00-00:00"), utc);
  EXPECT_EQ(Parse("2025-03-30T00:00:00-12:00"), utc);
  // An offset that moves the instant across a date and a leap day.
  EXPECT_EQ(Parse("2024-02-29T23:30:00-01:00"), Parse("2024-03-01T00:30:00Z"));
  EXPECT_EQ(Parse("2024-03-01T00:30:00+01:00"), Parse("2024-02-29T23:30:00Z"));
  EXPECT_EQ(Parse("2025-03-30T13:00:00.250+01:00").micros, utc.micros + 250000);
}

TEST(Rfc3339Test, RejectsMalformed) {
  const char* bad[] = {
      "",
      "2025-01-01",
      "2025-01-01T00:00:00",   // no zone
      "2025-01-01 00:00:00Z",  // space separator
      "2025-1-01T00:00:00Z",
      "2025-01-01T00:00Z",
      "2025-13-01T00:00:00Z",
      "2025-00-01T00:00:00Z",
      "2025-01-00T00:00:00Z",
      "2025-01-32T00:00:00Z",
      "2025-04-31T00:00:00Z",
      "2025-01-01T24:00:00Z",
      "2025-01-01T23:60:00Z",
      "2025-01-01T23:59:60Z",   // leap seconds are not instants rotor uses
      "2025-01-01T00:00:00.Z",  // empty fraction
      "2025-01-01T00:00:00+1:00",
      "2025-01-01T00:00:00+01:0",
      "2025-01-01T00:00:00+0100",
      "2025-01-01T00:00:00+24:00",
      "2025-01-01T00:00:00+01:60",
      "2025-01-01T00:00:00ZZ",
      "2025-01-01T00:00:00Z ",
      " 2025-01-01T00:00:00Z",
      "2025-01-01T00:00:00+01:00x",
      "２０２５-01-01T00:00:00Z",
      "+2025-01-01T00:00:00Z",
  };
  for (const char* s : bad) {
    auto t = ParseRfc3339(s);
    EXPECT_FALSE(t.ok()) << "accepted \"" << s << "\" as " << FormatRfc3339(*t);
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(t.status().message().find(s), std::string::npos) << "message does not quote the input";
    }
  }
}

TEST(Rfc3339Test, FractionDigitsBeyondMicrosecondsAreTruncated) {
  EXPECT_EQ(Parse("2025-01-01T00:00:00.1Z").micros % 1000000, 100000);
  EXPECT_EQ(Parse("2025-01-01T00:00:00.123456789Z").micros % 1000000, 123456);
  EXPECT_EQ(Parse("2025-01-01T00:00:00.999999999Z").micros % 1000000, 999999);
}

struct DurationRow {
  const char* text;
  std::optional<int64_t> micros;  // nullopt: rejected
};

TEST(DurationTest, ParseTable) {
  const int64_t s = 1000000;
  const DurationRow rows[] = {
      {"90s", 90 * s},
      {"1h30m", 5400 * s},
      {"10y", 10 * 365 * 86400 * s},
      {"500ms", 500000},
      {"3us", 3},
      {"1w", 7 * 86400 * s},
      {"30d", 30 * 86400 * s},
      {"0s", 0},
      {"1d2h3m4s5ms6us", ((86400 + 7200 + 180 + 4) * s) + 5006},
      {"-2s", -2 * s},
      {"1h1h", 7200 * s},
      {"9223372036854775807us", std::numeric_limits<int64_t>::max()},
      // Rejected: bad units, missing numbers or units, overflow.
      {"", std::nullopt},
      {"-", std::nullopt},
      {"s", std::nullopt},
      {"90", std::nullopt},
      {"90 s", std::nullopt},
      {" 90s", std::nullopt},
      {"90S", std::nullopt},
      {"5M", std::nullopt},
      {"1.5h", std::nullopt},
      {"10x", std::nullopt},
      {"10sec", std::nullopt},
      {"10mo", std::nullopt},
      {"1ns", std::nullopt},
      {"1h-30m", std::nullopt},
      {"+5s", std::nullopt},
      {"9223372036854775808us", std::nullopt},
      {"9223372036854775807s", std::nullopt},
      {"300000y", std::nullopt},
      {"292472y", std::nullopt},  // one year past INT64_MAX µs
      {"292471y", int64_t{292471} * 365 * 86400 * s},
      {"292000y292000y", std::nullopt},
      {"99999999999999999999999s", std::nullopt},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.text);
    auto d = ParseDuration(row.text);
    if (row.micros) {
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      EXPECT_EQ(d->micros, *row.micros);
    } else {
      EXPECT_FALSE(d.ok()) << "accepted as " << d->micros << "us";
      if (!d.ok()) {
        EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(DurationTest, ErrorMessagesSayWhatIsWrong) {
  auto unit = ParseDuration("10x");
  ASSERT_FALSE(unit.ok());
  EXPECT_NE(unit.status().message().find("unknown unit \"x\""), std::string::npos) << unit.status().message();
  auto big = ParseDuration("300000y");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("too large"), std::string::npos) << big.status().message();
}

TEST(DurationTest, FormatTable) {
  EXPECT_EQ(FormatDuration(Duration::Zero()), "0s");
  EXPECT_EQ(FormatDuration(Duration::Seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(Duration::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(Duration::Millis(500)), "500ms");
  EXPECT_EQ(FormatDuration(Duration::Micros(3)), "3us");
  EXPECT_EQ(FormatDuration(Duration::Seconds(-2)), "-2s");
  EXPECT_EQ(FormatDuration(Duration::Days(3650)), "3650d");
  EXPECT_EQ(FormatDuration(Duration::Days(1) + Duration::Seconds(1)), "1d1s");
}

TEST(DurationTest, FormatParsesBack) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> dist(-Duration::Days(36500).micros, Duration::Days(36500).micros);
  for (int i = 0; i < 20000; ++i) {
    Duration d{dist(rng)};
    if (i % 3 == 0) d.micros -= d.micros % 1000000;
    auto back = ParseDuration(FormatDuration(d));
    ASSERT_TRUE(back.ok()) << FormatDuration(d) << ": " << back.status().ToString();
    ASSERT_EQ(back->micros, d.micros) << FormatDuration(d);
  }
}

// Everything above must come out the same in any process time zone: rotor
// never reads local time.
std::string TimeFingerprint() {
  std::string out;
  const char* inputs[] = {"2024-02-29T23:30:00-01:00", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
                          "2025-03-30T01:30:00Z",      "2025-10-26T01:30:00Z", "2025-04-06T02:45:00+13:45"};
  for (const char* in : inputs) {
    auto t = ParseRfc3339(in);
    out += std::to_string(t.ok() ? t->micros : -1) + "|" + (t.ok() ? FormatRfc3339(*t) : "") + "\n";
  }
  for (int64_t days = -1000; days < 1000; days += 7) {
    out += FormatRfc3339(Instant::FromSeconds(1711846800 + days * 86400 + 1800)) + "\n";
  }
  for (const char* d : {"90s", "1h30m", "10y", "500ms"}) out += std::to_string(ParseDuration(d)->micros) + "\n";
  return out;
}

TEST(TimeZoneTest, ResultsAreIdenticalInEveryProcessTimeZone) {
  std::string reference;
  {
    ScopedTimeZone tz("UTC");
    reference = TimeFingerprint();
  }
  for (const char* zone : {"Pacific/Chatham", "America/St_Johns", "UTC", "Asia/Kathmandu", "Australia/Lord_Howe",
                           "Europe/London", "Pacific/Kiritimati", "America/Adak", "EST5EDT", "<-0330>3:30"}) {
    ScopedTimeZone tz(zone);
    EXPECT_EQ(TimeFingerprint(), reference) << "TZ=" << zone;
  }
}

}  // namespace
}  // namespace rotor
