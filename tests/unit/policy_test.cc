// engine/policy: validation, renewal point, jitter and back-off, by table.
#include "engine/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rotor {
namespace {

Instant At(const char* rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  if (!t.ok()) std::abort();
  return *t;
}

const Instant kT0 = At("2025-01-01T00:00:00Z");

RenewalPolicy NoJitter() {
  RenewalPolicy p;
  p.jitter = 0;
  return p;
}

// ---- Validation -----------------------------------------------------------

TEST(ValidatePolicyTest, DefaultIsValid) {
  EXPECT_TRUE(ValidatePolicy(RenewalPolicy{}, kT0).ok());
}

TEST(ValidatePolicyTest, Table) {
  struct Row {
    const char* name;
    void (*edit)(RenewalPolicy&);
    const char* error;  // nullptr: valid; else a substring of the message
  };
  const Row rows[] = {
      {"zero lifetime", [](RenewalPolicy& p) { p.lifetime = Duration::Zero(); }, "lifetime must be positive"},
      {"negative lifetime", [](RenewalPolicy& p) { p.lifetime = Duration::Seconds(-1); }, "lifetime must be positive"},
      {"1us lifetime", [](RenewalPolicy& p) { p.lifetime = Duration::Micros(1); }, nullptr},
      {"3us lifetime", [](RenewalPolicy& p) { p.lifetime = Duration::Micros(3); }, nullptr},
      {"500ms lifetime", [](RenewalPolicy& p) { p.lifetime = Duration::Millis(500); }, nullptr},
      {"10y lifetime", [](RenewalPolicy& p) { p.lifetime = Duration::Days(3650); }, nullptr},
      {"renew_before equal to lifetime",
       [](RenewalPolicy& p) {
         p.lifetime = Duration::Hours(24);
         p.renew_before = Duration::Hours(24);
       },
       "renew_before 1d is not shorter than the lifetime 1d"},
      {"renew_before 1us above lifetime",
       [](RenewalPolicy& p) {
         p.lifetime = Duration::Hours(24);
         p.renew_before = Duration::Hours(24) + Duration::Micros(1);
       },
       "is not shorter than the lifetime"},
      {"renew_before 1us below lifetime",
       [](RenewalPolicy& p) {
         p.lifetime = Duration::Hours(24);
         p.renew_before = Duration::Hours(24) - Duration::Micros(1);
       },
       nullptr},
      {"renew_before zero", [](RenewalPolicy& p) { p.renew_before = Duration::Zero(); },
       "renew_before must be positive"},
      {"renew_before negative", [](RenewalPolicy& p) { p.renew_before = Duration::Seconds(-5); },
       "renew_before must be positive"},
      {"fraction 0", [](RenewalPolicy& p) { p.renew_fraction = 0; }, "strictly between 0 and 1"},
      {"fraction 1", [](RenewalPolicy& p) { p.renew_fraction = 1; }, "strictly between 0 and 1"},
      {"fraction NaN", [](RenewalPolicy& p) { p.renew_fraction = std::numeric_limits<double>::quiet_NaN(); },
       "strictly between 0 and 1"},
      {"fraction 0.999", [](RenewalPolicy& p) { p.renew_fraction = 0.999; }, nullptr},
      {"jitter negative", [](RenewalPolicy& p) { p.jitter = -0.1; }, "jitter"},
      {"jitter 0.6", [](RenewalPolicy& p) { p.jitter = 0.6; }, "jitter"},
      {"jitter 0.5", [](RenewalPolicy& p) { p.jitter = 0.5; }, nullptr},
      {"negative grace", [](RenewalPolicy& p) { p.grace = Duration::Seconds(-1); }, "grace"},
      {"zero grace", [](RenewalPolicy& p) { p.grace = Duration::Zero(); }, nullptr},
      {"zero backoff", [](RenewalPolicy& p) { p.backoff_base = Duration::Zero(); }, "backoff base"},
      {"backoff max below base", [](RenewalPolicy& p) { p.backoff_max = Duration::Millis(10); }, "backoff max"},
      {"no issuances", [](RenewalPolicy& p) { p.max_issuances_per_window = 0; }, "max_issuances"},
      {"zero window", [](RenewalPolicy& p) { p.issuance_window = Duration::Zero(); }, "window"},
      {"no failures", [](RenewalPolicy& p) { p.max_consecutive_failures = 0; }, "max_failures"},
      {"negative emergency interval", [](RenewalPolicy& p) { p.emergency_min_interval = Duration::Seconds(-1); },
       "emergency_min_interval"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    RenewalPolicy p;
    p.name = "payments";
    row.edit(p);
    Status s = ValidatePolicy(p, kT0);
    if (row.error == nullptr) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
      EXPECT_NE(s.message().find(row.error), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("policy \"payments\""), std::string::npos) << s.message();
    }
  }
}

TEST(ValidatePolicyTest, LifetimeEndingExactlyAtMaxInstantIsAccepted) {
  RenewalPolicy p = NoJitter();
  const Instant now = At("9999-01-01T00:00:00Z");
  p.lifetime = kMaxInstant - now;
  EXPECT_EQ(FormatRfc3339(now + p.lifetime), "9999-12-31T23:59:59.999Z");
  EXPECT_TRUE(ValidatePolicy(p, now).ok());
  p.lifetime = p.lifetime + Duration::Micros(1);
  Status s = ValidatePolicy(p, now);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("would expire after 9999-12-31T23:59:59Z"), std::string::npos) << s.message();
}

