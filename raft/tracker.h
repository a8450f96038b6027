// ProgressTracker: the active configuration of the group and the leader's
// Progress of every member in it, plus the votes of the current election.
//
// The configuration (TrackerConfig) says who votes (a joint configuration
// while a membership change is in flight, Raft thesis §4.3) and who only
// learns. The Progress map has exactly one entry per member, voter or
// learner. Both are replaced together by the raft core with what a
// confchange::Changer computed, and kept consistent as CheckInvariants
// states.
//
// Every iteration (Visit, VoterNodes, ConfState, ...) is in ascending id
// order. A value type, not thread-safe.
#ifndef ETCDPP_RAFT_TRACKER_H_
#define ETCDPP_RAFT_TRACKER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "raft/progress.h"
#include "raft/quorum.h"
#include "raft/raft.pb.h"

namespace etcdpp::raft {

// The membership of the group.
struct TrackerConfig {
  JointConfig voters;
  // Leave the joint configuration automatically once it is committed; only
  // ever true while joint.
  bool auto_leave = false;
  // Members that receive the log but do not vote.
  // Invariant: learners and voters (either half) are disjoint, so that every
  // member has one role without consulting the joint state.
  absl::btree_set<uint64_t> learners;
  // Voters of the outgoing half that become learners when the joint
  // configuration is left. A demoted voter cannot become a learner at once,
  // because while joint it still votes in the outgoing half; it waits here.
  // Invariant: a subset of voters.outgoing, so empty unless joint.
  absl::btree_set<uint64_t> learners_next;

  // "voters=(1 2)&&(1 2 3) learners=(4) learners_next=(3) autoleave".
  std::string ToString() const;

  friend bool operator==(const TrackerConfig& a, const TrackerConfig& b) {
    return a.voters == b.voters && a.auto_leave == b.auto_leave &&
           a.learners == b.learners && a.learners_next == b.learners_next;
  }
};

// Every member's Progress, by id; ordered, so iterating it is deterministic.
using ProgressMap = absl::btree_map<uint64_t, Progress>;

// "1: StateProbe match=0 next=1\n2: ...\n", one line per member.
std::string ProgressMapToString(const ProgressMap& progress);

// The votes counted by TallyVotes.
struct VoteTally {
  int granted = 0;
  int rejected = 0;
  VoteResult result = VoteResult::kPending;
};

class ProgressTracker {
 public:
  // max_inflight (> 0) and max_inflight_bytes (0 = no limit) bound each new
  // member's inflight window.
  ProgressTracker(size_t max_inflight, uint64_t max_inflight_bytes);

  // The configuration, in the form persisted in snapshots.
  raftpb::ConfState ConfState() const;

  // True when the only voter is a single, non-joint one.
  bool IsSingleton() const;

  // The highest index a quorum of voters has matched (learners never
  // count). UINT64_MAX if there are no voters at all.
  uint64_t Committed() const;

  // Calls fn for every member in ascending id order.
  void Visit(absl::FunctionRef<void(uint64_t id, Progress& pr)> fn);
  void Visit(absl::FunctionRef<void(uint64_t id, const Progress& pr)> fn) const;

  // Whether a quorum of voters was recently active, for CheckQuorum
  // (Raft thesis §6.2).
  bool QuorumActive() const;

  // Voters of either half, ascending.
  std::vector<uint64_t> VoterNodes() const;
  // Learners, ascending (not including learners_next).
  std::vector<uint64_t> LearnerNodes() const;

  // Starts a new election's count.
  void ResetVotes();
  // Records id's vote; only its first vote of an election counts.
  void RecordVote(uint64_t id, bool granted);
  // Counts the voters' votes (votes from non-voters are ignored) and the
  // election's result so far.
  VoteTally TallyVotes() const;

  size_t max_inflight() const { return max_inflight_; }
  uint64_t max_inflight_bytes() const { return max_inflight_bytes_; }

  // A fresh Progress with this tracker's inflight limits.
  Progress NewProgress() const {
    return Progress(max_inflight_, max_inflight_bytes_);
  }

  // The config and progress map are consistent: every member has exactly one
  // Progress and one role; see TrackerConfig.
  void CheckInvariants() const;

  TrackerConfig config;
  ProgressMap progress;
  // Lookups only; never iterated, so hash order never reaches an output.
  absl::flat_hash_map<uint64_t, bool> votes;

 private:
  size_t max_inflight_;
  uint64_t max_inflight_bytes_;
};

// Checks that `config` and `progress` describe the same members, each with
// one role. Shared by ProgressTracker and confchange::Changer.
void CheckConfigInvariants(const TrackerConfig& config,
                           const ProgressMap& progress);

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_TRACKER_H_
