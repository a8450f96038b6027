// RaftChecker: Raft's safety properties, checked after every step of every
// node from what the node exposes (Ongaro & Ousterhout, Figure 3):
//  - Election Safety: at most one leader per term.
//  - Log Matching / State Machine Safety: every node's committed prefix is
//    the same sequence of entries (term and data at each index).
//  - Leader Completeness: a node that becomes leader holds every entry
//    committed so far.
//  - Monotonicity (LogCabin's before/after check): within one process
//    incarnation, term, commit and applied never decrease. Across a crash
//    they may: a term or commit learned but not yet persisted is lost, and
//    the kv state is rebuilt by applying the log again.
//
// The checker sees plain views, not nodes, so tests can feed it hand-made
// bad states (its teeth). Incremental: each observation costs the entries
// newly committed on that node. Not thread-safe.
#ifndef ETCDPP_SIM_RAFT_CHECKER_H_
#define ETCDPP_SIM_RAFT_CHECKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace etcdpp::sim {

struct EntryDigest {
  uint64_t term = 0;
  uint64_t data_hash = 0;
  friend bool operator==(const EntryDigest&, const EntryDigest&) = default;
};

// What one node shows after a step.
struct RaftView {
  uint64_t id = 0;
  uint64_t term = 0;
  bool is_leader = false;
  uint64_t commit = 0;
  uint64_t applied = 0;
  // The node's entry at index (>= 1); false if it has none there.
  std::function<bool(uint64_t index, EntryDigest* entry)> entry;
  // Entries up to `compacted` are in a snapshot, no longer in the log
  // (entry() is false there); compacted_term is the term of the entry at
  // `compacted` (the snapshot's). The snapshot's term must match the
  // committed entry at its index; what it holds is the ConvergenceChecker's.
  uint64_t compacted = 0;
  uint64_t compacted_term = 0;
};

class RaftChecker {
 public:
  // Checks one node's state after a step; violations accumulate.
  void Observe(const RaftView& view);
  // The node's process died: its next incarnation starts from its disk, so
  // monotonicity is checked afresh and its committed log re-verified.
  void OnCrash(uint64_t id);

  const std::vector<std::string>& violations() const { return violations_; }
  // Highest index known committed by any node.
  uint64_t committed_index() const { return committed_.size(); }
  // Distinct terms that had a leader.
  size_t leader_terms() const { return leaders_.size(); }

 private:
  struct Previous {
    uint64_t term = 0;
    uint64_t commit = 0;
    uint64_t applied = 0;
    bool is_leader = false;
    uint64_t verified = 0;  // committed entries compared so far
  };
  void CheckMonotonic(const RaftView& view, const Previous& previous);
  void CheckElectionSafety(const RaftView& view);
  void CheckLeaderCompleteness(const RaftView& view);
  void CheckCommitted(const RaftView& view, Previous& previous);
  // The snapshot behind view.compacted agrees with what was committed.
  void CheckCompacted(const RaftView& view);
  void Violation(std::string text);

  std::map<uint64_t, Previous> previous_;  // by node, this incarnation
  std::map<uint64_t, uint64_t> leaders_;   // term -> leader
  // committed_[i - 1]: the entry committed at index i, as first seen.
  std::vector<EntryDigest> committed_;
  // committed_seen_term_[i - 1]: the term of the node that first showed
  // entry i committed. It learnt the commit from a leader of that term or
  // an earlier one, so the entry was committed in a term <= this.
  std::vector<uint64_t> committed_seen_term_;
  std::vector<std::string> violations_;
};

// Replica convergence: equal applied index -> equal kv state. Remembers the
// first digest seen at each applied index, so two nodes are compared even
// when they pass that index at different times.
class ConvergenceChecker {
 public:
  void Observe(uint64_t id, uint64_t applied, uint64_t kv_digest);
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  struct Seen {
    uint64_t digest;
    uint64_t id;
  };
  std::map<uint64_t, Seen> by_applied_;
  std::vector<std::string> violations_;
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_RAFT_CHECKER_H_
