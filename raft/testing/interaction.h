// Interaction scripts: a small command language that drives a cluster of
// RawNodes step by step and prints everything they do, in the spirit of
// etcd raft's rafttest datadriven tests. Scripts live in raft/testdata/*.txt;
// each command is followed by "----" and its expected output, then a blank
// line. //tests:raft_interaction_test runs them and compares (it does the
// file I/O, which raft/ never does); `RAFT_REWRITE=1 bazel run
// //tests:raft_interaction_test` rewrites the expected outputs in the
// source tree (read them before committing: a golden file must encode
// correct behaviour, not whatever the code does).
//
// Commands (ids are node ids; "k=v" arguments are optional):
//   add-nodes N [voters=1,2,3] [learners=4] [pre-vote=true]
//       [check-quorum=true] [read-only=lease] [max-inflight=N]
//       [max-size=N] [forwarding=false] [heartbeat=TICKS]
//                                   N new nodes, next free ids; without
//                                   voters they start with an empty config
//   campaign ID                     MsgHup
//   propose ID DATA                 a normal proposal
//   propose-conf-change ID [v1=true] [transition=auto|implicit|explicit]
//       CHANGE...                   CHANGE is v<id> (add voter), l<id> (add
//                                   learner), r<id> (remove), u<id>
//                                   (update); none = leave joint
//   tick-election ID                ticks until the node's (randomized)
//                                   election timeout passes; a leader ticks
//                                   election_ticks times (a CheckQuorum round)
//   tick-heartbeat ID               heartbeat_ticks ticks
//   tick ID N                       N ticks
//   process-ready ID...             handle each node's Ready, if any:
//                                   ready, then persist
//   ready ID...                     get the Ready; its Messages go out now
//   persist ID...                   persist the Ready got, send its
//                                   MessagesAfterPersist, apply, Advance
//   deliver-msgs [drop=true] ID...  step (or drop) the messages queued for
//                                   these nodes, in order
//   stabilize [ID...]               process-ready and deliver-msgs, all (or
//                                   these) nodes, until nothing is left
//   isolate ID / heal               messages from or to ID are dropped on
//                                   delivery / no longer
//   status ID                       the leader's progress of every member
//   raft-state                      role, term and leader of every node
//   raft-log ID                     the node's persisted log
//   transfer-leadership from=ID to=ID
//   read-index ID CTX
//   compact ID INDEX                snapshot at INDEX, compact the log
//   report-unreachable ID PEER
//   report-snapshot ID PEER [failed=true]
//   forget-leader ID
// Nodes whose role, term or leader change print "ID: State term=T lead=L"
// as it happens.
//
// Test-only; pure (the test binary reads and writes the files).
#ifndef ETCDPP_RAFT_TESTING_INTERACTION_H_
#define ETCDPP_RAFT_TESTING_INTERACTION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "raft/raft.pb.h"
#include "raft/raw_node.h"
#include "raft/storage.h"

namespace etcdpp::raft::testing {

struct Command {
  std::string name;
  std::vector<std::string> args;             // positional
  std::map<std::string, std::string> kv;     // key=value
};

Command ParseCommand(std::string_view line);

// Human-readable forms, also used by other tests' failure messages.
std::string DescribeEntry(const raftpb::Entry& e);
std::string DescribeMessage(const raftpb::Message& m);
std::string DescribeConfState(const raftpb::ConfState& cs);

// A MemoryStorage whose Snapshot() is always at the applied index, with the
// configuration in effect there (like etcd rafttest's snapOverrideStorage):
// the leader never sends a stale snapshot that leaves out a joining node.
class SnapStorage : public MemoryStorage {
 public:
  absl::StatusOr<raftpb::Snapshot> Snapshot() const override;
  uint64_t applied = 0;
  raftpb::ConfState conf_state;
};

class InteractionEnv {
 public:
  InteractionEnv() = default;
  // Runs one command; returns its output lines ("ok" when it has none).
  std::vector<std::string> Handle(const Command& cmd);

 private:
  struct Node {
    std::unique_ptr<SnapStorage> storage;
    std::unique_ptr<RawNode> node;
    Config config;
    // A Ready handed out whose persist has not happened yet.
    std::optional<Ready> pending;
  };
  using Observed = std::tuple<StateType, uint64_t, uint64_t>;

  void AddNodes(const Command& cmd);
  void Campaign(uint64_t id);
  void Propose(uint64_t id, const std::string& data);
  void ProposeConfChange(const Command& cmd);
  void TickElection(uint64_t id);
  void TickHeartbeat(uint64_t id);
  bool ProcessReady(uint64_t id);
  bool GetReady(uint64_t id);
  bool Persist(uint64_t id, bool announce);
  bool DeliverMsgs(uint64_t id, bool drop);
  void Stabilize(const std::vector<uint64_t>& ids);
  void Status(uint64_t id);
  void RaftState();
  void RaftLog(uint64_t id);
  void Compact(uint64_t id, uint64_t index);

  Node& N(uint64_t id);
  void Out(std::string line) { out_.push_back(std::move(line)); }
  void Err(const absl::Status& s);
  // Prints the role/term/leader changes since the last call.
  void NoteChanges();
  std::vector<uint64_t> Ids(const Command& cmd) const;

  std::map<uint64_t, Node> nodes_;
  std::map<uint64_t, Observed> observed_;
  // Sent and not yet delivered, in send order.
  std::vector<raftpb::Message> msgs_;
  std::set<uint64_t> isolated_;
  std::vector<std::string> out_;
};

// Runs a whole script; returns it with every command's output replaced by
// the actual output (comments and commands kept).
std::string RunScript(std::string_view script);

}  // namespace etcdpp::raft::testing

#endif  // ETCDPP_RAFT_TESTING_INTERACTION_H_
