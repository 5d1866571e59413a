// engine/token_bucket.h: admission per issuer, by table on explicit instants.
#include "engine/token_bucket.h"

#include <gtest/gtest.h>

namespace rotor {
namespace {

const Instant kT0 = Instant::FromSeconds(1767225600);

int Take(TokenBucket& b, Instant now, int attempts) {
  int taken = 0;
  for (int i = 0; i < attempts; ++i) taken += b.TryTake(now) ? 1 : 0;
  return taken;
}

TEST(TokenBucketTest, StartsFullThenRefillsAtTheRate) {
  TokenBucket b(/*rate_per_second=*/4, /*burst=*/8, kT0);
  EXPECT_EQ(Take(b, kT0, 20), 8);
  EXPECT_EQ(Take(b, kT0 + Duration::Millis(249), 5), 0);
  EXPECT_EQ(Take(b, kT0 + Duration::Millis(250), 5), 1);
  EXPECT_EQ(Take(b, kT0 + Duration::Millis(1250), 5), 4);
}

TEST(TokenBucketTest, RefillStopsAtTheBurst) {
  TokenBucket b(100, 3, kT0);
  EXPECT_EQ(Take(b, kT0, 10), 3);
  EXPECT_EQ(Take(b, kT0 + Duration::Hours(1), 10), 3);
}

TEST(TokenBucketTest, TimeGoingBackwardsRefillsNothing) {
  TokenBucket b(10, 1, kT0);
  EXPECT_TRUE(b.TryTake(kT0));
  EXPECT_FALSE(b.TryTake(kT0 - Duration::Seconds(5)));
  EXPECT_FALSE(b.TryTake(kT0 + Duration::Millis(50)));  // measured from kT0, not from the earlier instant
  EXPECT_TRUE(b.TryTake(kT0 + Duration::Millis(100)));
}

TEST(TokenBucketTest, ZeroRateIsUnlimitedAndBurstBelowOneIsOne) {
  TokenBucket unlimited(0, 0, kT0);
  EXPECT_EQ(Take(unlimited, kT0, 1000), 1000);
  TokenBucket tiny(1, 0.2, kT0);
  EXPECT_EQ(Take(tiny, kT0, 5), 1);
}

}  // namespace
}  // namespace rotor
