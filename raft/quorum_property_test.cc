// The fast quorum math against naive models of what it means.
//
// CommittedIndex: the committed index is the largest index i such that, in
// every (non-empty) half, a majority of voters acked at least i. The naive
// model tries every candidate index and counts.
//
// VoteResult: an election is won if it is won however the missing voters
// vote, lost if it is lost however they vote, and pending otherwise. The
// naive model enumerates every way the missing voters could vote.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "raft/quorum.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::raft {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMaxId = 9;

// Either nothing or a value of `gen`.
template <typename T>
rc::Gen<std::optional<T>> GenOptional(rc::Gen<T> gen) {
  return rc::gen::map(rc::gen::pair(rc::gen::arbitrary<bool>(), gen),
                      [](const std::pair<bool, T>& p) {
                        return p.first ? std::optional<T>(p.second)
                                       : std::nullopt;
                      });
}

// A random subset of ids 1..kMaxId.
rc::Gen<MajorityConfig> GenMajorityConfig() {
  return rc::gen::map(rc::gen::container<std::vector<uint64_t>>(
                          rc::gen::inRange<uint64_t>(1, kMaxId + 1)),
                      [](const std::vector<uint64_t>& ids) {
                        return MajorityConfig(
                            absl::btree_set<uint64_t>(ids.begin(), ids.end()));
                      });
}

// Acked indexes for some of ids 1..kMaxId (others have not reported). Small
// indexes, so that ties are common.
rc::Gen<std::vector<std::optional<uint64_t>>> GenAcked() {
  return rc::gen::container<std::vector<std::optional<uint64_t>>>(
      kMaxId, GenOptional(rc::gen::inRange<uint64_t>(0, 12)));
}

MapAckIndexer ToIndexer(const std::vector<std::optional<uint64_t>>& acked) {
  MapAckIndexer indexer;
  for (size_t i = 0; i < acked.size(); ++i) {
    if (acked[i].has_value()) indexer.Set(i + 1, *acked[i]);
  }
  return indexer;
}

// Whether a majority of `config` acked `index` or more (an empty config
// agrees with everything).
bool MajorityAcked(const MajorityConfig& config,
                   const std::vector<std::optional<uint64_t>>& acked,
                   uint64_t index) {
  if (config.empty()) return true;
  size_t count = 0;
  for (uint64_t id : config) {
    if (acked[id - 1].value_or(0) >= index) ++count;
  }
  return count > config.size() / 2;
}

uint64_t NaiveCommitted(const std::vector<MajorityConfig>& halves,
                        const std::vector<std::optional<uint64_t>>& acked) {
  std::vector<uint64_t> candidates = {0, kMax};
  for (const std::optional<uint64_t>& index : acked) {
    if (index.has_value()) candidates.push_back(*index);
  }
  uint64_t best = 0;
  for (uint64_t candidate : candidates) {
    bool all = true;
    for (const MajorityConfig& half : halves) {
      all = all && MajorityAcked(half, acked, candidate);
    }
    if (all) best = std::max(best, candidate);
  }
  return best;
}

RC_GTEST_PROP(QuorumPropertyTest, MajorityCommittedIndexMatchesNaive, ()) {
  const MajorityConfig config = *GenMajorityConfig();
  const auto acked = *GenAcked();
  RC_ASSERT(config.CommittedIndex(ToIndexer(acked)) ==
            NaiveCommitted({config}, acked));
}

RC_GTEST_PROP(QuorumPropertyTest, JointCommittedIndexMatchesNaive, ()) {
  const JointConfig joint{*GenMajorityConfig(), *GenMajorityConfig()};
  const auto acked = *GenAcked();
  RC_ASSERT(joint.CommittedIndex(ToIndexer(acked)) ==
            NaiveCommitted({joint.incoming, joint.outgoing}, acked));
}

// Whether the votes (with every missing voter filled in) win every half.
bool WinsAll(const std::vector<MajorityConfig>& halves,
             const absl::flat_hash_map<uint64_t, bool>& votes) {
  for (const MajorityConfig& half : halves) {
    size_t granted = 0;
    for (uint64_t id : half) granted += votes.at(id) ? 1 : 0;
    if (!half.empty() && granted <= half.size() / 2) return false;
  }
  return true;
}

VoteResult NaiveVoteResult(const std::vector<MajorityConfig>& halves,
                           const absl::flat_hash_map<uint64_t, bool>& votes) {
  absl::btree_set<uint64_t> voters;
  for (const MajorityConfig& half : halves) {
    voters.insert(half.begin(), half.end());
  }
  std::vector<uint64_t> missing;
  for (uint64_t id : voters) {
    if (!votes.contains(id)) missing.push_back(id);
  }
  bool some_win = false;
  bool some_loss = false;
  for (uint64_t mask = 0; mask < (uint64_t{1} << missing.size()); ++mask) {
    absl::flat_hash_map<uint64_t, bool> filled = votes;
    for (size_t i = 0; i < missing.size(); ++i) {
      filled[missing[i]] = (mask >> i) & 1;
    }
    if (WinsAll(halves, filled)) {
      some_win = true;
    } else {
      some_loss = true;
    }
  }
  if (!some_loss) return VoteResult::kWon;
  if (!some_win) return VoteResult::kLost;
  return VoteResult::kPending;
}

// Votes of some of ids 1..kMaxId, including ids outside the configuration.
rc::Gen<absl::flat_hash_map<uint64_t, bool>> GenVotes() {
  return rc::gen::map(rc::gen::container<std::vector<std::optional<bool>>>(
                          kMaxId, GenOptional(rc::gen::arbitrary<bool>())),
                      [](const std::vector<std::optional<bool>>& votes) {
                        absl::flat_hash_map<uint64_t, bool> map;
                        for (size_t i = 0; i < votes.size(); ++i) {
                          if (votes[i].has_value()) map[i + 1] = *votes[i];
                        }
                        return map;
                      });
}

RC_GTEST_PROP(QuorumPropertyTest, MajorityVoteResultMatchesNaive, ()) {
  const MajorityConfig config = *GenMajorityConfig();
  const auto votes = *GenVotes();
  RC_ASSERT(config.VoteResult(votes) == NaiveVoteResult({config}, votes));
}

RC_GTEST_PROP(QuorumPropertyTest, JointVoteResultMatchesNaive, ()) {
  const JointConfig joint{*GenMajorityConfig(), *GenMajorityConfig()};
  const auto votes = *GenVotes();
  RC_ASSERT(joint.VoteResult(votes) ==
            NaiveVoteResult({joint.incoming, joint.outgoing}, votes));
}

}  // namespace
}  // namespace etcdpp::raft
