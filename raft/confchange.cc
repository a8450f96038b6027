#include "raft/confchange.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"

namespace etcdpp::raft {

namespace {

// The number of ids in exactly one of the two sets.
size_t SymmetricDifference(const MajorityConfig& a, const MajorityConfig& b) {
  size_t n = 0;
  for (uint64_t id : a) n += b.Contains(id) ? 0 : 1;
  for (uint64_t id : b) n += a.Contains(id) ? 0 : 1;
  return n;
}

// What every operation returns: the new pair, after checking that the
// changer kept it consistent (a failure here is a bug in this file).
absl::StatusOr<ConfChangeResult> CheckAndReturn(ConfChangeResult result) {
  CheckConfigInvariants(result.config, result.progress);
  return result;
}

}  // namespace

Changer::Changer(const ProgressTracker& tracker, uint64_t last_index)
    : Changer(tracker.config, tracker.progress, last_index,
              tracker.max_inflight(), tracker.max_inflight_bytes()) {}

Changer::Changer(TrackerConfig config, ProgressMap progress,
                 uint64_t last_index, size_t max_inflight,
                 uint64_t max_inflight_bytes)
    : config_(std::move(config)),
      progress_(std::move(progress)),
      last_index_(last_index),
      max_inflight_(max_inflight),
      max_inflight_bytes_(max_inflight_bytes) {
  // The input is our own state, not a peer's: an inconsistent one is a bug.
  CheckConfigInvariants(config_, progress_);
}

absl::StatusOr<ConfChangeResult> Changer::EnterJoint(
    bool auto_leave, absl::Span<const raftpb::ConfChangeSingle> changes) const {
  if (config_.voters.IsJoint()) {
    return absl::FailedPreconditionError("config is already joint");
  }
  if (config_.voters.incoming.empty()) {
    // An empty configuration may gain members one by one (bootstrap and
    // tests), but joint consensus with an empty old half would let the new
    // half decide alone without the old one's consent.
    return absl::FailedPreconditionError(
        "can't make a zero-voter config joint");
  }
  ConfChangeResult result{config_, progress_};
  result.config.voters.outgoing = result.config.voters.incoming;
  if (absl::Status status = Apply(changes, result); !status.ok()) {
    return status;
  }
  result.config.auto_leave = auto_leave;
  return CheckAndReturn(std::move(result));
}

absl::StatusOr<ConfChangeResult> Changer::LeaveJoint() const {
  if (!config_.voters.IsJoint()) {
    return absl::FailedPreconditionError("can't leave a non-joint config");
  }
  ConfChangeResult result{config_, progress_};
  TrackerConfig& config = result.config;
  for (uint64_t id : config.learners_next) {
    config.learners.insert(id);
    result.progress.at(id).is_learner = true;
  }
  config.learners_next.clear();
  // An outgoing voter that is neither an incoming voter nor a learner has
  // left the group with the old configuration.
  for (uint64_t id : config.voters.outgoing) {
    if (!config.voters.incoming.Contains(id) && !config.learners.contains(id)) {
      result.progress.erase(id);
    }
  }
  config.voters.outgoing.Clear();
  config.auto_leave = false;
  return CheckAndReturn(std::move(result));
}

absl::StatusOr<ConfChangeResult> Changer::Simple(
    absl::Span<const raftpb::ConfChangeSingle> changes) const {
  if (config_.voters.IsJoint()) {
    return absl::FailedPreconditionError(
        "can't apply simple config change in joint config");
  }
  ConfChangeResult result{config_, progress_};
  if (absl::Status status = Apply(changes, result); !status.ok()) {
    return status;
  }
  // With one voter changed, every majority of the old voters intersects
  // every majority of the new ones (thesis §4.1); with two, they need not.
  if (SymmetricDifference(config_.voters.incoming,
                          result.config.voters.incoming) > 1) {
    return absl::InvalidArgumentError(
        "more than one voter changed without entering joint config");
  }
  return CheckAndReturn(std::move(result));
}

absl::Status Changer::Apply(absl::Span<const raftpb::ConfChangeSingle> changes,
                            ConfChangeResult& result) const {
  for (const raftpb::ConfChangeSingle& change : changes) {
    // etcd's server zeroes the node id of a change it decided not to apply;
    // such a change is skipped rather than rejected.
    if (change.node_id() == 0) continue;
    switch (change.type()) {
      case raftpb::ConfChangeAddNode:
        MakeVoter(change.node_id(), result);
        break;
      case raftpb::ConfChangeAddLearnerNode:
        MakeLearner(change.node_id(), result);
        break;
      case raftpb::ConfChangeRemoveNode:
        Remove(change.node_id(), result);
        break;
      case raftpb::ConfChangeUpdateNode:
        // Only the application's view of the node changes.
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "unexpected conf type ", static_cast<int>(change.type())));
    }
  }
  if (result.config.voters.incoming.empty()) {
    return absl::InvalidArgumentError("removed all voters");
  }
  return absl::OkStatus();
}

