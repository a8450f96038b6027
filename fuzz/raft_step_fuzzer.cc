// raft_step_fuzzer: the input bytes drive a 3-node in-memory raft cluster,
// and Raft's safety properties are checked after every step.
//
// Each input is a program of ops, one or a few bytes each: ticks (one node
// or all), proposals, membership changes (demote a voter to learner or
// promote a learner, simple or joint), Ready handling (one node or all),
// delivery of a queued message (any one, so the queue is reordered), drops,
// duplicates, partitions and healing, crash-restarts (also in the middle of
// a Ready: its messages sent, nothing persisted), log compaction, reads,
// leader transfers, the replay of any message sent earlier (an honest but
// arbitrarily delayed message), and malformed messages built from the
// input bytes.
//
// After every op: each node's CheckInvariants(), and
//   Election Safety     at most one leader per term, ever;
//   Log Matching        two logs with an entry of the same index and term
//                       are identical up to it;
//   Leader Completeness a leader of a later term holds every entry known
//                       committed (applied somewhere) in an earlier one;
//   State Machine Safety no two nodes apply different entries at an index;
//   Monotonic commit    a node's commit index never goes down (a restart
//                       starts from the persisted one).
// A malformed message must be refused by Step (an error) and leave the
// node's term, vote, commit, log and role unchanged.
// A broken property is a CHECK failure: libFuzzer reports it as a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/check.h"
#include "raft/raft.h"
#include "raft/raft.pb.h"
#include "raft/raw_node.h"
#include "raft/storage.h"

namespace etcdpp::raft {
namespace {

constexpr int kNodes = 3;
constexpr size_t kMaxQueue = 512;
constexpr size_t kMaxHistory = 256;
constexpr size_t kMaxOps = 1500;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | Byte();
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Peer {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  std::vector<raftpb::Entry> applied;  // normal entries with data
  uint64_t last_applied_index = 0;
  size_t checked = 0;  // applied entries compared by the checker
  uint64_t restarts = 0;
  uint64_t min_commit = 0;  // commit may not go below this
};

class Cluster {
 public:
  explicit Cluster(uint8_t flags);
  void Run(Input& in);

 private:
  RawNode& Node(uint64_t id) { return *peers_.at(id).node; }
  const Raft& R(uint64_t id) { return peers_.at(id).node->raft(); }
  Config MakeConfig(uint64_t id, const MemoryStorage* storage);
  void Restart(uint64_t id);
  bool ProcessReady(uint64_t id);
  void ProcessAll();
  void Send(raftpb::Message m);
  void Deliver(const raftpb::Message& m);
  void Malformed(Input& in);
  void ChangeMembership(uint64_t at, uint64_t target, bool joint);
  void Compact(uint64_t id);
  void Check();
  void CheckLogMatching();
  void CheckTermMatching();

