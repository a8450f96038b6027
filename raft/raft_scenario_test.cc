// Scenario tests in the in-test network: pre-vote, check-quorum, leader
// stickiness, log repair with fast backtracking, Figure 8, snapshots,
// ReadIndex, joint consensus, learners, leader transfer, bad peer input.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/raft.h"
#include "raft/raw_node.h"
#include "raft/testing/network.h"

namespace etcdpp::raft {
namespace {

using testing::Network;
using testing::NetworkOptions;

NetworkOptions Opts(std::vector<uint64_t> voters,
                    std::function<void(Config&)> customize = nullptr) {
  NetworkOptions o;
  o.voters = std::move(voters);
  o.customize = std::move(customize);
  return o;
}

void TickAndStabilize(Network& net, int ticks) {
  for (int t = 0; t < ticks; ++t) {
    net.TickAll();
    net.Stabilize();
  }
}

std::vector<uint64_t> LogTerms(Network& net, uint64_t id) {
  std::vector<uint64_t> out;
  for (const raftpb::Entry& e : net.raft(id).log().AllEntries()) {
    out.push_back(e.term());
  }
  return out;
}

void SnapshotAndCompact(Network& net, uint64_t id) {
  const Raft& r = net.raft(id);
  const uint64_t applied = r.log().applied();
  raftpb::ConfState cs = r.tracker().ConfState();
  ASSERT_TRUE(net.storage(id).CreateSnapshot(applied, &cs, "snap").ok());
  ASSERT_TRUE(net.storage(id).Compact(applied).ok());
}

// ---------------------------------------------------------------------------
// Pre-vote, check-quorum, stickiness.

// Thesis §9.6: a partitioned node that rejoins does not disrupt the leader
// when pre-vote is on: its pre-votes fail, so its term never grows.
TEST(PreVoteTest, RejoiningNodeDoesNotDisruptLeader) {
  Network net(Opts({1, 2, 3}, [](Config& c) { c.pre_vote = true; }));
  net.Campaign(1);
  ASSERT_EQ(net.raft(1).state(), StateType::kLeader);
  net.Isolate(3);
  for (int t = 0; t < 100; ++t) {
    net.Tick(3);
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(3).term(), 1u);
  EXPECT_EQ(net.raft(3).state(), StateType::kPreCandidate);
  net.Recover();
  TickAndStabilize(net, 3);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.raft(1).term(), 1u);
  EXPECT_EQ(net.raft(3).state(), StateType::kFollower);
}

// Without pre-vote the same schedule deposes the leader: the test above
// has teeth.
TEST(PreVoteTest, WithoutPreVoteTheRejoiningNodeDisrupts) {
  Network net(Opts({1, 2, 3}));
  net.Campaign(1);
  net.Isolate(3);
  for (int t = 0; t < 100; ++t) {
    net.Tick(3);
    net.Stabilize();
  }
  EXPECT_GT(net.raft(3).term(), 1u);
  net.Recover();
  TickAndStabilize(net, 30);
  EXPECT_GT(net.raft(1).term(), 1u);
}

TEST(PreVoteTest, PreVoteElectsALeaderAndIncrementsTermOnce) {
  Network net(Opts({1, 2, 3}, [](Config& c) { c.pre_vote = true; }));
  net.Campaign(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(net.raft(1).term(), 1u);
  EXPECT_EQ(net.raft(2).term(), 1u);
}

// Thesis §6.2: a leader that loses contact with a quorum steps down within
// an election timeout.
TEST(CheckQuorumTest, IsolatedLeaderStepsDown) {
  Network net(Opts({1, 2, 3}, [](Config& c) { c.check_quorum = true; }));
  net.Campaign(1);
  net.Isolate(1);
  for (int t = 0; t < 2 * 10; ++t) net.Tick(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kFollower);
}

TEST(CheckQuorumTest, ConnectedLeaderStaysLeader) {
  Network net(Opts({1, 2, 3}, [](Config& c) { c.check_quorum = true; }));
  net.Campaign(1);
  TickAndStabilize(net, 50);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.raft(1).term(), 1u);
}

// Thesis §4.2.3: while a follower hears from its leader it ignores vote
// requests, so a disruptive node cannot depose a live leader.
TEST(CheckQuorumTest, FollowerInLeaseIgnoresVoteRequests) {
  Network net(Opts({1, 2, 3}, [](Config& c) { c.check_quorum = true; }));
  net.Campaign(1);
  raftpb::Message vote;
  vote.set_type(raftpb::MsgVote);
  vote.set_from(3);
  vote.set_to(2);
  vote.set_term(5);
  vote.set_index(100);
  vote.set_log_term(5);
  ASSERT_TRUE(net.node(2).Step(vote).ok());
  EXPECT_EQ(net.raft(2).term(), 1u);
  EXPECT_EQ(net.raft(2).vote(), 1u);
  EXPECT_EQ(net.raft(2).drops().ignored, 1u);
  // A transfer's campaign passes the lease.
  vote.set_context(kCampaignTransfer);
  ASSERT_TRUE(net.node(2).Step(vote).ok());
  EXPECT_EQ(net.raft(2).term(), 5u);
  EXPECT_EQ(net.raft(2).vote(), 3u);
}

// ---------------------------------------------------------------------------
// Log repair.

// §5.3: a follower's conflicting uncommitted entries are overwritten by the
// leader's, and fast backtracking finds the divergence in few round trips.
TEST(LogRepairTest, ConflictingEntriesTruncatedWithFastBacktracking) {
  Network net(Opts({1, 2, 3, 4, 5}));
  net.Campaign(1);
  ASSERT_TRUE(net.node(1).Propose("committed").ok());
  net.Stabilize();
  net.Isolate(1);
  for (int k = 0; k < 50; ++k) {
    ASSERT_TRUE(net.node(1).Propose("lost" + std::to_string(k)).ok());
  }
  net.Stabilize();
  net.Campaign(2);
  ASSERT_EQ(net.raft(2).state(), StateType::kLeader);
  for (int k = 0; k < 30; ++k) {
    ASSERT_TRUE(net.node(2).Propose("new" + std::to_string(k)).ok());
  }
  net.Stabilize();
  net.Recover();
  int rejects = 0;
  for (int round = 0; round < 5; ++round) {
    net.Tick(2);
    for (int i = 0; i < 100 && (!net.queue().empty() || round == 0); ++i) {
      net.ProcessReadies();
      for (const raftpb::Message& m : net.queue()) {
        if (m.type() == raftpb::MsgAppResp && m.reject() && m.from() == 1) {
          ++rejects;
        }
      }
      net.DeliverAll();
      if (net.queue().empty()) break;
    }
  }
  net.Stabilize();
  EXPECT_EQ(LogTerms(net, 1), LogTerms(net, 2));
  EXPECT_EQ(net.AppliedData(1), net.AppliedData(2));
  EXPECT_LE(rejects, 2) << "one rejection per term, not per entry";
  EXPECT_EQ(net.AppliedData(1).size(), 31u);
}

// §5.3: a follower missing entries is brought up to date.
TEST(LogRepairTest, LaggingFollowerCatchesUp) {
  Network net;
  net.Campaign(1);
  net.Isolate(3);
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(net.node(1).Propose(std::to_string(k)).ok());
  }
  net.Stabilize();
  net.Recover();
  TickAndStabilize(net, 2);
  EXPECT_EQ(net.AppliedData(3), net.AppliedData(1));
  EXPECT_EQ(net.AppliedData(3).size(), 20u);
}

