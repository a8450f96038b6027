// Core tests of the raft state machine: elections, replication, commitment,
// and the Ready/Advance contract. Paper rules cite their section.
#include "raft/raft.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/raw_node.h"
#include "raft/testing/network.h"

namespace etcdpp::raft {
namespace {

using testing::Network;
using testing::Msg;
using testing::NetworkOptions;

NetworkOptions Nodes(std::vector<uint64_t> voters) {
  NetworkOptions o;
  o.voters = std::move(voters);
  return o;
}

// Ticks every node until some node is leader (bounded).
uint64_t ElectByTicks(Network& net, int max_ticks = 200) {
  for (int t = 0; t < max_ticks; ++t) {
    net.TickAll();
    net.Stabilize();
    if (uint64_t l = net.Leader()) return l;
  }
  return 0;
}

TEST(RaftElectionTest, SingleNodeElectsItselfAndCommits) {
  Network net(Nodes({1}));
  net.Campaign(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(net.raft(1).term(), 1u);
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(1), std::vector<std::string>{"x"});
  // The empty entry of the election plus the proposal.
  EXPECT_EQ(net.raft(1).log().committed(), 2u);
}

// §5.2: a candidate that receives votes from a majority becomes leader.
TEST(RaftElectionTest, CandidateWithMajorityBecomesLeader) {
  Network net;
  net.Campaign(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kLeader);
  for (uint64_t id : {2, 3}) {
    EXPECT_EQ(net.raft(id).state(), StateType::kFollower);
    EXPECT_EQ(net.raft(id).lead(), 1u);
    EXPECT_EQ(net.raft(id).term(), 1u);
    EXPECT_EQ(net.raft(id).vote(), 1u);
  }
}

// §5.2: without a majority a candidate stays a candidate.
TEST(RaftElectionTest, CandidateWithoutMajorityStaysCandidate) {
  Network net(Nodes({1, 2, 3, 4, 5}));
  net.Isolate(1);
  net.Campaign(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kCandidate);
  net.Recover();
  net.Cut(1, 2);
  net.Cut(1, 3);
  net.Cut(1, 4);
  net.Campaign(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kCandidate);
}

// §5.2: randomized election timeouts in [election, 2*election).
TEST(RaftElectionTest, RandomizedElectionTimeoutRange) {
  std::set<int> seen;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    MemoryStorage storage;
    Config c;
    c.id = 1;
    c.seed = seed;
    c.storage = &storage;
    auto r = Raft::Create(c);
    ASSERT_TRUE(r.ok());
    int t = (*r)->randomized_election_timeout();
    EXPECT_GE(t, 10);
    EXPECT_LT(t, 20);
    seen.insert(t);
  }
  EXPECT_GT(seen.size(), 5u) << "timeouts actually vary with the seed";
}

TEST(RaftElectionTest, SameSeedSameTimeouts) {
  MemoryStorage s1, s2;
  Config c;
  c.id = 1;
  c.seed = 42;
  c.storage = &s1;
  auto a = Raft::Create(c);
  c.storage = &s2;
  auto b = Raft::Create(c);
  EXPECT_EQ((*a)->randomized_election_timeout(),
            (*b)->randomized_election_timeout());
}

// §5.2: a follower that hears nothing for an election timeout campaigns.
TEST(RaftElectionTest, FollowerCampaignsAfterElectionTimeout) {
  Network net;
  const int timeout = net.raft(1).randomized_election_timeout();
  for (int t = 0; t < timeout - 1; ++t) net.Tick(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kFollower);
  net.Tick(1);
  EXPECT_EQ(net.raft(1).state(), StateType::kCandidate);
  EXPECT_EQ(net.raft(1).term(), 1u);
}

TEST(RaftElectionTest, TicksAloneElectALeader) {
  Network net(Nodes({1, 2, 3, 4, 5}));
  EXPECT_NE(ElectByTicks(net), 0u);
}

// §5.4.1: a node with a stale log cannot win an election.
TEST(RaftElectionTest, StaleLogCannotWin) {
  Network net;
  net.Campaign(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("a").ok());
  net.Stabilize();
  net.Recover();
  // 3 misses entry "a"; 1 and 2 refuse it.
  net.Campaign(3);
  EXPECT_NE(net.raft(3).state(), StateType::kLeader);
  EXPECT_GE(net.raft(3).term(), 2u);
}

// §5.1: a message with a higher term makes the receiver a follower.
TEST(RaftElectionTest, HigherTermDeposesLeader) {
  Network net;
  net.Campaign(1);
  net.Isolate(1);
  net.Campaign(2);
  EXPECT_EQ(net.raft(2).state(), StateType::kLeader);
  EXPECT_EQ(net.raft(1).state(), StateType::kLeader);  // does not know yet
  net.Recover();
  ASSERT_TRUE(net.node(2).Propose("x").ok());
  // The leader probes 1 again at its next heartbeat.
  net.Tick(2);
  net.Stabilize();
  EXPECT_EQ(net.raft(1).state(), StateType::kFollower);
  EXPECT_EQ(net.raft(1).lead(), 2u);
  EXPECT_EQ(net.raft(1).term(), 2u);
}

// §5.2: each node grants at most one vote per term.
TEST(RaftElectionTest, OneVotePerTerm) {
  Network net;
  net.IgnoreType(raftpb::MsgVoteResp);
  net.Campaign(1);
  net.ClearIgnored();
  ASSERT_EQ(net.raft(2).vote(), 1u);
  // 3 campaigns in the same term's successor; at term 1, 2 must refuse any
  // other candidate.
  raftpb::Message m;
  m.set_type(raftpb::MsgVote);
  m.set_from(3);
  m.set_to(2);
  m.set_term(1);
  ASSERT_TRUE(net.node(2).Step(m).ok());
  net.ProcessReadies();
  bool rejected = false;
  for (const raftpb::Message& out : net.queue()) {
    if (out.type() == raftpb::MsgVoteResp && out.to() == 3) {
      rejected = out.reject();
    }
  }
  EXPECT_TRUE(rejected);
  EXPECT_EQ(net.raft(2).vote(), 1u);
}

TEST(RaftReplicationTest, ProposalsReplicateAndApplyEverywhere) {
  Network net;
  net.Campaign(1);
  for (int k = 0; k < 10; ++k) {
    ASSERT_TRUE(net.node(1).Propose("p" + std::to_string(k)).ok());
  }
  net.Stabilize();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(net.AppliedData(id).size(), 10u) << id;
    EXPECT_EQ(net.AppliedData(id), net.AppliedData(1));
    EXPECT_EQ(net.raft(id).log().committed(), 11u);
  }
}

