// Reading the WAL back at recovery.
//
// ReadAll decodes every segment in order and replays its records into the
// state raft needs: the last hard state and the entries after the snapshot.
// Replay follows raft's log rules: an entry whose index is at or below the
// last one replayed overwrites it and drops everything after (a conflict
// truncation the leader forced), so the later write wins.
//
// Damage is judged by where it is (DESIGN.md, "Storage format"):
//  - Bad bytes at the tail of the last segment with no valid record after
//    them are a torn write, the remains of a batch whose fsync never
//    finished and so was never acknowledged. Reading stops there; the
//    result reports the offset, and Wal::Open overwrites the bytes with
//    zeros before appending.
//  - Bad bytes anywhere else — in an earlier segment, or followed by a
//    valid record — are corruption of written data: DataLoss naming the
//    file and byte offset, and the node must refuse to start.
// Limits, on purpose: a lost sector that takes the very last records of the
// last segment reads as a clean end (no format can tell it from a tail that
// was never written). The other way, a torn write can read as corruption,
// and the node refuses to start when it need not — the safe side: when the
// disk persisted a later sector of an unsynced batch but not an earlier
// one, or when an entry's payload happens to embed a valid record.
#ifndef ETCDPP_SERVER_STORAGE_WAL_READER_H_
#define ETCDPP_SERVER_STORAGE_WAL_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/raft.pb.h"
#include "server/storage/disk.h"

namespace etcdpp::storage {

// Who wrote a WAL; every segment begins with it.
struct WalMetadata {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  friend bool operator==(const WalMetadata&, const WalMetadata&) = default;
};

struct WalSegment {
  std::string name;
  uint64_t sequence = 0;
  uint64_t first_index = 0;  // the next raft index when it was started
  uint64_t size_bytes = 0;   // the file's size (its capacity)
};

// Bytes [offset, end) of segment were a torn write and must be cleared.
struct WalTornTail {
  std::string segment;
  uint64_t offset = 0;
  uint64_t end = 0;
};

struct WalContents {
  WalMetadata metadata;
  raftpb::HardState hard_state;  // the last one written; empty if none
  // The entries with index > the snapshot index, contiguous from
  // snapshot index + 1.
  std::vector<raftpb::Entry> entries;
  // The newest snapshot marker in the WAL, if any.
  std::optional<raftpb::SnapshotMetadata> last_snapshot;
  // Where appending resumes: the segments in order, the offset after the
  // last valid record of the last one, whether that one was sealed (a crash
  // came in the middle of starting the next), the torn tail cut off.
  std::vector<WalSegment> segments;
  uint64_t tail_offset = 0;
  bool last_sealed = false;
  std::optional<WalTornTail> torn_tail;
  // The index the next new segment is named after: one past the last entry
  // replayed, or past the snapshot if there is none.
  uint64_t next_index = 1;
};

// Reads every WAL segment in disk and replays it after snapshot_index.
// NotFound if there are no segments; DataLoss (naming file and offset) on
// corruption or a gap in the log.
absl::StatusOr<WalContents> ReadAll(Disk& disk, uint64_t snapshot_index);

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_WAL_READER_H_
