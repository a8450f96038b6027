#include "raft/tracker.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::raft {

namespace {

// The acked index of a member is its Progress's match.
class MatchAckIndexer : public AckedIndexer {
 public:
  explicit MatchAckIndexer(const ProgressMap& progress) : progress_(progress) {}

  std::optional<uint64_t> AckedIndex(uint64_t voter_id) const override {
    auto it = progress_.find(voter_id);
    if (it == progress_.end()) return std::nullopt;
    return it->second.match;
  }

 private:
  const ProgressMap& progress_;
};

std::string SetToString(const absl::btree_set<uint64_t>& ids) {
  return MajorityConfig(ids).ToString();
}

}  // namespace

std::string TrackerConfig::ToString() const {
  std::string out = absl::StrCat("voters=", voters.ToString());
  if (!learners.empty()) {
    absl::StrAppend(&out, " learners=", SetToString(learners));
  }
  if (!learners_next.empty()) {
    absl::StrAppend(&out, " learners_next=", SetToString(learners_next));
  }
  if (auto_leave) out += " autoleave";
  return out;
}

std::string ProgressMapToString(const ProgressMap& progress) {
  std::string out;
  for (const auto& [id, pr] : progress) {
    absl::StrAppend(&out, id, ": ", pr.ToString(), "\n");
  }
  return out;
}

ProgressTracker::ProgressTracker(size_t max_inflight,
                                 uint64_t max_inflight_bytes)
    : max_inflight_(max_inflight), max_inflight_bytes_(max_inflight_bytes) {
  CHECK_GT(max_inflight, 0u) << "an inflight window holds at least one message";
}

raftpb::ConfState ProgressTracker::ConfState() const {
  raftpb::ConfState cs;
  for (uint64_t id : config.voters.incoming) cs.add_voters(id);
  for (uint64_t id : config.voters.outgoing) cs.add_voters_outgoing(id);
  for (uint64_t id : config.learners) cs.add_learners(id);
  for (uint64_t id : config.learners_next) cs.add_learners_next(id);
  cs.set_auto_leave(config.auto_leave);
  return cs;
}

bool ProgressTracker::IsSingleton() const {
  return config.voters.incoming.size() == 1 && config.voters.outgoing.empty();
}

uint64_t ProgressTracker::Committed() const {
  return config.voters.CommittedIndex(MatchAckIndexer(progress));
}

void ProgressTracker::Visit(
    absl::FunctionRef<void(uint64_t id, Progress& pr)> fn) {
  for (auto& [id, pr] : progress) fn(id, pr);
}

void ProgressTracker::Visit(
    absl::FunctionRef<void(uint64_t id, const Progress& pr)> fn) const {
  for (const auto& [id, pr] : progress) fn(id, pr);
}

bool ProgressTracker::QuorumActive() const {
  // Count "recently active" as a vote: the leader keeps leading only while
  // a quorum of every half of the configuration still hears from it.
  absl::flat_hash_map<uint64_t, bool> active;
  for (const auto& [id, pr] : progress) {
    if (!pr.is_learner) active[id] = pr.recent_active;
  }
  return config.voters.VoteResult(active) == VoteResult::kWon;
}

std::vector<uint64_t> ProgressTracker::VoterNodes() const {
  absl::btree_set<uint64_t> ids = config.voters.IDs();
  return std::vector<uint64_t>(ids.begin(), ids.end());
}

std::vector<uint64_t> ProgressTracker::LearnerNodes() const {
  return std::vector<uint64_t>(config.learners.begin(), config.learners.end());
}

void ProgressTracker::ResetVotes() { votes.clear(); }

void ProgressTracker::RecordVote(uint64_t id, bool granted) {
  // try_emplace keeps the first vote: a voter cannot change its mind within
  // one term, and a duplicated message must not be counted twice.
  votes.try_emplace(id, granted);
}

VoteTally ProgressTracker::TallyVotes() const {
  VoteTally tally;
  // Counted over members, not over votes, so that votes from nodes that
  // left the configuration do not inflate the (informational) numbers.
  for (const auto& [id, pr] : progress) {
    if (pr.is_learner) continue;
    auto it = votes.find(id);
    if (it == votes.end()) continue;
    if (it->second) {
      ++tally.granted;
    } else {
      ++tally.rejected;
    }
  }
  tally.result = config.voters.VoteResult(votes);
  return tally;
}

void ProgressTracker::CheckInvariants() const {
  CheckConfigInvariants(config, progress);
  for (const auto& [id, pr] : progress) {
    CHECK_EQ(pr.inflights.max_count(), max_inflight_)
        << "every window has the tracker's count limit";
    pr.CheckInvariants();
  }
}

void CheckConfigInvariants(const TrackerConfig& config,
                           const ProgressMap& progress) {
  const JointConfig& voters = config.voters;
  for (uint64_t id : voters.IDs()) {
    auto it = progress.find(id);
    CHECK(it != progress.end()) << "every voter has a progress: " << id;
    CHECK(!it->second.is_learner) << "a voter is not marked learner: " << id;
  }
  for (uint64_t id : config.learners) {
    auto it = progress.find(id);
    CHECK(it != progress.end()) << "every learner has a progress: " << id;
    CHECK(it->second.is_learner) << "a learner is marked learner: " << id;
    CHECK(!voters.incoming.Contains(id))
        << "no learner is an incoming voter: " << id;
    CHECK(!voters.outgoing.Contains(id))
        << "no learner is an outgoing voter: " << id;
  }
  // A staged learner is still an outgoing voter; it has that voter's
  // progress (checked above) and becomes a learner on leaving the joint
  // configuration.
  for (uint64_t id : config.learners_next) {
    CHECK(voters.outgoing.Contains(id))
        << "learners_next are outgoing voters: " << id;
  }
  if (!voters.IsJoint()) {
    CHECK(config.learners_next.empty()) << "learners_next only while joint";
    CHECK(!config.auto_leave) << "auto_leave only while joint";
  }
  for (const auto& [id, pr] : progress) {
    CHECK(voters.incoming.Contains(id) || voters.outgoing.Contains(id) ||
          config.learners.contains(id))
        << "every progress belongs to a member: " << id;
  }
}

}  // namespace etcdpp::raft
