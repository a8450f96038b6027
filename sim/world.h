// World: N unchanged server::Node replicas in one process, driven by a
// virtual clock and an event queue, deterministically from one seed.
//
// Everything that happens is an event at a virtual time (microseconds),
// processed in (time, sequence) order -- the sequence number breaks ties
// in the order events were scheduled, so nothing depends on hash or
// pointer order. Events: a node's tick (every heartbeat interval, with
// per-node drift), a disk operation completing after a random latency, a
// raft message arriving, a client request arriving or its reply returning,
// and timers of the world's users (the workload, the nemesis).
//
// The network delivers raft messages with a random latency, and while
// faults are on may drop, duplicate and reorder them; a blocked link
// (partitions) drops everything on it. A raft snapshot (NodeOutput.snapshots)
// travels the same links under the same rules, never duplicated: its file's
// bytes, read from the sender's disk when sent, land under a temp name in
// the receiver's data dir (written and completed at once, as the transport
// would before handing it over), the receiver gets SnapshotReceived, and
// the sender ReportSnapshot -- false if the snapshot was dropped, its
// receiver was down or out of space. Processes may crash (the node is
// destroyed and its disk loses what was not synced, or a torn prefix of
// it) and restart through Node::Open, the real recovery path; they may be
// paused, holding every event for them until resumed. A node whose output
// halts is crashed by the world and restarted later -- unless it halted
// because it applied its own removal: that is a clean stop, for good.
//
// Membership is dynamic (sim/churn.h drives it): a member added to the
// cluster joins with a new id and a fresh disk, opened as a joiner from the
// member list a peer gave it; a removed member leaves ids() and is never
// restarted. Messages for ids that have no process are lost.
//
// After every step of a node the RaftChecker and ConvergenceChecker look
// at it; a violation stops RunUntil. Every event is one line of the Trace.
//
// Not thread-safe. The world reads no clock and has no randomness but its
// seeded Prng.
#ifndef ETCDPP_SIM_WORLD_H_
#define ETCDPP_SIM_WORLD_H_

#include <cstdint>
#include <map>
#include <utility>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "api/etcdserverpb/rpc.pb.h"
#include "base/prng.h"
#include "kv/mvcc_store.h"
#include "kv/request.pb.h"
#include "server/node/node.h"
#include "sim/raft_checker.h"
#include "sim/scenario.h"
#include "sim/sim_disk.h"
#include "sim/trace.h"

namespace etcdpp::sim {

// A hash of the whole kv state: every key's value and revisions, plus the
// current revision.
uint64_t KvDigest(const kv::MvccStore& store);

class World {
 public:
  // Receives timers it scheduled.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnTimer(uint64_t token) = 0;
  };
  // Receives the replies to client requests. `immediate` is true when the
  // node answered within the very call that took the request: a write so
  // refused was never proposed.
  class ClientSink {
   public:
    virtual ~ClientSink() = default;
    virtual void OnReply(uint64_t node, const server::ClientReply& reply,
                         bool immediate) = 0;
  };
  // Sees what a member's process does beside raft: the changes it applied
  // (NodeOutput.events, in revision order, after a restored snapshot
  // replaced its store when store_replaced) and when it comes up or goes
  // down. The watch service keeps each member's kv::WatchHub with it.
  class NodeObserver {
   public:
    virtual ~NodeObserver() = default;
    virtual void OnNodeOpened(uint64_t id, const server::Node& node) = 0;
    virtual void OnNodeEvents(uint64_t id, const server::Node& node,
                              bool store_replaced,
                              std::vector<mvccpb::Event> events) = 0;
    virtual void OnNodeDown(uint64_t id) = 0;
  };

