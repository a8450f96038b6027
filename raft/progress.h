// Progress: the leader's view of one follower's log, and the flow-control
// state machine that decides when the leader sends it entries.
//
// The three states and their rules:
//
//   kProbe      The leader does not know where the follower's log diverges
//               from its own. It sends at most one MsgApp per heartbeat
//               interval (msg_app_flow_paused is set by each send and cleared
//               by the heartbeat response), and moves `next` back on every
//               rejection until an append is accepted. Nothing is pipelined:
//               the inflight window stays empty.
//   kReplicate  The follower's log is known to match up to `match`. The leader
//               pipelines: each MsgApp optimistically advances `next` past
//               the entries it carries and takes a slot of the inflight
//               window; sending stops while the window is full (count or
//               bytes), and resumes as acknowledgements free it.
//   kSnapshot   The follower needs a snapshot because the entries it lacks
//               were compacted away. Appends are paused until the leader
//               hears that the snapshot was applied (an MsgAppResp that
//               reconnects the logs moves it to kReplicate) or failed
//               (ReportSnapshot moves it to kProbe).
//
// Transitions: kProbe -> kReplicate when an append is accepted;
// kReplicate -> kProbe on a rejection or when the follower is unreachable;
// any -> kSnapshot when the leader must send a snapshot; kSnapshot -> kProbe
// on ReportSnapshot. The transitions are driven from the raft core; this
// class keeps the fields consistent across them.
//
// Invariants (CheckInvariants): match < next; pending_commit < next;
// pending_snapshot != 0 only in kSnapshot; the inflight window is empty
// outside kReplicate.
//
// A plain value, copied freely by configuration changes; not thread-safe.
#ifndef ETCDPP_RAFT_PROGRESS_H_
#define ETCDPP_RAFT_PROGRESS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "raft/inflights.h"

namespace etcdpp::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };

// "StateProbe", "StateReplicate", "StateSnapshot" (etcd's names).
const char* ProgressStateName(ProgressState state);

struct Progress {
  // A follower in kProbe with nothing known: match 0, next 1, and an empty
  // inflight window of the given limits (max_inflight_bytes 0 = no limit).
  Progress(size_t max_inflight, uint64_t max_inflight_bytes)
      : inflights(max_inflight, max_inflight_bytes) {}

  // The follower's log is known to match the leader's up to here.
  uint64_t match = 0;
  // The next index to send. Entries in (match, next) are in flight.
  // Invariant: match < next.
  uint64_t next = 1;
  // The highest commit index sent to the follower, capped at next - 1,
  // so the leader knows when an empty MsgApp can advance its commit.
  // Invariant: pending_commit < next.
  uint64_t pending_commit = 0;

  ProgressState state = ProgressState::kProbe;

  // In kSnapshot, the leader's last index when it decided to send the
  // snapshot (the index of that MsgSnap). 0 in every other state.
  uint64_t pending_snapshot = 0;

  // Whether the follower was heard from since the last check-quorum round.
  // A newly added follower starts active, so that CheckQuorum does not
  // depose the leader before the newcomer had a chance to answer.
  bool recent_active = false;

  // Set by every MsgApp sent, cleared by a heartbeat response or an accepted
  // probe. In kProbe it limits the leader to one append per heartbeat; in
  // kReplicate it limits empty "probe" appends once the window is full or
  // every entry is already in flight.
  bool msg_app_flow_paused = false;

  // The window of unacknowledged appends; used only in kReplicate.
  Inflights inflights;

  // Whether this follower is a learner (receives the log, never votes).
  bool is_learner = false;

  // Moves to `state`, unpausing and clearing the pending snapshot and the
  // inflight window. Leaves match and next alone.
  void ResetState(ProgressState state);

  // To kProbe. next restarts at match + 1 or, leaving kSnapshot, after the
  // snapshot just sent if that is further.
  void BecomeProbe();

  // To kReplicate, after an accepted append: next restarts at match + 1.
  void BecomeReplicate();

  // To kSnapshot, sending the snapshot taken at snapshot_index.
  void BecomeSnapshot(uint64_t snapshot_index);

  // Records a MsgApp of `entries` consecutive entries (totalling `bytes`)
  // starting at `next`. In kReplicate this advances next past them and takes
  // an inflight slot (precondition: the window is not full when entries >
  // 0). In both kProbe and kReplicate it pauses the append flow.
  // Precondition: state is kProbe or kReplicate.
  void SentEntries(int entries, uint64_t bytes);

  // The same, naming the first index sent; it must equal next. Kept for
  // callers written against etcd 3.5's UpdateOnEntriesSend.
  void UpdateOnEntriesSend(int entries, uint64_t bytes, uint64_t next_index);

  void PauseMsgAppFlow(bool pause) { msg_app_flow_paused = pause; }

  // Whether flow control allows at least one more entry to be sent.
  // Precondition: state is kProbe or kReplicate.
  bool CanSendEntries(uint64_t last_index) const;

  // Whether sending commit index `commit` may advance the follower's commit.
  bool CanBumpCommit(uint64_t commit) const;

  // Records that commit index `commit` was sent.
  void SentCommit(uint64_t commit);

  // On an MsgAppResp acknowledging index n. False if the ack is stale
  // (n <= match); otherwise raises match (and next, if behind) and
  // returns true.
  bool MaybeUpdate(uint64_t n);

  // On an MsgAppResp rejecting the append at index `rejected`, whose sender
  // hints that its log may match up to `match_hint`. False if the rejection
  // is stale (reordered or duplicated messages); otherwise lowers next so
  // the next probe starts at a plausible divergence point, and unpauses.
  bool MaybeDecrTo(uint64_t rejected, uint64_t match_hint);

  // Whether sending to this follower is throttled: waiting a heartbeat in
  // kProbe, window full in kReplicate, always in kSnapshot.
  bool IsPaused() const;

  // Whether the leader, whose log ends at last_index and whose commit index
  // is `commit`, should send this follower a MsgApp now. kProbe: unless
  // paused. kReplicate: if the commit can advance, or entries are unsent
  // and flow control allows sending (or the flow is not paused, which lets
  // an empty probe through). kSnapshot: never.
  bool ShouldSendMsgApp(uint64_t last_index, uint64_t commit) const;

  // "StateReplicate match=5 next=6 learner paused pendingSnap=3 inactive
  // inflight=2[full]", each qualifier only when it applies (etcd's format).
  std::string ToString() const;

  void CheckInvariants() const;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_PROGRESS_H_
