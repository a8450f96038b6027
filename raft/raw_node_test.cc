// RawNode: the Ready/Advance contract, restart, status, and determinism.
#include "raft/raw_node.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/testing/network.h"

namespace etcdpp::raft {
namespace {

using testing::Network;
using testing::NetworkOptions;

TEST(RawNodeTest, SoftAndHardStateReportedOnlyOnChange) {
  Network net;
  Ready rd;
  ASSERT_FALSE(net.node(1).HasReady());
  ASSERT_TRUE(net.node(1).Campaign().ok());
  rd = net.node(1).GetReady();
  ASSERT_TRUE(rd.soft_state.has_value());
  EXPECT_EQ(rd.soft_state->raft_state, StateType::kCandidate);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term(), 1u);
  net.storage(1).SetHardState(*rd.hard_state);
  for (const raftpb::Message& m : rd.messages) net.queue().push_back(m);
  net.node(1).Advance();
  net.Stabilize();
  ASSERT_EQ(net.raft(1).state(), StateType::kLeader);
  // Nothing changed since: no Ready.
  EXPECT_FALSE(net.node(1).HasReady());
  net.Tick(1);  // a heartbeat: messages only
  rd = net.node(1).GetReady();
  EXPECT_FALSE(rd.soft_state.has_value());
  EXPECT_FALSE(rd.hard_state.has_value());
  EXPECT_FALSE(rd.must_sync);
  EXPECT_EQ(rd.messages.size(), 2u);
  net.node(1).Advance();
}

TEST(RawNodeTest, CommittedEntriesPerReadyAreSizeLimited) {
  NetworkOptions o;
  o.voters = {1};
  o.customize = [](Config& c) { c.max_committed_size_per_ready = 1; };
  Network net(o);
  net.Campaign(1);
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(net.node(1).Propose("x").ok());
  int readies_with_entries = 0;
  while (net.node(1).HasReady()) {
    Ready rd = net.node(1).GetReady();
    EXPECT_LE(rd.committed_entries.size(), 1u);
    if (!rd.committed_entries.empty()) ++readies_with_entries;
    ASSERT_TRUE(net.storage(1).Append(rd.entries).ok());
    net.node(1).Advance();
  }
  EXPECT_EQ(readies_with_entries, 5);
  EXPECT_EQ(net.raft(1).log().applied(), 6u);
}

TEST(RawNodeTest, RestartKeepsHardStateAndLog) {
  Network net;
  net.Campaign(1);
  ASSERT_TRUE(net.node(1).Propose("a").ok());
  net.Stabilize();
  net.Restart(2);
  EXPECT_EQ(net.raft(2).term(), 1u);
  EXPECT_EQ(net.raft(2).vote(), 1u);
  EXPECT_EQ(net.raft(2).log().committed(), 2u);
  EXPECT_EQ(net.raft(2).log().LastIndex(), 2u);
  ASSERT_TRUE(net.node(1).Propose("b").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(2), (std::vector<std::string>{"a", "b"}));
}

TEST(RawNodeTest, ConfigAppliedSkipsAppliedEntries) {
  Network net;
  net.Campaign(1);
  ASSERT_TRUE(net.node(1).Propose("a").ok());
  net.Stabilize();
  MemoryStorage copy = net.storage(2);
  Config c;
  c.id = 2;
  c.storage = &copy;
  c.applied = 1;
  auto rn = RawNode::Create(c);
  ASSERT_TRUE(rn.ok());
  Ready rd = (*rn)->GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data(), "a");
  c.applied = 3;  // past commit
  EXPECT_FALSE(RawNode::Create(c).ok());
}

TEST(RawNodeTest, StatusShowsEveryPeerOnTheLeader) {
  Network net;
  net.Campaign(1);
  raft::Status s = net.node(1).GetStatus();
  EXPECT_EQ(s.id, 1u);
  EXPECT_EQ(s.soft_state.raft_state, StateType::kLeader);
  ASSERT_EQ(s.progress.size(), 3u);
  EXPECT_EQ(s.progress.at(2).match, 1u);
  EXPECT_EQ(s.progress.at(2).state, ProgressState::kReplicate);
  EXPECT_TRUE(net.node(2).GetStatus().progress.empty());
}