  bool pre_vote_;
  bool check_quorum_;
  std::map<uint64_t, Peer> peers_;
  std::vector<raftpb::Message> queue_;
  std::vector<raftpb::Message> history_;
  std::set<uint64_t> isolated_;
  int proposals_ = 0;
  // Checker state.
  std::map<uint64_t, uint64_t> leaders_;  // term -> leader
  struct Known {
    raftpb::Entry entry;
    uint64_t seen_by_term;
  };
  std::map<uint64_t, Known> applied_;  // index -> first applied entry
  int checks_ = 0;
};

Cluster::Cluster(uint8_t flags)
    : pre_vote_(flags & 1), check_quorum_(flags & 2) {
  raftpb::Snapshot boot;
  for (uint64_t id = 1; id <= kNodes; ++id) {
    boot.mutable_metadata()->mutable_conf_state()->add_voters(id);
  }
  for (uint64_t id = 1; id <= kNodes; ++id) {
    Peer p;
    p.storage = std::make_unique<MemoryStorage>();
    CHECK_OK(p.storage->ApplySnapshot(boot));
    absl::StatusOr<std::unique_ptr<RawNode>> node =
        RawNode::Create(MakeConfig(id, p.storage.get()));
    CHECK_OK(node.status());
    p.node = *std::move(node);
    peers_[id] = std::move(p);
  }
}

Config Cluster::MakeConfig(uint64_t id, const MemoryStorage* storage) {
  Config c;
  c.id = id;
  c.election_ticks = 5;
  c.heartbeat_ticks = 1;
  c.seed = id * 7919 + peers_[id].restarts;
  c.storage = storage;
  c.max_size_per_msg = 64;
  c.max_inflight_msgs = 4;
  c.pre_vote = pre_vote_;
  c.check_quorum = check_quorum_;
  return c;
}

void Cluster::Restart(uint64_t id) {
  Peer& p = peers_.at(id);
  ++p.restarts;
  Config c = MakeConfig(id, p.storage.get());
  c.applied = p.storage->Snapshot()->metadata().index();
  absl::StatusOr<std::unique_ptr<RawNode>> node = RawNode::Create(c);
  CHECK_OK(node.status());
  p.node = *std::move(node);
  p.min_commit = p.node->raft().log().committed();
}

void Cluster::Send(raftpb::Message m) {
  if (history_.size() < kMaxHistory) history_.push_back(m);
  if (queue_.size() < kMaxQueue) queue_.push_back(std::move(m));
}

bool Cluster::ProcessReady(uint64_t id) {
  Peer& p = peers_.at(id);
  if (!p.node->HasReady()) return false;
  Ready rd = p.node->GetReady();
  if (rd.snapshot.has_value()) CHECK_OK(p.storage->ApplySnapshot(*rd.snapshot));
  CHECK_OK(p.storage->Append(rd.entries));
  if (rd.hard_state.has_value()) p.storage->SetHardState(*rd.hard_state);
  for (raftpb::Message& m : rd.messages) Send(std::move(m));
  for (raftpb::Message& m : rd.messages_after_persist) Send(std::move(m));
  for (const raftpb::Entry& e : rd.committed_entries) {
    // Entries after a restart are applied again; record them once.
    if (e.index() > p.last_applied_index) {
      p.last_applied_index = e.index();
      p.applied.push_back(e);
    }
    if (e.type() == raftpb::EntryConfChangeV2) {
      raftpb::ConfChangeV2 cc;
      CHECK(cc.ParseFromString(e.data())) << "our conf changes parse";
      (void)p.node->ApplyConfChange(cc);
    }
  }
  p.node->Advance();
  return true;
}

void Cluster::ProcessAll() {
  bool any = true;
  for (int round = 0; any && round < 16; ++round) {
    any = false;
    for (uint64_t id = 1; id <= kNodes; ++id) any = ProcessReady(id) || any;
  }
}

void Cluster::Deliver(const raftpb::Message& m) {
  const bool passes = peers_.contains(m.to()) && !isolated_.contains(m.to()) &&
                      !isolated_.contains(m.from());
  if (passes) (void)Node(m.to()).Step(m);
  if (m.type() == raftpb::MsgSnap && peers_.contains(m.from())) {
    Node(m.from()).ReportSnapshot(
        m.to(), passes ? SnapshotStatus::kFinish : SnapshotStatus::kFailure);
  }
}

// A message no correct peer sends: Step must refuse it and change nothing.
void Cluster::Malformed(Input& in) {
  const uint64_t to = 1 + in.Byte() % kNodes;
  raftpb::Message m;
  const uint8_t kind = in.Byte();
  m.set_type(static_cast<raftpb::MessageType>(in.Byte() % 19));
  m.set_to(to);
  m.set_from(1 + (to % kNodes));
  m.set_term(R(to).term() + in.Byte() % 3);
  m.set_index(in.Byte());
  m.set_commit(in.Byte());
  m.set_log_term(in.Byte() % 4);
  switch (kind % 8) {
    case 0:
      m.set_term(uint64_t{1} << 63 | in.U64());
      break;
    case 1:
      m.set_index(uint64_t{1} << 63 | in.U64());
      break;
    case 2:
      m.set_commit(uint64_t{1} << 63 | in.U64());
      break;
    case 3:
      m.set_from(to);  // from ourselves
      break;
    case 4:
      m.set_from(0);
      break;
    case 5:
      m.set_type(raftpb::MsgHup);  // a local type
      break;
    case 6: {
      // An append whose entries skip an index.
      m.set_type(raftpb::MsgApp);
      raftpb::Entry* e = m.add_entries();
      e->set_index(m.index() + 2 + in.Byte() % 4);
      e->set_term(m.term());
      break;
    }
    default:
      m.mutable_snapshot()->mutable_metadata()->set_index(
          uint64_t{1} << 63 | in.U64());
      m.set_type(raftpb::MsgSnap);
      break;
  }
  const Raft& r = R(to);
  const uint64_t term = r.term(), vote = r.vote(), commit = r.log().committed();
  const uint64_t last = r.log().LastIndex();
  const StateType state = r.state();
  const absl::Status s = Node(to).Step(m);
  CHECK(!s.ok()) << "a malformed message is refused: " << m.ShortDebugString();
  CHECK_EQ(r.term(), term) << "a refused message changes no term";
  CHECK_EQ(r.vote(), vote) << "a refused message changes no vote";
  CHECK_EQ(r.log().committed(), commit) << "a refused message commits nothing";
  CHECK_EQ(r.log().LastIndex(), last) << "a refused message appends nothing";
  CHECK(r.state() == state) << "a refused message changes no role";
}

void Cluster::ChangeMembership(uint64_t at, uint64_t target, bool joint) {
  const ProgressTracker& trk = R(at).tracker();
  if (trk.config.voters.IsJoint()) return;
  const bool is_voter = trk.config.voters.incoming.Contains(target);
  if (is_voter && trk.config.voters.incoming.size() <= 2) return;
  raftpb::ConfChangeV2 cc;
  raftpb::ConfChangeSingle* c = cc.add_changes();
  c->set_type(is_voter ? raftpb::ConfChangeAddLearnerNode
                       : raftpb::ConfChangeAddNode);
  c->set_node_id(target);
  if (joint) cc.set_transition(raftpb::ConfChangeTransitionJointImplicit);
  (void)Node(at).ProposeConfChange(cc);
}

void Cluster::Compact(uint64_t id) {
  const Raft& r = R(id);
  const uint64_t applied = r.log().applied();
  MemoryStorage& st = *peers_.at(id).storage;
  if (applied <= st.FirstIndex()) return;
  raftpb::ConfState cs = r.tracker().ConfState();
  if (st.CreateSnapshot(applied, &cs, "").ok()) CHECK_OK(st.Compact(applied));
}

void Cluster::Run(Input& in) {
  for (size_t op = 0; op < kMaxOps && !in.empty(); ++op) {
    const uint8_t code = in.Byte();
    const uint64_t node = 1 + in.Byte() % kNodes;
    switch (code % 20) {
      case 0:
      case 1:
        Node(node).Tick();
        break;
      case 2:
      case 3:
        for (uint64_t id = 1; id <= kNodes; ++id) Node(id).Tick();
        break;
      case 4:
        (void)Node(node).Propose("p" + std::to_string(proposals_++));
        break;
      case 5:
      case 6:
      case 7: {  // deliver one queued message, any of them
        if (queue_.empty()) break;
        const size_t i = in.Byte() % queue_.size();
        const raftpb::Message m = queue_[i];
        queue_.erase(queue_.begin() + i);
        Deliver(m);
        break;
      }
      case 8: {  // deliver up to n, in order
        const int n = 1 + in.Byte() % 16;
        for (int k = 0; k < n && !queue_.empty(); ++k) {
          const raftpb::Message m = queue_.front();
          queue_.erase(queue_.begin());
          Deliver(m);
        }
        break;
      }
      case 9:
      case 10:
        ProcessReady(node);
        break;
      case 11:
        ProcessAll();
        break;
      case 12: {  // drop
        if (queue_.empty()) break;
        const size_t i = in.Byte() % queue_.size();
        const raftpb::Message m = queue_[i];
        queue_.erase(queue_.begin() + i);
        if (m.type() == raftpb::MsgSnap && peers_.contains(m.from())) {
          Node(m.from()).ReportSnapshot(m.to(), SnapshotStatus::kFailure);
        }
        break;
      }
      case 13:  // duplicate
        if (!queue_.empty() && queue_.size() < kMaxQueue) {
          queue_.push_back(queue_[in.Byte() % queue_.size()]);
        }
        break;
      case 14:  // replay a message sent earlier: honest, arbitrarily late
        if (!history_.empty()) Deliver(history_[in.Byte() % history_.size()]);
        break;
      case 15:
        if (in.Byte() % 2 == 0) {
          isolated_.insert(node);
        } else {
          isolated_.clear();
        }
        break;
      case 16:
        if (in.Byte() % 2 == 0) {
          Restart(node);
        } else {
          // Crash mid-Ready: its messages went out, nothing was persisted.
          if (Node(node).HasReady()) {
            Ready rd = Node(node).GetReady();
            for (raftpb::Message& m : rd.messages) Send(std::move(m));
          }
          Restart(node);
        }
        break;
      case 17: {
        const uint8_t b = in.Byte();
        switch (b % 4) {
          case 0:
            ChangeMembership(node, 1 + (b / 4) % kNodes, (b / 16) % 2 == 1);
            break;
          case 1:
            Compact(node);
            break;
          case 2:
            (void)Node(node).ReadIndex("r" + std::to_string(proposals_++));
            break;
          default:
            Node(node).TransferLeader(1 + (b / 4) % kNodes);
            break;
        }
        break;
      }
      case 18:
        Malformed(in);
        break;
      default:
        (void)Node(node).Campaign();
        break;
    }
    Check();
  }
  CheckLogMatching();
}

void Cluster::Check() {
  uint64_t max_term = 0;
  for (auto& [id, p] : peers_) {
    p.node->CheckInvariants();
    const Raft& r = p.node->raft();
    max_term = std::max(max_term, r.term());
    // Monotonic commit.
    CHECK_GE(r.log().committed(), p.min_commit)
        << "node " << id << "'s commit index never goes down";
    p.min_commit = r.log().committed();
    // Election Safety.
    if (r.state() == StateType::kLeader) {
      auto [it, inserted] = leaders_.emplace(r.term(), id);
      CHECK_EQ(it->second, id) << "two leaders in term " << r.term();
    }
  }
  // State Machine Safety, over the entries applied since the last check.
  for (auto& [id, p] : peers_) {
    for (; p.checked < p.applied.size(); ++p.checked) {
      const raftpb::Entry& e = p.applied[p.checked];
      auto [it, inserted] = applied_.emplace(e.index(), Known{e, max_term});
      CHECK_EQ(it->second.entry.term(), e.term())
          << "nodes applied different entries at " << e.index();
      CHECK(it->second.entry.data() == e.data())
          << "nodes applied different entries at " << e.index();
    }
  }
  // Leader Completeness and Log Matching compare whole logs: every 8th op
  // (and Log Matching at the end).
  if (++checks_ % 8 != 0) return;
  for (auto& [id, p] : peers_) {
    const Raft& r = p.node->raft();
    if (r.state() != StateType::kLeader) continue;
    for (const auto& [index, k] : applied_) {
      if (r.term() <= k.seen_by_term) continue;
      if (index + 1 < r.log().FirstIndex()) continue;  // in its snapshot
      absl::StatusOr<uint64_t> term = r.log().Term(index);
      CHECK(term.ok()) << "leader " << id << " holds committed entry " << index;
      CHECK_EQ(*term, k.entry.term())
          << "leader " << id << " holds committed entry " << index;
    }
  }
  CheckTermMatching();
}

// Log Matching on terms only (no entry copies): cheap enough for every
// check; CheckLogMatching also compares the data, at the end.
void Cluster::CheckTermMatching() {
  for (uint64_t x = 1; x <= kNodes; ++x) {
    for (uint64_t y = x + 1; y <= kNodes; ++y) {
      const RaftLog& a = R(x).log();
      const RaftLog& b = R(y).log();
      const uint64_t lo = std::max(a.FirstIndex(), b.FirstIndex());
      const uint64_t hi = std::min(a.LastIndex(), b.LastIndex());
      uint64_t match = 0;
      for (uint64_t i = hi; i >= lo && i > 0; --i) {
        if (a.TermOrZero(i) == b.TermOrZero(i)) {
          match = i;
          break;
        }
      }
      for (uint64_t i = lo; i <= match; ++i) {
        CHECK_EQ(a.TermOrZero(i), b.TermOrZero(i))
            << "log matching between " << x << " and " << y << " at " << i;
      }
    }
  }
}

void Cluster::CheckLogMatching() {
  std::map<uint64_t, std::vector<raftpb::Entry>> logs;
  for (auto& [id, p] : peers_) logs[id] = p.node->raft().log().AllEntries();
  for (uint64_t x = 1; x <= kNodes; ++x) {
    for (uint64_t y = x + 1; y <= kNodes; ++y) {
      const auto& a = logs[x];
      const auto& b = logs[y];
      if (a.empty() || b.empty()) continue;
      const uint64_t lo = std::max(a[0].index(), b[0].index());
      const uint64_t hi = std::min(a.back().index(), b.back().index());
      auto at = [](const std::vector<raftpb::Entry>& log, uint64_t i) {
        return &log[i - log[0].index()];
      };
      uint64_t match = 0;
      for (uint64_t i = lo; i <= hi; ++i) {
        if (at(a, i)->term() == at(b, i)->term()) match = i;
      }
      for (uint64_t i = lo; i <= match; ++i) {
        CHECK_EQ(at(a, i)->term(), at(b, i)->term())
            << "log matching between " << x << " and " << y << " at " << i;
        CHECK(at(a, i)->data() == at(b, i)->data())
            << "log matching between " << x << " and " << y << " at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace etcdpp::raft

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace etcdpp::raft;
  if (size == 0) return 0;
  Input in(data + 1, size - 1);
  Cluster cluster(data[0]);
  cluster.Run(in);
  return 0;
}
