#include "raft/testing/network.h"

#include <algorithm>

#include "base/check.h"

namespace etcdpp::raft::testing {

Network::Network(NetworkOptions options)
    : options_(std::move(options)), prng_(options_.seed) {
  raftpb::ConfState cs;
  for (uint64_t id : options_.voters) cs.add_voters(id);
  for (uint64_t id : options_.learners) cs.add_learners(id);
  for (uint64_t id : options_.voters) CreateNode(id, cs);
  for (uint64_t id : options_.learners) CreateNode(id, cs);
}

void Network::AddEmptyNode(uint64_t id) { CreateNode(id, raftpb::ConfState()); }

void Network::CreateNode(uint64_t id, const raftpb::ConfState& cs) {
  Peer peer;
  peer.storage = std::make_unique<MemoryStorage>();
  raftpb::Snapshot snap;
  *snap.mutable_metadata()->mutable_conf_state() = cs;
  CHECK_OK(peer.storage->ApplySnapshot(snap));
  if (options_.prepare_storage && !cs.voters().empty()) {
    options_.prepare_storage(id, *peer.storage);
  }
  absl::StatusOr<std::unique_ptr<RawNode>> node =
      RawNode::Create(MakeConfig(id, peer.storage.get()));
  CHECK_OK(node.status());
  peer.node = *std::move(node);
  nodes_[id] = std::move(peer);
}

Config Network::MakeConfig(uint64_t id, const MemoryStorage* storage) {
  Config c;
  c.id = id;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = options_.seed * 1000 + id;
  c.storage = storage;
  c.max_size_per_msg = kNoLimit;
  c.max_inflight_msgs = 256;
  if (options_.customize) options_.customize(c);
  return c;
}

void Network::Restart(uint64_t id) {
  Peer& peer = nodes_.at(id);
  Config c = MakeConfig(id, peer.storage.get());
  // A fresh PRNG stream, as after a real restart.
  c.seed = c.seed * 31 + peer.restarts++;
  // As etcd does: the state machine comes back from the snapshot and the
  // entries after it are applied again, so the configuration changes they
  // hold take effect again. Apply() records each entry only once.
  c.applied = peer.storage->Snapshot()->metadata().index();
  absl::StatusOr<std::unique_ptr<RawNode>> node = RawNode::Create(c);
  CHECK_OK(node.status());
  peer.node = *std::move(node);
}

void Network::CrashBeforePersist(uint64_t id) {
  Peer& peer = nodes_.at(id);
  if (peer.node->HasReady()) {
    Ready rd = peer.node->GetReady();
    for (raftpb::Message& m : rd.messages) queue_.push_back(std::move(m));
  }
  Restart(id);
}

std::vector<uint64_t> Network::ids() const {
  std::vector<uint64_t> out;
  for (const auto& [id, peer] : nodes_) out.push_back(id);
  return out;
}

std::vector<std::string> Network::AppliedData(uint64_t id) {
  std::vector<std::string> out;
  for (const raftpb::Entry& e : applied(id)) {
    if (e.type() == raftpb::EntryNormal && !e.data().empty()) {
      out.push_back(e.data());
    }
  }
  return out;
}

bool Network::ProcessReady(uint64_t id) {
  Peer& peer = nodes_.at(id);
  if (!peer.node->HasReady()) return false;
  Ready rd = peer.node->GetReady();
  if (rd.snapshot.has_value()) {
    CHECK_OK(peer.storage->ApplySnapshot(*rd.snapshot));
  }
  CHECK_OK(peer.storage->Append(rd.entries));
  if (rd.hard_state.has_value()) peer.storage->SetHardState(*rd.hard_state);
  for (raftpb::Message& m : rd.messages) queue_.push_back(std::move(m));
  for (raftpb::Message& m : rd.messages_after_persist) {
    queue_.push_back(std::move(m));
  }
  Apply(id, peer, rd);
  peer.node->Advance();
  peer.node->CheckInvariants();
  return true;
}

void Network::Apply(uint64_t id, Peer& peer, const Ready& rd) {
  (void)id;
  for (const raftpb::Entry& e : rd.committed_entries) {
    // Replayed after a restart: the state machine already has it.
    const bool replayed =
        !peer.applied.empty() && e.index() <= peer.applied.back().index();
    if (!replayed) peer.applied.push_back(e);
    if (e.type() == raftpb::EntryConfChange) {
      raftpb::ConfChange cc;
      CHECK(cc.ParseFromString(e.data())) << "a committed conf change parses";
      (void)peer.node->ApplyConfChange(cc);
    } else if (e.type() == raftpb::EntryConfChangeV2) {
      raftpb::ConfChangeV2 cc;
      CHECK(cc.ParseFromString(e.data())) << "a committed conf change parses";
      (void)peer.node->ApplyConfChange(cc);
    }
  }
  for (const ReadState& rs : rd.read_states) peer.read_states.push_back(rs);
}

void Network::ProcessReadies() {
  bool any = true;
  while (any) {
    any = false;
    for (auto& [id, peer] : nodes_) any = ProcessReady(id) || any;
  }
}

bool Network::Passes(const raftpb::Message& m) {
  if (!nodes_.contains(m.to())) return false;
  if (ignored_types_.contains(m.type())) return false;
  if (cut_.contains({m.from(), m.to()})) return false;
  auto it = drop_percent_.find({m.from(), m.to()});
  if (it != drop_percent_.end() &&
      prng_.Uniform(100) < static_cast<uint64_t>(it->second)) {
    return false;
  }
  return true;
}

void Network::Deliver(const raftpb::Message& m) {
  const bool passes = Passes(m);
  if (passes) {
    ++delivered_by_type_[m.type()];
    (void)node(m.to()).Step(m);
  }
  // The transport tells the leader how a snapshot it streamed went.
  if (m.type() == raftpb::MsgSnap && nodes_.contains(m.from())) {
    ReportSnapshotResult(m, passes);
  }
}

void Network::ReportSnapshotResult(const raftpb::Message& m, bool delivered) {
  node(m.from()).ReportSnapshot(
      m.to(), delivered ? SnapshotStatus::kFinish : SnapshotStatus::kFailure);
}

void Network::DeliverAll() {
  std::vector<raftpb::Message> batch = std::move(queue_);
  queue_.clear();
  for (const raftpb::Message& m : batch) Deliver(m);
}

void Network::Stabilize(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    ProcessReadies();
    if (queue_.empty()) return;
    DeliverAll();
  }
}