  // The ways a node comes up (or does not), counted per run so a sweep
  // shows that each was reached.
  enum RecoveryPath {
    kBootstrap = 0,           // a fresh data dir
    kReplayWal,               // the WAL replayed (after a snapshot or not)
    kRestoreSnapshot,         // snapshot file loaded, WAL after it replayed
    kTornTailRepaired,        // a torn WAL tail cut off
    kCorruptSnapshotSkipped,  // a newer snapshot file failed its checksum
    kCorruptionRefused,       // injected corruption: refused to start, disk
                              // failed, member stays down
    kCorruptionUnread,        // injected corruption in data recovery did not
                              // need: started
    kRecoveryPaths,
  };
  static const char* RecoveryPathName(int path);

  struct Stats {
    uint64_t events = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_dropped = 0;
    uint64_t messages_duplicated = 0;
    uint64_t crashes = 0;
    uint64_t torn_crashes = 0;
    uint64_t halts = 0;
    uint64_t restarts = 0;
    uint64_t pauses = 0;
    uint64_t partitions = 0;
    uint64_t sync_failures = 0;
    uint64_t snapshots_sent = 0;
    uint64_t snapshots_dropped = 0;
    uint64_t snapshots_delivered = 0;
    // Recovery paths taken by Node::Open (see RecoveryPath).
    uint64_t recovery[kRecoveryPaths] = {};
    uint64_t corruptions = 0;
  };

  // `trace` must outlive the world.
  World(const Scenario& scenario, Trace* trace);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Opens every node (bootstrapping the cluster) and starts their ticks.
  void Start();
  // Processes events up to virtual time until_us; false once a violation
  // has been found (the run should stop).
  bool RunUntil(int64_t until_us);
  int64_t now() const { return now_; }
  // A generator for a component of the world, forked from the world's.
  base::Prng ForkPrng() { return prng_.Fork(); }

  // ---- Clients ----
  void set_client_sink(ClientSink* sink) { client_sink_ = sink; }
  // More sinks (lease clients): every reply goes to every sink, each
  // ignoring request ids it did not send.
  void add_client_sink(ClientSink* sink) { more_sinks_.push_back(sink); }
  void add_node_observer(NodeObserver* o) { observers_.push_back(o); }
  void SendPropose(uint64_t node, uint64_t request_id,
                   kvpb::InternalRequest request);
  void SendRead(uint64_t node, uint64_t request_id,
                etcdserverpb::RangeRequest request);
  // A lease keepalive (Node::LeaseKeepAlive), answered like a request.
  void SendLeaseKeepAlive(uint64_t node, uint64_t request_id,
                          int64_t lease_id);
  void ScheduleTimer(int64_t delay_us, Listener* listener, uint64_t token);

  // ---- Faults ----
  void Crash(uint64_t id, bool torn);
  void Restart(uint64_t id);
  void Pause(uint64_t id);
  void Resume(uint64_t id);
  // Drops every message from -> to until healed.
  void Block(uint64_t from, uint64_t to);
  void HealPartitions();
  // Whether messages from -> to are dropped now.
  bool Blocked(uint64_t from, uint64_t to) const;
  void set_network(const NetworkFaults& network) { network_ = network; }
  const NetworkFaults& network() const { return network_; }
  // The next fsync of this node to complete fails with EIO.
  void ArmSyncFailure(uint64_t id);
  void SetNoSpace(uint64_t id, bool no_space);
  // Crashes the node (if up) and corrupts its synced data where storage
  // must notice (SimDisk::CorruptSynced); the next Restart must refuse to
  // start -- the disk is then failed and the member stays down for good --
  // or start without needing the corrupted bytes. Refused (returns false)
  // when the members already corrupted or failed would reach half the
  // cluster: Raft survives the loss of a minority only.
  bool CorruptDisk(uint64_t id);
  // Ends every fault: clean network, no partitions, every node resumed and
  // restarted, disks healthy.
  void HealAll();