TEST(ValidatePolicyTest, HugeLifetimeDoesNotOverflow) {
  RenewalPolicy p;
  p.lifetime = Duration{std::numeric_limits<int64_t>::max()};
  EXPECT_FALSE(ValidatePolicy(p, kT0).ok());
  EXPECT_FALSE(ValidatePolicy(p, Instant{0}).ok());
}

// ---- Renewal point ----------------------------------------------------------

struct RenewalRow {
  const char* name;
  Duration lifetime;
  std::optional<Duration> renew_before;
  double fraction;
  Instant issued_at;
  Duration expected_offset;  // from issued_at, without jitter
};

TEST(RenewalPointTest, ExactMicrosecondsWithoutJitter) {
  const RenewalRow rows[] = {
      {"2/3 of 24h", Duration::Hours(24), std::nullopt, 2.0 / 3.0, kT0, Duration::Hours(16)},
      {"2/3 of 90d", Duration::Days(90), std::nullopt, 2.0 / 3.0, kT0, Duration::Days(60)},
      {"2/3 of 10y", Duration::Days(3650), std::nullopt, 2.0 / 3.0, kT0, Duration::Days(2433) + Duration::Hours(8)},
      {"2/3 of 3us", Duration::Micros(3), std::nullopt, 2.0 / 3.0, kT0, Duration::Micros(2)},
      {"2/3 of 500ms", Duration::Millis(500), std::nullopt, 2.0 / 3.0, kT0, Duration::Micros(333333)},
      {"2/3 of 1s", Duration::Seconds(1), std::nullopt, 2.0 / 3.0, kT0, Duration::Micros(666667)},
      {"1/2 of 1h", Duration::Hours(1), std::nullopt, 0.5, kT0, Duration::Minutes(30)},
      {"0.9 of 24h", Duration::Hours(24), std::nullopt, 0.9, kT0, Duration::Micros(77760000000)},
      {"renew_before 8h of 24h", Duration::Hours(24), Duration::Hours(8), 0, kT0, Duration::Hours(16)},
      {"renew_before 1s of 1h", Duration::Hours(1), Duration::Seconds(1), 0, kT0, Duration::Seconds(3599)},
      {"renew_before lifetime-1us", Duration::Hours(24), Duration::Hours(24) - Duration::Micros(1), 0, kT0,
       Duration::Micros(1)},
      {"renew_before 1us", Duration::Hours(24), Duration::Micros(1), 0, kT0, Duration::Hours(24) - Duration::Micros(1)},
      {"renew_before 2us of 3us", Duration::Micros(3), Duration::Micros(2), 0, kT0, Duration::Micros(1)},
      {"leap day issuance, 2/3 of 24h", Duration::Hours(24), std::nullopt, 2.0 / 3.0, At("2024-02-29T12:00:00Z"),
       Duration::Hours(16)},
      {"leap day issuance, 30d renew_before 10d", Duration::Days(30), Duration::Days(10), 0, At("2024-02-29T00:00:00Z"),
       Duration::Days(20)},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    RenewalPolicy p = NoJitter();
    p.lifetime = row.lifetime;
    p.renew_before = row.renew_before;
    if (row.fraction > 0) p.renew_fraction = row.fraction;
    ASSERT_TRUE(ValidatePolicy(p, row.issued_at).ok()) << ValidatePolicy(p, row.issued_at).ToString();
    const Instant not_after = row.issued_at + row.lifetime;
    const Instant point = RenewalPoint(p, "svc-a", row.issued_at, not_after);
    EXPECT_EQ((point - row.issued_at).micros, row.expected_offset.micros)
        << "renewal at " << FormatRfc3339(point) << " for issuance at " << FormatRfc3339(row.issued_at);
    EXPECT_GT(point, row.issued_at);
    EXPECT_LE(point, not_after);
  }
}

