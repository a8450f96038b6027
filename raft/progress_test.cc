#include "raft/progress.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace etcdpp::raft {
namespace {

Progress MakeProgress(ProgressState state, uint64_t match, uint64_t next) {
  Progress pr(256, 0);
  pr.state = state;
  pr.match = match;
  pr.next = next;
  return pr;
}

TEST(ProgressTest, ToString) {
  Progress pr(1, 0);
  pr.match = 1;
  pr.next = 2;
  pr.is_learner = true;
  pr.recent_active = false;
  pr.inflights.Add(123, 1);
  pr.state = ProgressState::kSnapshot;
  pr.pending_snapshot = 123;
  EXPECT_EQ(pr.ToString(),
            "StateSnapshot match=1 next=2 learner paused pendingSnap=123 "
            "inactive inflight=1[full]");
  Progress plain = MakeProgress(ProgressState::kReplicate, 5, 6);
  plain.recent_active = true;
  EXPECT_EQ(plain.ToString(), "StateReplicate match=5 next=6");
}

TEST(ProgressTest, IsPaused) {
  struct Case {
    ProgressState state;
    bool paused;
    bool want;
  };
  const std::vector<Case> cases = {
      {ProgressState::kProbe, false, false},
      {ProgressState::kProbe, true, true},
      // In kReplicate the flag alone does not pause: the window must also
      // be full.
      {ProgressState::kReplicate, false, false},
      {ProgressState::kReplicate, true, false},
      {ProgressState::kSnapshot, false, true},
      {ProgressState::kSnapshot, true, true},
  };
  for (const Case& c : cases) {
    Progress pr = MakeProgress(c.state, 0, 1);
    pr.msg_app_flow_paused = c.paused;
    EXPECT_EQ(pr.IsPaused(), c.want)
        << ProgressStateName(c.state) << " " << c.paused;
  }
}

TEST(ProgressTest, ReplicateIsPausedWhenWindowFull) {
  Progress pr(2, 0);
  pr.BecomeReplicate();
  pr.SentEntries(1, 10);
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(1, 10);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.next, 3u);
  pr.CheckInvariants();
}

TEST(ProgressTest, MaybeUpdateAndDecrToResume) {
  // Both an accepted and a genuinely rejected append unpause a probe.
  Progress pr = MakeProgress(ProgressState::kProbe, 0, 2);
  pr.msg_app_flow_paused = true;
  EXPECT_TRUE(pr.MaybeDecrTo(1, 1));
  EXPECT_FALSE(pr.msg_app_flow_paused);
  pr.msg_app_flow_paused = true;
  EXPECT_TRUE(pr.MaybeUpdate(2));
  pr.CheckInvariants();
}

TEST(ProgressTest, BecomeProbe) {
  struct Case {
    Progress pr;
    uint64_t want_next;
  };
  Progress from_snapshot_behind = MakeProgress(ProgressState::kSnapshot, 1, 5);
  from_snapshot_behind.pending_snapshot = 10;
  Progress from_snapshot_ahead = MakeProgress(ProgressState::kSnapshot, 15, 16);
  from_snapshot_ahead.pending_snapshot = 10;
  const std::vector<Case> cases = {
      {MakeProgress(ProgressState::kReplicate, 1, 5), 2},
      {from_snapshot_behind, 11},
      {from_snapshot_ahead, 16},
  };
  for (Case c : cases) {
    c.pr.BecomeProbe();
    EXPECT_EQ(c.pr.state, ProgressState::kProbe);
    EXPECT_EQ(c.pr.next, c.want_next);
    EXPECT_EQ(c.pr.pending_snapshot, 0u);
    c.pr.CheckInvariants();
  }
}

TEST(ProgressTest, BecomeReplicate) {
  Progress pr = MakeProgress(ProgressState::kProbe, 1, 5);
  pr.BecomeReplicate();
  EXPECT_EQ(pr.state, ProgressState::kReplicate);
  EXPECT_EQ(pr.match, 1u);
  EXPECT_EQ(pr.next, 2u);
  pr.CheckInvariants();
}

TEST(ProgressTest, BecomeSnapshot) {
  Progress pr = MakeProgress(ProgressState::kReplicate, 1, 5);
  pr.SentEntries(2, 10);
  pr.BecomeSnapshot(10);
  EXPECT_EQ(pr.state, ProgressState::kSnapshot);
  EXPECT_EQ(pr.match, 1u);
  EXPECT_EQ(pr.pending_snapshot, 10u);
  EXPECT_EQ(pr.inflights.Count(), 0u) << "the window is cleared";
  EXPECT_FALSE(pr.ShouldSendMsgApp(100, 100));
  pr.CheckInvariants();
}

TEST(ProgressTest, MaybeUpdate) {
  const uint64_t prev_match = 3;
  const uint64_t prev_next = 5;
  struct Case {
    uint64_t update;
    uint64_t want_match;
    uint64_t want_next;
    bool want_ok;
  };
  const std::vector<Case> cases = {
      {prev_match - 1, prev_match, prev_next, false},  // stale
      {prev_match, prev_match, prev_next, false},      // duplicate
      {prev_match + 1, prev_match + 1, prev_next, true},
      {prev_match + 2, prev_match + 2, prev_next + 1, true},  // next follows
  };
  for (const Case& c : cases) {
    Progress pr = MakeProgress(ProgressState::kProbe, prev_match, prev_next);
    EXPECT_EQ(pr.MaybeUpdate(c.update), c.want_ok) << c.update;
    EXPECT_EQ(pr.match, c.want_match) << c.update;
    EXPECT_EQ(pr.next, c.want_next) << c.update;
    pr.CheckInvariants();
  }
}