TEST(RaftReplicationTest, FollowerForwardsProposals) {
  Network net;
  net.Campaign(1);
  ASSERT_TRUE(net.node(2).Propose("fwd").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"fwd"});
}

TEST(RaftReplicationTest, ProposalRefusedWithoutLeader) {
  Network net;
  absl::Status s = net.node(1).Propose("x");
  EXPECT_TRUE(IsProposalDropped(s)) << s;
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

TEST(RaftReplicationTest, ProposalRefusedWhenForwardingDisabled) {
  NetworkOptions o;
  o.customize = [](Config& c) { c.disable_proposal_forwarding = true; };
  Network net(o);
  net.Campaign(1);
  absl::Status s = net.node(2).Propose("x");
  EXPECT_TRUE(IsProposalDropped(s)) << s;
  EXPECT_NE(s.message().find("forwarding"), std::string::npos);
  EXPECT_TRUE(net.node(1).Propose("x").ok());
}

TEST(RaftReplicationTest, UncommittedSizeCapRefusesProposals) {
  NetworkOptions o;
  o.customize = [](Config& c) { c.max_uncommitted_entries_size = 10; };
  Network net(o);
  net.Campaign(1);
  net.Isolate(1);  // nothing commits
  EXPECT_TRUE(net.node(1).Propose("12345678").ok());
  absl::Status s = net.node(1).Propose("12345");
  EXPECT_TRUE(IsProposalDropped(s)) << s;
  // Once committed and applied, the room is freed.
  net.Recover();
  net.Stabilize();
  for (int t = 0; t < 3; ++t) {
    net.TickAll();
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).uncommitted_size(), 0u);
  EXPECT_TRUE(net.node(1).Propose("12345").ok());
}