  // ---- Membership (sim/churn.h) ----
  // Request ids with this bit set are membership requests: their replies
  // go to the member sink, not the client sink.
  static constexpr uint64_t kMemberRequestBit = uint64_t{1} << 63;
  struct MemberRequest {
    enum Kind { kAdd, kPromote, kRemove, kUpdate } kind = kAdd;
    // kAdd: the new member (id, peer URLs, learner or not); kUpdate: its id
    // and new peer URLs; otherwise its id only.
    etcdserverpb::Member member;
  };
  void set_member_sink(ClientSink* sink) { member_sink_ = sink; }
  void SendMemberRequest(uint64_t node, uint64_t request_id,
                         MemberRequest request);
  // An id no member ever had (ids are never reused, as etcd's).
  uint64_t NewMemberId() { return next_member_id_++; }
  // Starts the process of a member the cluster added, on a fresh disk,
  // as a joiner from `members` (the list a peer gave it, which holds it).
  void Join(uint64_t id, const std::vector<etcdserverpb::Member>& members);
  // The member was promoted from learner to voter.
  void Promoted(uint64_t id);
  // A removal of this voter is in flight (0: none): CorruptDisk counts it
  // as lost already.
  void set_removing(uint64_t id) { removing_ = id; }
  // The cluster removed the member: it leaves ids() and is never
  // restarted. Its process, if up, runs on until StopForgotten (an
  // operator shuts it down a little later) or until it halts on applying
  // its removal.
  void Forget(uint64_t id);
  // Stops a forgotten member's process for good.
  void StopForgotten(uint64_t id);
  bool learner(uint64_t id) const { return learners_.contains(id); }
  // Voters removed whose removal a live member may not have applied yet
  // (down, or still listing them): a node uses a configuration once it
  // applies it, so such a member still counts on the removed voter's vote
  // until it learns the commit -- from a quorum that knows. Fault budgets
  // count them as voters already lost. A voter stops lingering once every
  // live member is up and lists it no more.
  const std::set<uint64_t>& LingeringVoters();
  // Members of ids() that are not learners.
  std::vector<uint64_t> voter_ids() const;
  void Note(std::string line) { Log(std::move(line)); }

  // ---- Inspection ----
  // The current members (learners included), in id order.
  const std::vector<uint64_t>& ids() const { return ids_; }
  bool up(uint64_t id) const;
  bool paused(uint64_t id) const;
  // The member's disk failed (corruption it refused to start on): it stays
  // down, and liveness is asked of the others only.
  bool failed(uint64_t id) const;
  // Members whose disk has not failed.
  std::vector<uint64_t> live_ids() const;
  // Null when the node is down.
  const server::Node* node(uint64_t id) const;
  // The leader every up node follows, in one term; 0 if there is none.
  uint64_t AgreedLeader() const;
  const Stats& stats() const { return stats_; }
  const Trace& trace() const { return *trace_; }
  const RaftChecker& raft_checker() const { return raft_checker_; }

  // Violations found by the world's checkers and added by its users.
  std::vector<std::string> Violations() const;
  void AddViolation(std::string violation);

 private:
  struct TickEvent {
    uint64_t node;
    uint64_t incarnation;
  };
  struct DiskEvent {
    uint64_t node;
    uint64_t incarnation;
    uint64_t op_id;
  };
  struct MessageEvent {
    raftpb::Message message;
  };
  struct SnapshotEvent {
    raftpb::Message message;
    std::string bytes;
    uint64_t sender_incarnation;
  };
  // The outcome of a snapshot send, back at its sender's incarnation.
  struct SnapshotReportEvent {
    uint64_t node;
    uint64_t incarnation;
    uint64_t peer;
    bool ok;
  };
  struct ProposeEvent {
    uint64_t node;
    uint64_t request_id;
    kvpb::InternalRequest request;
  };
  struct ReadEvent {
    uint64_t node;
    uint64_t request_id;
    etcdserverpb::RangeRequest request;
  };
  struct KeepAliveEvent {
    uint64_t node;
    uint64_t request_id;
    int64_t lease_id;
  };
  struct ReplyEvent {
    uint64_t node;
    server::ClientReply reply;
    bool immediate;
  };
  struct TimerEvent {
    Listener* listener;
    uint64_t token;
  };
  struct RestartEvent {
    uint64_t node;
  };
  struct MemberEvent {
    uint64_t node;
    uint64_t request_id;
    MemberRequest request;
  };
  using Payload =
      std::variant<TickEvent, DiskEvent, MessageEvent, SnapshotEvent,
                   SnapshotReportEvent, ProposeEvent, ReadEvent, ReplyEvent,
                   TimerEvent, RestartEvent, KeepAliveEvent, MemberEvent>;
  class MemberLog;
  struct Member;