TEST(RenewalPointTest, LeapDayIssuanceRenewsOnMarchFirst) {
  RenewalPolicy p = NoJitter();
  p.lifetime = Duration::Hours(24);
  const Instant issued = At("2024-02-29T12:00:00Z");
  EXPECT_EQ(FormatRfc3339(RenewalPoint(p, "svc-a", issued, issued + p.lifetime)), "2024-03-01T04:00:00.000Z");
  p.lifetime = Duration::Days(365);  // 2024 is 366 days long: not_after is 2025-02-28
  EXPECT_EQ(FormatRfc3339Seconds(issued + p.lifetime), "2025-02-28T12:00:00Z");
}

TEST(RenewalPointTest, LifetimeEndingAtMaxInstant) {
  RenewalPolicy p = NoJitter();
  const Instant issued = At("9999-12-01T00:00:00Z");
  p.lifetime = kMaxInstant - issued;
  ASSERT_TRUE(ValidatePolicy(p, issued).ok());
  const Instant point = RenewalPoint(p, "svc-a", issued, kMaxInstant);
  EXPECT_GT(point, issued);
  EXPECT_LE(point, kMaxInstant);
  p.jitter = 0.5;
  p.renew_before = p.lifetime - Duration::Micros(1);
  EXPECT_EQ(RenewalPoint(p, "svc-a", issued, kMaxInstant), issued + Duration::Micros(1));
}

TEST(RenewalPointTest, RenewBeforeLongerThanTheActualSpanStillRenewsAfterIssuance) {
  // A credential whose not_after was capped (e.g. at kMaxInstant) can be
  // shorter than the policy's lifetime: the point stays within (issued, not_after].
  RenewalPolicy p = NoJitter();
  p.lifetime = Duration::Days(30);
  p.renew_before = Duration::Days(10);
  const Instant issued = kT0;
  for (Duration span : {Duration::Days(5), Duration::Micros(2), Duration::Micros(1)}) {
    const Instant point = RenewalPoint(p, "svc-a", issued, issued + span);
    EXPECT_GT(point, issued);
    EXPECT_LE(point, issued + span);
  }
}

TEST(RenewalPointTest, SubSecondLifetimes) {
  for (int64_t us : {1, 2, 3, 7, 1000, 500000}) {
    for (double jitter : {0.0, 0.1, 0.5}) {
      RenewalPolicy p;
      p.jitter = jitter;
      p.lifetime = Duration::Micros(us);
      for (int i = 0; i < 50; ++i) {
        const std::string id = "job-" + std::to_string(i);
        const Instant point = RenewalPoint(p, id, kT0, kT0 + p.lifetime);
        ASSERT_GT(point, kT0) << us << "us " << id;
        ASSERT_LE(point, kT0 + p.lifetime) << us << "us " << id;
      }
    }
  }
}

// ---- Jitter -----------------------------------------------------------------

TEST(JitterTest, DeterministicBoundedAndSpread) {
  RenewalPolicy p;
  p.lifetime = Duration::Hours(24);
  p.jitter = 0.1;
  RenewalPolicy nominal = p;
  nominal.jitter = 0;
  const Instant not_after = kT0 + p.lifetime;
  const Instant nominal_point = RenewalPoint(nominal, "x", kT0, not_after);
  const Instant earliest = kT0 + Duration{(nominal_point - kT0).micros * 9 / 10};
  std::set<int64_t> distinct;
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "ci-job-" + std::to_string(i);
    const Instant a = RenewalPoint(p, id, kT0, not_after);
    const Instant b = RenewalPoint(p, id, kT0, not_after);
    ASSERT_EQ(a, b) << "same id, different point: " << id;
    ASSERT_GT(a, kT0) << id;
    ASSERT_LE(a, nominal_point) << "jitter moved " << id << " later than the nominal point";
    ASSERT_GE(a, earliest) << "jitter larger than 10% for " << id;
    distinct.insert(a.micros);
    lo = std::min(lo, a.micros);
    hi = std::max(hi, a.micros);
  }
  // Similar ids spread over the jitter window rather than bunching up.
  EXPECT_GT(distinct.size(), 1990u);
  EXPECT_GT(hi - lo, (nominal_point - earliest).micros * 9 / 10);
}

TEST(JitterTest, NeverAtOrBeforeIssuanceEvenAtMaximumJitter) {
  RenewalPolicy p;
  p.jitter = 0.5;
  for (Duration lifetime :
       {Duration::Micros(1), Duration::Micros(2), Duration::Micros(3), Duration::Seconds(1), Duration::Days(3650)}) {
    p.lifetime = lifetime;
    for (bool before : {false, true}) {
      p.renew_before =
          before && lifetime.micros > 1 ? std::optional<Duration>(lifetime - Duration::Micros(1)) : std::nullopt;
      for (int i = 0; i < 500; ++i) {
        const Instant point = RenewalPoint(p, "id-" + std::to_string(i), kT0, kT0 + lifetime);
        ASSERT_GT(point, kT0);
        ASSERT_LE(point, kT0 + lifetime);
      }
    }
  }
}

