// Membership churn under the swarm's faults: every kind of change happens,
// and every checker still holds.
#include "sim/churn.h"

#include <string>

#include "gtest/gtest.h"
#include "sim/swarm.h"

namespace etcdpp::sim {
namespace {

RunOptions Forced() {
  RunOptions options;
  options.churn_every_us = 600000;
  options.safety_us = 8000000;
  options.liveness_us = 2000000;
  return options;
}

TEST(ChurnTest, EveryKindOfChangeHappensAndEverySeedPasses) {
  const RunOptions options = Forced();
  ChurnStats total;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const SeedResult r = RunSeed(seed, options);
    EXPECT_TRUE(r.passed()) << FormatResult(r, options);
    total.adds += r.churn.adds;
    total.promotions += r.churn.promotions;
    total.removals += r.churn.removals;
    total.leader_removals += r.churn.leader_removals;
    total.replaces += r.churn.replaces;
    total.updates += r.churn.updates;
    // The run ends with voters only.
    EXPECT_EQ(r.final_members.find("learner"), std::string::npos)
        << "seed " << seed << ": " << r.final_members;
  }
  EXPECT_GT(total.adds, 0u);
  EXPECT_GT(total.promotions, 0u);
  EXPECT_GT(total.removals, 0u);
  EXPECT_GT(total.leader_removals, 0u);
  EXPECT_GT(total.replaces, 0u);
  EXPECT_GT(total.updates, 0u);
  std::printf(
      "churn over 20 seeds: adds %llu promotions %llu removals %llu (leader "
      "%llu) replaces %llu updates %llu\n",
      static_cast<unsigned long long>(total.adds),
      static_cast<unsigned long long>(total.promotions),
      static_cast<unsigned long long>(total.removals),
      static_cast<unsigned long long>(total.leader_removals),
      static_cast<unsigned long long>(total.replaces),
      static_cast<unsigned long long>(total.updates));
}

TEST(ChurnTest, SameSeedGivesTheSameTrace) {
  const RunOptions options = Forced();
  const SeedResult a = RunSeed(5, options);
  const SeedResult b = RunSeed(5, options);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.final_members, b.final_members);
  EXPECT_GT(a.churn.adds + a.churn.removals, 0u);
}

// A one-member cluster grows (add a learner, promote it) before it may
// shrink: the lone voter is never removed.
TEST(ChurnTest, SingleMemberClusterGrowsFirst) {
  RunOptions options = Forced();
  options.nodes = 1;
  for (uint64_t seed : {1u, 2u}) {
    const SeedResult r = RunSeed(seed, options);
    EXPECT_TRUE(r.passed()) << FormatResult(r, options);
    EXPECT_GT(r.churn.promotions, 0u) << "seed " << seed;
  }
}

}  // namespace
}  // namespace etcdpp::sim