  void Schedule(int64_t at_us, Payload payload);
  void Dispatch(Payload payload);
  // Whether a paused target holds the event back until resumed.
  bool HeldByPause(const Payload& payload);
  void OnTick(const TickEvent& e);
  void OnDisk(const DiskEvent& e);
  void OnMessage(const MessageEvent& e);
  void OnSnapshot(SnapshotEvent& e);
  void OnSnapshotReport(const SnapshotReportEvent& e);
  void OnPropose(ProposeEvent& e);
  void OnRead(ReadEvent& e);
  void OnReply(const ReplyEvent& e);
  void OnKeepAlive(const KeepAliveEvent& e);
  // Answers "connection refused" if the member is down; whether it did.
  bool RefusedWhileDown(const Member& m, uint64_t request_id);
  void OnMemberRequest(MemberEvent& e);
  // Adds a member process (not yet started) with a fresh disk.
  void AddMemberProcess(uint64_t id);

  // After every input to a node: route its output, schedule its new disk
  // completions, check it.
  void AfterInput(Member& member, std::optional<uint64_t> request_id);
  void Send(const raftpb::Message& message);
  void SendSnapshot(Member& sender, const server::SnapshotToSend& snapshot);
  void ReportSnapshotLater(const raftpb::Message& message,
                           uint64_t sender_incarnation, bool ok);
  void ScheduleDiskOps(Member& member);
  void Observe(Member& member);
  void HandleHalt(Member& member, const absl::Status& status);
  void ScheduleTick(Member& member);
  // Counts the recovery path a log line of Node::Open names.
  void OnOpenLog(uint64_t id, std::string_view message);

  // A message's latency on the directed link from -> to: each link has
  // its own range inside the network's, fixed for the run by the seed.
  int64_t LinkLatency(uint64_t from, uint64_t to);
  int64_t RandomLatency(int64_t lo_us, int64_t hi_us);
  void Log(std::string line) { trace_->Add(now_, line); }
  Member& member(uint64_t id);
  const Member* find(uint64_t id) const;

  const Scenario scenario_;
  Trace* const trace_;
  base::Prng prng_;
  base::Prng disk_prng_;
  NetworkFaults network_;
  // Each directed link's hash, which fixes its latency range.
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> link_hashes_;
  std::vector<uint64_t> ids_;
  // Membership (see Join, Forget): the bootstrap voters, the learners
  // among ids_, a removal in flight (0: none), the next new id.
  std::vector<uint64_t> initial_ids_;
  std::set<uint64_t> learners_;
  std::set<uint64_t> lingering_;
  uint64_t removing_ = 0;
  uint64_t next_member_id_ = 0;
  ClientSink* member_sink_ = nullptr;
  std::map<uint64_t, std::unique_ptr<Member>> members_;
  // (time, sequence) -> event: the sequence breaks ties deterministically.
  std::map<std::pair<int64_t, uint64_t>, Payload> queue_;
  uint64_t next_sequence_ = 0;
  uint64_t snapshot_temp_files_ = 0;
  int64_t now_ = 0;
  std::map<std::pair<uint64_t, uint64_t>, bool> blocked_;  // (from, to)
  ClientSink* client_sink_ = nullptr;
  std::vector<ClientSink*> more_sinks_;
  std::vector<NodeObserver*> observers_;
  RaftChecker raft_checker_;
  ConvergenceChecker convergence_;
  std::vector<std::string> violations_;
  Stats stats_;
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_WORLD_H_