TEST(ProgressTest, MaybeDecrTo) {
  struct Case {
    ProgressState state;
    uint64_t match;
    uint64_t next;
    uint64_t rejected;
    uint64_t hint;
    bool want_ok;
    uint64_t want_next;
  };
  const std::vector<Case> cases = {
      // kReplicate: a rejection at or below match is stale.
      {ProgressState::kReplicate, 5, 10, 5, 5, false, 10},
      {ProgressState::kReplicate, 5, 10, 4, 4, false, 10},
      // kReplicate: a genuine one restarts right after match.
      {ProgressState::kReplicate, 5, 10, 9, 9, true, 6},
      // kProbe: only the probe at next - 1 can be rejected.
      {ProgressState::kProbe, 0, 0 + 1, 0, 0, true, 1},
      {ProgressState::kProbe, 0, 10, 5, 5, false, 10},
      // kProbe: next moves to min(rejected, hint + 1)...
      {ProgressState::kProbe, 0, 10, 9, 9, true, 9},
      {ProgressState::kProbe, 0, 10, 9, 2, true, 3},
      // ... but never at or below match.
      {ProgressState::kProbe, 5, 10, 9, 0, true, 6},
  };
  for (const Case& c : cases) {
    Progress pr = MakeProgress(c.state, c.match, c.next);
    EXPECT_EQ(pr.MaybeDecrTo(c.rejected, c.hint), c.want_ok)
        << c.rejected << " " << c.hint;
    EXPECT_EQ(pr.match, c.match);
    EXPECT_EQ(pr.next, c.want_next) << c.rejected << " " << c.hint;
    pr.CheckInvariants();
  }
}

TEST(ProgressTest, ProbeSendsOneAppendPerHeartbeat) {
  Progress pr = MakeProgress(ProgressState::kProbe, 0, 5);
  EXPECT_TRUE(pr.ShouldSendMsgApp(10, 0));
  pr.SentEntries(3, 30);
  EXPECT_EQ(pr.next, 5u) << "a probe does not move next";
  EXPECT_EQ(pr.inflights.Count(), 0u) << "a probe is not pipelined";
  EXPECT_FALSE(pr.ShouldSendMsgApp(10, 0));
  pr.PauseMsgAppFlow(false);  // the heartbeat response
  EXPECT_TRUE(pr.ShouldSendMsgApp(10, 0));
  pr.CheckInvariants();
}

TEST(ProgressTest, ReplicatePipelinesUntilWindowFull) {
  Progress pr(2, 0);
  pr.match = 4;
  pr.BecomeReplicate();
  EXPECT_TRUE(pr.CanSendEntries(10));
  pr.UpdateOnEntriesSend(2, 20, 5);
  EXPECT_EQ(pr.next, 7u);
  EXPECT_TRUE(pr.CanSendEntries(10));
  pr.SentEntries(3, 30);
  EXPECT_EQ(pr.next, 10u);
  EXPECT_FALSE(pr.CanSendEntries(10)) << "the window is full";
  // All sent and the window full: only a commit update warrants a message.
  pr.SentCommit(4);
  EXPECT_FALSE(pr.ShouldSendMsgApp(10, 4));
  EXPECT_TRUE(pr.ShouldSendMsgApp(10, 8));
  // The follower acknowledges the first append: room again.
  EXPECT_TRUE(pr.MaybeUpdate(6));
  pr.inflights.FreeLE(6);
  EXPECT_EQ(pr.inflights.Count(), 1u);
  EXPECT_TRUE(pr.CanSendEntries(12));
  pr.CheckInvariants();
}

TEST(ProgressTest, CommitTracking) {
  Progress pr = MakeProgress(ProgressState::kReplicate, 3, 6);
  EXPECT_TRUE(pr.CanBumpCommit(2));
  // Only entries up to next - 1 can be committed by the follower.
  pr.SentCommit(100);
  EXPECT_EQ(pr.pending_commit, 5u);
  EXPECT_FALSE(pr.CanBumpCommit(100));
  // Rewinding next rewinds the commit known to be in flight.
  EXPECT_TRUE(pr.MaybeDecrTo(5, 5));
  EXPECT_EQ(pr.next, 4u);
  EXPECT_EQ(pr.pending_commit, 3u);
  pr.CheckInvariants();
}

TEST(ProgressDeathTest, UpdateOnEntriesSendAtWrongIndexDies) {
  Progress pr = MakeProgress(ProgressState::kReplicate, 3, 6);
  EXPECT_DEATH(pr.UpdateOnEntriesSend(1, 1, 7), "entries are sent starting");
}

TEST(ProgressDeathTest, SendingEntriesInSnapshotDies) {
  Progress pr = MakeProgress(ProgressState::kSnapshot, 3, 6);
  EXPECT_DEATH(pr.SentEntries(1, 1), "waiting for a snapshot");
}

TEST(ProgressDeathTest, CheckInvariantsNamesBrokenInvariant) {
  Progress pr = MakeProgress(ProgressState::kProbe, 5, 5);
  EXPECT_DEATH(pr.CheckInvariants(), "match < next");
}

}  // namespace
}  // namespace etcdpp::raft