void Changer::MakeVoter(uint64_t id, ConfChangeResult& result) const {
  auto it = result.progress.find(id);
  if (it == result.progress.end()) {
    InitProgress(id, /*is_learner=*/false, result);
    return;
  }
  // A learner (or staged learner) is promoted, keeping its progress.
  it->second.is_learner = false;
  result.config.learners.erase(id);
  result.config.learners_next.erase(id);
  result.config.voters.incoming.Insert(id);
}

void Changer::MakeLearner(uint64_t id, ConfChangeResult& result) const {
  auto it = result.progress.find(id);
  if (it == result.progress.end()) {
    InitProgress(id, /*is_learner=*/true, result);
    return;
  }
  if (it->second.is_learner) return;
  // A voter is demoted: drop its vote in the incoming half, but keep its
  // progress, which is still accurate.
  Progress saved = it->second;
  Remove(id, result);
  TrackerConfig& config = result.config;
  if (config.voters.outgoing.Contains(id)) {
    // Still a voter of the outgoing half, and a member may not be voter and
    // learner at once: stage it, LeaveJoint makes it a learner.
    config.learners_next.insert(id);
  } else {
    saved.is_learner = true;
    config.learners.insert(id);
  }
  result.progress.insert_or_assign(id, std::move(saved));
}

void Changer::Remove(uint64_t id, ConfChangeResult& result) const {
  if (!result.progress.contains(id)) return;
  TrackerConfig& config = result.config;
  config.voters.incoming.Erase(id);
  config.learners.erase(id);
  config.learners_next.erase(id);
  // An outgoing voter keeps its progress until the joint state is left: it
  // still votes, and the leader still replicates to it.
  if (!config.voters.outgoing.Contains(id)) result.progress.erase(id);
}

void Changer::InitProgress(uint64_t id, bool is_learner,
                           ConfChangeResult& result) const {
  if (is_learner) {
    result.config.learners.insert(id);
  } else {
    result.config.voters.incoming.Insert(id);
  }
  Progress pr(max_inflight_, max_inflight_bytes_);
  // Probing from the last index is optimistic (a new member usually has no
  // log and will need a snapshot), but a rejection corrects it in one round.
  pr.match = 0;
  pr.next = std::max<uint64_t>(last_index_, 1);
  pr.is_learner = is_learner;
  // Counted as active, so that CheckQuorum does not depose the leader
  // before the newcomer had a chance to answer.
  pr.recent_active = true;
  result.progress.insert_or_assign(id, std::move(pr));
}

