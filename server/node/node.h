// server::Node: one etcdpp replica -- raft, the kv state machine and the
// storage glue -- as a deterministic, single-threaded state machine.
//
// Everything the node is told is an input call; everything it wants done is
// output data that its driver drains with TakeOutput() after each input
// (DESIGN.md, "The node and its Env seam"). The two drivers are the
// production runner (server/runner) and the simulator (sim/); no code path
// belongs to only one of them. The node reaches the world only through the
// Disk it is given, where writes are submitted and complete later as
// DiskDone inputs.
//
// The write path: Propose hands the request to raft; each Ready's messages
// go out at once (a leader replicates while it persists, thesis §10.2.1),
// its entries and hard state are appended to the WAL with one fsync, and
// only when that is durable are the acknowledgements sent, the entries
// added to the in-memory raft log and the committed entries applied. While
// one Ready is being persisted, new proposals gather in raft and form the
// next batch: group commit.
//
// Reads: serializable ones are answered at once from the local state;
// linearizable ones are gathered into ReadIndex rounds (one heartbeat round
// serves every read waiting) and answered once applied >= the read index.
// Lease keepalives ride the same rounds: a leader renews only once a quorum
// confirmed it still leads.
//
// Snapshots: every snapshot_count applied entries the node writes the kv
// state (kv::SnapshotWriter) to a snapshot file; once the file is durable it
// appends a snapshot marker to the WAL, installs the snapshot in raft's
// storage (Snapshot.data is the file NAME, never the state), compacts the
// log to snapshot_catchup_entries behind it and releases the WAL segments
// the log no longer needs. A follower raft sends a snapshot to appears in
// NodeOutput.snapshots (message + file name); the receiving side's driver
// calls SnapshotReceived, and the node restores the applier from the file
// once raft hands the snapshot out in a Ready and its WAL marker is durable.
// Recovery = newest valid snapshot file + the WAL after it.
//
// Not thread-safe; deterministic: the same inputs give the same outputs.
#ifndef ETCDPP_SERVER_NODE_NODE_H_
#define ETCDPP_SERVER_NODE_NODE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "base/log.h"
#include "base/prng.h"
#include "kv/applier.h"
#include "kv/request.pb.h"
#include "raft/raw_node.h"
#include "raft/storage.h"
#include "server/node/auto_compactor.h"
#include "server/node/membership.h"
#include "server/storage/data_dir.h"
#include "server/storage/disk.h"
#include "server/storage/wal.h"

namespace etcdpp::server {

// Bugs the simulator plants to prove that its checkers have teeth (see
// sim/planted_bugs.h). All off by default; no server flag reaches them.
struct NodePlantedBugs {
  // A linearizable read on a member that believes it leads is served from
  // its local state at once, without a ReadIndex round: a deposed leader
  // (paused or cut off, not yet aware of the new term) serves stale data.
  bool serve_read_locally_on_deposed_leader = false;
  // A lease keepalive is renewed on a member that believes it leads at
  // once, without confirming its leadership: a deposed leader renews a
  // lease the new leader expires before the client's TTL is up. Caught by
  // NodeLeaseTest.CutOffLeaderNeverRenewsALease; the simulator's drawn
  // schedules rarely pause a leader past its successor's promotion, so it
  // is not in sim's table.
  bool renew_lease_on_deposed_leader = false;
  // Raft's own (raft/config.h), handed to its Config.
  raft::PlantedBugs raft;
};

struct NodeOptions {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  // The voters of a new cluster, this member among them. Read only when the
  // data dir holds no WAL yet (bootstrap); an existing WAL always wins.
  std::vector<uint64_t> initial_voters;
  // Learners of the starting configuration: only a member joining a
  // running cluster, which starts from the member list a peer gave it.
  std::vector<uint64_t> initial_learners;
  // The members --initial-cluster names (id, name, peer URLs), for the
  // replicated member list of a new cluster or of a member joining one.
  // Read at bootstrap, and at recovery when no snapshot holds the list.
  // Members of initial_voters missing here are listed by id only.
  std::vector<etcdserverpb::Member> initial_members;
  // This member's attributes as its flags give them (--name,
  // --advertise-client-urls). While the replicated list differs, the node
  // publishes them through the log (as etcd's publish does) once a leader
  // is known. Empty: nothing to publish.
  std::string name;
  std::vector<std::string> client_urls;

  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // The duration of one Tick() in milliseconds (etcd's --heartbeat-interval
  // when heartbeat_ticks is 1). Only leases measure time in milliseconds:
  // the lessor is told ticks x tick_ms (see node_lease.cc).
  int64_t tick_ms = 100;
  // A client request not answered within this many ticks fails with
  // "etcdserver: request timed out" (its outcome is then unknown).
  int request_timeout_ticks = 70;
  // Seeds the raft PRNG and the request ids; differs per member and run.
  uint64_t seed = 0;

