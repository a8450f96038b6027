// RaftLog: the replicated log as the core sees it, stitched together from
// the persisted part (Storage) and the unstable part (Unstable).
//
// Indexes, all monotonic except through Restore:
//   applied <= applying <= committed <= LastIndex()
// `applying` is the highest index handed to the application in a Ready;
// `applied` the highest the application reported done.
#ifndef ETCDPP_RAFT_LOG_H_
#define ETCDPP_RAFT_LOG_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "raft/log_unstable.h"
#include "raft/raft.pb.h"
#include "raft/storage.h"

namespace etcdpp::raft {

// (index, term) of an entry, ordered by term then index.
struct EntryId {
  uint64_t term = 0;
  uint64_t index = 0;
};

class RaftLog {
 public:
  // `storage` must outlive the log. max_applying_size bounds the bytes of
  // committed entries handed out in one Ready (at least one entry).
  RaftLog(const Storage* storage, uint64_t max_applying_size);

  // Outcome of offering a leader's entries (MsgApp) to the log.
  enum class AppendResult {
    kAppended,  // matched at prev; last_new_index is set
    kMismatch,  // the entry at prev has another term, or is missing
    kConflictsWithCommitted,  // impossible from a correct leader
  };
  struct MaybeAppendOutcome {
    AppendResult result;
    uint64_t last_new_index = 0;
  };
  // §5.3: appends `entries` that follow `prev`, if our entry at prev.index
  // has prev.term; truncates our entries from the first conflicting one,
  // then commits up to min(committed, last new index). Entries must be
  // contiguous from prev.index + 1 (the caller validates peer input).
  MaybeAppendOutcome MaybeAppend(EntryId prev, uint64_t committed,
                                 absl::Span<const raftpb::Entry> entries);

  // Appends entries after truncating at their first index; returns the new
  // last index. The first index must be > committed.
  uint64_t Append(absl::Span<const raftpb::Entry> entries);

  // The index of the first entry whose term differs from ours (or that we
  // do not have); 0 if all match. Entries must be contiguous.
  uint64_t FindConflict(absl::Span<const raftpb::Entry> entries) const;

  // Fast backtracking: the largest (index, term) with index <= `index` and
  // our term <= `term`. Our log cannot match the leader's past it. If the
  // term is unknown (compacted), returns (index, 0).
  EntryId FindConflictByTerm(uint64_t index, uint64_t term) const;

  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  uint64_t LastTerm() const;
  EntryId LastEntryId() const { return {LastTerm(), LastIndex()}; }
  // The term of entry i; compacted or unavailable as Storage.
  absl::StatusOr<uint64_t> Term(uint64_t i) const;
  // Term(i), or 0 if out of range.
  uint64_t TermOrZero(uint64_t i) const;
  bool MatchTerm(uint64_t i, uint64_t term) const;

  // §5.4.1: a candidate's log (last_index, last_term) is at least as
  // up to date as ours.
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;

  // Entries from i on, at most max_size bytes (but at least one).
  absl::StatusOr<std::vector<raftpb::Entry>> Entries(uint64_t i,
                                                     uint64_t max_size) const;
  // Entries in [lo, hi), at most max_size bytes (but at least one). lo must
  // be >= FirstIndex() - compacted otherwise - and hi <= LastIndex() + 1.
  absl::StatusOr<std::vector<raftpb::Entry>> Slice(uint64_t lo, uint64_t hi,
                                                   uint64_t max_size) const;
  std::vector<raftpb::Entry> AllEntries() const;

  // Raises committed to to_commit, which must be <= LastIndex().
  void CommitTo(uint64_t to_commit);
  // Commits max_index if it has term `term` (the Figure-8 rule: a leader
  // commits only by counting replicas of an entry from its own term).
  bool MaybeCommit(uint64_t max_index, uint64_t term);
  void AppliedTo(uint64_t i);
  // The application was handed committed entries up to i.
  void AcceptApplying(uint64_t i) { applying_ = i; }

  // Entries and snapshot to persist next (not yet handed out).
  absl::Span<const raftpb::Entry> NextUnstableEntries() const {
    return unstable_.NextEntries();
  }
  bool HasNextUnstableEntries() const { return unstable_.HasNextEntries(); }
  const raftpb::Snapshot* NextUnstableSnapshot() const {
    return unstable_.NextSnapshot();
  }
  // Everything returned by the Next... methods has been handed out.
  void AcceptUnstable() { unstable_.AcceptInProgress(); }
  void StableTo(uint64_t i, uint64_t t) { unstable_.StableTo(i, t); }
  void StableSnapTo(uint64_t i) { unstable_.StableSnapTo(i); }
  bool HasUnstableSnapshot() const { return unstable_.snapshot().has_value(); }

  // Committed entries not yet handed to the application, at most
  // max_applying_size bytes. Empty while a snapshot is pending, which must
  // be applied first.
  std::vector<raftpb::Entry> NextCommittedEntries() const;
  bool HasNextCommittedEntries() const;

  // The most recent snapshot: the unstable one, else Storage's.
  absl::StatusOr<raftpb::Snapshot> Snapshot() const;
  // Replaces the log by a snapshot (the follower's InstallSnapshot).
  void Restore(const raftpb::Snapshot& snapshot);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  uint64_t applying() const { return applying_; }
  const Unstable& unstable() const { return unstable_; }
  const Storage* storage() const { return storage_; }

  void CheckInvariants() const;

 private:
  const Storage* storage_;
  Unstable unstable_;
  // Invariant: applied_ <= applying_ <= committed_ <= LastIndex().
  uint64_t committed_;
  uint64_t applying_;
  uint64_t applied_;
  uint64_t max_applying_size_;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_LOG_H_
