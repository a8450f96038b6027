#include "sim/raft_checker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace etcdpp::sim {

void RaftChecker::Observe(const RaftView& view) {
  auto it = previous_.find(view.id);
  if (it != previous_.end()) CheckMonotonic(view, it->second);
  Previous& previous = previous_[view.id];
  CheckElectionSafety(view);
  // Leader Completeness is checked when a node is first seen leading in a
  // term: every entry known committed before that step must be in its log.
  if (view.is_leader && (!previous.is_leader || previous.term != view.term)) {
    CheckLeaderCompleteness(view);
  }
  CheckCommitted(view, previous);
  previous.term = view.term;
  previous.commit = view.commit;
  previous.applied = view.applied;
  previous.is_leader = view.is_leader;
}

void RaftChecker::OnCrash(uint64_t id) { previous_.erase(id); }

void RaftChecker::CheckMonotonic(const RaftView& view,
                                 const Previous& previous) {
  if (view.term < previous.term) {
    Violation(absl::StrCat("monotonic term: n", view.id, " went from term ",
                           previous.term, " to ", view.term));
  }
  if (view.commit < previous.commit) {
    Violation(absl::StrCat("monotonic commit: n", view.id, " went from ",
                           previous.commit, " to ", view.commit));
  }
  if (view.applied < previous.applied) {
    Violation(absl::StrCat("monotonic applied: n", view.id, " went from ",
                           previous.applied, " to ", view.applied));
  }
  if (view.applied > view.commit) {
    Violation(absl::StrCat("applied <= commit: n", view.id, " applied ",
                           view.applied, " > commit ", view.commit));
  }
}

void RaftChecker::CheckElectionSafety(const RaftView& view) {
  if (!view.is_leader) return;
  auto [it, inserted] = leaders_.emplace(view.term, view.id);
  if (!inserted && it->second != view.id) {
    Violation(absl::StrCat("election safety: two leaders in term ", view.term,
                           ": n", it->second, " and n", view.id));
  }
}

void RaftChecker::CheckCompacted(const RaftView& view) {
  if (view.compacted == 0 || view.compacted > committed_.size()) return;
  if (committed_[view.compacted - 1].term != view.compacted_term) {
    Violation(absl::StrCat("state machine safety: n", view.id,
                           " holds a snapshot at index ", view.compacted,
                           " of term ", view.compacted_term, " but entry ",
                           view.compacted, " of term ",
                           committed_[view.compacted - 1].term,
                           " was committed"));
  }
}

void RaftChecker::CheckLeaderCompleteness(const RaftView& view) {
  CheckCompacted(view);
  // Entries in its snapshot are covered by it (checked above). Only
  // entries committed in an earlier term than the leader's are owed to it:
  // a vote granted in an old term may reach its candidate after a newer
  // leader committed something (that old-term leader then cannot commit
  // anything, as the majority moved on).
  for (uint64_t i = view.compacted + 1; i <= committed_.size(); ++i) {
    if (committed_seen_term_[i - 1] >= view.term) continue;
    EntryDigest entry;
    if (!view.entry(i, &entry) || !(entry == committed_[i - 1])) {
      Violation(absl::StrCat("leader completeness: n", view.id,
                             " leads term ", view.term,
                             " without committed entry ", i, " (term ",
                             committed_[i - 1].term, ")"));
      return;
    }
  }
}

void RaftChecker::CheckCommitted(const RaftView& view, Previous& previous) {
  if (previous.verified < view.compacted) {
    // Committed entries that reached this node in a snapshot (or that it
    // compacted before this incarnation): compare the snapshot's term.
    CheckCompacted(view);
    previous.verified = std::min(view.compacted, view.commit);
  }
  for (uint64_t i = previous.verified + 1; i <= view.commit; ++i) {
    EntryDigest entry;
    if (!view.entry(i, &entry)) {
      Violation(absl::StrCat("commit <= last index: n", view.id, " commit ",
                             view.commit, " but no entry ", i));
      return;
    }
    if (i > committed_.size() + 1) {
      // Beyond a gap no node has shown (it came in a snapshot): unknown
      // entries cannot be recorded, so this one is not either.
    } else if (i == committed_.size() + 1) {
      committed_.push_back(entry);
      committed_seen_term_.push_back(view.term);
    } else if (!(committed_[i - 1] == entry)) {
      Violation(absl::StrCat(
          "state machine safety: n", view.id, " committed entry ", i,
          " of term ", entry.term, " but entry ", i, " of term ",
          committed_[i - 1].term, " was committed before",
          entry.term == committed_[i - 1].term ? " (same term, other data)"
                                               : ""));
      return;
    }
    previous.verified = i;
  }
}

void RaftChecker::Violation(std::string text) {
  // One report per property and node is enough; a broken log repeats.
  if (violations_.size() < 20) violations_.push_back(std::move(text));
}

void ConvergenceChecker::Observe(uint64_t id, uint64_t applied,
                                 uint64_t kv_digest) {
  auto [it, inserted] = by_applied_.emplace(applied, Seen{kv_digest, id});
  if (inserted || it->second.digest == kv_digest) return;
  if (violations_.size() < 20) {
    violations_.push_back(absl::StrCat(
        "convergence: n", id, " and n", it->second.id,
        " differ in kv state at applied index ", applied));
  }
}

}  // namespace etcdpp::sim