namespace {

raftpb::ConfChangeSingle MakeChange(raftpb::ConfChangeType type, uint64_t id) {
  raftpb::ConfChangeSingle change;
  change.set_type(type);
  change.set_node_id(id);
  return change;
}

// The steps Restore replays. `outgoing` builds, one simple change at a time,
// the configuration that becomes the outgoing half; `incoming`, applied
// while entering the joint state, turns it into the incoming half, learners
// and staged learners. Example: voters=(1 2 3) outgoing=(1 2 4 6)
// learners=(5) learners_next=(4) gives outgoing = add 1, 2, 4, 6 and
// incoming = remove 1, 2, 4, 6; add 1, 2, 3; add-learner 5; add-learner 4.
struct RestoreSteps {
  std::vector<raftpb::ConfChangeSingle> outgoing;
  std::vector<raftpb::ConfChangeSingle> incoming;
};

RestoreSteps ToRestoreSteps(const raftpb::ConfState& cs) {
  RestoreSteps steps;
  for (uint64_t id : cs.voters_outgoing()) {
    steps.outgoing.push_back(MakeChange(raftpb::ConfChangeAddNode, id));
  }
  for (uint64_t id : cs.voters_outgoing()) {
    steps.incoming.push_back(MakeChange(raftpb::ConfChangeRemoveNode, id));
  }
  for (uint64_t id : cs.voters()) {
    steps.incoming.push_back(MakeChange(raftpb::ConfChangeAddNode, id));
  }
  for (uint64_t id : cs.learners()) {
    steps.incoming.push_back(MakeChange(raftpb::ConfChangeAddLearnerNode, id));
  }
  // Demoting an outgoing voter stages it in learners_next, as wanted.
  for (uint64_t id : cs.learners_next()) {
    steps.incoming.push_back(MakeChange(raftpb::ConfChangeAddLearnerNode, id));
  }
  return steps;
}

}  // namespace

absl::StatusOr<ConfChangeResult> Restore(const raftpb::ConfState& conf_state,
                                         const Changer& changer) {
  if (!changer.progress().empty() || !changer.config().voters.IDs().empty()) {
    return absl::FailedPreconditionError(
        "restore needs a changer with an empty configuration");
  }
  const RestoreSteps steps = ToRestoreSteps(conf_state);
  Changer current = changer;
  // Without an outgoing half the incoming steps apply one at a time, each a
  // valid simple change. With one, the outgoing voters are first built as a
  // plain configuration, then the incoming steps enter the joint state.
  const bool joint = !steps.outgoing.empty();
  const std::vector<raftpb::ConfChangeSingle>& simple_steps =
      joint ? steps.outgoing : steps.incoming;
  for (const raftpb::ConfChangeSingle& change : simple_steps) {
    absl::StatusOr<ConfChangeResult> next =
        current.Simple(absl::MakeConstSpan(&change, 1));
    if (!next.ok()) return next.status();
    current = Changer(std::move(next->config), std::move(next->progress),
                      current.last_index(), current.max_inflight(),
                      current.max_inflight_bytes());
  }
  if (!joint) return ConfChangeResult{current.config(), current.progress()};
  return current.EnterJoint(conf_state.auto_leave(), steps.incoming);
}

raftpb::ConfChangeV2 ConfChangeV1ToV2(const raftpb::ConfChange& change) {
  raftpb::ConfChangeV2 v2;
  *v2.add_changes() = MakeChange(change.type(), change.node_id());
  v2.set_context(change.context());
  return v2;
}

bool EnterJoint(const raftpb::ConfChangeV2& change, bool* auto_leave) {
  CHECK(auto_leave != nullptr) << "EnterJoint reports auto_leave";
  // A single change with the auto transition is made directly (§4.1).
  if (change.transition() == raftpb::ConfChangeTransitionAuto &&
      change.changes_size() <= 1) {
    *auto_leave = false;
    return false;
  }
  switch (change.transition()) {
    case raftpb::ConfChangeTransitionAuto:
    case raftpb::ConfChangeTransitionJointImplicit:
      *auto_leave = true;
      break;
    default:
      *auto_leave = false;
      break;
  }
  return true;
}

bool LeaveJoint(const raftpb::ConfChangeV2& change) {
  return change.transition() == raftpb::ConfChangeTransitionAuto &&
         change.changes_size() == 0;
}

std::string DescribeConfChanges(
    absl::Span<const raftpb::ConfChangeSingle> changes) {
  return absl::StrJoin(
      changes, " ",
      [](std::string* out, const raftpb::ConfChangeSingle& change) {
        absl::StrAppend(out, raftpb::ConfChangeType_Name(change.type()), "(",
                        change.node_id(), ")");
      });
}

}  // namespace etcdpp::raft
