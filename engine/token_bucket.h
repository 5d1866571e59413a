// TokenBucket: admission at a sustained rate with bursts (ARCHITECTURE §4:
// due identities are admitted through a token bucket per issuer).
//
// Holds up to `burst` tokens, refilled continuously at `rate_per_second` on
// the instants it is given (an injected clock's, never the system's). A rate
// of 0 means unlimited. Value type; thread-compatible.
#pragma once

#include <algorithm>

#include "engine/time.h"

namespace rotor {

class TokenBucket {
 public:
  // A bucket starts full. `burst` below 1 is taken as 1.
  TokenBucket(double rate_per_second, double burst, Instant now)
      : rate_(rate_per_second), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

  // TryTake refills for the time since the last call, then takes one token
  // if there is one. Instants earlier than the last one refill nothing.
  bool TryTake(Instant now) {
    if (rate_ <= 0) return true;
    if (now > last_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * (now - last_).seconds());
      last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  double tokens() const { return tokens_; }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Instant last_;
};

}  // namespace rotor