  kv::ApplierOptions applier;
  // etcd's --auto-compaction-*, in ticks; the leader proposes the
  // compactions.
  AutoCompactionOptions auto_compaction;
  storage::WalOptions wal;
  uint64_t max_size_per_msg = 1 << 20;
  size_t max_inflight_msgs = 256;
  bool pre_vote = true;
  bool check_quorum = true;

  // A snapshot of the kv state is taken every snapshot_count applied
  // entries (etcd --snapshot-count); the raft log is then compacted but
  // keeps the last snapshot_catchup_entries entries, so a slightly slow
  // follower still catches up from the log (etcd keeps 5000).
  uint64_t snapshot_count = 100000;
  uint64_t snapshot_catchup_entries = 5000;
  // Snapshot files kept in the data dir (the newest ones).
  size_t snapshots_to_keep = 5;

  // Not owned; may be null (no logging). Must outlive the node.
  base::LogSink* log = nullptr;

  NodePlantedBugs planted_bugs;
};

// The answer to one client request, by the id the driver gave it.
struct ClientReply {
  uint64_t request_id = 0;
  absl::Status status;
  kvpb::InternalResponse response;
  etcdserverpb::ResponseHeader header;
  // Membership requests: the member concerned (for an add: the new one)
  // and the member list once the change applied.
  etcdserverpb::Member member;
  std::vector<etcdserverpb::Member> members;
};

// A raft MsgSnap to stream to message.to() followed by the snapshot file
// file_name (a name inside the data dir). The driver reports the outcome
// with ReportSnapshot(message.to(), ok).
struct SnapshotToSend {
  raftpb::Message message;
  std::string file_name;
};

struct NodeOutput {
  std::vector<ClientReply> replies;
  // Never MsgSnap: those go to `snapshots`.
  std::vector<raftpb::Message> messages;
  std::vector<SnapshotToSend> snapshots;
  // Changes applied, in revision order, for watchers.
  std::vector<mvccpb::Event> events;
  // The node replaced its store (applier().store()) by a restored snapshot:
  // `events` holds only the changes applied after that, and a watcher must
  // catch up from the new store past what it has seen (kv::WatchHub::Feed).
  // The old store is gone, and a new one may sit at its address.
  bool store_replaced = false;
  // Peers to connect to, reconnect to or drop, in the order the changes
  // applied (and after a restored snapshot). Never this member itself.
  std::vector<PeerChange> peer_changes;
  // Set once: the node hit a fatal condition (a failed fsync, corruption)
  // and must stop. Every later input is ignored.
  std::optional<absl::Status> halt;
};

struct NodeStatus {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t leader = 0;  // 0: no leader known
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t last_index = 0;
  int64_t revision = 0;
  bool is_leader = false;
  bool is_learner = false;
};

class Node {
 public:
  // Recovers the member from the data dir behind `disk` (synchronous reads),
  // or bootstraps it when the dir holds no WAL. `disk` must outlive the node.
  static absl::StatusOr<std::unique_ptr<Node>> Open(NodeOptions options,
                                                    storage::Disk* disk);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Inputs.
  void Propose(uint64_t request_id, kvpb::InternalRequest request);
  void Read(uint64_t request_id, etcdserverpb::RangeRequest request);
  void Step(const raftpb::Message& message);
  void Tick();
  void DiskDone(uint64_t op_id, const absl::Status& status);
  void ReportUnreachable(uint64_t peer);
  void ReportSnapshot(uint64_t peer, bool ok);
  // A peer's MsgSnap arrived with its snapshot file, written (not
  // necessarily synced) under file_name in the data dir. The node checks
  // the file, syncs it and renames it to its snapshot name, and only then
  // steps the message into raft. An invalid file is removed and dropped
  // (the leader retries).
  void SnapshotReceived(raftpb::Message message, std::string file_name);
  // Hands leadership to the most up-to-date other voter, if this member
  // leads (before a graceful stop). False when there is no one to hand it
  // to (not the leader, or the only voter).
  bool TransferLeadershipAway();