// Async storage writes (thesis §10.2.1): the leader's appends go out at
// once, its own ack waits for Advance; a follower's ack waits for persist.
TEST(RaftReadyTest, LeaderSendsBeforePersistingAndSelfAcksOnAdvance) {
  Network net;
  net.Campaign(1);
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  const uint64_t last = net.raft(1).log().LastIndex();
  Ready rd = net.node(1).GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  bool app_now = false;
  for (const raftpb::Message& m : rd.messages) {
    app_now = app_now || m.type() == raftpb::MsgApp;
  }
  EXPECT_TRUE(app_now);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_LT(net.raft(1).tracker().progress.at(1).match, last);
  ASSERT_TRUE(net.storage(1).Append(rd.entries).ok());
  net.node(1).Advance();
  EXPECT_EQ(net.raft(1).tracker().progress.at(1).match, last);
  // The follower acknowledges only after its persist.
  for (const raftpb::Message& m : rd.messages) net.Deliver(m);
  Ready frd = net.node(2).GetReady();
  EXPECT_FALSE(frd.entries.empty());
  bool resp_later = false;
  for (const raftpb::Message& m : frd.messages_after_persist) {
    resp_later = resp_later || m.type() == raftpb::MsgAppResp;
  }
  for (const raftpb::Message& m : frd.messages) {
    EXPECT_NE(m.type(), raftpb::MsgAppResp);
  }
  EXPECT_TRUE(resp_later);
}

TEST(RaftReadyTest, VoteResponsesWaitForPersist) {
  Network net;
  ASSERT_TRUE(net.node(1).Campaign().ok());
  Ready rd = net.node(1).GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote(), 1u);
  net.node(1).Advance();
  for (const raftpb::Message& m : rd.messages) net.Deliver(m);
  Ready frd = net.node(2).GetReady();
  ASSERT_EQ(frd.messages_after_persist.size(), 1u);
  EXPECT_EQ(frd.messages_after_persist[0].type(), raftpb::MsgVoteResp);
  ASSERT_TRUE(frd.hard_state.has_value());
  EXPECT_EQ(frd.hard_state->vote(), 1u);
  EXPECT_TRUE(frd.must_sync);
}

TEST(RaftReadyTest, NoReadyWhileOutstanding) {
  Network net(Nodes({1}));
  ASSERT_TRUE(net.node(1).Campaign().ok());
  ASSERT_TRUE(net.node(1).HasReady());
  Ready rd = net.node(1).GetReady();
  EXPECT_FALSE(net.node(1).HasReady());
  net.node(1).Advance();
  // The self-vote, stepped on Advance, made us leader: a new Ready.
  EXPECT_TRUE(net.node(1).HasReady());
}

// ---------------------------------------------------------------------------
// Peer input bounds: terms and indexes no honest cluster reaches (>= 2^63)
// are refused in Step, so no arithmetic on them wraps and no CHECK is
// reachable from a malformed message.

constexpr uint64_t kTwo63 = uint64_t{1} << 63;
constexpr uint64_t kMax64 = ~uint64_t{0};

