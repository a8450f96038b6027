// One test per rule of the Raft paper (Ongaro & Ousterhout, 2014), each
// citing its section. The node under test is driven message by message;
// its peers are played by the test.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/raft.h"
#include "raft/raw_node.h"
#include "raft/testing/network.h"

namespace etcdpp::raft {
namespace {

using testing::Msg;

raftpb::Entry E(uint64_t index, uint64_t term) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  return e;
}

struct TestNode {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> rn;

  const Raft& raft() const { return rn->raft(); }

  // Handles every Ready as the application would, returning the messages
  // to send (immediate and after-persist alike).
  std::vector<raftpb::Message> Drain() {
    std::vector<raftpb::Message> out;
    while (rn->HasReady()) {
      Ready rd = rn->GetReady();
      if (rd.snapshot.has_value()) {
        EXPECT_TRUE(storage->ApplySnapshot(*rd.snapshot).ok());
      }
      EXPECT_TRUE(storage->Append(rd.entries).ok());
      if (rd.hard_state.has_value()) storage->SetHardState(*rd.hard_state);
      for (auto& m : rd.messages) out.push_back(m);
      for (auto& m : rd.messages_after_persist) out.push_back(m);
      committed.insert(committed.end(), rd.committed_entries.begin(),
                       rd.committed_entries.end());
      rn->Advance();
      rn->CheckInvariants();
    }
    return out;
  }
  void Step(const raftpb::Message& m) { EXPECT_TRUE(rn->Step(m).ok()); }

