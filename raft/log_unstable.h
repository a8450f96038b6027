// The unstable part of the raft log: entries and at most one incoming
// snapshot that the core holds but the application has not yet persisted.
//
// entries_[k] has index offset_ + k. If a snapshot is present, offset_ is
// snapshot index + 1 and the entries follow it. Entries and the snapshot
// move through three stages: unstable and not yet handed out; handed out in
// a Ready and being persisted ("in progress": indexes below
// offset_in_progress_); persisted, at which point stableTo/stableSnapTo drop
// them from here and they are read from Storage instead.
#ifndef ETCDPP_RAFT_LOG_UNSTABLE_H_
#define ETCDPP_RAFT_LOG_UNSTABLE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "raft/raft.pb.h"

namespace etcdpp::raft {

class Unstable {
 public:
  explicit Unstable(uint64_t offset = 0)
      : offset_(offset), offset_in_progress_(offset) {}

  // The first index, if a snapshot is held (snapshot index + 1).
  std::optional<uint64_t> MaybeFirstIndex() const;
  // The last index, if any entry or snapshot is held.
  std::optional<uint64_t> MaybeLastIndex() const;
  // The term of entry i, if known here.
  std::optional<uint64_t> MaybeTerm(uint64_t i) const;

  // Entries not yet handed out for persisting.
  absl::Span<const raftpb::Entry> NextEntries() const;
  bool HasNextEntries() const { return offset_in_progress_ < offset_ + entries_.size(); }
  // The snapshot, if not yet handed out for persisting.
  const raftpb::Snapshot* NextSnapshot() const;
  // Marks everything currently returned by NextEntries/NextSnapshot as
  // handed out.
  void AcceptInProgress();

  // Entries up to (i, t) are persisted: drop them, unless entry i now has
  // another term (it was overwritten while being persisted).
  void StableTo(uint64_t i, uint64_t t);
  // The snapshot at index i is persisted.
  void StableSnapTo(uint64_t i);

  void Restore(const raftpb::Snapshot& snapshot);
  // Appends entries, truncating any held entries they conflict with.
  void TruncateAndAppend(absl::Span<const raftpb::Entry> entries);
  // Entries in [lo, hi), which must lie within the held entries.
  std::vector<raftpb::Entry> Slice(uint64_t lo, uint64_t hi) const;

  const std::vector<raftpb::Entry>& entries() const { return entries_; }
  const std::optional<raftpb::Snapshot>& snapshot() const { return snapshot_; }
  uint64_t offset() const { return offset_; }
  uint64_t offset_in_progress() const { return offset_in_progress_; }
  bool snapshot_in_progress() const { return snapshot_in_progress_; }

  void CheckInvariants() const;

 private:
  void CheckOutOfBounds(uint64_t lo, uint64_t hi) const;

  std::optional<raftpb::Snapshot> snapshot_;
  std::vector<raftpb::Entry> entries_;
  uint64_t offset_;
  // If true, snapshot_ is being persisted.
  bool snapshot_in_progress_ = false;
  // Entries with index < offset_in_progress_ are being persisted.
  // Invariant: offset_ <= offset_in_progress_ <= offset_ + entries_.size().
  uint64_t offset_in_progress_;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_LOG_UNSTABLE_H_
