// Snapshot files: one file per snapshot, "snap-<term 16 hex>-<index 16
// hex>.snap".
//
//   file     := magic version metadata_length body_length metadata body crc
//   magic    := "ETCDPPSN"            version := u32 = 1
//   metadata_length := u32            body_length := u64
//   metadata := raftpb.SnapshotMetadata   body := opaque bytes
// The node writes the body as the member list then the kv state
// (server/node/membership.h, EncodeSnapshotBody).
//   crc      := u32, masked crc32c of every byte before it
//
// A snapshot is written under a temp name, fsynced, renamed into place and
// the directory fsynced, so a file with a snapshot's name is complete unless
// the disk damaged it afterwards — which the whole-file checksum catches,
// and recovery then falls back to an older snapshot.
//
// The body is held in memory whole for now; streaming it in chunks (so a
// big store is never held twice) comes with the kv snapshot stream.
#ifndef ETCDPP_SERVER_STORAGE_SNAPSHOT_FILE_H_
#define ETCDPP_SERVER_STORAGE_SNAPSHOT_FILE_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "raft/raft.pb.h"
#include "server/storage/disk.h"

namespace etcdpp::storage {

// magic[8] version u32 metadata_length u32 body_length u64.
inline constexpr uint64_t kSnapshotHeaderSize = 8 + 4 + 4 + 8;
static_assert(kSnapshotHeaderSize == 24, "snapshot header is 24 bytes");
inline constexpr uint64_t kSnapshotTrailerSize = 4;

// One snapshot file's contents.
struct SnapshotFile {
  std::string name;
  raftpb::SnapshotMetadata metadata;
  std::string body;
};

std::string SnapshotFileName(uint64_t term, uint64_t index);
struct SnapshotId {
  uint64_t term = 0;
  uint64_t index = 0;
};
// The term and index a snapshot file name encodes; nullopt for other names
// (including temp files).
std::optional<SnapshotId> ParseSnapshotFileName(absl::string_view name);
bool IsTempSnapshotFileName(absl::string_view name);

std::string EncodeSnapshotFile(const raftpb::SnapshotMetadata& metadata,
                               absl::string_view body);
// DataLoss naming the file if data is not a valid snapshot file whose
// metadata matches its name.
absl::StatusOr<SnapshotFile> DecodeSnapshotFile(absl::string_view name,
                                                absl::string_view data);

// Submits the writes of a new snapshot file: temp, fsync, rename, fsync of
// the directory. Returns the ids of the ops in order. They share the temp
// name, the final name or the directory, so they complete in order; with
// the Disk's sticky failure, the snapshot is durable iff the last one
// completes OK.
std::vector<uint64_t> SaveSnapshotFile(Disk& disk,
                                       const raftpb::SnapshotMetadata& metadata,
                                       absl::string_view body);

absl::StatusOr<SnapshotFile> LoadSnapshotFile(Disk& disk,
                                              absl::string_view name);

struct NewestSnapshot {
  std::optional<SnapshotFile> snapshot;  // nullopt: no valid snapshot
  // One DataLoss status per newer snapshot file that was corrupt and
  // skipped, newest first, for the node to log.
  std::vector<absl::Status> skipped;
};
// The valid snapshot with the highest index. Corrupt files are skipped and
// reported; other errors (a failing read) are returned.
absl::StatusOr<NewestSnapshot> LoadNewestValidSnapshot(Disk& disk);

// A RemoveOp submitted, and the file it removes.
struct SubmittedRemoval {
  uint64_t op_id = 0;
  std::string name;
};
// Removes every snapshot file but the newest `keep` (by index) and those
// named in `spared`: files being streamed to peers, and files whose removal
// was submitted already -- List still shows a file until its removal is
// done, and a second removal would fail (sim seed 93755). Returns the
// removals submitted. Temp files are left alone: one may be a save in
// flight.
absl::StatusOr<std::vector<SubmittedRemoval>> RetainSnapshots(
    Disk& disk, size_t keep, const std::set<std::string>& spared = {});

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_SNAPSHOT_FILE_H_
