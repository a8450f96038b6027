// The world's determinism, and named scenarios for known hard cases.
#include "sim/world.h"

#include <algorithm>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
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
  explicit SimRun(const Scenario& s, std::ostream* out = nullptr)
      : trace(out),
        world(s, &trace), nemesis(&world, s.faults), workload(&world, s.workload) {
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
  // The recovery paths are counted from the node's log lines: a renamed
  // line must not silently zero a count.
  EXPECT_EQ(r.world.stats().recovery[World::kBootstrap], 3u);
  EXPECT_EQ(r.world.stats().recovery[World::kReplayWal], 3u);
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

// Snapshots every 20 entries, 5 kept behind: a follower cut off while
// hundreds of writes commit can only catch up from a snapshot, which the
// world carries over the simulated network into its disk.
TEST(WorldTest, PartitionedFollowerCatchesUpBySnapshot) {
  Scenario s = Calm(3);
  s.snapshot_count = 20;
  s.snapshot_catchup_entries = 5;
  s.snapshots_to_keep = 2;
  s.workload.clients = 8;
  s.workload.think_max_us = 5000;
  std::ostringstream lines;
  SimRun r(s, &lines);
  ASSERT_TRUE(r.world.RunUntil(2000000)) << r.world.Violations()[0];
  const uint64_t leader = r.world.AgreedLeader();
  ASSERT_NE(leader, 0u);
  const uint64_t lagging = leader == 3 ? 2 : 3;
  for (uint64_t id : r.world.ids()) {
    if (id == lagging) continue;
    r.world.Block(lagging, id);
    r.world.Block(id, lagging);
  }
  const uint64_t cut_at = r.world.node(lagging)->GetStatus().applied_index;
  int64_t t = 2000000;
  // Until more than 200 entries committed without it (bounded).
  while (t < 30000000) {
    t += 500000;
    ASSERT_TRUE(r.world.RunUntil(t)) << r.world.Violations()[0];
    // The majority side keeps its leader: no faults but the partition.
    if (r.world.node(leader)->GetStatus().commit_index > cut_at + 200) {
      break;
    }
  }
  ASSERT_EQ(r.world.stats().snapshots_delivered, 0u);
  uint64_t max_commit = 0;
  for (uint64_t id : r.world.ids()) {
    max_commit =
        std::max(max_commit, r.world.node(id)->GetStatus().commit_index);
  }
  ASSERT_GT(max_commit, cut_at + 200);
  r.world.HealPartitions();
  r.workload.Stop();
  ASSERT_TRUE(r.world.RunUntil(t + 5000000)) << r.world.Violations()[0];
  EXPECT_GE(r.world.stats().snapshots_delivered, 1u);
  EXPECT_NE(lines.str().find(absl::StrCat("snapshot deliver n", leader, "->n",
                                         lagging)),
            std::string::npos)
      << "the lagging follower received a snapshot from the leader";
  const server::Node* lag = r.world.node(lagging);
  const server::Node* lead = r.world.node(leader);
  ASSERT_NE(lag, nullptr);
  ASSERT_NE(lead, nullptr);
  EXPECT_EQ(lag->GetStatus().applied_index, lead->GetStatus().applied_index);
  EXPECT_EQ(KvDigest(lag->applier().store()),
            KvDigest(lead->applier().store()));
  EXPECT_EQ(CheckLinearizability(r.workload.history()).verdict, Verdict::kOk);
}

}  // namespace
}  // namespace etcdpp::sim