  std::vector<raftpb::Entry> committed;
};

TestNode MakeNode(uint64_t id, std::vector<uint64_t> voters,
                  std::vector<raftpb::Entry> entries = {},
                  raftpb::HardState hs = raftpb::HardState()) {
  TestNode n;
  n.storage = std::make_unique<MemoryStorage>();
  raftpb::Snapshot snap;
  for (uint64_t v : voters) {
    snap.mutable_metadata()->mutable_conf_state()->add_voters(v);
  }
  EXPECT_TRUE(n.storage->ApplySnapshot(snap).ok());
  EXPECT_TRUE(n.storage->Append(entries).ok());
  n.storage->SetHardState(hs);
  Config c;
  c.id = id;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = id;
  c.storage = n.storage.get();
  c.max_size_per_msg = kNoLimit;
  auto rn = RawNode::Create(c);
  EXPECT_TRUE(rn.ok()) << rn.status();
  n.rn = *std::move(rn);
  return n;
}

// Makes node 1 of {1, 2, 3} leader by its own and 2's vote.
void MakeLeader(TestNode& n) {
  ASSERT_TRUE(n.rn->Campaign().ok());
  n.Drain();
  n.Step(Msg(raftpb::MsgVoteResp, 2, 1, n.raft().term()));
  n.Drain();
  ASSERT_EQ(n.raft().state(), StateType::kLeader);
}

std::vector<raftpb::Message> OfType(const std::vector<raftpb::Message>& msgs,
                                    raftpb::MessageType type) {
  std::vector<raftpb::Message> out;
  for (const auto& m : msgs) {
    if (m.type() == type) out.push_back(m);
  }
  return out;
}

// §5.1: servers start as followers.
TEST(PaperTest, StartAsFollower) {
  TestNode n = MakeNode(1, {1, 2, 3});
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
}

// §5.1: a server that sees a larger term adopts it and, if candidate or
// leader, reverts to follower.
TEST(PaperTest, UpdateTermFromMessage) {
  for (StateType start : {StateType::kFollower, StateType::kCandidate,
                          StateType::kLeader}) {
    TestNode n = MakeNode(1, {1, 2, 3});
    if (start == StateType::kCandidate) {
      ASSERT_TRUE(n.rn->Campaign().ok());
      n.Drain();
    } else if (start == StateType::kLeader) {
      MakeLeader(n);
    }
    ASSERT_EQ(n.raft().state(), start);
    n.Step(Msg(raftpb::MsgApp, 2, 1, 5));
    EXPECT_EQ(n.raft().term(), 5u) << StateTypeName(start);
    EXPECT_EQ(n.raft().state(), StateType::kFollower);
    EXPECT_EQ(n.raft().lead(), 2u);
  }
}

// §5.1: a request with a stale term is rejected (dropped).
TEST(PaperTest, RejectStaleTermMessage) {
  raftpb::HardState hs;
  hs.set_term(2);
  TestNode n = MakeNode(1, {1, 2, 3}, {}, hs);
  n.Step(Msg(raftpb::MsgApp, 2, 1, 1));
  EXPECT_EQ(n.raft().term(), 2u);
  EXPECT_EQ(n.raft().lead(), kNone);
  EXPECT_EQ(n.raft().drops().stale_term, 1u);
}

// §5.2: the leader sends heartbeats to all followers every heartbeat
// interval.
TEST(PaperTest, LeaderBroadcastsHeartbeats) {
  TestNode n = MakeNode(1, {1, 2, 3});
  MakeLeader(n);
  n.rn->Tick();
  auto hbs = OfType(n.Drain(), raftpb::MsgHeartbeat);
  ASSERT_EQ(hbs.size(), 2u);
  EXPECT_EQ(hbs[0].to(), 2u);
  EXPECT_EQ(hbs[1].to(), 3u);
}

// §5.2: a follower (or candidate) whose election timeout elapses starts an
// election: new term, votes for itself, asks the others.
TEST(PaperTest, NonLeaderStartsElectionOnTimeout) {
  for (bool already_candidate : {false, true}) {
    TestNode n = MakeNode(1, {1, 2, 3});
    if (already_candidate) {
      ASSERT_TRUE(n.rn->Campaign().ok());
      n.Drain();
    }
    const uint64_t term = n.raft().term();
    std::vector<raftpb::Message> out;
    for (int t = 0; t < 20 && n.raft().term() == term; ++t) {
      n.rn->Tick();
    }
    out = n.Drain();
    EXPECT_EQ(n.raft().term(), term + 1);
    EXPECT_EQ(n.raft().state(), StateType::kCandidate);
    EXPECT_EQ(n.raft().vote(), 1u);
    auto votes = OfType(out, raftpb::MsgVote);
    ASSERT_EQ(votes.size(), 2u);
    EXPECT_EQ(votes[0].term(), term + 1);
  }
}

// §5.2: a candidate wins with a majority, loses when a majority rejects,
// and otherwise keeps waiting.
TEST(PaperTest, LeaderElectionInOneRound) {
  struct Case {
    std::vector<uint64_t> voters;
    std::vector<std::pair<uint64_t, bool>> votes;
    StateType want;
  };
  const std::vector<Case> cases = {
      {{1}, {}, StateType::kLeader},
      {{1, 2, 3}, {{2, true}, {3, true}}, StateType::kLeader},
      {{1, 2, 3}, {{2, true}}, StateType::kLeader},
      {{1, 2, 3, 4, 5}, {{2, true}, {3, true}}, StateType::kLeader},
      {{1, 2, 3}, {{2, false}, {3, false}}, StateType::kFollower},
      {{1, 2, 3, 4, 5}, {{2, true}, {3, false}, {4, false}, {5, false}},
       StateType::kFollower},
      {{1, 2, 3}, {}, StateType::kCandidate},
      {{1, 2, 3, 4, 5}, {{2, true}}, StateType::kCandidate},
      {{1, 2, 3, 4, 5}, {{2, false}, {3, false}}, StateType::kCandidate},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    TestNode n = MakeNode(1, cases[k].voters);
    ASSERT_TRUE(n.rn->Campaign().ok());
    n.Drain();
    for (auto [from, granted] : cases[k].votes) {
      raftpb::Message m = Msg(raftpb::MsgVoteResp, from, 1, 1);
      m.set_reject(!granted);
      n.Step(m);
    }
    n.Drain();
    EXPECT_EQ(n.raft().state(), cases[k].want) << "case " << k;
    EXPECT_EQ(n.raft().term(), 1u) << "case " << k;
  }
}

// §5.2: each server votes for at most one candidate per term, first come
// first served.
TEST(PaperTest, FollowerVotesOncePerTerm) {
  struct Case {
    uint64_t vote, candidate;
    bool want_reject;
  };
  const std::vector<Case> cases = {{kNone, 2, false}, {kNone, 3, false},
                                   {2, 2, false},     {3, 3, false},
                                   {2, 3, true},      {3, 2, true}};
  for (const Case& c : cases) {
    raftpb::HardState hs;
    hs.set_term(1);
    hs.set_vote(c.vote);
    TestNode n = MakeNode(1, {1, 2, 3}, {}, hs);
    n.Step(Msg(raftpb::MsgVote, c.candidate, 1, 1));
    auto resp = OfType(n.Drain(), raftpb::MsgVoteResp);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(resp[0].reject(), c.want_reject)
        << c.vote << " asked by " << c.candidate;
  }
}

// §5.2: a candidate that hears from a leader of its term or later becomes
// its follower.
TEST(PaperTest, CandidateFallsBackToFollower) {
  for (uint64_t term : {1, 2}) {
    TestNode n = MakeNode(1, {1, 2, 3});
    ASSERT_TRUE(n.rn->Campaign().ok());
    n.Drain();
    n.Step(Msg(raftpb::MsgApp, 2, 1, term));
    EXPECT_EQ(n.raft().state(), StateType::kFollower);
    EXPECT_EQ(n.raft().term(), term);
    EXPECT_EQ(n.raft().lead(), 2u);
  }
}

// §5.3: the leader appends a proposal to its log and sends it to every
// follower with the index and term of the entry before it.
TEST(PaperTest, LeaderStartsReplication) {
  TestNode n = MakeNode(1, {1, 2, 3});
  MakeLeader(n);
  // The followers acknowledge the election's empty entry, so the leader
  // knows where their logs are.
  for (uint64_t id : {2, 3}) {
    raftpb::Message ack = Msg(raftpb::MsgAppResp, id, 1, 1);
    ack.set_index(1);
    n.Step(ack);
  }
  n.Drain();
  ASSERT_TRUE(n.rn->Propose("data").ok());
  auto apps = OfType(n.Drain(), raftpb::MsgApp);
  ASSERT_EQ(apps.size(), 2u);
  for (const auto& m : apps) {
    EXPECT_EQ(m.index(), 1u);
    EXPECT_EQ(m.log_term(), 1u);
    ASSERT_EQ(m.entries_size(), 1);
    EXPECT_EQ(m.entries(0).index(), 2u);
    EXPECT_EQ(m.entries(0).data(), "data");
  }
  EXPECT_EQ(n.raft().log().LastIndex(), 2u);
}

// §5.3: an entry is committed once a majority stored it; the leader then
// applies it and tells followers the new commit index.
TEST(PaperTest, LeaderCommitsEntryOnMajorityAndAnnouncesIt) {
  TestNode n = MakeNode(1, {1, 2, 3});
  MakeLeader(n);
  raftpb::Message ack = Msg(raftpb::MsgAppResp, 2, 1, 1);
  ack.set_index(1);
  n.Step(ack);
  n.Drain();
  ASSERT_TRUE(n.rn->Propose("data").ok());
  n.Drain();
  ack.set_index(2);
  n.Step(ack);
  auto out = n.Drain();
  EXPECT_EQ(n.raft().log().committed(), 2u);
  ASSERT_FALSE(n.committed.empty());
  EXPECT_EQ(n.committed.back().data(), "data");
  auto apps = OfType(out, raftpb::MsgApp);
  ASSERT_FALSE(apps.empty());
  for (const auto& m : apps) EXPECT_EQ(m.commit(), 2u);
}

// §5.3: a follower refuses an append whose previous entry it does not
// hold, hinting where its log may match.
TEST(PaperTest, FollowerChecksPreviousEntry) {
  struct Case {
    uint64_t log_term, index;
    uint64_t want_index;
    bool want_reject;
    uint64_t want_hint, want_hint_term;
  };
  const std::vector<Case> cases = {
      {0, 0, 1, false, 0, 0},  // below commit: answered with commit
      {1, 1, 1, false, 0, 0},
      {2, 2, 2, false, 0, 0},
      {1, 2, 2, true, 1, 1},  // term mismatch at 2
      {3, 3, 3, true, 2, 2},  // index past the log
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    raftpb::HardState hs;
    hs.set_commit(1);
    TestNode n = MakeNode(1, {1, 2, 3}, {E(1, 1), E(2, 2)}, hs);
    raftpb::Message m = Msg(raftpb::MsgApp, 2, 1, 3);
    m.set_log_term(cases[k].log_term);
    m.set_index(cases[k].index);
    n.Step(m);
    auto resp = OfType(n.Drain(), raftpb::MsgAppResp);
    ASSERT_EQ(resp.size(), 1u) << k;
    EXPECT_EQ(resp[0].index(), cases[k].want_index) << k;
    EXPECT_EQ(resp[0].reject(), cases[k].want_reject) << k;
    EXPECT_EQ(resp[0].reject_hint(), cases[k].want_hint) << k;
    EXPECT_EQ(resp[0].log_term(), cases[k].want_hint_term) << k;
  }
}

// §5.3: a follower deletes conflicting entries and appends the leader's.
TEST(PaperTest, FollowerAppendsAndTruncates) {
  struct Case {
    uint64_t index, log_term;
    std::vector<raftpb::Entry> entries;
    std::vector<uint64_t> want_terms;
  };
  const std::vector<Case> cases = {
      {2, 2, {E(3, 3)}, {1, 2, 3}},
      {1, 1, {E(2, 3), E(3, 4)}, {1, 3, 4}},
      {0, 0, {E(1, 1)}, {1, 2}},
      {1, 1, {E(2, 3)}, {1, 3}},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    TestNode n = MakeNode(1, {1, 2, 3}, {E(1, 1), E(2, 2)});
    raftpb::Message m = Msg(raftpb::MsgApp, 2, 1, 4);
    m.set_index(cases[k].index);
    m.set_log_term(cases[k].log_term);
    for (const auto& e : cases[k].entries) *m.add_entries() = e;
    n.Step(m);
    n.Drain();
    std::vector<uint64_t> terms;
    for (const auto& e : n.raft().log().AllEntries()) terms.push_back(e.term());
    EXPECT_EQ(terms, cases[k].want_terms) << k;
  }
}

// §5.3, Figure 7: whatever a follower's log looks like, the leader brings
// it in line with its own.
TEST(PaperTest, LeaderSyncsFollowerLogFigure7) {
  auto log = [](std::vector<uint64_t> terms) {
    std::vector<raftpb::Entry> out;
    for (size_t k = 0; k < terms.size(); ++k) out.push_back(E(k + 1, terms[k]));
    return out;
  };
  const std::vector<raftpb::Entry> leader_log =
      log({1, 1, 1, 4, 4, 5, 5, 6, 6, 6});
  const std::vector<std::vector<raftpb::Entry>> followers = {
      log({1, 1, 1, 4, 4, 5, 5, 6, 6}),        // (a)
      log({1, 1, 1, 4}),                       // (b)
      log({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}),  // (c)
      log({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}),  // (d)
      log({1, 1, 1, 4, 4, 4, 4}),              // (e)
      log({1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}),  // (f)
  };
  for (size_t k = 0; k < followers.size(); ++k) {
    testing::NetworkOptions o;
    o.prepare_storage = [&](uint64_t id, MemoryStorage& s) {
      raftpb::HardState hs;
      if (id == 1) {
        ASSERT_TRUE(s.Append(leader_log).ok());
        hs.set_term(8);
        hs.set_commit(leader_log.size());
      } else if (id == 2) {
        ASSERT_TRUE(s.Append(followers[k]).ok());
        hs.set_term(7);
      } else {
        hs.set_term(7);
      }
      s.SetHardState(hs);
    };
    testing::Network net(o);
    net.Campaign(1);
    ASSERT_EQ(net.raft(1).state(), StateType::kLeader) << k;
    ASSERT_TRUE(net.node(1).Propose("x").ok());
    net.Stabilize();
    std::vector<uint64_t> want, got;
    for (const auto& e : net.raft(1).log().AllEntries()) want.push_back(e.term());
    for (const auto& e : net.raft(2).log().AllEntries()) got.push_back(e.term());
    EXPECT_EQ(got, want) << "follower (" << char('a' + k) << ")";
  }
}

// §5.4.1: a vote request carries the candidate's last log index and term.
TEST(PaperTest, VoteRequestCarriesLastLogEntry) {
  TestNode n = MakeNode(1, {1, 2, 3}, {E(1, 1), E(2, 2)});
  ASSERT_TRUE(n.rn->Campaign().ok());
  auto votes = OfType(n.Drain(), raftpb::MsgVote);
  ASSERT_EQ(votes.size(), 2u);
  for (const auto& m : votes) {
    EXPECT_EQ(m.index(), 2u);
    EXPECT_EQ(m.log_term(), 2u);
  }
}

// §5.4.1: a voter denies its vote to a candidate whose log is less up to
// date than its own.
TEST(PaperTest, VoterRequiresUpToDateLog) {
  struct Case {
    std::vector<raftpb::Entry> ents;
    uint64_t log_term, index;
    bool want_reject;
  };
  const std::vector<Case> cases = {
      {{E(1, 1)}, 1, 1, false},
      {{E(1, 1)}, 1, 2, false},
      {{E(1, 1), E(2, 1)}, 1, 1, true},
      {{E(1, 1)}, 2, 1, false},
      {{E(1, 1)}, 2, 2, false},
      {{E(1, 1), E(2, 1)}, 2, 1, false},
      {{E(1, 2)}, 1, 1, true},
      {{E(1, 2)}, 1, 2, true},
      {{E(1, 2), E(2, 1)}, 1, 1, true},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    TestNode n = MakeNode(1, {1, 2, 3}, cases[k].ents);
    raftpb::Message m = Msg(raftpb::MsgVote, 2, 1, 3);
    m.set_log_term(cases[k].log_term);
    m.set_index(cases[k].index);
    n.Step(m);
    auto resp = OfType(n.Drain(), raftpb::MsgVoteResp);
    ASSERT_EQ(resp.size(), 1u) << k;
    EXPECT_EQ(resp[0].reject(), cases[k].want_reject) << k;
  }
}

// §5.4.2: a leader commits only entries of its current term by counting
// replicas; older entries are committed indirectly.
TEST(PaperTest, LeaderOnlyCommitsEntriesOfItsTerm) {
  struct Case {
    uint64_t acked, want_commit;
  };
  for (const Case& c : std::vector<Case>{{1, 0}, {2, 0}, {3, 3}}) {
    raftpb::HardState hs;
    hs.set_term(2);
    TestNode n = MakeNode(1, {1, 2}, {E(1, 1), E(2, 2)}, hs);
    ASSERT_TRUE(n.rn->Campaign().ok());
    n.Drain();
    n.Step(Msg(raftpb::MsgVoteResp, 2, 1, 3));
    n.Drain();
    ASSERT_EQ(n.raft().state(), StateType::kLeader);
    raftpb::Message ack = Msg(raftpb::MsgAppResp, 2, 1, 3);
    ack.set_index(c.acked);
    n.Step(ack);
    n.Drain();
    EXPECT_EQ(n.raft().log().committed(), c.want_commit) << c.acked;
  }
}

}  // namespace
}  // namespace etcdpp::raft
