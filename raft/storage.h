// The read side of the raft log's durable storage, and an in-memory
// implementation of it.
//
// The raft core reads entries it has persisted (through Ready) back from a
// Storage. The application writes to it: after persisting a Ready it appends
// the Ready's entries and hard state to its Storage, and it compacts the
// Storage when it takes a snapshot. As in etcd, the log since the last
// snapshot stays in memory (MemoryStorage); the WAL gives durability and is
// read only at recovery.
//
// Errors are absl statuses with codes of their own, so callers tell them
// apart with the Is... predicates below:
//   compacted        kOutOfRange          the index is below FirstIndex()
//   unavailable      kNotFound            the index is above LastIndex()
//   snapshot busy    kUnavailable         no snapshot can be produced now
//   snap out of date kFailedPrecondition  an older snapshot than the one held
//
// Thread-safety: none. The raft core and its driver run on one thread.
#ifndef ETCDPP_RAFT_STORAGE_H_
#define ETCDPP_RAFT_STORAGE_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/raft.pb.h"

namespace etcdpp::raft {

// No limit on the byte size of a batch of entries.
inline constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

absl::Status CompactedError();
absl::Status EntryUnavailableError();
absl::Status SnapshotTemporarilyUnavailableError();
absl::Status SnapshotOutOfDateError();

bool IsCompacted(const absl::Status& status);
bool IsEntryUnavailable(const absl::Status& status);
bool IsSnapshotTemporarilyUnavailable(const absl::Status& status);
bool IsSnapshotOutOfDate(const absl::Status& status);

// Bytes an entry counts for in size limits (its encoded size, as etcd).
uint64_t EntrySize(const raftpb::Entry& entry);
// Bytes of an entry's payload: what the uncommitted-size cap counts.
uint64_t PayloadSize(const raftpb::Entry& entry);

// Keeps the longest prefix of `entries` whose total EntrySize is at most
// max_size, but always at least one entry.
void LimitSize(std::vector<raftpb::Entry>* entries, uint64_t max_size);

struct InitialState {
  raftpb::HardState hard_state;
  raftpb::ConfState conf_state;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // The hard state and membership saved at the last persist.
  virtual absl::StatusOr<InitialState> GetInitialState() const = 0;
  // Entries in [lo, hi), at most max_size bytes but at least one entry when
  // any is in range. Compacted if lo <= the snapshot index; Unavailable if
  // hi > LastIndex() + 1.
  virtual absl::StatusOr<std::vector<raftpb::Entry>> Entries(
      uint64_t lo, uint64_t hi, uint64_t max_size) const = 0;
  // The term of entry i, for i in [FirstIndex() - 1, LastIndex()]: the
  // entry just before the first is known through the snapshot metadata.
  virtual absl::StatusOr<uint64_t> Term(uint64_t i) const = 0;
  virtual uint64_t LastIndex() const = 0;
  // The index of the first entry that may still be read (snapshot index + 1).
  virtual uint64_t FirstIndex() const = 0;
  // The most recent snapshot; SnapshotTemporarilyUnavailable if it is being
  // made, in which case raft will ask again later.
  virtual absl::StatusOr<raftpb::Snapshot> Snapshot() const = 0;
};

// Storage kept in memory. ents_[0] is a dummy entry standing for the
// snapshot: its index and term are the snapshot's, so Term() of the entry
// before the first real one is always known.
class MemoryStorage : public Storage {
 public:
  MemoryStorage();

  absl::StatusOr<InitialState> GetInitialState() const override;
  absl::StatusOr<std::vector<raftpb::Entry>> Entries(
      uint64_t lo, uint64_t hi, uint64_t max_size) const override;
  absl::StatusOr<uint64_t> Term(uint64_t i) const override;
  uint64_t LastIndex() const override;
  uint64_t FirstIndex() const override;
  absl::StatusOr<raftpb::Snapshot> Snapshot() const override;

  void SetHardState(const raftpb::HardState& hard_state);
  // Replaces the whole log by the snapshot. SnapshotOutOfDate if it is older
  // than the snapshot held.
  absl::Status ApplySnapshot(const raftpb::Snapshot& snapshot);
  // Makes a snapshot at index i (<= LastIndex()), for a later Compact.
  // conf_state may be null to keep the previous one.
  absl::StatusOr<raftpb::Snapshot> CreateSnapshot(
      uint64_t i, const raftpb::ConfState* conf_state, std::string data);
  // Discards entries before compact_index, which must be <= LastIndex().
  // Compacted if they are already gone.
  absl::Status Compact(uint64_t compact_index);
  // Appends entries, truncating any of ours they overwrite. Entries must be
  // contiguous; ones at or below the snapshot index are ignored.
  absl::Status Append(std::vector<raftpb::Entry> entries);

  // For tests that check what has been persisted.
  const raftpb::HardState& hard_state() const { return hard_state_; }

 private:
  uint64_t Offset() const { return ents_[0].index(); }

  raftpb::HardState hard_state_;
  raftpb::Snapshot snapshot_;
  // Invariant: non-empty; ents_[k].index() == ents_[0].index() + k.
  std::vector<raftpb::Entry> ents_;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_STORAGE_H_
