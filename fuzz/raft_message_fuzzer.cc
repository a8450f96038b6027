// raft_message_fuzzer: arbitrary bytes, parsed as a raftpb::Message, are
// stepped as peer input into a RawNode in every role — the leader, a
// follower and a pre-candidate of a 3-node cluster, and a candidate — and
// then whatever the node answered is delivered to the rest of the cluster
// until it is quiet.
//
// What is asserted: no crash, no sanitizer report, and CheckInvariants()
// after every Step and every Ready. RawNode::Step is the boundary where
// bytes from peers enter raft, and peer input must never reach a CHECK:
// an impossible message is dropped and counted (raft.h). Safety under
// honest peers is not this target's job: a forged message may well make a
// follower accept a log no leader wrote, and that is not checked here.
//
// Each input builds its cluster afresh, so an input is a whole test case
// and the corpus replays deterministically. The cluster:
//   node 1  leader of term 2 (it won a pre-vote and a vote), entries 1..4
//           committed everywhere, entry 5 proposed but not yet sent, log
//           compacted to a snapshot at 2 (so a lagging peer gets MsgSnap);
//   node 2  follower of 1;
//   node 3  pre-candidate (pre-vote enabled), its requests not delivered;
//   node 2' a restarted copy of node 2, without pre-vote, campaigning: a
//           candidate of term 3, standing alone.
// check_quorum is on for inputs of even size and off for odd ones, so both
// kinds of lease rules are reached.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/check.h"
#include "raft/raft.pb.h"
#include "raft/raw_node.h"
#include "raft/storage.h"

namespace etcdpp::raft {
namespace {

constexpr uint64_t kLeader = 1;
constexpr uint64_t kFollower = 2;
constexpr uint64_t kPreCandidate = 3;
// Stabilizing after the forged message stops after this many rounds: a
// forged message may start an endless exchange (e.g. elections that keep
// splitting), and bounding it keeps every input fast.
constexpr int kEchoRounds = 20;

struct Member {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
};

Config MakeConfig(uint64_t id, const MemoryStorage* storage, bool pre_vote,
                  bool check_quorum) {
  Config c;
  c.id = id;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = 1000 + id;
  c.storage = storage;
  c.max_size_per_msg = kNoLimit;
  c.max_inflight_msgs = 256;
  c.pre_vote = pre_vote;
  c.check_quorum = check_quorum;
  return c;
}

Member MakeMember(std::unique_ptr<MemoryStorage> storage, const Config& config) {
  absl::StatusOr<std::unique_ptr<RawNode>> node = RawNode::Create(config);
  CHECK_OK(node.status());
  return Member{std::move(storage), *std::move(node)};
}

// Plays the application's part of the Ready loop for one node, as
// raft/testing/network.cc does: persist, queue messages, apply, advance.
// Any CHECK here is about raft's own output, never about the input.
bool ProcessReady(Member& member, std::vector<raftpb::Message>* out) {
  RawNode& node = *member.node;
  if (!node.HasReady()) return false;
  Ready rd = node.GetReady();
  if (rd.snapshot.has_value()) {
    CHECK_OK(member.storage->ApplySnapshot(*rd.snapshot));
  }
  CHECK_OK(member.storage->Append(rd.entries));
  if (rd.hard_state.has_value()) member.storage->SetHardState(*rd.hard_state);
  for (raftpb::Message& m : rd.messages) out->push_back(std::move(m));
  for (raftpb::Message& m : rd.messages_after_persist) {
    out->push_back(std::move(m));
  }
  for (const raftpb::Entry& e : rd.committed_entries) {
    // A forged leader can commit any bytes as a conf change; an entry that
    // does not parse is the application's problem, not raft's, so skip it.
    if (e.type() == raftpb::EntryConfChange) {
      raftpb::ConfChange cc;
      if (cc.ParseFromString(e.data())) (void)node.ApplyConfChange(cc);
    } else if (e.type() == raftpb::EntryConfChangeV2) {
      raftpb::ConfChangeV2 cc;
      if (cc.ParseFromString(e.data())) (void)node.ApplyConfChange(cc);
    }
  }
  node.Advance();
  node.CheckInvariants();
  return true;
}

class Cluster {
 public:
  explicit Cluster(bool check_quorum);

  // Steps `m` into member `id` as peer input and handles its Ready.
  void StepInto(uint64_t id, raftpb::Message m);
  // Delivers queued messages between the three members, a bounded number
  // of rounds.
  void Echo();