  // Leases (node_lease.cc). Grants and revokes go through Propose
  // (lease_grant with ID 0 gets an id chosen here, carried in the entry).
  // A keepalive renews on the leader only; a follower, or a leader that has
  // not yet applied an entry of its own term, answers "etcdserver: not
  // leader" (FailedPrecondition), which the driver forwards to the leader.
  // The leader first confirms its leadership with a ReadIndex round, as
  // etcd 3.5's ensureLeadership does: a deposed leader that has not heard
  // of the new term yet (paused, cut off) must not renew a lease the new
  // leader will expire. The reply's response is lease_keep_alive with the
  // new TTL.
  void LeaseKeepAlive(uint64_t request_id, int64_t lease_id);
  // Time-to-live needs the leader's expiries: leader-only, like keepalive.
  // An unknown lease answers TTL -1, as etcd.
  void LeaseTimeToLive(uint64_t request_id,
                       const etcdserverpb::LeaseTimeToLiveRequest& request);
  // The leases of the local state (any member), soonest expiry first.
  void LeaseLeases(uint64_t request_id);
  // Membership requests (etcd's Cluster service), answered by request id
  // once the conf change applies, with ClientReply.members set. At most
  // one change is in flight at a time. Each one is checked first against
  // the local member list (and, on the leader, raft's progress), with
  // etcd's errors (server/node/errors.h).
  // Adds member.id() with its peer URLs, as a learner if member.islearner().
  void AddMember(uint64_t request_id, etcdserverpb::Member member);
  // Makes a learner a voter; the leader refuses while its log lags.
  void PromoteMember(uint64_t request_id, uint64_t id);
  // Removes a member, possibly this one: a member that applies its own
  // removal hands leadership away if it leads, then halts with
  // MemberRemovedError() (a clean stop).
  void RemoveMember(uint64_t request_id, uint64_t id);
  void UpdateMember(uint64_t request_id, uint64_t id,
                    std::vector<std::string> peer_urls);
  // etcd's MoveLeader: this member, the leader, hands leadership to the
  // voter `transferee`. Answered OK once the transferee leads (at once if
  // it is this member); NotLeaderError() on a member that does not lead,
  // BadLeaderTransfereeError() for anything but a voter, and
  // LeaderTransferTimeoutError() when the hand-off does not happen within
  // the request timeout.
  void MoveLeader(uint64_t request_id, uint64_t transferee);
  // The member list as of the applied index.
  const MemberSet& Members() const { return members_; }
  // The state as of the applied index in the body format of this member's
  // snapshot files (the member list, then the kv stream; membership.h),
  // for a backup (etcd's Maintenance.Snapshot). Copies the whole state.
  std::string EncodedSnapshotBody() const;
  // The peers the driver must connect to right after Open (every member
  // but this one); later changes come as NodeOutput.peer_changes.
  std::vector<PeerChange> Peers() const { return members_.Peers(member_id_); }

  // Output, drained by the driver after each input.
  NodeOutput TakeOutput();

  NodeStatus GetStatus() const;
  // A response header as etcd fills it: cluster and member id, the kv
  // revision and the raft term.
  etcdserverpb::ResponseHeader Header() const;
  bool halted() const { return halted_; }
  const kv::Applier& applier() const { return *applier_; }
  // Who an auth token stands for (kv::AuthStore::AuthInfoFromToken): an
  // input, since a look-up renews the token. Tokens expire by Tick().
  absl::StatusOr<kv::AuthInfo> AuthInfoFromToken(std::string_view token) {
    return applier_->AuthInfoFromToken(token);
  }
  const raft::RawNode& raft() const { return *raw_; }

  void CheckInvariants() const;

