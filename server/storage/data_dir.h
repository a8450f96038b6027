// The data directory as a whole: the member file, bootstrap and recovery.
//
// A data dir holds
//   member                 who this member is (member id, cluster id)
//   wal-*.log              the WAL (wal_format.md)
//   snap-*.snap            snapshots (snapshot_file.h)
//   *.tmp                  files being written; leftovers of a crash
//
// The member file is written first at bootstrap, then the WAL is created:
// both go through the directory, so once any WAL batch is durable the
// member file is too. A dir with no member file never acknowledged anything
// and is bootstrapped afresh.
//
// Callers take the Disk's Lock() before any of this.
#ifndef ETCDPP_SERVER_STORAGE_DATA_DIR_H_
#define ETCDPP_SERVER_STORAGE_DATA_DIR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/raft.pb.h"
#include "server/storage/disk.h"
#include "server/storage/snapshot_file.h"
#include "server/storage/wal.h"
#include "server/storage/wal_reader.h"

namespace etcdpp::storage {

inline constexpr char kMemberFileName[] = "member";

// magic[8] version u32 member_id u64 cluster_id u64 crc u32.
inline constexpr uint64_t kMemberFileSize = 8 + 4 + 8 + 8 + 4;
static_assert(kMemberFileSize == 32, "member file is 32 bytes");

std::string EncodeMemberFile(const WalMetadata& member);
// DataLoss if data is not a valid member file.
absl::StatusOr<WalMetadata> DecodeMemberFile(absl::string_view data);

// Submits temp, fsync, rename, fsync of the directory; returns the op ids
// in order (durable iff the last completes OK, as for snapshot files).
std::vector<uint64_t> SaveMemberFile(Disk& disk, const WalMetadata& member);
// nullopt if the dir has no member file (it was never bootstrapped).
absl::StatusOr<std::optional<WalMetadata>> LoadMemberFile(Disk& disk);

// Makes a fresh member in a dir without a member file: saves the member
// file and creates the WAL (first index 1). FailedPrecondition if the dir is
// already bootstrapped or holds WAL segments without a member file.
absl::StatusOr<std::unique_ptr<Wal>> Bootstrap(Disk& disk,
                                               const WalOptions& options,
                                               const WalMetadata& member);

// What a restarting member loads into raft's MemoryStorage: the snapshot's
// metadata (ApplySnapshot), then the hard state (SetHardState), then the
// entries (Append); and the kv state from the snapshot body.
struct RecoveredState {
  WalMetadata member;
  std::optional<SnapshotFile> snapshot;         // the newest valid one
  std::vector<absl::Status> skipped_snapshots;  // corrupt newer ones
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;    // contiguous after the snapshot
  std::optional<WalTornTail> torn_tail;  // cut off (and zeroed) at open
  // The newest snapshot marker in the WAL (the node records a new
  // cluster's initial membership as one at index 0).
  std::optional<raftpb::SnapshotMetadata> wal_snapshot;
  std::unique_ptr<Wal> wal;              // open for appending
};

// Recovers a bootstrapped dir: the newest valid snapshot, then the WAL
// replayed after it, then the WAL opened for appending (which submits its
// repairs) and leftover temp files removed. NotFound if the dir has no
// member file; DataLoss if the WAL is corrupt, belongs to another member,
// or cannot continue the snapshot.
absl::StatusOr<RecoveredState> Recover(Disk& disk, const WalOptions& options);

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_DATA_DIR_H_
