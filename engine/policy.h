// RenewalPolicy: when a credential is renewed, how failures back off, and when
// the circuit breaker opens. Pure functions; thread-compatible values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

struct RenewalPolicy {
  std::string name = "default";
  Duration lifetime = Duration::Hours(24);
  // Renewal point: either a fraction of the issued lifetime (default 2/3) or,
  // when set, a fixed duration before expiry.
  double renew_fraction = 2.0 / 3.0;
  std::optional<Duration> renew_before;
  // Deterministic per-identity jitter: up to this fraction of the span from
  // issuance to the renewal point is taken off the renewal point.
  double jitter = 0.1;
  // The previous version stays valid this long after a commit.
  Duration grace = Duration::Minutes(5);
  // Back-off after a failure: base * 2^(n-1), capped, with deterministic jitter.
  Duration backoff_base = Duration::Seconds(1);
  Duration backoff_max = Duration::Minutes(5);
  // Circuit breaker.
  uint32_t max_issuances_per_window = 10;
  Duration issuance_window = Duration::Hours(1);
  uint32_t max_consecutive_failures = 5;
  // Emergency rotations (revoke --compromised) per identity at most this often.
  Duration emergency_min_interval = Duration::Seconds(60);

  bool operator==(const RenewalPolicy&) const = default;
};

// ValidatePolicy rejects a policy that can never settle, with a message that
// names the offending field. `now` bounds the expiry (≤ 9999-12-31T23:59:59Z).
Status ValidatePolicy(const RenewalPolicy& policy, Instant now);

// IdentityUnit maps an identity id (and a salt) to a deterministic value in
// [0, 1). Used for jitter so that results are reproducible.
double IdentityUnit(std::string_view identity_id, uint64_t salt);

// RenewalPoint returns when a credential issued at `issued_at` and valid until
// `not_after` must be renewed. Always > issued_at and ≤ not_after.
Instant RenewalPoint(const RenewalPolicy& policy, std::string_view identity_id, Instant issued_at, Instant not_after);

// BackoffDelay returns the wait before retry number `failures` (1-based).
Duration BackoffDelay(const RenewalPolicy& policy, std::string_view identity_id, uint32_t failures);

}  // namespace rotor