 private:
  struct PendingWrite {
    uint64_t request_id;
    int64_t deadline_tick;
    bool membership = false;  // a conf change (at most one at a time)
  };
  // A linearizable range, or a lease keepalive waiting for the leadership
  // to be confirmed.
  struct PendingRead {
    uint64_t request_id;
    etcdserverpb::RangeRequest request;
    int64_t deadline_tick;
    std::optional<int64_t> renew_lease;  // set for a keepalive
  };
  // A MoveLeader waiting for the transferee to lead.
  struct PendingTransfer {
    uint64_t request_id;
    uint64_t transferee;
    int64_t deadline_tick;
  };
  // Reads sharing one ReadIndex request.
  struct ReadRound {
    std::vector<PendingRead> reads;
    std::optional<uint64_t> read_index;  // set when raft answered
    int64_t started_tick = 0;
  };
  // A Ready whose persist is in flight.
  struct InFlight {
    raft::Ready ready;
    uint64_t wal_batch = 0;
  };
  // A snapshot file being saved; the save is durable when last_op is.
  struct SnapshotSave {
    raftpb::SnapshotMetadata metadata;
    uint64_t last_op = 0;
  };
  // A received snapshot: its state restored (not yet in use) and its file
  // being made durable (last_op), then stepped into raft.
  struct ReceivedSnapshot {
    raftpb::Message message;
    std::unique_ptr<kv::Applier> applier;
    std::optional<MemberSet> members;
    uint64_t last_op = 0;
    bool stepped = false;
  };

  Node(NodeOptions options, storage::Disk* disk);
  absl::Status Recover();
  void LogRecoveryWarnings(const storage::RecoveredState& state) const;
  absl::StatusOr<uint64_t> RestoreSnapshotFile(
      const storage::SnapshotFile& file, raftpb::Snapshot* snapshot);
  absl::Status Bootstrap();
  absl::Status RecordInitialMembership(raftpb::Snapshot* snapshot);
  absl::Status StartRaft(uint64_t applied);

  // Drives raft's Readies as far as the disk allows.
  void Pump();
  // The voter (not this member) whose log matches the leader's furthest;
  // 0 if none. The target of a leadership hand-off.
  uint64_t MostCaughtUpVoter() const;
  // This member is a learner: it serves serializable reads only, as etcd.
  bool IsLearner() const;
  // Proposes a request of the node's own (no client waits for it).
  void ProposeOwn(kvpb::InternalRequest request);
  void MaybeAutoCompact();
  void FinishReady(raft::Ready ready);
  void ApplyEntries(const std::vector<raftpb::Entry>& entries);
  void ApplyNormal(const raftpb::Entry& entry);
  void ApplyConfChange(const raftpb::Entry& entry);

  // Membership (node_membership.cc).
  absl::Status CheckMemberChange(const raftpb::ConfChange& change) const;
  absl::Status CheckPromotion(uint64_t id) const;
  absl::Status CheckRemoval(uint64_t id) const;
  void ProposeMemberChange(uint64_t request_id, raftpb::ConfChange change);
  absl::Status ValidateConfChange(const raftpb::ConfChange& change) const;
  // raft_status: raft's verdict; valid: ValidateConfChange's.
  void OnConfChangeApplied(const raftpb::ConfChange& change,
                           const absl::Status& raft_status,
                           const absl::Status& valid);
  void SetMembers(MemberSet members);
  void MaybePublishAttributes();
  void ApplyAttributes(const raftpb::Entry& entry);
  void FinishRemoval();
  bool SnapshotServesPeer(const raftpb::Message& message);

  // Snapshots.
  void MaybeTakeSnapshot();
  void OnSnapshotSaved();
  void OnReceivedSnapshotDurable();
  void RestoreSnapshot(const raftpb::Snapshot& snapshot);
  void OwnDiskDone(uint64_t op_id, const absl::Status& status);
  uint64_t SubmitOwn(storage::DiskOp op);
  void Emit(raftpb::Message message);

