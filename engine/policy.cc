#include "engine/policy.h"

#include <algorithm>
#include <cmath>

namespace rotor {

Status ValidatePolicy(const RenewalPolicy& p, Instant now) {
  auto bad = [&](const std::string& what) { return InvalidArgument("policy \"" + p.name + "\": " + what); };
  if (p.lifetime.micros <= 0) return bad("lifetime must be positive (got " + FormatDuration(p.lifetime) + ")");
  if (now.micros > kMaxInstant.micros - p.lifetime.micros) {
    return bad("lifetime " + FormatDuration(p.lifetime) + " issued now would expire after 9999-12-31T23:59:59Z");
  }
  if (p.renew_before) {
    if (p.renew_before->micros <= 0) return bad("renew_before must be positive");
    if (*p.renew_before >= p.lifetime) {
      return bad("renew_before " + FormatDuration(*p.renew_before) + " is not shorter than the lifetime " +
                 FormatDuration(p.lifetime) + ": the credential would be due the moment it is issued");
    }
  } else if (!(p.renew_fraction > 0.0 && p.renew_fraction < 1.0)) {
    return bad("renew_at must be a fraction strictly between 0 and 1");
  }
  if (!(p.jitter >= 0.0 && p.jitter <= 0.5)) return bad("jitter must be between 0 and 50%");
  if (p.grace.micros < 0) return bad("grace must not be negative");
  if (p.backoff_base.micros <= 0) return bad("backoff base must be positive");
  if (p.backoff_max < p.backoff_base) return bad("backoff max must be at least the base");
  if (p.max_issuances_per_window < 1) return bad("circuit_breaker.max_issuances must be at least 1");
  if (p.issuance_window.micros <= 0) return bad("circuit_breaker.window must be positive");
  if (p.max_consecutive_failures < 1) return bad("circuit_breaker.max_failures must be at least 1");
  if (p.emergency_min_interval.micros < 0) return bad("emergency_min_interval must not be negative");
  return Status::Ok();
}

// FNV-1a over the id, then a SplitMix64 finaliser so that similar ids (ci-job-1,
// ci-job-2) land far apart. Not cryptographic: jitter needs spread, not secrecy.
double IdentityUnit(std::string_view identity_id, uint64_t salt) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : identity_id) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  h ^= salt + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  h += 0x9E3779B97F4A7C15ULL;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53);
}

Instant RenewalPoint(const RenewalPolicy& p, std::string_view identity_id, Instant issued_at, Instant not_after) {
  const int64_t span = not_after.micros - issued_at.micros;
  if (span <= 1) return not_after;
  int64_t offset;  // from issued_at to the nominal renewal point
  if (p.renew_before) {
    offset = span - p.renew_before->micros;
  } else {
    // long double keeps microsecond exactness for lifetimes up to ~10^4 years.
    // Round, not floor: 2.0/3.0 is slightly below 2/3, so flooring renewed a
    // 24h credential at 15:59:59.999999 instead of 16:00:00.
    offset = static_cast<int64_t>(std::llroundl(static_cast<long double>(span) * p.renew_fraction));
  }
  offset = std::clamp<int64_t>(offset, 1, span);
  // Jitter moves the renewal earlier, never later: earlier is always safe.
  int64_t jitter =
      static_cast<int64_t>(std::floor(static_cast<long double>(offset) * p.jitter * IdentityUnit(identity_id, 0)));
  offset = std::max<int64_t>(offset - jitter, 1);
  return Instant{issued_at.micros + offset};
}

Duration BackoffDelay(const RenewalPolicy& p, std::string_view identity_id, uint32_t failures) {
  if (failures == 0) failures = 1;
  int64_t delay = p.backoff_base.micros;
  for (uint32_t i = 1; i < failures && delay < p.backoff_max.micros; ++i) delay *= 2;
  delay = std::min(delay, p.backoff_max.micros);
  // "Equal jitter": half fixed, half spread, deterministic per identity and attempt.
  double u = IdentityUnit(identity_id, failures);
  int64_t half = delay / 2;
  return Duration{half + static_cast<int64_t>(static_cast<double>(delay - half) * u)};
}

}  // namespace rotor