// max_size_per_msg batches entries; a small inflight window still moves
// everything.
TEST(LogRepairTest, SmallMessagesAndWindowStillReplicateEverything) {
  Network net(Opts({1, 2, 3}, [](Config& c) {
    c.max_size_per_msg = 1;  // one entry per message
    c.max_inflight_msgs = 2;
    c.max_inflight_bytes = 64;
  }));
  net.Campaign(1);
  for (int k = 0; k < 40; ++k) {
    ASSERT_TRUE(net.node(1).Propose("entry" + std::to_string(k)).ok());
  }
  net.Stabilize();
  TickAndStabilize(net, 2);
  EXPECT_EQ(net.AppliedData(2).size(), 40u);
  EXPECT_EQ(net.AppliedData(3), net.AppliedData(1));
}

// ---------------------------------------------------------------------------
// Figure 8 / §5.4.2: a leader never commits an entry of an earlier term by
// counting replicas; it commits it only with an entry of its own term.
TEST(Figure8Test, OldTermEntryNotCommittedByCountingReplicas) {
  Network net(Opts({1, 2, 3, 4, 5}));
  testing::PlayFigure8(net, [] {});
  // (c) Only index 2 (term 1) reaches 3: a majority (1, 2, 3) holds it, yet
  // it must not commit.
  net.ClearIgnored();
  ASSERT_TRUE(net.node(3).Step(testing::Figure8OldEntryAppend(3)).ok());
  net.Stabilize();
  // Leader 1 saw 3's ack of index 2; with 1 and 2 that is a majority.
  EXPECT_GE(net.raft(1).tracker().progress.at(3).match, 2u);
  EXPECT_EQ(net.raft(1).log().committed(), 1u)
      << "index 2 has term 1: counting replicas must not commit it";
  // (e) Once the term-3 entry is replicated, both commit.
  TickAndStabilize(net, 2);
  EXPECT_GE(net.raft(1).log().committed(), 3u);
  EXPECT_EQ(net.AppliedData(1), std::vector<std::string>{"term1"});
}