  // Leases (node_lease.cc).
  void LeaseTick();
  // Renews on the spot and answers the keepalive (its leadership confirmed,
  // or refused by a non-primary lessor).
  void RenewLease(uint64_t request_id, int64_t lease_id);
  // Proposes a request of the node's own (a revoke, a checkpoint); no client
  // waits for it, and a failure is retried by the lessor's schedule.
  void ProposeInternal(kvpb::InternalRequest request);
  // Fills what the proposer decides: the member id, a lease grant's id.
  void FillProposal(uint64_t proposal_id, kvpb::InternalRequest* request) const;
  // The new leader applied its first entry: leases expire from now on,
  // extended by an election timeout (etcd's Promote on the leader's noop).
  void MaybePromoteLessor(uint64_t entry_term);
  void MaybeDemoteLessor();
  // The applier was replaced by a restored snapshot: its lessor starts at
  // time 0 and as a follower; bring it to now.
  void ResetLessorClock();
  int64_t now_ms() const { return tick_ * options_.tick_ms; }

  void MaybeStartReadRound();
  void OnReadStates(const std::vector<raft::ReadState>& states);
  void ServeReads();
  void ExpireRequests();
  // Answers the MoveLeaders whose transferee now leads, or whose time ran
  // out.
  void SettleTransfers();

  // Removes the snapshot files past snapshots_to_keep, sparing those being
  // streamed to peers and those whose removal is under way.
  void RetainSnapshots();
  // After a received snapshot is restored: answers the pending writes it
  // applied, from the applier's remembered results.
  void AnswerWritesInSnapshot();
  void Reply(uint64_t request_id, absl::Status status,
             kvpb::InternalResponse response = {});
  absl::Status ProposalError(const absl::Status& raft_status) const;
  void Halt(absl::Status status);
  void Log(base::LogLevel level, const std::string& message) const;

  const NodeOptions options_;
  storage::Disk* const disk_;
  base::Prng prng_;
  raft::MemoryStorage raft_storage_;
  std::unique_ptr<raft::RawNode> raw_;
  std::unique_ptr<storage::Wal> wal_;
  std::unique_ptr<kv::Applier> applier_;
  // From the data dir when it has them (it wins over the options).
  uint64_t member_id_;
  uint64_t cluster_id_;

  uint64_t applied_index_ = 0;
  int64_t tick_ = 0;
  uint64_t leader_ = 0;
  // Proposal ids: a prefix drawn at start, so ids of one member's runs and
  // of different members never meet, then a counter.
  uint64_t next_proposal_id_ = 0;
  AutoCompactor compactor_;
  std::map<uint64_t, PendingWrite> pending_writes_;  // by proposal id
  std::vector<PendingTransfer> pending_transfers_;
  // peer -> the snapshot file the driver streams to it, until reported.
  std::map<uint64_t, std::string> streaming_snapshots_;

  std::vector<PendingRead> reads_waiting_;  // not yet in a round
  std::map<uint64_t, ReadRound> read_rounds_;  // by round id (the context)
  uint64_t next_read_round_ = 1;
  // Ticks since the last lease maintenance (revokes, checkpoints).
  int64_t lease_tick_ = 0;

  std::optional<InFlight> in_flight_;
  // The membership as of applied_index_, for snapshot metadata.
  raftpb::ConfState conf_state_;
  // The member list as of applied_index_ (with conf_state_).
  MemberSet members_;
  // This member applied its own removal: it stops after this Ready.
  bool removed_ = false;
  // A member added after the newest snapshot needs one that lists it.
  bool snapshot_for_new_member_ = false;
  // The tick before which the node does not publish its attributes again.
  int64_t next_publish_tick_ = 0;
  // The index of the newest snapshot in raft's storage.
  uint64_t snapshot_index_ = 0;
  std::optional<SnapshotSave> snapshot_save_;
  std::optional<ReceivedSnapshot> received_;
  // Disk ops the node submitted itself (snapshot files), not the Wal.
  std::set<uint64_t> own_ops_;
  // Snapshot files whose RemoveOp (by op id) is not done yet.
  std::map<uint64_t, std::string> removing_snapshots_;
  // The bootstrap batch, which must be durable before raft may act.
  std::optional<uint64_t> bootstrap_batch_;
  NodeOutput output_;
  bool halted_ = false;
};

}  // namespace etcdpp::server

#endif  // ETCDPP_SERVER_NODE_NODE_H_
