#include <chrono>

#include "engine/ports/clock.h"

namespace rotor {

Instant SystemClock::Now() const {
  auto since = std::chrono::system_clock::now().time_since_epoch();
  return Instant{std::chrono::duration_cast<std::chrono::microseconds>(since).count()};
}

}  // namespace rotor
