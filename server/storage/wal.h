// Wal: the writer of the write-ahead log (format: wal_format.md).
//
// The node hands the WAL each Ready's snapshot marker, entries and hard
// state as one batch. Append() encodes the batch, submits its writes and
// one fsync to the Disk and returns at once with the batch's id; the batch
// is durable — and raft may acknowledge it — once every operation the Wal
// submitted up to it has completed. The owner passes each completion of an
// op the Wal owns to OnDiskDone() and reads durable_batch().
//
// Segments have a fixed size and are preallocated, so appends never grow
// the file (no metadata to flush with fdatasync) and never hit ENOSPC in the
// middle of a batch. A batch that does not fit in the current segment
// continues in the next one: the current one gets a seal record and an
// fsync, and the next is prepared under a temp name, written, fsynced,
// renamed into place and the directory fsynced, so a segment is either
// wholly absent or begins with a valid header. Each segment begins with the
// metadata, the last hard state and the last snapshot marker, so it stands
// alone once the segments before it are released.
//
// A failed operation is fatal (DESIGN.md): OnDiskDone returns the error and
// the Wal never reports a later batch durable.
//
// Not thread-safe. The Disk must outlive the Wal.
#ifndef ETCDPP_SERVER_STORAGE_WAL_H_
#define ETCDPP_SERVER_STORAGE_WAL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "raft/raft.pb.h"
#include "server/storage/disk.h"
#include "server/storage/wal_format.h"
#include "server/storage/wal_reader.h"

namespace etcdpp::storage {

// Bugs the simulator plants to prove that its checkers have teeth. All off
// by default; no server flag reaches them.
struct WalPlantedBugs {
  // Append submits no fsync, so a batch counts as durable once written to
  // the page cache, and a crash loses acknowledged writes.
  bool skip_fsync = false;
  // Open leaves a torn tail in place and appends after its garbage instead
  // of zeroing it and writing over it: the next recovery finds a bad record
  // followed by valid ones -- acknowledged writes behind corruption.
  bool skip_torn_tail_truncation = false;
};

struct WalOptions {
  // Every new segment is preallocated to this size; at least
  // wal::kMinSegmentSizeBytes.
  uint64_t segment_size_bytes = wal::kDefaultSegmentSizeBytes;
  WalPlantedBugs planted_bugs;
};

// What one Ready asks to persist, written in this order.
struct WalBatch {
  std::optional<raftpb::SnapshotMetadata> snapshot;  // index and term
  std::vector<raftpb::Entry> entries;
  std::optional<raftpb::HardState> hard_state;
};

class Wal {
 public:
  // Starts a new WAL in a data dir that has no segments: the first segment
  // expects raft index first_index next.
  static absl::StatusOr<std::unique_ptr<Wal>> Create(
      Disk* disk, const WalOptions& options, const WalMetadata& metadata,
      uint64_t first_index = 1);

  // Continues the WAL that ReadAll returned contents of: removes leftover
  // temp segments, zeroes a torn tail, and starts a new segment if the last
  // one was sealed.
  static absl::StatusOr<std::unique_ptr<Wal>> Open(Disk* disk,
                                                   const WalOptions& options,
                                                   const WalContents& contents);

  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Submits the batch's records and one fsync; returns the batch id (the
  // fsync's op id). Batch ids increase.
  uint64_t Append(const WalBatch& batch);
  uint64_t Append(absl::Span<const raftpb::Entry> entries,
                  const raftpb::HardState& hard_state);

  // Removes the segments whose every entry is at or below index. index must
  // be that of a snapshot whose file is already durable (its save's last op
  // completed): the entries removed exist nowhere else. The last segment
  // always stays.
  void ReleaseTo(uint64_t index);

  // Whether op_id is an operation this Wal submitted and still waits for.
  bool OwnsOp(uint64_t op_id) const { return pending_.count(op_id) > 0; }
  // Records the completion of an op this Wal owns. A failure is returned
  // (naming the operation) and stops durability for good.
  absl::Status OnDiskDone(uint64_t op_id, const absl::Status& status);
  // Every batch with id <= durable_batch() is durable; 0 if none is.
  uint64_t durable_batch() const { return durable_batch_; }
  bool IsDurable(uint64_t batch_id) const { return batch_id <= durable_batch_; }

  // CHECK-fails if the Wal's own state is inconsistent; the simulator calls
  // it after every step.
  void CheckInvariants() const;

  // The segments in use, oldest first.
  std::vector<WalSegment> segments() const {
    return {segments_.begin(), segments_.end()};
  }
  // The last raft index written.
  uint64_t last_index() const { return next_index_ - 1; }

 private:
  Wal(Disk* disk, const WalOptions& options, const WalMetadata& metadata);

  uint64_t Submit(DiskOp op);
  // Adds one record to the batch being built, moving to a new segment first
  // if it does not fit.
  void AddRecord(wal::RecordType type, const std::string& payload);
  // Submits the buffered records of the current segment.
  void Flush();
  // Seals and syncs the current segment and starts the next.
  void Roll();
  void StartSegment(uint64_t sequence);

  Disk* const disk_;
  const WalOptions options_;
  const WalMetadata metadata_;
  std::deque<WalSegment> segments_;  // the last one is written to
  uint64_t offset_ = 0;              // where the next record goes
  uint64_t data_start_ = 0;          // the offset after the current segment's
                                     // opening records
  std::string buffer_;       // records not yet submitted, ending at offset_
  uint64_t next_index_ = 1;  // the index after the last entry written
  raftpb::HardState hard_state_;  // the last written, for new segments
  std::optional<raftpb::SnapshotMetadata> snapshot_;  // likewise
  std::set<uint64_t> pending_;    // submitted ops not yet completed OK
  std::deque<uint64_t> batches_;  // batch ids not yet durable, ascending
  uint64_t durable_batch_ = 0;
  absl::Status failure_;
};

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_WAL_H_
