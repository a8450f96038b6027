// Findings of the sweep of seeds 1000..1999 (-c opt, this branch) not yet
// diagnosed or fixed, one test per seed; tagged manual while they fail, so
// //sim:all stays green: `bazel test //sim:open_bugs_test`. When one is
// fixed, move its seed to regression_seeds.txt.
//
// Seeds 1455 and 1984 (3 nodes, corruption off): a follower cut off by a
// partition, on a tick, CHECK-fails in server/node/node.cc
// Node::ApplyEntries: "entries are applied in log order, each once"
// (entry 22 vs. applied_index_ + 1 == 1, seed 1455; 29 vs. 1, seed 1984):
// its applied index reads 0 though it had applied past its snapshot at 21.
// Reproduce: bazel-bin/sim/sim --seed=1455 --trace
//
// Seed 1562 (3 nodes, 12 clients, snapshot_count 45, catch-up 5, no
// crashes): two writes sent to n2 after healing never complete within the
// 5 s liveness bound. Reproduce: bazel-bin/sim/sim --seed=1562 --trace
#include "gtest/gtest.h"
#include "sim/swarm.h"

namespace etcdpp::sim {
namespace {

void ExpectPass(uint64_t seed) {
  const RunOptions options;
  const SeedResult r = RunSeed(seed, options);
  EXPECT_TRUE(r.passed()) << FormatResult(r, options);
}

TEST(OpenBugsTest, AppliedIndexCheckFailsOnPartitionedFollower_Seed1455) {
  ExpectPass(1455);
}
TEST(OpenBugsTest, AppliedIndexCheckFailsOnPartitionedFollower_Seed1984) {
  ExpectPass(1984);
}
TEST(OpenBugsTest, WritesToOneMemberStallAfterHealing_Seed1562) {
  ExpectPass(1562);
}

}  // namespace
}  // namespace etcdpp::sim
