#include "raft/tracker.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace etcdpp::raft {
namespace {

// A tracker with the given voters (incoming and outgoing) and learners, each
// with a progress, as a Changer would build it.
ProgressTracker MakeTracker(const std::vector<uint64_t>& incoming,
                            const std::vector<uint64_t>& outgoing,
                            const std::vector<uint64_t>& learners) {
  ProgressTracker tracker(8, 0);
  for (uint64_t id : incoming) tracker.config.voters.incoming.Insert(id);
  for (uint64_t id : outgoing) tracker.config.voters.outgoing.Insert(id);
  for (uint64_t id : tracker.config.voters.IDs()) {
    tracker.progress.emplace(id, tracker.NewProgress());
  }
  for (uint64_t id : learners) {
    tracker.config.learners.insert(id);
    Progress pr = tracker.NewProgress();
    pr.is_learner = true;
    tracker.progress.emplace(id, pr);
  }
  tracker.CheckInvariants();
  return tracker;
}

void SetMatch(ProgressTracker& tracker, uint64_t id, uint64_t match) {
  Progress& pr = tracker.progress.at(id);
  pr.match = match;
  pr.next = match + 1;
}

TEST(ProgressTrackerTest, EmptyTracker) {
  ProgressTracker tracker(4, 0);
  tracker.CheckInvariants();
  EXPECT_FALSE(tracker.IsSingleton());
  EXPECT_EQ(tracker.Committed(), std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(tracker.VoterNodes().empty());
  EXPECT_EQ(tracker.config.ToString(), "voters=()");
}

TEST(ProgressTrackerTest, ConfStateAndToString) {
  ProgressTracker tracker = MakeTracker({3, 1, 2}, {1, 2, 4}, {6, 5});
  tracker.config.learners_next.insert(4);
  tracker.config.auto_leave = true;
  tracker.CheckInvariants();
  const raftpb::ConfState cs = tracker.ConfState();
  EXPECT_EQ(std::vector<uint64_t>(cs.voters().begin(), cs.voters().end()),
            (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(std::vector<uint64_t>(cs.voters_outgoing().begin(),
                                  cs.voters_outgoing().end()),
            (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(std::vector<uint64_t>(cs.learners().begin(), cs.learners().end()),
            (std::vector<uint64_t>{5, 6}));
  EXPECT_EQ(std::vector<uint64_t>(cs.learners_next().begin(),
                                  cs.learners_next().end()),
            (std::vector<uint64_t>{4}));
  EXPECT_TRUE(cs.auto_leave());
  EXPECT_EQ(tracker.config.ToString(),
            "voters=(1 2 3)&&(1 2 4) learners=(5 6) learners_next=(4) "
            "autoleave");
  EXPECT_EQ(tracker.VoterNodes(), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(tracker.LearnerNodes(), (std::vector<uint64_t>{5, 6}));
}

TEST(ProgressTrackerTest, IsSingleton) {
  EXPECT_TRUE(MakeTracker({1}, {}, {2}).IsSingleton());
  EXPECT_FALSE(MakeTracker({1, 2}, {}, {}).IsSingleton());
  EXPECT_FALSE(MakeTracker({1}, {1, 2}, {}).IsSingleton());
}

TEST(ProgressTrackerTest, CommittedCountsOnlyVoters) {
  ProgressTracker tracker = MakeTracker({1, 2, 3}, {}, {4, 5});
  SetMatch(tracker, 1, 10);
  SetMatch(tracker, 2, 7);
  SetMatch(tracker, 3, 3);
  // Learners far ahead do not commit anything.
  SetMatch(tracker, 4, 100);
  SetMatch(tracker, 5, 100);
  EXPECT_EQ(tracker.Committed(), 7u);
}

TEST(ProgressTrackerTest, CommittedWhileJointNeedsBothHalves) {
  ProgressTracker tracker = MakeTracker({1, 2, 3}, {3, 4, 5}, {});
  SetMatch(tracker, 1, 10);
  SetMatch(tracker, 2, 10);
  SetMatch(tracker, 3, 4);
  SetMatch(tracker, 4, 6);
  SetMatch(tracker, 5, 2);
  EXPECT_EQ(tracker.Committed(), 4u);
}

TEST(ProgressTrackerTest, VisitInIdOrder) {
  ProgressTracker tracker = MakeTracker({9, 3, 7}, {}, {5, 1});
  std::vector<uint64_t> seen;
  tracker.Visit([&](uint64_t id, Progress& pr) {
    seen.push_back(id);
    pr.recent_active = true;
  });
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 3, 5, 7, 9}));
  const ProgressTracker& const_tracker = tracker;
  int active = 0;
  const_tracker.Visit(
      [&](uint64_t, const Progress& pr) { active += pr.recent_active; });
  EXPECT_EQ(active, 5);
}

TEST(ProgressTrackerTest, QuorumActive) {
  ProgressTracker tracker = MakeTracker({1, 2, 3}, {}, {4});
  tracker.progress.at(4).recent_active = true;
  EXPECT_FALSE(tracker.QuorumActive()) << "learners do not count";
  tracker.progress.at(1).recent_active = true;
  EXPECT_FALSE(tracker.QuorumActive());
  tracker.progress.at(2).recent_active = true;
  EXPECT_TRUE(tracker.QuorumActive());
}

TEST(ProgressTrackerTest, QuorumActiveWhileJoint) {
  ProgressTracker tracker = MakeTracker({1, 2, 3}, {4, 5, 6}, {});
  for (uint64_t id : {1, 2}) tracker.progress.at(id).recent_active = true;
  EXPECT_FALSE(tracker.QuorumActive()) << "the outgoing half is inactive";
  for (uint64_t id : {4, 5}) tracker.progress.at(id).recent_active = true;
  EXPECT_TRUE(tracker.QuorumActive());
}

TEST(ProgressTrackerTest, Votes) {
  ProgressTracker tracker = MakeTracker({1, 2, 3, 4, 5}, {}, {6});
  tracker.RecordVote(1, true);
  tracker.RecordVote(2, false);
  tracker.RecordVote(6, true);  // a learner: not counted
  tracker.RecordVote(9, true);  // not a member: not counted
  VoteTally tally = tracker.TallyVotes();
  EXPECT_EQ(tally.granted, 1);
  EXPECT_EQ(tally.rejected, 1);
  EXPECT_EQ(tally.result, VoteResult::kPending);

  tracker.RecordVote(2, true);  // a second vote of 2 does not count
  tracker.RecordVote(3, true);
  tally = tracker.TallyVotes();
  EXPECT_EQ(tally.granted, 2);
  EXPECT_EQ(tally.rejected, 1);
  EXPECT_EQ(tally.result, VoteResult::kPending);

  tracker.RecordVote(4, true);
  EXPECT_EQ(tracker.TallyVotes().result, VoteResult::kWon);

  tracker.ResetVotes();
  for (uint64_t id : {1, 2, 3}) tracker.RecordVote(id, false);
  tally = tracker.TallyVotes();
  EXPECT_EQ(tally.granted, 0);
  EXPECT_EQ(tally.rejected, 3);
  EXPECT_EQ(tally.result, VoteResult::kLost);
}

TEST(ProgressTrackerTest, ProgressMapToString) {
  ProgressTracker tracker = MakeTracker({2, 1}, {}, {});
  SetMatch(tracker, 2, 4);
  EXPECT_EQ(ProgressMapToString(tracker.progress),
            "1: StateProbe match=0 next=1 inactive\n"
            "2: StateProbe match=4 next=5 inactive\n");
}

TEST(ProgressTrackerDeathTest, VoterWithoutProgressDies) {
  ProgressTracker tracker(4, 0);
  tracker.config.voters.incoming.Insert(1);
  EXPECT_DEATH(tracker.CheckInvariants(), "every voter has a progress");
}

TEST(ProgressTrackerDeathTest, ProgressWithoutMemberDies) {
  ProgressTracker tracker = MakeTracker({1}, {}, {});
  tracker.progress.emplace(2, tracker.NewProgress());
  EXPECT_DEATH(tracker.CheckInvariants(), "every progress belongs to a member");
}

TEST(ProgressTrackerDeathTest, VoterAndLearnerDies) {
  ProgressTracker tracker = MakeTracker({1, 2}, {}, {});
  tracker.config.learners.insert(2);
  tracker.progress.at(2).is_learner = true;
  EXPECT_DEATH(tracker.CheckInvariants(), "not marked learner|no learner is");
}

TEST(ProgressTrackerDeathTest, LearnersNextOutsideJointDies) {
  ProgressTracker tracker = MakeTracker({1, 2}, {}, {});
  tracker.config.learners_next.insert(2);
  EXPECT_DEATH(tracker.CheckInvariants(), "learners_next are outgoing voters");
}

TEST(ProgressTrackerDeathTest, AutoLeaveOutsideJointDies) {
  ProgressTracker tracker = MakeTracker({1, 2}, {}, {});
  tracker.config.auto_leave = true;
  EXPECT_DEATH(tracker.CheckInvariants(), "auto_leave only while joint");
}

}  // namespace
}  // namespace etcdpp::raft
