// Raft: the consensus state machine of one node (Ongaro & Ousterhout, "In
// Search of an Understandable Consensus Algorithm", and Ongaro's thesis).
//
// Pure and deterministic: no I/O, clock or randomness of its own. Input is
// Step (messages, local or from peers) and Tick; output is data the RawNode
// collects into a Ready: messages to send now (msgs()), messages that may
// only be sent once this node's log and hard state are durable
// (msgs_after_append()), and read states. Modeled on etcd-io/raft.
//
// Async storage writes (thesis §10.2.1): a leader sends its new entries to
// followers while persisting them itself, and counts itself toward a quorum
// only once they are durable — it acknowledges itself with an MsgAppResp
// addressed to itself that is stepped back in after the persist. Likewise a
// candidate's vote for itself, and every MsgAppResp / vote response to a
// peer, wait for the persist.
//
// Peer input is validated in Step: impossible messages are dropped and
// counted, never CHECKed. CHECKs guard internal invariants only.
//
// Not thread-safe.
#ifndef ETCDPP_RAFT_RAFT_H_
#define ETCDPP_RAFT_RAFT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/prng.h"
#include "raft/config.h"
#include "raft/log.h"
#include "raft/raft.pb.h"
#include "raft/read_only.h"
#include "raft/tracker.h"

namespace etcdpp::raft {

// 0 is never a node id.
inline constexpr uint64_t kNone = 0;

enum class StateType { kFollower, kCandidate, kLeader, kPreCandidate };
const char* StateTypeName(StateType state);

// Volatile state worth telling the application about.
struct SoftState {
  uint64_t lead = kNone;
  StateType raft_state = StateType::kFollower;

  friend bool operator==(const SoftState& a, const SoftState& b) {
    return a.lead == b.lead && a.raft_state == b.raft_state;
  }
};

// Peer messages Step dropped, by reason. Dropping stale input is normal;
// `invalid` counts messages no correct peer sends.
struct DropCounters {
  uint64_t stale_term = 0;    // from an older term
  uint64_t invalid = 0;       // malformed or impossible for our state
  uint64_t unknown_peer = 0;  // a response from a node not in the config
  uint64_t ignored = 0;       // valid but not acted on (e.g. lease, role)
};

// Campaign types (as in etcd raft). The context of a MsgVote sent by a
// leader-transfer campaign is kCampaignTransfer, which lets it past leader
// stickiness.
inline constexpr char kCampaignPreElection[] = "CampaignPreElection";
inline constexpr char kCampaignElection[] = "CampaignElection";
inline constexpr char kCampaignTransfer[] = "CampaignTransfer";

// Statuses returned for refused local requests.
absl::Status ProposalDroppedError(const char* why);
bool IsProposalDropped(const absl::Status& status);

class Raft {
 public:
  // Validates the config and loads the initial state from its storage.
  static absl::StatusOr<std::unique_ptr<Raft>> Create(const Config& config);

  // Steps a message: a peer's, or a local one (MsgHup, MsgBeat, MsgProp,
  // MsgReadIndex, MsgTransferLeader, MsgUnreachable, MsgSnapStatus,
  // MsgCheckQuorum). Returns ProposalDropped (kUnavailable) for a refused
  // proposal, an error for a refused local request, InvalidArgument for a
  // malformed peer message (also counted), and OK otherwise - including for
  // stale peer input, which is dropped and counted.
  absl::Status Step(raftpb::Message m);
  // Steps a message this node addressed to itself (deferred self-acks).
  void StepSelf(raftpb::Message m);
  // Advances the logical clock by one tick.
  void Tick();

  // Applies a committed configuration change; returns the new ConfState, or
  // an error (configuration unchanged) if the change cannot apply.
  absl::StatusOr<raftpb::ConfState> ApplyConfChange(
      const raftpb::ConfChangeV2& change);

  // The application applied (or persisted) up to here. applied_size is the
  // payload bytes of the entries just applied (for the uncommitted cap).
  void AppliedTo(uint64_t index, uint64_t applied_size);
  // A snapshot handed out in a Ready was applied.
  void AppliedSnapshot(uint64_t index);

  // Sends one heartbeat round for the ReadIndex requests queued since the
  // last one (many reads batched into one round, thesis §6.4).
  void FlushReadIndexBroadcast();
  bool read_index_broadcast_pending() const {
    return read_index_broadcast_pending_;
  }

  SoftState GetSoftState() const { return {lead_, state_}; }
  raftpb::HardState GetHardState() const;

  // Outputs, drained by the RawNode.
  std::vector<raftpb::Message>& msgs() { return msgs_; }
  std::vector<raftpb::Message>& msgs_after_append() {
    return msgs_after_append_;
  }
  std::vector<ReadState>& read_states() { return read_states_; }

  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t lead() const { return lead_; }
  StateType state() const { return state_; }
  bool is_learner() const { return is_learner_; }
  uint64_t lead_transferee() const { return lead_transferee_; }
  uint64_t pending_conf_index() const { return pending_conf_index_; }
  uint64_t uncommitted_size() const { return uncommitted_size_; }
  int randomized_election_timeout() const {
    return randomized_election_timeout_;
  }
  int election_elapsed() const { return election_elapsed_; }
  const RaftLog& log() const { return log_; }
  RaftLog& mutable_log() { return log_; }
  const ProgressTracker& tracker() const { return trk_; }
  const DropCounters& drops() const { return drops_; }
  const PlantedBugs& planted_bugs() const { return bugs_; }

