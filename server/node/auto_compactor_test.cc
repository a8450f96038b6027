#include "server/node/auto_compactor.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace etcdpp::server {
namespace {

using Mode = AutoCompactionOptions::Mode;

// Ticks the compactor `ticks` times with revision = the tick count + 1 (one
// write per tick), returning (tick, revision) of each compaction.
std::vector<std::pair<int64_t, int64_t>> Drive(AutoCompactor& c, int64_t ticks,
                                             bool leader = true,
                                             int64_t start = 0) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t t = start; t < start + ticks; ++t) {
    if (std::optional<int64_t> rev = c.Tick(t + 1, leader)) {
      out.emplace_back(t + 1, *rev);
    }
  }
  return out;
}

TEST(AutoCompactorTest, OffNeverCompacts) {
  AutoCompactor c(AutoCompactionOptions{});
  EXPECT_TRUE(Drive(c, 10000).empty());
}

TEST(AutoCompactorTest, PeriodicFirstCompactsAfterRetentionToRevisionThen) {
  // Retention 100 ticks, below the 1000-tick cap: samples every 10 ticks,
  // the first compaction at tick 100 to the revision sampled at tick 0,
  // then every 100 ticks to the oldest sample of the window.
  AutoCompactor c({.mode = Mode::kPeriodic,
                   .retention_ticks = 100,
                   .interval_cap_ticks = 1000});
  auto got = Drive(c, 350);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(int64_t{100}, int64_t{1}));
  // At tick 200 the window holds the 11 samples taken at ticks 90..190.
  EXPECT_EQ(got[1], std::make_pair(int64_t{200}, int64_t{91}));
  EXPECT_EQ(got[2], std::make_pair(int64_t{300}, int64_t{191}));
}

TEST(AutoCompactorTest, PeriodicLongRetentionCompactsEveryCapInterval) {
  // Retention 5000 ticks with a 1000-tick (one hour) cap: samples every 100
  // ticks, the first compaction after 5000 ticks, then one every 1000, each
  // keeping about the last 5000 ticks of history.
  AutoCompactor c({.mode = Mode::kPeriodic,
                   .retention_ticks = 5000,
                   .interval_cap_ticks = 1000});
  auto got = Drive(c, 7500);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, 5000);
  EXPECT_EQ(got[0].second, 1);
  EXPECT_EQ(got[1].first, 6000);
  EXPECT_EQ(got[2].first, 7000);
  for (const auto& [tick, rev] : got) {
    EXPECT_GE(tick - (rev - 1), 5000) << "kept less than the retention";
    EXPECT_LE(tick - (rev - 1), 5100) << "kept more than one sample extra";
  }
}

TEST(AutoCompactorTest, PeriodicFollowerSamplesButNeverCompacts) {
  AutoCompactor c({.mode = Mode::kPeriodic,
                   .retention_ticks = 100,
                   .interval_cap_ticks = 1000});
  EXPECT_TRUE(Drive(c, 500, /*leader=*/false).empty());
  // On becoming leader it compacts at the next sample point, to the oldest
  // sample of the window, which kept sliding meanwhile: taken at tick 400,
  // one retention and one sample interval ago.
  auto got = Drive(c, 20, /*leader=*/true, /*start=*/500);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, 510);
  EXPECT_EQ(got[0].second, 401);
}

TEST(AutoCompactorTest, RevisionModeKeepsRetentionRevisions) {
  AutoCompactor c({.mode = Mode::kRevision,
                   .retention_revisions = 50,
                   .revision_check_ticks = 30});
  auto got = Drive(c, 100);
  // Checks at ticks 30 (revision 30: nothing to do), 60 and 90.
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(int64_t{60}, int64_t{10}));
  EXPECT_EQ(got[1], std::make_pair(int64_t{90}, int64_t{40}));
}

TEST(AutoCompactorTest, RevisionModeSkipsWhenNothingWasWritten) {
  AutoCompactor c({.mode = Mode::kRevision,
                   .retention_revisions = 5,
                   .revision_check_ticks = 10});
  int compactions = 0;
  for (int t = 0; t < 100; ++t) {
    if (c.Tick(/*revision=*/20, /*leader=*/true)) ++compactions;
  }
  EXPECT_EQ(compactions, 1);
}

}  // namespace
}  // namespace etcdpp::server
