// Quorum math: which log index a set of voters has committed, and whether an
// election is won, lost or still open.
//
// A MajorityConfig decides by simple majority of its voters. A JointConfig is
// two majority configurations that must *both* agree; it is how joint
// consensus (Raft thesis §4.3) moves from C_old to C_new without ever letting
// two disjoint majorities decide. Outside joint consensus the outgoing half is
// empty, and an empty majority configuration agrees with everything (it
// commits UINT64_MAX and wins every vote), so a joint configuration with an
// empty outgoing half behaves exactly like its incoming half.
//
// Everything here is a pure value computation with no hidden state;
// iteration is in ascending id order, so every output is deterministic.
#ifndef ETCDPP_RAFT_QUORUM_H_
#define ETCDPP_RAFT_QUORUM_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"

namespace etcdpp::raft {

// The outcome of an election as far as the votes so far decide it.
enum class VoteResult {
  // Neither a quorum of grants nor a quorum of rejections has been reached:
  // the votes still missing can decide it either way.
  kPending,
  // Enough voters rejected that no outcome of the missing votes can win.
  kLost,
  // A quorum granted the vote.
  kWon,
};

// "Pending", "Lost" or "Won".
const char* VoteResultName(VoteResult result);

// Tells, for a voter, the highest log index it is known to have persisted.
// std::nullopt means the voter has not reported one yet; it counts as 0.
class AckedIndexer {
 public:
  virtual ~AckedIndexer() = default;
  virtual std::optional<uint64_t> AckedIndex(uint64_t voter_id) const = 0;
};

// An AckedIndexer over a plain map, for tests and tools. Lookups only, so
// the hash map's iteration order never matters.
class MapAckIndexer : public AckedIndexer {
 public:
  MapAckIndexer() = default;
  explicit MapAckIndexer(absl::flat_hash_map<uint64_t, uint64_t> acked)
      : acked_(std::move(acked)) {}

  std::optional<uint64_t> AckedIndex(uint64_t voter_id) const override;
  void Set(uint64_t voter_id, uint64_t index) { acked_[voter_id] = index; }

 private:
  absl::flat_hash_map<uint64_t, uint64_t> acked_;
};

// A set of voter ids that decides by simple majority (size / 2 + 1).
class MajorityConfig {
 public:
  MajorityConfig() = default;
  MajorityConfig(std::initializer_list<uint64_t> ids) : ids_(ids) {}
  explicit MajorityConfig(absl::btree_set<uint64_t> ids)
      : ids_(std::move(ids)) {}

  // The highest index acked by a majority of the voters. Voters that have
  // not reported count as having acked 0. An empty configuration returns
  // UINT64_MAX so that it never holds back the other half of a joint one.
  uint64_t CommittedIndex(const AckedIndexer& acked) const;

  // The election result given the votes so far (true = granted). Votes of
  // ids outside the configuration are ignored. An empty configuration wins,
  // so that it never holds back the other half of a joint one.
  raft::VoteResult VoteResult(
      const absl::flat_hash_map<uint64_t, bool>& votes) const;

  // A multi-line picture of each voter's acked index, in id order: the bar
  // of the voter with the i-th smallest index has length i (equal indexes,
  // equal bars), and "?" marks a voter that has not reported. For logs and
  // test expectations.
  std::string Describe(const AckedIndexer& acked) const;

  // "(1 2 3)"; "()" when empty.
  std::string ToString() const;

  // The voter ids in ascending order.
  std::vector<uint64_t> Slice() const;

  const absl::btree_set<uint64_t>& ids() const { return ids_; }
  bool Contains(uint64_t id) const { return ids_.contains(id); }
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  void Insert(uint64_t id) { ids_.insert(id); }
  void Erase(uint64_t id) { ids_.erase(id); }
  void Clear() { ids_.clear(); }

  absl::btree_set<uint64_t>::const_iterator begin() const {
    return ids_.begin();
  }
  absl::btree_set<uint64_t>::const_iterator end() const { return ids_.end(); }

  friend bool operator==(const MajorityConfig& a, const MajorityConfig& b) {
    return a.ids_ == b.ids_;
  }

 private:
  absl::btree_set<uint64_t> ids_;
};

// Two majority configurations that must both agree (Raft thesis §4.3). While
// not in joint consensus `outgoing` is empty and the configuration behaves
// exactly like `incoming`.
struct JointConfig {
  MajorityConfig incoming;
  MajorityConfig outgoing;

  // The highest index committed by both halves.
  uint64_t CommittedIndex(const AckedIndexer& acked) const;

  // Won only when both halves won; lost as soon as either half lost.
  raft::VoteResult VoteResult(
      const absl::flat_hash_map<uint64_t, bool>& votes) const;

  // The voters of both halves, as one majority configuration's picture.
  std::string Describe(const AckedIndexer& acked) const;

  // "(1 2 3)" or, while joint, "(1 2 3)&&(1 2 4)".
  std::string ToString() const;

  // Every voter of either half, ascending.
  absl::btree_set<uint64_t> IDs() const;

  bool IsJoint() const { return !outgoing.empty(); }

  friend bool operator==(const JointConfig& a, const JointConfig& b) {
    return a.incoming == b.incoming && a.outgoing == b.outgoing;
  }
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_QUORUM_H_