void Network::TickAll() {
  for (auto& [id, peer] : nodes_) peer.node->Tick();
}

void Network::Campaign(uint64_t id) {
  CHECK_OK(node(id).Campaign());
  Stabilize();
}

uint64_t Network::Leader() {
  uint64_t leader = 0;
  uint64_t term = 0;
  for (auto& [id, peer] : nodes_) {
    const Raft& r = peer.node->raft();
    if (r.state() == StateType::kLeader && r.term() >= term) {
      leader = id;
      term = r.term();
    }
  }
  return leader;
}

void Network::Cut(uint64_t a, uint64_t b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

void Network::Isolate(uint64_t id) {
  for (const auto& [other, peer] : nodes_) {
    if (other != id) Cut(id, other);
  }
}

void Network::Recover() {
  cut_.clear();
  drop_percent_.clear();
  ignored_types_.clear();
}

void Network::SetDropRate(uint64_t from, uint64_t to, int percent) {
  drop_percent_[{from, to}] = percent;
}

raftpb::Message Msg(raftpb::MessageType type, uint64_t from, uint64_t to,
                    uint64_t term) {
  raftpb::Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  return m;
}

void PlayFigure8(Network& net, const std::function<void()>& check) {
  net.Campaign(1);  // term 1, index 1 committed everywhere
  check();
  // (a) Leader 1 replicates index 2 (term 1) only to 2.
  net.Cut(1, 3);
  net.Cut(1, 4);
  net.Cut(1, 5);
  CHECK(net.node(1).Propose("term1").ok()) << "figure 8 (a): 1 leads";
  net.Stabilize();
  CHECK_EQ(net.raft(1).log().committed(), 1u)
      << "figure 8 (a): index 2 is on 2 of 5 members only";
  check();
  // (b) 1 "crashes"; 5 wins term 2 with 3 and 4 and appends index 2 (term
  // 2), which reaches nobody.
  net.Recover();
  net.Isolate(1);
  net.Cut(2, 5);
  net.IgnoreType(raftpb::MsgApp);
  net.Campaign(5);
  CHECK(net.raft(5).state() == StateType::kLeader)
      << "figure 8 (b): 5 wins term 2";
  net.ClearIgnored();
  net.Isolate(5);
  CHECK(net.node(5).Propose("term2").ok()) << "figure 8 (b): 5 leads";
  net.Stabilize();
  check();
  // (c) 1 restarts and wins term 3 with 2, 3, 4 (its first try at term 2
  // fails: 3 and 4 voted for 5), every append of its held back.
  net.Recover();
  net.Isolate(5);
  net.IgnoreType(raftpb::MsgApp);
  net.Restart(1);
  net.Campaign(1);
  net.Campaign(1);
  CHECK(net.raft(1).state() == StateType::kLeader && net.raft(1).term() == 3)
      << "figure 8 (c): 1 leads term 3";
  net.queue().clear();
}

raftpb::Message Figure8OldEntryAppend(uint64_t to) {
  raftpb::Message app = Msg(raftpb::MsgApp, 1, to, 3);
  app.set_index(1);
  app.set_log_term(1);
  raftpb::Entry* e = app.add_entries();
  e->set_index(2);
  e->set_term(1);
  e->set_data("term1");
  return app;
}

}  // namespace etcdpp::raft::testing
