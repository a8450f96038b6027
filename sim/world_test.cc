// The world's determinism, and named scenarios for known hard cases.
#include "sim/world.h"

#include "gtest/gtest.h"
#include "sim/nemesis.h"
#include "sim/swarm.h"
#include "sim/workload.h"

namespace etcdpp::sim {
namespace {

TEST(WorldTest, SameSeedGivesTheSameTrace) {
  for (uint64_t seed : {3u, 4u}) {
    const SeedResult a = RunSeed(seed);
    const SeedResult b = RunSeed(seed);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.trace_events, b.trace_events) << "seed " << seed;
    EXPECT_EQ(a.ops, b.ops) << "seed " << seed;
  }
  EXPECT_NE(RunSeed(3).trace_hash, RunSeed(4).trace_hash);
}

// A calm scenario: no faults, so every client operation must succeed.
Scenario Calm(int nodes) {
  Scenario s;
  s.seed = 42;
  s.nodes = nodes;
  s.safety_us = 5000000;
  return s;
}

struct SimRun {
  explicit SimRun(const Scenario& s)
      : world(s, &trace), nemesis(&world, s.faults), workload(&world, s.workload) {
    world.Start();
    nemesis.Start();
    workload.Start();
  }
  Trace trace;
  World world;
  Nemesis nemesis;
  Workload workload;
};

TEST(WorldTest, CalmClusterElectsALeaderAndServesEveryOperation) {
  SimRun r(Calm(3));
  ASSERT_TRUE(r.world.RunUntil(5000000)) << r.world.Violations()[0];
  EXPECT_NE(r.world.AgreedLeader(), 0u);
  size_t ok = 0;
  for (const Operation& op : r.workload.history()) {
    if (op.outcome == Outcome::kOk) ++ok;
    // Before the first election "no leader" is a fine answer.
    if (op.invoke_us > 2000000 && op.outcome != Outcome::kPending) {
      EXPECT_EQ(op.outcome, Outcome::kOk) << op.Describe();
    }
  }
  EXPECT_GT(ok, 50u);
  EXPECT_EQ(CheckLinearizability(r.workload.history()).verdict, Verdict::kOk);
}

TEST(WorldTest, LeaderIsolatedThenHealedFiveNodes) {
  SimRun r(Calm(5));
  ASSERT_TRUE(r.world.RunUntil(2000000));
  const uint64_t old_leader = r.world.AgreedLeader();
  ASSERT_NE(old_leader, 0u);
  for (uint64_t id : r.world.ids()) {
    if (id == old_leader) continue;
    r.world.Block(old_leader, id);
    r.world.Block(id, old_leader);
  }
  ASSERT_TRUE(r.world.RunUntil(6000000));
  // The majority elected another leader; the old one stepped down
  // (check quorum) and cannot have acknowledged anything meanwhile.
  uint64_t new_leader = 0;
  for (uint64_t id : r.world.ids()) {
    if (r.world.node(id)->GetStatus().is_leader) new_leader = id;
  }
  EXPECT_NE(new_leader, 0u);
  EXPECT_NE(new_leader, old_leader);
  r.world.HealPartitions();
  ASSERT_TRUE(r.world.RunUntil(9000000)) << r.world.Violations()[0];
  EXPECT_NE(r.world.AgreedLeader(), 0u);
  EXPECT_EQ(CheckLinearizability(r.workload.history()).verdict, Verdict::kOk);
}

TEST(WorldTest, CrashEveryNodeThenRecoverEveryAcknowledgedWrite) {
  SimRun r(Calm(3));
  ASSERT_TRUE(r.world.RunUntil(3000000));
  for (uint64_t id : r.world.ids()) r.world.Crash(id, /*torn=*/id == 2);
  ASSERT_TRUE(r.world.RunUntil(3500000));
  for (uint64_t id : r.world.ids()) r.world.Restart(id);
  ASSERT_TRUE(r.world.RunUntil(8000000)) << r.world.Violations()[0];
  EXPECT_NE(r.world.AgreedLeader(), 0u);
  EXPECT_EQ(r.world.stats().crashes, 3u);
  EXPECT_EQ(r.world.stats().restarts, 3u);
  EXPECT_EQ(CheckLinearizability(r.workload.history()).verdict, Verdict::kOk);
}

TEST(WorldTest, FailedFsyncHaltsTheNodeWhichTheWorldRestarts) {
  Scenario s = Calm(3);
  s.faults.down_max_us = 500000;
  SimRun r(s);
  ASSERT_TRUE(r.world.RunUntil(2000000));
  const uint64_t leader = r.world.AgreedLeader();
  ASSERT_NE(leader, 0u);
  r.world.ArmSyncFailure(leader);
  ASSERT_TRUE(r.world.RunUntil(2500000));
  EXPECT_EQ(r.world.stats().sync_failures, 1u);
  EXPECT_EQ(r.world.stats().halts, 1u);
  ASSERT_TRUE(r.world.RunUntil(6000000)) << r.world.Violations()[0];
  EXPECT_TRUE(r.world.up(leader)) << "restarted after its halt";
  EXPECT_EQ(CheckLinearizability(r.workload.history()).verdict, Verdict::kOk);
}

TEST(WorldTest, PausedNodeCatchesUpOnResume) {
  SimRun r(Calm(3));
  ASSERT_TRUE(r.world.RunUntil(2000000));
  const uint64_t leader = r.world.AgreedLeader();
  ASSERT_NE(leader, 0u);
  r.world.Pause(leader);
  ASSERT_TRUE(r.world.RunUntil(5000000));
  r.world.Resume(leader);
  ASSERT_TRUE(r.world.RunUntil(8000000)) << r.world.Violations()[0];
  EXPECT_NE(r.world.AgreedLeader(), 0u);
  EXPECT_EQ(CheckLinearizability(r.workload.history()).verdict, Verdict::kOk);
}

}  // namespace
}  // namespace etcdpp::sim