// ---------------------------------------------------------------------------
// Snapshots.

TEST(SnapshotTest, FarBehindFollowerCatchesUpBySnapshot) {
  Network net;
  net.Campaign(1);
  net.Isolate(3);
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(net.node(1).Propose(std::to_string(k)).ok());
  }
  net.Stabilize();
  SnapshotAndCompact(net, 1);
  ASSERT_GT(net.storage(1).FirstIndex(), 2u);
  ASSERT_TRUE(net.node(1).Propose("after").ok());
  net.Stabilize();
  net.Recover();
  TickAndStabilize(net, 3);
  EXPECT_EQ(net.raft(3).log().committed(), net.raft(1).log().committed());
  EXPECT_EQ(net.storage(3).Snapshot()->metadata().index(),
            net.storage(1).Snapshot()->metadata().index());
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"after"});
  EXPECT_EQ(net.raft(1).tracker().progress.at(3).state,
            ProgressState::kReplicate);
}

TEST(SnapshotTest, FailedSnapshotIsRetriedAfterReportSnapshot) {
  Network net;
  net.Campaign(1);
  net.Isolate(3);
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.Stabilize();
  SnapshotAndCompact(net, 1);
  net.Recover();
  net.Tick(1);
  // The snapshot is lost in transit, and nobody has told the leader yet.
  bool lost = false;
  for (int round = 0; round < 10 && !lost; ++round) {
    net.ProcessReadies();
    auto& q = net.queue();
    for (size_t i = 0; i < q.size() && !lost; ++i) {
      if (q[i].type() == raftpb::MsgSnap) {
        q.erase(q.begin() + i);
        lost = true;
      }
    }
    net.DeliverAll();
  }
  ASSERT_TRUE(lost);
  net.Stabilize();
  ASSERT_EQ(net.raft(1).tracker().progress.at(3).state,
            ProgressState::kSnapshot);
  TickAndStabilize(net, 2);  // no progress while waiting on the snapshot
  EXPECT_LT(net.raft(3).log().committed(), net.raft(1).log().committed());
  net.node(1).ReportSnapshot(3, SnapshotStatus::kFailure);
  EXPECT_EQ(net.raft(1).tracker().progress.at(3).state, ProgressState::kProbe);
  TickAndStabilize(net, 3);
  EXPECT_EQ(net.raft(3).log().committed(), net.raft(1).log().committed());
}

// ---------------------------------------------------------------------------
// ReadIndex (thesis §6.4).

