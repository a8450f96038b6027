#include "raft/inflights.h"

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::raft {
namespace {

TEST(InflightsTest, AddUntilFullByCount) {
  Inflights in(10, 0);
  for (uint64_t i = 0; i < 10; ++i) {
    EXPECT_FALSE(in.Full()) << i;
    in.Add(i, 100);
    in.CheckInvariants();
  }
  EXPECT_TRUE(in.Full());
  EXPECT_EQ(in.Count(), 10u);
  EXPECT_EQ(in.Bytes(), 1000u);
}

TEST(InflightsTest, FullByBytes) {
  Inflights in(10, 250);
  in.Add(1, 100);
  in.Add(2, 100);
  EXPECT_FALSE(in.Full());
  // Reaching the limit exactly is full; so is overshooting it, since one
  // message may be larger than the remaining room.
  in.Add(3, 50);
  EXPECT_TRUE(in.Full());
  in.FreeLE(1);
  EXPECT_FALSE(in.Full());
  in.Add(4, 1000);
  EXPECT_TRUE(in.Full());
  EXPECT_EQ(in.Bytes(), 1150u);
  in.CheckInvariants();
}

TEST(InflightsTest, ZeroMaxBytesMeansNoByteLimit) {
  Inflights in(3, 0);
  in.Add(1, UINT64_C(1) << 40);
  in.Add(2, UINT64_C(1) << 40);
  EXPECT_FALSE(in.Full());
  in.Add(3, 0);
  EXPECT_TRUE(in.Full());
}

TEST(InflightsTest, FreeLEFreesAcknowledgedPrefix) {
  Inflights in(10, 0);
  for (uint64_t i = 0; i < 10; ++i) in.Add(i, i);
  in.FreeLE(0);
  EXPECT_EQ(in.Count(), 9u);
  in.FreeLE(4);
  EXPECT_EQ(in.Count(), 5u);
  EXPECT_EQ(in.Bytes(), 5u + 6 + 7 + 8 + 9);
  in.CheckInvariants();
  // Below the window: nothing to free.
  in.FreeLE(2);
  EXPECT_EQ(in.Count(), 5u);
  // Past the window: everything.
  in.FreeLE(100);
  EXPECT_EQ(in.Count(), 0u);
  EXPECT_EQ(in.Bytes(), 0u);
  in.CheckInvariants();
}

TEST(InflightsTest, WrapsAroundTheRing) {
  Inflights in(10, 0);
  for (uint64_t i = 0; i < 10; ++i) in.Add(i, 1);
  in.FreeLE(4);  // frees 0..4; the window now starts mid-ring
  for (uint64_t i = 10; i < 15; ++i) in.Add(i, 1);
  EXPECT_TRUE(in.Full());
  in.CheckInvariants();
  in.FreeLE(8);
  EXPECT_EQ(in.Count(), 6u);
  in.FreeLE(14);
  EXPECT_EQ(in.Count(), 0u);
  in.CheckInvariants();
}

TEST(InflightsTest, EqualIndexesAreFreedTogether) {
  Inflights in(4, 0);
  in.Add(5, 1);
  in.Add(5, 2);
  in.Add(6, 3);
  in.FreeLE(5);
  EXPECT_EQ(in.Count(), 1u);
  EXPECT_EQ(in.Bytes(), 3u);
}

TEST(InflightsTest, Reset) {
  Inflights in(4, 10);
  in.Add(1, 10);
  EXPECT_TRUE(in.Full());
  in.Reset();
  EXPECT_EQ(in.Count(), 0u);
  EXPECT_EQ(in.Bytes(), 0u);
  EXPECT_FALSE(in.Full());
  in.Add(0, 1);  // after a reset any index may start the window
  in.CheckInvariants();
}

TEST(InflightsDeathTest, AddToFullWindowDies) {
  Inflights in(1, 0);
  in.Add(1, 1);
  EXPECT_DEATH(in.Add(2, 1), "full inflight window");
}

TEST(InflightsDeathTest, DecreasingIndexDies) {
  Inflights in(4, 0);
  in.Add(5, 1);
  EXPECT_DEATH(in.Add(4, 1), "non-decreasing order");
}

// Random Add/FreeLE/Reset against a deque of (index, bytes).
RC_GTEST_PROP(InflightsPropertyTest, MatchesDequeModel, ()) {
  const size_t max_count = *rc::gen::inRange<size_t>(1, 20);
  const uint64_t max_bytes = *rc::gen::inRange<uint64_t>(0, 200);
  Inflights in(max_count, max_bytes);
  std::deque<std::pair<uint64_t, uint64_t>> model;
  uint64_t next_index = 1;
  const int steps = *rc::gen::inRange(0, 200);
  for (int step = 0; step < steps; ++step) {
    uint64_t model_bytes = 0;
    for (const auto& [index, bytes] : model) model_bytes += bytes;
    const bool model_full = model.size() == max_count ||
                            (max_bytes != 0 && model_bytes >= max_bytes);
    RC_ASSERT(in.Full() == model_full);
    RC_ASSERT(in.Count() == model.size());
    RC_ASSERT(in.Bytes() == model_bytes);
    const int op = *rc::gen::inRange(0, 10);
    if (op < 6 && !model_full) {
      next_index += *rc::gen::inRange<uint64_t>(0, 3);
      const uint64_t bytes = *rc::gen::inRange<uint64_t>(0, 40);
      in.Add(next_index, bytes);
      model.emplace_back(next_index, bytes);
    } else if (op < 9) {
      const uint64_t to = *rc::gen::inRange<uint64_t>(0, next_index + 2);
      in.FreeLE(to);
      while (!model.empty() && model.front().first <= to) model.pop_front();
    } else {
      in.Reset();
      model.clear();
    }
    in.CheckInvariants();
  }
}

}  // namespace
}  // namespace etcdpp::raft