 private:
  void ProcessReadies();
  void Stabilize(int max_rounds);
  Member& Get(uint64_t id);

  std::map<uint64_t, Member> members_;
  Member candidate_;  // node 2', standing alone
  std::vector<raftpb::Message> queue_;
};

Cluster::Cluster(bool check_quorum) {
  raftpb::Snapshot boot;
  for (uint64_t id : {kLeader, kFollower, kPreCandidate}) {
    boot.mutable_metadata()->mutable_conf_state()->add_voters(id);
  }
  for (uint64_t id : {kLeader, kFollower, kPreCandidate}) {
    auto storage = std::make_unique<MemoryStorage>();
    CHECK_OK(storage->ApplySnapshot(boot));
    Config c = MakeConfig(id, storage.get(), /*pre_vote=*/true, check_quorum);
    members_[id] = MakeMember(std::move(storage), c);
  }
  CHECK_OK(Get(kLeader).node->Campaign());
  Stabilize(100);
  CHECK(Get(kLeader).node->raft().state() == StateType::kLeader)
      << "node 1 wins the setup election";
  for (const char* data : {"a", "b", "c"}) {
    CHECK_OK(Get(kLeader).node->Propose(data));
  }
  Stabilize(100);
  // The leader's log starts after a snapshot, so a peer that claims to lag
  // far behind is sent MsgSnap.
  MemoryStorage& leader_storage = *Get(kLeader).storage;
  CHECK_OK(leader_storage.CreateSnapshot(2, nullptr, "snapshot").status());
  CHECK_OK(leader_storage.Compact(2));
  // An entry the followers have not seen yet.
  CHECK_OK(Get(kLeader).node->Propose("d"));
  ProcessReady(Get(kLeader), &queue_);
  queue_.clear();
  // Node 2', restarted from node 2's storage without pre-vote, campaigns.
  auto copy = std::make_unique<MemoryStorage>(*Get(kFollower).storage);
  Config c = MakeConfig(kFollower, copy.get(), /*pre_vote=*/false,
                        check_quorum);
  c.applied = copy->GetInitialState()->hard_state.commit();
  candidate_ = MakeMember(std::move(copy), c);
  CHECK_OK(candidate_.node->Campaign());
  std::vector<raftpb::Message> dropped;
  ProcessReady(candidate_, &dropped);
  CHECK(candidate_.node->raft().state() == StateType::kCandidate);
  // Node 3 starts a pre-vote nobody hears.
  CHECK_OK(Get(kPreCandidate).node->Campaign());
  ProcessReady(Get(kPreCandidate), &queue_);
  queue_.clear();
  CHECK(Get(kPreCandidate).node->raft().state() == StateType::kPreCandidate);
}

Member& Cluster::Get(uint64_t id) { return members_.at(id); }

void Cluster::ProcessReadies() {
  bool any = true;
  while (any) {
    any = false;
    for (auto& [id, member] : members_) {
      any = ProcessReady(member, &queue_) || any;
    }
  }
}

void Cluster::Stabilize(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    ProcessReadies();
    if (queue_.empty()) return;
    std::vector<raftpb::Message> batch = std::move(queue_);
    queue_.clear();
    for (const raftpb::Message& m : batch) {
      auto it = members_.find(m.to());
      if (it == members_.end()) continue;  // to a forged peer: lost
      (void)it->second.node->Step(m);
      it->second.node->CheckInvariants();
    }
  }
}

void Cluster::StepInto(uint64_t id, raftpb::Message m) {
  Member& member = id == 0 ? candidate_ : Get(id);
  m.set_to(member.node->raft().id());
  // Refusals are expected; only a crash or a broken invariant is a bug.
  (void)member.node->Step(m);
  member.node->CheckInvariants();
  std::vector<raftpb::Message> out;
  while (ProcessReady(member, &out)) {
  }
  if (id != 0) {
    for (raftpb::Message& o : out) queue_.push_back(std::move(o));
  }
}

void Cluster::Echo() { Stabilize(kEchoRounds); }

}  // namespace
}  // namespace etcdpp::raft

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace etcdpp::raft;
  raftpb::Message m;
  if (!m.ParseFromArray(data, static_cast<int>(size))) return 0;
  Cluster cluster(/*check_quorum=*/size % 2 == 0);
  // 0 is node 2', the candidate.
  for (uint64_t id : {kLeader, kFollower, kPreCandidate, uint64_t{0}}) {
    cluster.StepInto(id, m);
  }
  cluster.Echo();
  return 0;
}