TEST(ReadIndexTest, ManyReadsShareOneHeartbeatRound) {
  Network net;
  net.Campaign(1);
  net.delivered_by_type().clear();
  for (int k = 0; k < 10; ++k) {
    ASSERT_TRUE(net.node(1).ReadIndex("r" + std::to_string(k)).ok());
  }
  net.Stabilize();
  EXPECT_EQ(net.delivered_by_type()[raftpb::MsgHeartbeat], 2);
  ASSERT_EQ(net.read_states(1).size(), 10u);
  for (const ReadState& rs : net.read_states(1)) {
    EXPECT_EQ(rs.index, net.raft(1).log().committed());
  }
  EXPECT_EQ(net.read_states(1)[9].request_ctx, "r9");
}

TEST(ReadIndexTest, FollowerReadIsForwardedToTheLeader) {
  Network net;
  net.Campaign(1);
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.Stabilize();
  ASSERT_TRUE(net.node(2).ReadIndex("ctx").ok());
  net.Stabilize();
  ASSERT_EQ(net.read_states(2).size(), 1u);
  EXPECT_EQ(net.read_states(2)[0].index, 2u);
  EXPECT_EQ(net.read_states(2)[0].request_ctx, "ctx");
}

TEST(ReadIndexTest, LeaseBasedReadNeedsNoHeartbeat) {
  Network net(Opts({1, 2, 3}, [](Config& c) {
    c.check_quorum = true;
    c.read_only_option = ReadOnlyOption::kLeaseBased;
  }));
  net.Campaign(1);
  net.delivered_by_type().clear();
  ASSERT_TRUE(net.node(1).ReadIndex("lease").ok());
  net.Stabilize();
  EXPECT_EQ(net.delivered_by_type()[raftpb::MsgHeartbeat], 0);
  ASSERT_EQ(net.read_states(1).size(), 1u);
}

TEST(ReadIndexTest, ReadWaitsForACommitInTheLeadersTerm) {
  Network net;
  net.IgnoreType(raftpb::MsgApp);
  net.Campaign(1);
  ASSERT_EQ(net.raft(1).state(), StateType::kLeader);
  ASSERT_TRUE(net.node(1).ReadIndex("early").ok());
  net.Stabilize();
  EXPECT_TRUE(net.read_states(1).empty());
  net.ClearIgnored();
  TickAndStabilize(net, 2);
  ASSERT_EQ(net.read_states(1).size(), 1u);
  EXPECT_EQ(net.read_states(1)[0].index, 1u);
}

// A deposed leader cut off from the cluster cannot confirm a read, so it
// never serves stale data; the new leader's read sees the new write.
TEST(ReadIndexTest, NoStaleReadAcrossLeaderChange) {
  Network net;
  net.Campaign(1);
  net.Isolate(1);
  net.Campaign(2);
  ASSERT_TRUE(net.node(2).Propose("new").ok());
  net.Stabilize();
  ASSERT_TRUE(net.node(1).ReadIndex("stale?").ok());
  TickAndStabilize(net, 5);
  EXPECT_TRUE(net.read_states(1).empty());
  ASSERT_TRUE(net.node(3).ReadIndex("fresh").ok());
  net.Stabilize();
  ASSERT_EQ(net.read_states(3).size(), 1u);
  EXPECT_GE(net.read_states(3)[0].index, 3u);
}

// ---------------------------------------------------------------------------
// Membership.

raftpb::ConfChangeSingle Change(raftpb::ConfChangeType type, uint64_t id) {
  raftpb::ConfChangeSingle c;
  c.set_type(type);
  c.set_node_id(id);
  return c;
}

TEST(MembershipTest, AddVoterWithSimpleChange) {
  Network net;
  net.Campaign(1);
  raftpb::ConfChange cc;
  cc.set_type(raftpb::ConfChangeAddNode);
  cc.set_node_id(4);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  net.Stabilize();
  SnapshotAndCompact(net, 1);
  net.AddEmptyNode(4);
  TickAndStabilize(net, 3);
  EXPECT_EQ(net.raft(4).tracker().VoterNodes(),
            (std::vector<uint64_t>{1, 2, 3, 4}));
  ASSERT_TRUE(net.node(1).Propose("four").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(4), std::vector<std::string>{"four"});
}

