// engine/timer_wheel.h: the shards' due queue. Table tests pin the edges
// (resolution rounding, the past, level boundaries, the overflow list, big
// jumps); a randomized run compares every PopDue and EarliestDue with a plain
// ordered multimap.
#include "engine/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace rotor {
namespace {

using Wheel = TimerWheel<uint32_t>;

std::vector<uint32_t> Pop(Wheel& w, int64_t now) {
  std::vector<Wheel::Fired> fired;
  w.PopDue(now, &fired);
  std::vector<uint32_t> ids;
  for (const auto& f : fired) ids.push_back(f.payload);
  std::sort(ids.begin(), ids.end());
  return ids;
}

using Ids = std::vector<uint32_t>;

TEST(TimerWheelTest, FiresAtItsTickNeverBefore) {
  Wheel w(/*resolution_micros=*/1000, /*start_micros=*/0);
  w.Insert(5000, 1);  // exactly on a tick
  w.Insert(5001, 2);  // rounds up to the next tick
  w.Insert(5999, 3);
  EXPECT_EQ(Pop(w, 4999), Ids{});
  EXPECT_EQ(Pop(w, 5000), Ids{1});
  EXPECT_EQ(Pop(w, 5999), Ids{});  // 5001 is not due before the tick of 6000
  EXPECT_EQ(Pop(w, 6000), (Ids{2, 3}));
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheelTest, PastEntriesFireAtTheNextPop) {
  Wheel w(1000, 1'000'000);
  w.Insert(10, 1);
  w.Insert(-5, 2);
  w.Insert(999'999, 3);
  EXPECT_EQ(Pop(w, 1'000'000), (Ids{1, 2, 3}));
  // Past relative to where the wheel has got to (tick 1000 is popped): it
  // fires at the next pop even when that pop's now is within the same tick.
  w.Insert(1'000'000, 4);
  w.Insert(1'000'200, 5);  // not past: rounds up to tick 1001
  EXPECT_EQ(Pop(w, 1'000'500), Ids{4});
  EXPECT_EQ(Pop(w, 1'001'000), Ids{5});
}

TEST(TimerWheelTest, CancelRemovesOnlyThatEntry) {
  Wheel w(1, 0);
  auto a = w.Insert(100, 1);
  w.Insert(100, 2);
  auto c = w.Insert(1'000'000, 3);  // a higher level
  w.Cancel(a);
  w.Cancel(c);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(Pop(w, 2'000'000), Ids{2});
  // Freed nodes are reused: inserting again does not grow the wheel.
  const size_t bytes = w.MemoryBytes();
  w.Insert(5, 4);
  w.Insert(6, 5);
  EXPECT_EQ(w.MemoryBytes(), bytes);
  EXPECT_EQ(Pop(w, 2'000'000), (Ids{4, 5}));
}

TEST(TimerWheelTest, EntriesAcrossLevelBoundariesFireInOrder) {
  Wheel w(1, 0);
  // One tick either side of 64^k for k = 1..6, inserted in reverse.
  std::vector<int64_t> dues;
  for (int k = 1; k <= 6; ++k) {
    const int64_t edge = int64_t{1} << (6 * k);
    dues.push_back(edge - 1);
    dues.push_back(edge);
    dues.push_back(edge + 1);
  }
  for (size_t i = dues.size(); i-- > 0;) w.Insert(dues[i], static_cast<uint32_t>(i));
  std::vector<Wheel::Fired> fired;
  w.PopDue(int64_t{1} << 40, &fired);
  ASSERT_EQ(fired.size(), dues.size());
  for (size_t i = 0; i < fired.size(); ++i) EXPECT_EQ(fired[i].due_micros, dues[i]) << i;
}

TEST(TimerWheelTest, StepByStepOverALevelBoundaryMissesNothing) {
  Wheel w(1, 4000);
  for (uint32_t i = 0; i < 300; ++i) w.Insert(4000 + i, i);
  for (int64_t now = 4000; now < 4300; ++now) EXPECT_EQ(Pop(w, now), Ids{static_cast<uint32_t>(now - 4000)}) << now;
}

TEST(TimerWheelTest, FarEntriesWaitInOverflowAndStillFire) {
  Wheel w(1, 0);
  const int64_t far = (int64_t{1} << 43) + 12345;  // beyond 64^7 ticks
  w.Insert(far, 1);
  w.Insert(7, 2);
  EXPECT_EQ(w.EarliestDue(), std::optional<int64_t>(7));
  EXPECT_EQ(Pop(w, 100), Ids{2});
  EXPECT_EQ(w.EarliestDue(), std::optional<int64_t>(far));
  EXPECT_EQ(Pop(w, far - 1), Ids{});
  EXPECT_EQ(Pop(w, far), Ids{1});
  EXPECT_EQ(w.EarliestDue(), std::nullopt);
}

TEST(TimerWheelTest, MaxInstantNeverFires) {
  Wheel w(1000, 0);
  w.Insert(std::numeric_limits<int64_t>::max(), 1);
  EXPECT_EQ(Pop(w, int64_t{4'000'000'000'000'000'000}), Ids{});
  EXPECT_EQ(w.size(), 1u);
}

TEST(TimerWheelTest, AYearJumpWithFewEntriesIsCheap) {
  // Skipping empty time costs per busy slot, not per tick: a year in 1 µs
  // ticks is 3e13 ticks, which a tick-by-tick wheel could not walk.
  Wheel w(1, 0);
  const int64_t year = int64_t{365} * 24 * 3600 * 1'000'000;
  w.Insert(year, 1);
  w.Insert(year / 2, 2);
  EXPECT_EQ(Pop(w, year), (Ids{1, 2}));
}

// The reference: a multimap of (tick, payload) in ticks of the resolution.
struct Reference {
  int64_t resolution;
  int64_t position = 0;  // first tick not yet popped
  std::multimap<int64_t, uint32_t> by_tick;

  // Entries before the position fire at the next pop: tick -1.
  int64_t TickOf(int64_t due) const {
    const int64_t t = due <= 0 ? 0 : due / resolution + (due % resolution != 0 ? 1 : 0);
    return t < position ? -1 : t;
  }
};

void RunRandomized(int64_t resolution, uint32_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t start = 1'700'000'000'000'000 + static_cast<int64_t>(rng() % 1'000'000);
  Wheel w(resolution, start);
  Reference ref{resolution, start / resolution, {}};
  struct Live {
    Wheel::Handle handle;
    int64_t due;
    int64_t ref_tick;
  };
  std::map<uint32_t, Live> live;
  uint32_t next_payload = 0;
  int64_t now = start;
  // Spans from sub-tick to years, so every level and the jumps are exercised.
  const int64_t spans[] = {1, 50, 3'000, 200'000, 60'000'000, 86'400'000'000LL, 40'000'000'000'000LL};
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      const int64_t span = spans[rng() % std::size(spans)];
      const int64_t due = now - span / 4 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
      const uint32_t p = next_payload++;
      live[p] = {w.Insert(due, p), due, ref.TickOf(due)};
      ref.by_tick.emplace(live[p].ref_tick, p);
    } else if (op < 7 && !live.empty()) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      w.Cancel(it->second.handle);
      auto [lo, hi] = ref.by_tick.equal_range(it->second.ref_tick);
      auto r = std::find_if(lo, hi, [&](const auto& e) { return e.second == it->first; });
      ASSERT_NE(r, hi);
      ref.by_tick.erase(r);
      live.erase(it);
    } else {
      const int64_t span = spans[rng() % std::size(spans)];
      now += static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
      const int64_t target = now / resolution;
      Ids expected;
      while (!ref.by_tick.empty() && ref.by_tick.begin()->first <= target) {
        expected.push_back(ref.by_tick.begin()->second);
        ref.by_tick.erase(ref.by_tick.begin());
      }
      ref.position = std::max(ref.position, target + 1);
      std::sort(expected.begin(), expected.end());
      std::vector<Wheel::Fired> fired;
      w.PopDue(now, &fired);
      for (const auto& f : fired) EXPECT_LE(f.due_micros, now) << "fired early";
      Ids got;
      for (const auto& f : fired) {
        got.push_back(f.payload);
        live.erase(f.payload);
      }
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, expected) << "seed " << seed << " step " << step << " now " << now;
    }
    ASSERT_EQ(w.size(), ref.by_tick.size());
    if (step % 64 == 0) {
      std::optional<int64_t> min_due;
      for (const auto& [p, l] : live) {
        if (!min_due || l.due < *min_due) min_due = l.due;
      }
      ASSERT_EQ(w.EarliestDue(), min_due) << "seed " << seed << " step " << step;
    }
  }
}

TEST(TimerWheelRandomTest, MatchesAnOrderedMapAtMicrosecondResolution) {
  for (uint32_t seed = 1; seed <= 8; ++seed) RunRandomized(1, seed);
}

TEST(TimerWheelRandomTest, MatchesAnOrderedMapAtMillisecondResolution) {
  for (uint32_t seed = 100; seed <= 108; ++seed) RunRandomized(1000, seed);
}

}  // namespace
}  // namespace rotor
