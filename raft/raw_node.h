// RawNode: the application's handle on one raft node, shaped like
// etcd-io/raft's RawNode.
//
// The loop that drives it:
//
//   node->Tick() / node->Step(msg) / node->Propose(data) ...   (inputs)
//   if (node->HasReady()) {
//     Ready rd = node->GetReady();
//     send rd.messages                                   (at once)
//     persist rd.snapshot, rd.entries, rd.hard_state     (fsync if must_sync)
//     then send rd.messages_after_persist
//     apply rd.snapshot, then rd.committed_entries (ApplyConfChange for
//       conf change entries); serve rd.read_states once applied
//     node->Advance();
//   }
//
// Exactly one Ready is outstanding at a time: GetReady() may be called again
// only after Advance(), and HasReady() is false in between.
//
// Not thread-safe. The Config's storage must outlive the node.
#ifndef ETCDPP_RAFT_RAW_NODE_H_
#define ETCDPP_RAFT_RAW_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/config.h"
#include "raft/raft.h"
#include "raft/raft.pb.h"
#include "raft/read_only.h"
#include "raft/tracker.h"

namespace etcdpp::raft {

struct Ready {
  // Set when the leader or role changed since the last Ready.
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed; persist before sending
  // messages_after_persist.
  std::optional<raftpb::HardState> hard_state;
  // Entries to persist (append, truncating any stored entries they
  // overwrite), before sending messages_after_persist.
  std::vector<raftpb::Entry> entries;
  // A snapshot to persist and apply, before `entries` (which follow it)
  // and before the committed entries.
  std::optional<raftpb::Snapshot> snapshot;
  // Entries to apply, in order. They may include entries of this Ready's
  // `entries`: persist first, then apply.
  std::vector<raftpb::Entry> committed_entries;
  // Messages that may be sent at once (the leader's appends go out while
  // it persists the same entries, thesis §10.2.1).
  std::vector<raftpb::Message> messages;
  // Messages that may be sent only once this Ready's entries, hard state
  // and snapshot are durable: acknowledgements of appends and votes.
  std::vector<raftpb::Message> messages_after_persist;
  // Reads that may be served once the application applied their index.
  std::vector<ReadState> read_states;
  // Whether the persist must be synced (fsync) before going on.
  bool must_sync = false;
};

enum class SnapshotStatus { kFinish, kFailure };

struct Status {
  uint64_t id = 0;
  raftpb::HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  // Every member's progress, ascending by id; only filled on the leader.
  ProgressMap progress;
  TrackerConfig config;
  uint64_t lead_transferee = kNone;
  DropCounters drops;
};

class RawNode {
 public:
  static absl::StatusOr<std::unique_ptr<RawNode>> Create(const Config& config);

  // One logical clock tick (a heartbeat interval).
  void Tick();
  // Starts an election now (pre-vote first if enabled).
  absl::Status Campaign();
  // Proposes data for the log. kUnavailable "raft: proposal dropped: ..."
  // when there is no leader, forwarding is disabled, a transfer is in
  // progress, or the uncommitted size cap is reached.
  absl::Status Propose(std::string data);
  absl::Status ProposeConfChange(const raftpb::ConfChange& change);
  absl::Status ProposeConfChange(const raftpb::ConfChangeV2& change);
  // Applies a committed conf change entry's change; returns the new
  // membership. An error leaves the configuration unchanged.
  absl::StatusOr<raftpb::ConfState> ApplyConfChange(
      const raftpb::ConfChangeV2& change);
  absl::StatusOr<raftpb::ConfState> ApplyConfChange(
      const raftpb::ConfChange& change);
  // Steps a message received from a peer. Local message types and
  // responses from nodes outside the configuration are refused.
  absl::Status Step(const raftpb::Message& m);
  // Requests a linearizable read; the answer is a ReadState with this
  // context in a later Ready.
  absl::Status ReadIndex(std::string context);
  // Asks the leader to hand leadership to `transferee`.
  void TransferLeader(uint64_t transferee);
  void ReportUnreachable(uint64_t id);
  // A follower forgets its leader, so it grants votes at once even with
  // check_quorum (etcd's ForgetLeader); refused with lease-based reads, a
  // no-op on leaders and candidates.
  absl::Status ForgetLeader();
  void ReportSnapshot(uint64_t id, SnapshotStatus status);

  bool HasReady() const;
  // Precondition: HasReady(); no Ready outstanding.
  Ready GetReady();
  // The outstanding Ready was handled (persisted, sent, applied).
  void Advance();

  raft::Status GetStatus() const;
  const Raft& raft() const { return *raft_; }
  Raft& mutable_raft() { return *raft_; }

  void CheckInvariants() const { raft_->CheckInvariants(); }

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);

  // What Advance must do for the outstanding Ready.
  struct Outstanding {
    std::optional<EntryId> last_entry;
    std::optional<uint64_t> snapshot_index;
    uint64_t applied_index = 0;
    uint64_t applied_size = 0;
    std::vector<raftpb::Message> self_messages;
  };

  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_state_;
  raftpb::HardState prev_hard_state_;
  std::optional<Outstanding> outstanding_;
  // PlantedBugs::apply_before_commit: the last index handed out early.
  uint64_t handed_out_early_ = 0;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_RAW_NODE_H_