TEST(MembershipTest, AtMostOnePendingConfChange) {
  Network net;
  net.Campaign(1);
  net.Isolate(1);  // nothing commits
  raftpb::ConfChange cc;
  cc.set_type(raftpb::ConfChangeAddLearnerNode);
  cc.set_node_id(4);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  cc.set_node_id(5);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  net.Recover();
  TickAndStabilize(net, 2);
  // The second change was replaced by an empty entry.
  EXPECT_EQ(net.raft(1).tracker().LearnerNodes(), std::vector<uint64_t>{4});
}

// Thesis §4.3: joint consensus replaces a majority, leader included, and
// leaves the joint configuration automatically.
TEST(MembershipTest, JointConsensusReplacesMajorityIncludingLeader) {
  Network net;
  net.Campaign(1);
  raftpb::ConfChangeV2 cc;
  *cc.add_changes() = Change(raftpb::ConfChangeAddNode, 4);
  *cc.add_changes() = Change(raftpb::ConfChangeAddNode, 5);
  *cc.add_changes() = Change(raftpb::ConfChangeRemoveNode, 1);
  *cc.add_changes() = Change(raftpb::ConfChangeRemoveNode, 2);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  net.Stabilize();
  ASSERT_TRUE(net.raft(1).tracker().config.voters.IsJoint());
  // The joint config needs 4 or 5 to leave: bring them in by snapshot.
  SnapshotAndCompact(net, 1);
  net.AddEmptyNode(4);
  net.AddEmptyNode(5);
  TickAndStabilize(net, 3);
  for (uint64_t id : {3, 4, 5}) {
    EXPECT_FALSE(net.raft(id).tracker().config.voters.IsJoint()) << id;
    EXPECT_EQ(net.raft(id).tracker().VoterNodes(),
              (std::vector<uint64_t>{3, 4, 5}))
        << id;
  }
  // The removed leader stepped down; 3, 4, 5 elect a new one.
  EXPECT_NE(net.raft(1).state(), StateType::kLeader);
  net.Isolate(1);
  net.Isolate(2);
  TickAndStabilize(net, 40);
  const uint64_t leader = net.Leader();
  ASSERT_TRUE(leader == 3 || leader == 4 || leader == 5) << leader;
  ASSERT_TRUE(net.node(leader).Propose("after").ok());
  net.Stabilize();
  for (uint64_t id : {3, 4, 5}) {
    EXPECT_EQ(net.AppliedData(id), std::vector<std::string>{"after"}) << id;
  }
}

// A leader demotes itself, and the link to the only voter left fails just
// after that voter acknowledged the change: the voter never hears it
// committed, so it still campaigns in the old configuration and needs the
// old leader's vote, which its shorter log cannot win; the old leader, a
// learner now, cannot campaign. The refused vote carries the commit point,
// the voter commits and applies the change and leads alone. (Found by
// RaftSafetyTest's liveness phase.)
TEST(MembershipTest, VoterLearnsTheCommitFromARefusedVote) {
  Network net(Opts({1, 2}, [](Config& c) { c.check_quorum = true; }));
  net.Campaign(1);
  ASSERT_EQ(net.raft(1).state(), StateType::kLeader);
  raftpb::ConfChangeV2 cc;
  *cc.add_changes() = Change(raftpb::ConfChangeAddLearnerNode, 1);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  net.ProcessReadies();  // 1 appends and sends the change
  net.DeliverAll();      // 2 takes it
  // A proposal after it reaches only 1's log.
  ASSERT_TRUE(net.node(1).Propose("only on 1").ok());
  net.ProcessReadies();  // 2 acknowledges the change; 1 sends the proposal
  std::erase_if(net.queue(),
                [](const raftpb::Message& m) { return m.from() == 1; });
  net.DeliverAll();      // 1 commits the change (the old config counts 1, 2)
  net.ProcessReadies();  // 1 applies it: a learner now
  net.queue().clear();   // what would tell 2 of the commit is lost
  net.Cut(1, 2);
  ASSERT_EQ(net.raft(1).tracker().VoterNodes(), std::vector<uint64_t>{2});
  ASSERT_EQ(net.raft(2).tracker().VoterNodes(), (std::vector<uint64_t>{1, 2}));
  // Check-quorum deposes 1: its only voter does not answer.
  TickAndStabilize(net, 30);
  ASSERT_NE(net.raft(1).state(), StateType::kLeader);
  ASSERT_GT(net.raft(1).log().LastIndex(), net.raft(2).log().LastIndex());
  ASSERT_LT(net.raft(2).log().committed(), net.raft(1).log().committed());

  net.Recover();
  TickAndStabilize(net, 50);
  EXPECT_EQ(net.raft(2).state(), StateType::kLeader);
  EXPECT_EQ(net.raft(2).tracker().VoterNodes(), std::vector<uint64_t>{2});
  ASSERT_TRUE(net.node(2).Propose("after").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(1), std::vector<std::string>{"after"});
  EXPECT_EQ(net.AppliedData(2), std::vector<std::string>{"after"});
}