// Steps m into node `to` and expects it refused as invalid, with the node's
// state untouched and its invariants intact.
void ExpectRefused(Network& net, const raftpb::Message& m) {
  const uint64_t to = m.to();
  const Raft& r = net.raft(to);
  const uint64_t invalid = r.drops().invalid;
  const uint64_t term = r.term(), commit = r.log().committed();
  const uint64_t last = r.log().LastIndex();
  const StateType state = r.state();
  const absl::Status s = net.node(to).Step(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
      << s << " for " << m.ShortDebugString();
  EXPECT_EQ(r.drops().invalid, invalid + 1) << m.ShortDebugString();
  EXPECT_EQ(r.term(), term);
  EXPECT_EQ(r.log().committed(), commit);
  EXPECT_EQ(r.log().LastIndex(), last);
  EXPECT_EQ(r.state(), state);
  net.node(to).CheckInvariants();
}

TEST(RaftPeerInputTest, IndexesAndTermsPastTwoToThe63AreRefused) {
  Network net;
  net.Campaign(1);
  ASSERT_EQ(net.raft(1).state(), StateType::kLeader);
  const uint64_t t = net.raft(1).term();

  // To the follower, from the leader.
  for (uint64_t bad : {kTwo63, kMax64}) {
    raftpb::Message app = Msg(raftpb::MsgApp, 1, 2, t);
    app.set_index(bad);
    app.set_log_term(t);
    ExpectRefused(net, app);

    app = Msg(raftpb::MsgApp, 1, 2, t);
    app.set_index(1);
    app.set_log_term(1);
    app.set_commit(bad);
    ExpectRefused(net, app);

    raftpb::Message hb = Msg(raftpb::MsgHeartbeat, 1, 2, t);
    hb.set_commit(bad);
    ExpectRefused(net, hb);

    raftpb::Message snap = Msg(raftpb::MsgSnap, 1, 2, t);
    snap.mutable_snapshot()->mutable_metadata()->set_index(bad);
    snap.mutable_snapshot()->mutable_metadata()->set_term(t);
    for (uint64_t v : {1, 2, 3}) {
      snap.mutable_snapshot()->mutable_metadata()->mutable_conf_state()
          ->add_voters(v);
    }
    ExpectRefused(net, snap);

    raftpb::Message vote = Msg(raftpb::MsgVote, 3, 2, t + 1);
    vote.set_index(bad);
    vote.set_log_term(t);
    ExpectRefused(net, vote);

    raftpb::Message rir = Msg(raftpb::MsgReadIndexResp, 1, 2, t);
    rir.set_index(bad);
    rir.add_entries()->set_data("ctx");
    ExpectRefused(net, rir);
  }
  // The wrap-around append: index 2^64-1 followed by an "entry" at 0.
  raftpb::Message wrap = Msg(raftpb::MsgApp, 1, 2, t);
  wrap.set_index(kMax64);
  wrap.set_log_term(t);
  raftpb::Entry* e = wrap.add_entries();
  e->set_index(0);
  e->set_term(t);
  ExpectRefused(net, wrap);
  // The last valid prev index, with an entry past the bound.
  wrap.set_index(kTwo63 - 1);
  wrap.mutable_entries(0)->set_index(kTwo63);
  ExpectRefused(net, wrap);
  // A snapshot of a term no cluster reaches, within a message of one.
  raftpb::Message snap = Msg(raftpb::MsgSnap, 1, 2, kMax64);
  snap.mutable_snapshot()->mutable_metadata()->set_index(5);
  snap.mutable_snapshot()->mutable_metadata()->set_term(kMax64);
  ExpectRefused(net, snap);
  // A candidate's last log term cannot pass its term.
  raftpb::Message vote = Msg(raftpb::MsgPreVote, 3, 2, t + 1);
  vote.set_index(1);
  vote.set_log_term(t + 2);
  ExpectRefused(net, vote);

  // To the leader, from a follower.
  for (uint64_t bad : {kTwo63, kMax64}) {
    raftpb::Message resp = Msg(raftpb::MsgAppResp, 2, 1, t);
    resp.set_index(1);
    resp.set_reject(true);
    resp.set_reject_hint(bad);
    ExpectRefused(net, resp);

    resp = Msg(raftpb::MsgAppResp, 2, 1, t);
    resp.set_index(bad);
    ExpectRefused(net, resp);

    resp = Msg(raftpb::MsgAppResp, 2, 1, t);
    resp.set_index(1);
    resp.set_reject(true);
    resp.set_log_term(bad);
    ExpectRefused(net, resp);
  }
  // A hint past the rejected index, and a hint term past the message term.
  raftpb::Message resp = Msg(raftpb::MsgAppResp, 2, 1, t);
  resp.set_index(1);
  resp.set_reject(true);
  resp.set_reject_hint(2);
  ExpectRefused(net, resp);
  resp.set_reject_hint(0);
  resp.set_log_term(t + 1);
  ExpectRefused(net, resp);

  // None of it disturbed the cluster.
  ASSERT_TRUE(net.node(1).Propose("after").ok());
  net.Stabilize();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(net.AppliedData(id), std::vector<std::string>{"after"});
  }
}

TEST(RaftPeerInputTest, LargestValidIndexesAreStillProcessed) {
  Network net;
  net.Campaign(1);
  const uint64_t t = net.raft(1).term();
  // An append at the largest index a peer may name: valid input, just a
  // log mismatch, answered with a rejection hinting at our last index.
  raftpb::Message app = Msg(raftpb::MsgApp, 1, 2, t);
  app.set_index(kTwo63 - 2);
  app.set_log_term(t);
  raftpb::Entry* e = app.add_entries();
  e->set_index(kTwo63 - 1);
  e->set_term(t);
  const uint64_t invalid = net.raft(2).drops().invalid;
  ASSERT_TRUE(net.node(2).Step(app).ok());
  EXPECT_EQ(net.raft(2).drops().invalid, invalid);
  Ready rd = net.node(2).GetReady();
  ASSERT_EQ(rd.messages_after_persist.size(), 1u);
  const raftpb::Message& rej = rd.messages_after_persist[0];
  EXPECT_EQ(rej.type(), raftpb::MsgAppResp);
  EXPECT_TRUE(rej.reject());
  EXPECT_EQ(rej.index(), kTwo63 - 2);
  EXPECT_EQ(rej.reject_hint(), net.raft(2).log().LastIndex());
  net.node(2).Advance();
  // The leader takes the (odd but well-formed) rejection in its stride.
  ASSERT_TRUE(net.node(1).Step(rej).ok());
  net.node(1).CheckInvariants();
  net.Stabilize();
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(2), std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace etcdpp::raft
