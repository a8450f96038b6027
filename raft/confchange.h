// Configuration changes: computing the next membership of the group from the
// current one, with the validation that keeps an invalid change from ever
// becoming active.
//
// Two ways to change membership (Raft thesis §4):
//   - Simple: at most one voter is added or removed (§4.1), so any majority
//     of the old and any majority of the new configuration intersect.
//   - Joint consensus (§4.3): EnterJoint makes C_{old,new}, where both the
//     outgoing (old) and incoming (new) voters must agree on every decision;
//     LeaveJoint then makes C_new alone. Any number of changes at once.
//
// A Changer works on a copy of the tracker's configuration and progress map
// and returns the new pair; the caller swaps them into its ProgressTracker.
// Nothing is changed on error. Errors are the ones etcd's raft returns, as
// FailedPrecondition (wrong state for the operation) or InvalidArgument (the
// changes themselves are invalid).
#ifndef ETCDPP_RAFT_CONFCHANGE_H_
#define ETCDPP_RAFT_CONFCHANGE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "raft/raft.pb.h"
#include "raft/tracker.h"

namespace etcdpp::raft {

// A configuration with its matching progress map.
struct ConfChangeResult {
  TrackerConfig config;
  ProgressMap progress;
};

class Changer {
 public:
  // Copies the tracker's configuration and progress; new members start with
  // next = max(last_index, 1), the index the leader will probe first.
  // CHECKs that the tracker's configuration is consistent.
  Changer(const ProgressTracker& tracker, uint64_t last_index);

  // The same from parts, for a configuration not held in a tracker.
  Changer(TrackerConfig config, ProgressMap progress, uint64_t last_index,
          size_t max_inflight, uint64_t max_inflight_bytes);

  // Enters joint consensus: the outgoing half becomes a copy of the incoming
  // voters, and `changes` apply to the incoming half, giving C_{old,new}.
  // Errors: "config is already joint", "can't make a zero-voter config
  // joint", and those of applying the changes.
  absl::StatusOr<ConfChangeResult> EnterJoint(
      bool auto_leave,
      absl::Span<const raftpb::ConfChangeSingle> changes) const;

  // Leaves joint consensus: the incoming voters alone decide, staged
  // learners (learners_next) become learners, and outgoing voters that are
  // in neither the incoming half nor the learners lose their progress.
  // Error: "can't leave a non-joint config".
  absl::StatusOr<ConfChangeResult> LeaveJoint() const;

  // Applies `changes` directly, as long as they add or remove at most one
  // voter in aggregate. Errors: "can't apply simple config change in joint
  // config", "more than one voter changed without entering joint config",
  // and those of applying the changes.
  absl::StatusOr<ConfChangeResult> Simple(
      absl::Span<const raftpb::ConfChangeSingle> changes) const;

  const TrackerConfig& config() const { return config_; }
  const ProgressMap& progress() const { return progress_; }
  uint64_t last_index() const { return last_index_; }
  size_t max_inflight() const { return max_inflight_; }
  uint64_t max_inflight_bytes() const { return max_inflight_bytes_; }

 private:
  // Applies each change to the incoming half of `result`. Errors:
  // "unexpected conf type N", "removed all voters".
  absl::Status Apply(absl::Span<const raftpb::ConfChangeSingle> changes,
                     ConfChangeResult& result) const;
  void MakeVoter(uint64_t id, ConfChangeResult& result) const;
  void MakeLearner(uint64_t id, ConfChangeResult& result) const;
  void Remove(uint64_t id, ConfChangeResult& result) const;
  void InitProgress(uint64_t id, bool is_learner,
                    ConfChangeResult& result) const;

  TrackerConfig config_;
  ProgressMap progress_;
  uint64_t last_index_;
  size_t max_inflight_;
  uint64_t max_inflight_bytes_;
};

// Rebuilds the configuration a ConfState describes, from a Changer holding
// an empty configuration, by replaying simple changes (and, for a joint
// state, one EnterJoint). Errors: FailedPrecondition if the changer's
// configuration is not empty; the Changer's errors if the ConfState is not
// one a sequence of valid changes could produce.
absl::StatusOr<ConfChangeResult> Restore(const raftpb::ConfState& conf_state,
                                         const Changer& changer);

// The single change of a legacy ConfChange as a ConfChangeV2 (transition
// auto, same context).
raftpb::ConfChangeV2 ConfChangeV1ToV2(const raftpb::ConfChange& change);

// Whether `change` enters joint consensus: any explicit joint transition, or
// more than one change. If so, *auto_leave says whether the joint state is
// left automatically (every transition but JointExplicit). A transition
// value this build does not know is treated as JointExplicit: the
// application then leaves explicitly, which is always safe.
bool EnterJoint(const raftpb::ConfChangeV2& change, bool* auto_leave);

// Whether `change` leaves joint consensus: it is empty (no changes,
// transition auto) apart from its context.
bool LeaveJoint(const raftpb::ConfChangeV2& change);

// "ConfChangeAddNode(1) ConfChangeRemoveNode(2)".
std::string DescribeConfChanges(
    absl::Span<const raftpb::ConfChangeSingle> changes);

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_CONFCHANGE_H_
