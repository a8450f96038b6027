// A small in-memory network of RawNodes for tests.
//
// Every node has a MemoryStorage. ProcessReady plays the application's part
// of the Ready loop synchronously (persist, queue messages, apply, advance),
// and the network delivers queued messages through a filter that can cut
// links, isolate nodes and drop messages at random (seeded). Applied entries
// are recorded per node so tests can check State Machine Safety.
#ifndef ETCDPP_RAFT_TESTING_NETWORK_H_
#define ETCDPP_RAFT_TESTING_NETWORK_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/prng.h"
#include "raft/raft.pb.h"
#include "raft/raw_node.h"
#include "raft/storage.h"

namespace etcdpp::raft::testing {

struct NetworkOptions {
  // Voters of the initial configuration (ids of nodes created at start).
  std::vector<uint64_t> voters = {1, 2, 3};
  // Learners of the initial configuration, also created at start.
  std::vector<uint64_t> learners;
  // Applied to each node's Config before it is created.
  std::function<void(Config&)> customize;
  uint64_t seed = 1;
  // Called on each initial node's storage after the bootstrap snapshot and
  // before the node is created: preload entries and hard state.
  std::function<void(uint64_t id, MemoryStorage&)> prepare_storage;
};

class Network {
 public:
  explicit Network(NetworkOptions options);
  Network() : Network(NetworkOptions()) {}

  // Adds a node with an empty configuration (it learns the configuration
  // from the leader's snapshot or log), as a newly joining node.
  void AddEmptyNode(uint64_t id);

  // Crash and restart: the node loses its volatile state and comes back
  // from what its storage holds, re-applying the entries after its snapshot
  // (recorded in applied() only once).
  void Restart(uint64_t id);
  // Crash in the middle of a Ready: its Messages were sent, but nothing of
  // it was persisted (nor messages_after_persist sent); then Restart.
  void CrashBeforePersist(uint64_t id);

  RawNode& node(uint64_t id) { return *nodes_.at(id).node; }
  const Raft& raft(uint64_t id) { return nodes_.at(id).node->raft(); }
  MemoryStorage& storage(uint64_t id) { return *nodes_.at(id).storage; }
  std::vector<uint64_t> ids() const;

  // Entries each node applied, in order (normal entries with data only
  // recorded as data; all entries recorded in applied_entries).
  const std::vector<raftpb::Entry>& applied(uint64_t id) {
    return nodes_.at(id).applied;
  }
  std::vector<std::string> AppliedData(uint64_t id);
  std::vector<ReadState>& read_states(uint64_t id) {
    return nodes_.at(id).read_states;
  }
  std::vector<raftpb::Message>& queue() { return queue_; }

  // Handles every node's Ready until none has one (no delivery).
  void ProcessReadies();
  // Handles one node's Ready if it has one; returns whether it did.
  bool ProcessReady(uint64_t id);
  // Delivers the queued messages (one round; new ones are queued).
  void DeliverAll();
  // Steps one message into its target, through the filter. A MsgSnap's
  // outcome is reported to its sender, as a transport does.
  void Deliver(const raftpb::Message& m);
  // Tells the sender of a MsgSnap whether it arrived (for messages a test
  // drops from the queue itself).
  void ReportSnapshotResult(const raftpb::Message& m, bool delivered);
  // Ready and deliver until quiet, at most max_rounds rounds.
  void Stabilize(int max_rounds = 1000);

  void Tick(uint64_t id) { node(id).Tick(); }
  void TickAll();
  // Ticks a node until it campaigns then stabilizes; for tests that want a
  // leader without thinking about timeouts.
  void Campaign(uint64_t id);
  // The leader most nodes agree on, or 0.
  uint64_t Leader();

  // Link filters.
  void Cut(uint64_t a, uint64_t b);
  void Isolate(uint64_t id);
  void Recover();
  // Drops messages from -> to with probability percent/100.
  void SetDropRate(uint64_t from, uint64_t to, int percent);
  // Drops every message of this type.
  void IgnoreType(raftpb::MessageType type) { ignored_types_.insert(type); }
  void ClearIgnored() { ignored_types_.clear(); }

  // Counts of delivered messages by type, for batching tests.
  std::map<int, int>& delivered_by_type() { return delivered_by_type_; }

 private:
  struct Peer {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<RawNode> node;
    std::vector<raftpb::Entry> applied;
    std::vector<ReadState> read_states;
    uint64_t restarts = 1;
  };
  void CreateNode(uint64_t id, const raftpb::ConfState& cs);
  Config MakeConfig(uint64_t id, const MemoryStorage* storage);
  void Apply(uint64_t id, Peer& peer, const Ready& rd);
  bool Passes(const raftpb::Message& m);

  NetworkOptions options_;
  std::map<uint64_t, Peer> nodes_;
  std::vector<raftpb::Message> queue_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
  std::map<std::pair<uint64_t, uint64_t>, int> drop_percent_;
  std::set<int> ignored_types_;
  std::map<int, int> delivered_by_type_;
  base::Prng prng_;
};

// A message of `type` from -> to at `term`, every other field unset.
raftpb::Message Msg(raftpb::MessageType type, uint64_t from, uint64_t to,
                    uint64_t term);

// Figure 8 of the Raft paper (§5.4.2) on voters 1..5, played up to the point
// where it matters: index 2 of term 1 is on 1 and 2 only, 5 holds an index 2
// of term 2 that reached no one, and 1 -- restarted -- leads term 3 with
// every MsgApp still ignored (and 5 isolated), so the caller chooses who gets
// index 2 alone (Figure8OldEntryAppend). `check` runs after each stage.
// CHECK-fails if a stage does not go as the figure says.
void PlayFigure8(Network& net, const std::function<void()>& check);
// Leader 1's MsgApp of term 3 carrying index 2 (term 1) and nothing else.
raftpb::Message Figure8OldEntryAppend(uint64_t to);

}  // namespace etcdpp::raft::testing

#endif  // ETCDPP_RAFT_TESTING_NETWORK_H_