TEST(RawNodeTest, ReportUnreachableMovesAPipelineBackToProbe) {
  Network net;
  net.Campaign(1);
  ASSERT_EQ(net.raft(1).tracker().progress.at(2).state,
            ProgressState::kReplicate);
  net.node(1).ReportUnreachable(2);
  EXPECT_EQ(net.raft(1).tracker().progress.at(2).state, ProgressState::kProbe);
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.raft(1).tracker().progress.at(2).state,
            ProgressState::kReplicate);
}

TEST(RawNodeTest, ApplyConfChangeReportsErrorsAndKeepsConfig) {
  Network net;
  raftpb::ConfChangeV2 cc;
  for (uint64_t id : {1, 2, 3}) {
    raftpb::ConfChangeSingle* c = cc.add_changes();
    c->set_type(raftpb::ConfChangeRemoveNode);
    c->set_node_id(id);
  }
  absl::StatusOr<raftpb::ConfState> cs = net.node(1).ApplyConfChange(cc);
  EXPECT_FALSE(cs.ok());
  EXPECT_EQ(net.raft(1).tracker().VoterNodes(),
            (std::vector<uint64_t>{1, 2, 3}));
  raftpb::ConfChange v1;
  v1.set_type(raftpb::ConfChangeAddLearnerNode);
  v1.set_node_id(4);
  cs = net.node(1).ApplyConfChange(v1);
  ASSERT_TRUE(cs.ok());
  EXPECT_EQ(cs->learners_size(), 1);
}

TEST(RawNodeTest, StepRefusesLocalMessagesFromPeers) {
  Network net;
  for (raftpb::MessageType t :
       {raftpb::MsgHup, raftpb::MsgBeat, raftpb::MsgUnreachable,
        raftpb::MsgSnapStatus, raftpb::MsgCheckQuorum,
        raftpb::MsgForgetLeader}) {
    raftpb::Message m;
    m.set_type(t);
    m.set_from(2);
    m.set_to(1);
    EXPECT_FALSE(net.node(1).Step(m).ok()) << t;
  }
  EXPECT_EQ(net.raft(1).state(), StateType::kFollower);
}

TEST(RawNodeTest, ForgetLeader) {
  NetworkOptions o;
  o.customize = [](Config& c) { c.check_quorum = true; };
  Network net(o);
  net.Campaign(1);
  ASSERT_EQ(net.raft(2).lead(), 1u);
  ASSERT_TRUE(net.node(2).ForgetLeader().ok());
  EXPECT_EQ(net.raft(2).lead(), 0u);
  EXPECT_EQ(net.raft(2).state(), StateType::kFollower);
  // A leader does not forget itself.
  ASSERT_TRUE(net.node(1).ForgetLeader().ok());
  EXPECT_EQ(net.raft(1).lead(), 1u);
  EXPECT_EQ(net.raft(1).state(), StateType::kLeader);
}

TEST(RawNodeTest, ForgetLeaderRefusedWithLeaseBasedReads) {
  NetworkOptions o;
  o.customize = [](Config& c) {
    c.check_quorum = true;
    c.read_only_option = ReadOnlyOption::kLeaseBased;
  };
  Network net(o);
  net.Campaign(1);
  const absl::Status s = net.node(2).ForgetLeader();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(net.raft(2).lead(), 1u);
}

// Same seed, same inputs: the same outputs, byte for byte.
std::string RunScenario(uint64_t seed) {
  NetworkOptions o;
  o.voters = {1, 2, 3, 4, 5};
  o.seed = seed;
  o.customize = [](Config& c) { c.pre_vote = true; };
  Network net(o);
  std::string trace;
  for (int step = 0; step < 300; ++step) {
    net.TickAll();
    if (step % 7 == 0) (void)net.node(1 + step % 5).Propose("p");
    if (step == 100) net.Isolate(net.Leader() == 0 ? 1 : net.Leader());
    if (step == 200) net.Recover();
    net.ProcessReadies();
    for (const raftpb::Message& m : net.queue()) {
      trace += m.SerializeAsString();
    }
    net.DeliverAll();
  }
  for (uint64_t id : net.ids()) {
    trace += net.raft(id).GetHardState().SerializeAsString();
  }
  return trace;
}

TEST(RawNodeTest, DeterministicForASeed) {
  const std::string a = RunScenario(7);
  EXPECT_EQ(a, RunScenario(7));
  EXPECT_NE(a, RunScenario(8));
  EXPECT_GT(a.size(), 1000u);
}

}  // namespace
}  // namespace etcdpp::raft