  void CheckInvariants() const;

 private:
  explicit Raft(const Config& config);
  absl::Status LoadState(const InitialState& initial, uint64_t applied);

  // --- transitions (raft.cc) ---
  void BecomeFollower(uint64_t term, uint64_t lead);
  void BecomeCandidate();
  void BecomePreCandidate();
  void BecomeLeader();
  void Reset(uint64_t term);
  void ResetRandomizedElectionTimeout();
  void TickElection();
  void TickHeartbeat();
  bool Promotable() const;
  bool PastElectionTimeout() const;
  bool HasUnappliedConfChanges() const;
  void Hup(const char* campaign_type);
  void Campaign(const char* campaign_type);
  VoteResult Poll(uint64_t id, bool granted);
  void Send(raftpb::Message m);

  // --- the Step dispatcher and its validation (raft_step.cc) ---
  absl::Status ValidatePeerMessage(const raftpb::Message& m) const;
  // Term comparison (§5.1); false when the message is consumed here.
  bool StepTerm(const raftpb::Message& m);
  bool InLease() const;
  void StepVoteRequest(const raftpb::Message& m);
  // Commits what a refused vote says is committed, when we hold it.
  void LearnCommit(const raftpb::Message& m);
  absl::Status StepByRole(raftpb::Message m);
  absl::Status StepFollower(raftpb::Message m);
  absl::Status StepCandidate(const raftpb::Message& m);
  void HandleAppendEntries(const raftpb::Message& m);
  void HandleHeartbeat(const raftpb::Message& m);
  void HandleSnapshot(const raftpb::Message& m);
  bool Restore(const raftpb::Snapshot& snapshot);
  void Drop(uint64_t DropCounters::*counter) { ++(drops_.*counter); }

  // --- leader (raft_leader.cc) ---
  absl::Status StepLeader(raftpb::Message m);
  absl::Status StepLeaderLocal(raftpb::Message& m, bool* handled);
  absl::Status HandlePropose(raftpb::Message m);
  void HandleReadIndex(const raftpb::Message& m);
  void HandleAppendResponse(const raftpb::Message& m, Progress& pr);
  void HandleAppendAccepted(const raftpb::Message& m, Progress& pr);
  void HandleHeartbeatResponse(const raftpb::Message& m, Progress& pr);
  void HandleSnapshotStatus(const raftpb::Message& m, Progress& pr);
  void HandleTransferLeader(const raftpb::Message& m, Progress& pr);
  void CheckQuorum();
  bool AppendEntry(std::vector<raftpb::Entry> entries);
  bool IncreaseUncommittedSize(const std::vector<raftpb::Entry>& entries);
  void ReduceUncommittedSize(uint64_t size);
  bool MaybeCommit();
  bool MaybeSendAppend(uint64_t to);
  bool MaybeSendSnapshot(uint64_t to, Progress& pr);
  void BcastAppend();
  void BcastHeartbeat();
  void BcastHeartbeatWithCtx(const std::string& ctx);
  void SendHeartbeat(uint64_t to, const std::string& ctx);
  void SendTimeoutNow(uint64_t to);
  void AbortLeaderTransfer() { lead_transferee_ = kNone; }
  bool CommittedEntryInCurrentTerm() const;
  void SendReadIndexResponse(const raftpb::Message& m);
  void RespondToReadIndex(const raftpb::Message& req, uint64_t read_index);
  void ReleasePendingReadIndexMessages();
  raftpb::ConfState SwitchToConfig(TrackerConfig config, ProgressMap progress);

  const uint64_t id_;
  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  uint64_t lead_ = kNone;
  StateType state_ = StateType::kFollower;
  bool is_learner_ = false;

  RaftLog log_;
  ProgressTracker trk_;
  const uint64_t max_msg_size_;
  const uint64_t max_uncommitted_size_;
  // Payload bytes of the leader's entries not yet known applied.
  uint64_t uncommitted_size_ = 0;

  ReadOnly read_only_;
  // ReadIndex requests waiting for the leader to commit an entry of its own
  // term (before that its commit index may be stale, thesis §6.4).
  std::vector<raftpb::Message> pending_read_index_messages_;
  bool read_index_broadcast_pending_ = false;

  // The node leadership is being transferred to, or kNone.
  uint64_t lead_transferee_ = kNone;
  // Only one conf change may be pending (in the log, not yet applied): a
  // new one is refused while pending_conf_index_ > applied.
  uint64_t pending_conf_index_ = 0;

  // Ticks since the last election timeout reset (followers, candidates) or
  // since the last CheckQuorum round (leaders).
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  const int election_timeout_;
  const int heartbeat_timeout_;
  // In [election_timeout_, 2 * election_timeout_), redrawn on every reset.
  int randomized_election_timeout_ = 0;
  const bool check_quorum_;
  const bool pre_vote_;
  const bool disable_proposal_forwarding_;
  base::Prng prng_;
  const PlantedBugs bugs_;

  std::vector<raftpb::Message> msgs_;
  std::vector<raftpb::Message> msgs_after_append_;
  std::vector<ReadState> read_states_;
  DropCounters drops_;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_RAFT_H_