TEST(MembershipTest, LearnerReceivesLogNeverVotesAndIsPromoted) {
  NetworkOptions o;
  o.voters = {1, 2, 3};
  o.learners = {4};
  Network net(o);
  net.Campaign(1);
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(4), std::vector<std::string>{"x"});
  EXPECT_TRUE(net.raft(4).is_learner());
  // A learner never campaigns.
  net.Isolate(4);
  for (int t = 0; t < 100; ++t) net.Tick(4);
  EXPECT_EQ(net.raft(4).state(), StateType::kFollower);
  net.Recover();
  // A learner's ack never counts toward a commit.
  net.Isolate(2);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("y").ok());
  net.Stabilize();
  EXPECT_EQ(net.raft(1).log().committed(), 2u);
  EXPECT_EQ(net.raft(4).log().LastIndex(), 3u);
  net.Recover();
  TickAndStabilize(net, 1);
  // Promotion.
  raftpb::ConfChange cc;
  cc.set_type(raftpb::ConfChangeAddNode);
  cc.set_node_id(4);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  net.Stabilize();
  EXPECT_FALSE(net.raft(4).is_learner());
  EXPECT_EQ(net.raft(1).tracker().VoterNodes(),
            (std::vector<uint64_t>{1, 2, 3, 4}));
}

// ---------------------------------------------------------------------------
// Leader transfer (thesis §3.10).

TEST(TransferTest, ToUpToDateFollower) {
  Network net;
  net.Campaign(1);
  net.node(1).TransferLeader(2);
  net.Stabilize();
  EXPECT_EQ(net.raft(2).state(), StateType::kLeader);
  EXPECT_EQ(net.raft(1).state(), StateType::kFollower);
  EXPECT_EQ(net.raft(1).lead(), 2u);
}

TEST(TransferTest, ToUpToDateFollowerWithCheckQuorumAndPreVote) {
  Network net(Opts({1, 2, 3}, [](Config& c) {
    c.check_quorum = true;
    c.pre_vote = true;
  }));
  net.Campaign(1);
  net.node(1).TransferLeader(3);
  net.Stabilize();
  EXPECT_EQ(net.raft(3).state(), StateType::kLeader);
}

TEST(TransferTest, LaggingTargetIsCaughtUpFirst) {
  Network net;
  net.Campaign(1);
  net.Isolate(3);
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.Stabilize();
  net.Recover();
  net.node(1).TransferLeader(3);
  net.Stabilize();
  TickAndStabilize(net, 1);
  EXPECT_EQ(net.raft(3).state(), StateType::kLeader);
  EXPECT_EQ(net.AppliedData(3).size(), 10u);
}

TEST(TransferTest, ProposalsRefusedDuringTransferAndAbortAfterTimeout) {
  Network net;
  net.Campaign(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.Stabilize();
  net.node(1).TransferLeader(3);
  EXPECT_EQ(net.raft(1).lead_transferee(), 3u);
  absl::Status s = net.node(1).Propose("y");
  EXPECT_TRUE(IsProposalDropped(s)) << s;
  EXPECT_NE(s.message().find("transfer"), std::string::npos);
  for (int t = 0; t < 10; ++t) {
    net.Tick(1);
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).lead_transferee(), 0u);
  EXPECT_EQ(net.raft(1).state(), StateType::kLeader);
  EXPECT_TRUE(net.node(1).Propose("y").ok());
}

