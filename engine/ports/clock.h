// Clock: the one source of "now" (ARCHITECTURE §9).
//
// Production uses SystemClock (UTC wall clock). Tests use VirtualClock so that
// days of rotation run in milliseconds. Implementations are thread-safe.
#pragma once

#include <atomic>

#include "engine/time.h"

namespace rotor {

class Clock {
 public:
  virtual ~Clock() = default;
  // Now returns the current instant in UTC.
  virtual Instant Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Instant Now() const override;
};

// VirtualClock only moves when told to.
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(Instant start) : now_(start.micros) {}
  Instant Now() const override { return Instant{now_.load(std::memory_order_acquire)}; }
  void Set(Instant t) { now_.store(t.micros, std::memory_order_release); }
  void Advance(Duration d) { now_.fetch_add(d.micros, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace rotor
