#include "base/prng.h"

#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::base {
namespace {

TEST(SplitMix64Test, MatchesReferenceVector) {
  // First outputs of the reference splitmix64.c seeded with 1234567.
  uint64_t state = 1234567;
  EXPECT_EQ(SplitMix64(&state), 6457827717110365317ULL);
  EXPECT_EQ(SplitMix64(&state), 3203168211198807973ULL);
  EXPECT_EQ(SplitMix64(&state), 9817491932198370423ULL);
}

TEST(PrngTest, SameSeedSameSequence) {
  Prng a(42);
  Prng b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Next(), b.Next()) << i;
}

TEST(PrngTest, DifferentSeedsDiffer) {
  Prng a(1);
  Prng b(2);
  int equal = 0;
  for (int i = 0; i < 100; ++i) equal += a.Next() == b.Next();
  EXPECT_EQ(equal, 0);
}

TEST(PrngTest, UniformIsRoughlyUniform) {
  Prng prng(7);
  constexpr int kBuckets = 10;
  constexpr int kDraws = 100000;
  std::vector<int> counts(kBuckets);
  for (int i = 0; i < kDraws; ++i) ++counts[prng.Uniform(kBuckets)];
  for (int c : counts) {
    // Expected 10000 per bucket; 5 standard deviations is ~475.
    EXPECT_NEAR(c, kDraws / kBuckets, 500);
  }
}

TEST(PrngTest, InRangeCoversBothEnds) {
  Prng prng(9);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(prng.InRange(10, 14));
  EXPECT_EQ(seen, (std::set<uint64_t>{10, 11, 12, 13, 14}));
}

TEST(PrngTest, ForkIsIndependentAndDeterministic) {
  Prng a(5);
  Prng b(5);
  Prng child_a = a.Fork();
  Prng child_b = b.Fork();
  EXPECT_EQ(child_a.Next(), child_b.Next());
  EXPECT_NE(child_a.Next(), a.Next());
}

TEST(PrngDeathTest, UniformOfZeroIsABug) {
  Prng prng(1);
  EXPECT_DEATH(prng.Uniform(0), "Uniform needs a non-empty range");
}

RC_GTEST_PROP(PrngProperty, UniformStaysBelowBound,
              (uint64_t seed, uint64_t bound)) {
  RC_PRE(bound > 0u);
  Prng prng(seed);
  for (int i = 0; i < 20; ++i) RC_ASSERT(prng.Uniform(bound) < bound);
}

RC_GTEST_PROP(PrngProperty, InRangeStaysInRange,
              (uint64_t seed, uint64_t lo, uint64_t span)) {
  const uint64_t hi = lo + std::min(span, UINT64_MAX - lo);
  Prng prng(seed);
  for (int i = 0; i < 20; ++i) {
    const uint64_t x = prng.InRange(lo, hi);
    RC_ASSERT(x >= lo);
    RC_ASSERT(x <= hi);
  }
}

RC_GTEST_PROP(PrngProperty, DoubleInUnitInterval, (uint64_t seed)) {
  Prng prng(seed);
  for (int i = 0; i < 20; ++i) {
    const double d = prng.NextDouble();
    RC_ASSERT(d >= 0.0);
    RC_ASSERT(d < 1.0);
  }
}

}  // namespace
}  // namespace etcdpp::base