TEST(TransferTest, FollowerForwardsTransferRequest) {
  Network net;
  net.Campaign(1);
  net.node(2).TransferLeader(2);
  net.Stabilize();
  EXPECT_EQ(net.raft(2).state(), StateType::kLeader);
}

// ---------------------------------------------------------------------------
// Peer input is validated, never trusted.

TEST(ValidationTest, ImpossibleMessagesAreDroppedAndCounted) {
  Network net;
  net.Campaign(1);
  auto msg = [](raftpb::MessageType t, uint64_t from, uint64_t to,
                uint64_t term) {
    raftpb::Message m;
    m.set_type(t);
    m.set_from(from);
    m.set_to(to);
    m.set_term(term);
    return m;
  };
  // Local types from the network.
  EXPECT_FALSE(net.node(2).Step(msg(raftpb::MsgHup, 1, 2, 1)).ok());
  // Wrong addressee, no sender, no term.
  EXPECT_FALSE(net.node(2).Step(msg(raftpb::MsgApp, 1, 3, 1)).ok());
  EXPECT_FALSE(net.node(2).Step(msg(raftpb::MsgApp, 0, 2, 1)).ok());
  EXPECT_FALSE(net.node(2).Step(msg(raftpb::MsgApp, 1, 2, 0)).ok());
  // Entries not contiguous / terms beyond the message's.
  raftpb::Message app = msg(raftpb::MsgApp, 1, 2, 1);
  app.set_index(1);
  app.set_log_term(1);
  app.add_entries()->set_index(5);
  EXPECT_FALSE(net.node(2).Step(app).ok());
  app.mutable_entries(0)->set_index(2);
  app.mutable_entries(0)->set_term(9);
  EXPECT_FALSE(net.node(2).Step(app).ok());
  // A snapshot without metadata.
  EXPECT_FALSE(net.node(2).Step(msg(raftpb::MsgSnap, 1, 2, 1)).ok());
  // A response from a stranger; an ack past the leader's log.
  EXPECT_FALSE(net.node(1).Step(msg(raftpb::MsgAppResp, 9, 1, 1)).ok());
  raftpb::Message ack = msg(raftpb::MsgAppResp, 2, 1, 1);
  ack.set_index(1000);
  EXPECT_TRUE(net.node(1).Step(ack).ok());
  // A heartbeat asking to commit past the log.
  raftpb::Message hb = msg(raftpb::MsgHeartbeat, 1, 2, 1);
  hb.set_commit(1000);
  EXPECT_TRUE(net.node(2).Step(hb).ok());
  EXPECT_LE(net.raft(2).log().committed(), net.raft(2).log().LastIndex());
  // An append from a second leader of our term.
  EXPECT_TRUE(net.node(1).Step(msg(raftpb::MsgApp, 2, 1, 1)).ok());
  EXPECT_GE(net.raft(2).drops().invalid, 5u);
  EXPECT_GE(net.raft(1).drops().invalid, 2u);
  EXPECT_EQ(net.raft(1).drops().unknown_peer, 1u);
  net.Stabilize();
  EXPECT_EQ(net.Leader(), 1u);
  ASSERT_TRUE(net.node(1).Propose("still fine").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"still fine"});
}

TEST(ValidationTest, ConfigValidation) {
  MemoryStorage storage;
  Config c;
  EXPECT_FALSE(c.Validate().ok());  // id 0
  c.id = 1;
  EXPECT_FALSE(c.Validate().ok());  // no storage
  c.storage = &storage;
  EXPECT_TRUE(c.Validate().ok());
  c.heartbeat_ticks = 10;
  EXPECT_FALSE(c.Validate().ok());
  c.heartbeat_ticks = 1;
  c.read_only_option = ReadOnlyOption::kLeaseBased;
  EXPECT_FALSE(c.Validate().ok());
  c.check_quorum = true;
  EXPECT_TRUE(c.Validate().ok());
  c.max_inflight_msgs = 0;
  EXPECT_FALSE(c.Validate().ok());
  c.max_inflight_msgs = 1;
  c.max_size_per_msg = 100;
  c.max_inflight_bytes = 10;
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_FALSE(RawNode::Create(c).ok());
}

}  // namespace
}  // namespace etcdpp::raft
