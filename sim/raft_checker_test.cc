// The raft checkers' teeth: hand-made states they must reject.
#include "sim/raft_checker.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace etcdpp::sim {
namespace {

// A node's log as index -> entry.
struct FakeNode {
  uint64_t id = 1;
  uint64_t term = 1;
  bool leader = false;
  uint64_t commit = 0;
  uint64_t applied = 0;
  std::map<uint64_t, EntryDigest> log;

  RaftView View() const {
    RaftView v;
    v.id = id;
    v.term = term;
    v.is_leader = leader;
    v.commit = commit;
    v.applied = applied;
    v.entry = [this](uint64_t index, EntryDigest* e) {
      auto it = log.find(index);
      if (it == log.end()) return false;
      *e = it->second;
      return true;
    };
    return v;
  }
};

FakeNode Node(uint64_t id, uint64_t term, std::map<uint64_t, EntryDigest> log,
              uint64_t commit, bool leader = false) {
  FakeNode n;
  n.id = id;
  n.term = term;
  n.log = std::move(log);
  n.commit = commit;
  n.applied = commit;
  n.leader = leader;
  return n;
}

TEST(RaftCheckerTest, HealthyClusterPasses) {
  RaftChecker c;
  std::map<uint64_t, EntryDigest> log = {{1, {1, 10}}, {2, {1, 20}}};
  c.Observe(Node(1, 1, log, 2, /*leader=*/true).View());
  c.Observe(Node(2, 1, log, 1).View());
  c.Observe(Node(2, 1, log, 2).View());
  EXPECT_TRUE(c.violations().empty());
  EXPECT_EQ(c.committed_index(), 2u);
}

// A follower that caught up by snapshot has no entries up to it: fine when
// the snapshot's term matches what was committed there, a violation when not.
TEST(RaftCheckerTest, SnapshotCoversCompactedEntries) {
  RaftChecker c;
  std::map<uint64_t, EntryDigest> log = {
      {1, {1, 10}}, {2, {1, 20}}, {3, {2, 30}}, {4, {2, 40}}};
  c.Observe(Node(1, 2, log, 4, /*leader=*/true).View());
  FakeNode caught_up = Node(2, 2, {{4, {2, 40}}}, 4);
  RaftView good = caught_up.View();
  good.compacted = 3;
  good.compacted_term = 2;
  c.Observe(good);
  EXPECT_TRUE(c.violations().empty()) << c.violations()[0];

  FakeNode wrong = Node(3, 2, {{4, {2, 40}}}, 4);
  RaftView bad = wrong.View();
  bad.compacted = 3;
  bad.compacted_term = 1;
  c.Observe(bad);
  ASSERT_EQ(c.violations().size(), 1u);
  EXPECT_NE(c.violations()[0].find("snapshot at index 3"), std::string::npos)
      << c.violations()[0];
}

TEST(RaftCheckerTest, TwoLeadersInOneTermAreRejected) {
  RaftChecker c;
  c.Observe(Node(1, 3, {}, 0, true).View());
  c.Observe(Node(2, 3, {}, 0, true).View());
  ASSERT_EQ(c.violations().size(), 1u);
  EXPECT_NE(c.violations()[0].find("election safety"), std::string::npos);
}

TEST(RaftCheckerTest, DivergentCommittedEntriesAreRejected) {
  RaftChecker c;
  c.Observe(Node(1, 1, {{1, {1, 10}}}, 1).View());
  c.Observe(Node(2, 1, {{1, {1, 99}}}, 1).View());  // same term, other data
  ASSERT_EQ(c.violations().size(), 1u);
  EXPECT_NE(c.violations()[0].find("state machine safety"), std::string::npos);
}

TEST(RaftCheckerTest, LeaderWithoutCommittedEntryIsRejected) {
  RaftChecker c;
  c.Observe(Node(1, 1, {{1, {1, 10}}, {2, {1, 20}}}, 2).View());
  c.Observe(Node(2, 2, {{1, {1, 10}}}, 1, /*leader=*/true).View());
  ASSERT_FALSE(c.violations().empty());
  EXPECT_NE(c.violations()[0].find("leader completeness"), std::string::npos);
}

// Seed 100018: a vote granted in term 1 reaches its candidate late (it was
// paused), after a term-2 leader committed entry 1. Leading term 1 without
// it is allowed: the entry was committed in a later term.
TEST(RaftCheckerTest, OldTermLeaderNeedNotHoldLaterCommits) {
  RaftChecker c;
  c.Observe(Node(1, 2, {{1, {2, 10}}}, 1).View());
  c.Observe(Node(3, 1, {}, 0, /*leader=*/true).View());
  EXPECT_TRUE(c.violations().empty()) << c.violations()[0];
  // But a leader of term 3 must hold it.
  c.Observe(Node(2, 3, {}, 0, /*leader=*/true).View());
  ASSERT_FALSE(c.violations().empty());
  EXPECT_NE(c.violations()[0].find("leader completeness"), std::string::npos);
}

TEST(RaftCheckerTest, DecreasingTermOrCommitIsRejected) {
  RaftChecker c;
  c.Observe(Node(1, 5, {{1, {1, 10}}, {2, {1, 20}}}, 2).View());
  c.Observe(Node(1, 4, {{1, {1, 10}}, {2, {1, 20}}}, 1).View());
  ASSERT_EQ(c.violations().size(), 3u);  // term, commit, applied
  EXPECT_NE(c.violations()[0].find("monotonic term"), std::string::npos);
  EXPECT_NE(c.violations()[1].find("monotonic commit"), std::string::npos);
}

TEST(RaftCheckerTest, ACrashMayLowerCommitButNotChangeTheLog) {
  RaftChecker c;
  c.Observe(Node(1, 5, {{1, {1, 10}}, {2, {1, 20}}}, 2).View());
  c.OnCrash(1);
  c.Observe(Node(1, 5, {{1, {1, 10}}, {2, {1, 20}}}, 0).View());
  EXPECT_TRUE(c.violations().empty());
  c.Observe(Node(1, 5, {{1, {1, 10}}, {2, {5, 20}}}, 2).View());
  EXPECT_EQ(c.violations().size(), 1u) << "entry 2 changed its term";
}

TEST(RaftCheckerTest, CommitBeyondTheLogIsRejected) {
  RaftChecker c;
  c.Observe(Node(1, 1, {{1, {1, 10}}}, 3).View());
  ASSERT_FALSE(c.violations().empty());
  EXPECT_NE(c.violations()[0].find("commit <= last index"), std::string::npos);
}

TEST(ConvergenceCheckerTest, DifferentStateAtOneAppliedIndexIsRejected) {
  ConvergenceChecker c;
  c.Observe(1, 5, 0xabc);
  c.Observe(2, 5, 0xabc);
  c.Observe(3, 6, 0xdef);
  EXPECT_TRUE(c.violations().empty());
  c.Observe(2, 6, 0x123);
  ASSERT_EQ(c.violations().size(), 1u);
  EXPECT_NE(c.violations()[0].find("applied index 6"), std::string::npos);
}

// Members come and go (sim/churn.h): a member first seen late, with a
// fresh log, is held to the same committed prefix; one that leaves simply
// stops being observed. The checker assumes no fixed id set.
TEST(RaftCheckerTest, MembersJoiningLateAreHeldToTheCommittedPrefix) {
  RaftChecker c;
  std::map<uint64_t, EntryDigest> log = {{1, {1, 10}}, {2, {1, 20}}};
  c.Observe(Node(1, 1, log, 2, /*leader=*/true).View());
  c.Observe(Node(2, 1, log, 2).View());
  // n6 joins: nothing committed yet, then the same prefix.
  c.Observe(Node(6, 1, {}, 0).View());
  c.Observe(Node(6, 1, log, 2).View());
  // n1 left; n6 leads a later term holding every committed entry.
  log[3] = {2, 30};
  c.Observe(Node(6, 2, log, 3, /*leader=*/true).View());
  EXPECT_TRUE(c.violations().empty());
  // n7 joins and shows another entry 2 committed.
  c.Observe(Node(7, 2, {{1, {1, 10}}, {2, {2, 99}}}, 2).View());
  ASSERT_EQ(c.violations().size(), 1u);
  EXPECT_NE(c.violations()[0].find("state machine safety: n7"),
            std::string::npos)
      << c.violations()[0];
  // A joiner that would lead a term already led by another member.
  c.Observe(Node(8, 2, log, 3, /*leader=*/true).View());
  EXPECT_NE(c.violations().back().find("election safety"), std::string::npos)
      << c.violations().back();
}

}  // namespace
}  // namespace etcdpp::sim