TEST(IdentityUnitTest, InUnitIntervalAndSaltMatters) {
  int differs = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "svc-" + std::to_string(i);
    const double u = IdentityUnit(id, 0);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    if (IdentityUnit(id, 1) != u) ++differs;
  }
  EXPECT_GT(differs, 990);
}

// ---- Back-off -----------------------------------------------------------------

TEST(BackoffTest, GrowsThenCaps) {
  RenewalPolicy p;
  p.backoff_base = Duration::Seconds(1);
  p.backoff_max = Duration::Minutes(5);
  // Equal jitter: the delay for attempt n lies in [d/2, d) with d = min(base·2^(n-1), max).
  for (uint32_t n = 1; n <= 40; ++n) {
    int64_t d = p.backoff_base.micros;
    for (uint32_t i = 1; i < n && d < p.backoff_max.micros; ++i) d *= 2;
    d = std::min(d, p.backoff_max.micros);
    for (const char* id : {"a", "b", "svc-payments-0001"}) {
      const Duration got = BackoffDelay(p, id, n);
      ASSERT_GE(got.micros, d / 2) << "attempt " << n << " " << id;
      ASSERT_LT(got.micros, d) << "attempt " << n << " " << id;
      ASSERT_EQ(got, BackoffDelay(p, id, n)) << "not deterministic";
    }
  }
  // Capped: never more than backoff_max, however many failures.
  EXPECT_LE(BackoffDelay(p, "a", 1000000).micros, p.backoff_max.micros);
  EXPECT_LE(BackoffDelay(p, "a", std::numeric_limits<uint32_t>::max()).micros, p.backoff_max.micros);
  // Attempt 0 is treated as the first.
  EXPECT_EQ(BackoffDelay(p, "a", 0), BackoffDelay(p, "a", 1));
}

TEST(BackoffTest, MeanGrowsUntilTheCap) {
  RenewalPolicy p;
  p.backoff_base = Duration::Millis(100);
  p.backoff_max = Duration::Seconds(10);
  double prev = 0;
  for (uint32_t n = 1; n <= 8; ++n) {  // 0.1s .. 12.8s: capped from n = 8
    double sum = 0;
    for (int i = 0; i < 200; ++i) sum += static_cast<double>(BackoffDelay(p, "id-" + std::to_string(i), n).micros);
    const double mean = sum / 200;
    if (n < 8) {
      EXPECT_GT(mean, prev * 1.5) << "attempt " << n;
    }
    prev = mean;
  }
}

TEST(BackoffTest, HugeMaximumDoesNotOverflow) {
  RenewalPolicy p;
  p.backoff_base = Duration::Seconds(1);
  p.backoff_max = Duration{std::numeric_limits<int64_t>::max() / 2};
  for (uint32_t n = 1; n < 200; ++n) {
    const Duration d = BackoffDelay(p, "a", n);
    ASSERT_GT(d.micros, 0) << n;
    ASSERT_LE(d.micros, p.backoff_max.micros) << n;
  }
}

// ---- Time zone independence ---------------------------------------------------

std::string PolicyFingerprint() {
  std::string out;
  RenewalPolicy p;
  for (Duration lifetime : {Duration::Hours(24), Duration::Days(3650), Duration::Millis(500)}) {
    p.lifetime = lifetime;
    const Instant issued = At("2024-02-29T23:30:00-01:00");
    for (int i = 0; i < 20; ++i) {
      out += FormatRfc3339(RenewalPoint(p, "id-" + std::to_string(i), issued, issued + lifetime)) + " ";
      out += std::to_string(BackoffDelay(p, "id-" + std::to_string(i), static_cast<uint32_t>(i)).micros) + "\n";
    }
  }
  out += ValidatePolicy(p, At("9999-12-31T00:00:00Z")).ToString();
  return out;
}

TEST(PolicyTimeZoneTest, IdenticalUnderAnyTimeZone) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  const std::string reference = PolicyFingerprint();
  for (const char* zone : {"Pacific/Chatham", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC"}) {
    ::setenv("TZ", zone, 1);
    ::tzset();
    EXPECT_EQ(PolicyFingerprint(), reference) << "TZ=" << zone;
  }
  ::unsetenv("TZ");
  ::tzset();
}

}  // namespace
}  // namespace rotor
