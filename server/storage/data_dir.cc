#include "server/storage/data_dir.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/storage/coding.h"
#include "server/storage/crc32c.h"

namespace etcdpp::storage {
namespace {

constexpr char kMagic[] = "ETCDPPMB";
constexpr uint32_t kVersion = 1;
constexpr char kMemberTempName[] = "member.tmp";

absl::Status CorruptMember(absl::string_view why) {
  return absl::DataLossError(
      absl::StrCat("data dir: corrupt member file: ", why));
}

// Leftovers of writes a crash interrupted; none can be in flight yet.
void RemoveTempFiles(Disk& disk, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name == kMemberTempName || IsTempSnapshotFileName(name)) {
      disk.Submit(RemoveOp{name});
    }
  }
}

// Makes the replayed WAL agree with the snapshot it continues.
absl::Status FitToSnapshot(const std::optional<SnapshotFile>& snapshot,
                           WalContents* contents) {
  uint64_t snapshot_index = 0;
  if (snapshot.has_value()) {
    snapshot_index = snapshot->metadata.index();
    // Entries older than the snapshot's term after it are the stale tail of
    // a log the leader's snapshot replaced, left in the WAL when the crash
    // came before their overwrites: never committed (terms only grow along
    // a committed log), so dropped.
    const uint64_t term = snapshot->metadata.term();
    std::vector<raftpb::Entry>& entries = contents->entries;
    const auto stale =
        std::find_if(entries.begin(), entries.end(),
                     [&](const raftpb::Entry& e) { return e.term() < term; });
    entries.erase(stale, entries.end());
    // The snapshot holds only committed entries, even if the hard state
    // that said so did not reach the WAL.
    raftpb::HardState& hs = contents->hard_state;
    hs.set_commit(std::max(hs.commit(), snapshot_index));
  }
  const uint64_t last = contents->entries.empty()
                            ? snapshot_index
                            : contents->entries.back().index();
  if (contents->hard_state.commit() > last) {
    return absl::DataLossError(absl::StrCat(
        "wal: the hard state commits index ", contents->hard_state.commit(),
        " but the log ends at ", last));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeMemberFile(const WalMetadata& member) {
  std::string out(kMagic, 8);
  PutFixed32(&out, kVersion);
  PutFixed64(&out, member.member_id);
  PutFixed64(&out, member.cluster_id);
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  return out;
}

absl::StatusOr<WalMetadata> DecodeMemberFile(absl::string_view data) {
  if (data.size() != kMemberFileSize) {
    return CorruptMember(
        absl::StrCat("size ", data.size(), ", want ", kMemberFileSize));
  }
  const absl::string_view covered = data.substr(0, kMemberFileSize - 4);
  if (crc32c::Unmask(DecodeFixed32(data.data() + covered.size())) !=
      crc32c::Value(covered)) {
    return CorruptMember("checksum mismatch");
  }
  if (data.substr(0, 8) != absl::string_view(kMagic, 8)) {
    return CorruptMember("bad magic");
  }
  if (DecodeFixed32(data.data() + 8) != kVersion) {
    return CorruptMember("unsupported format version");
  }
  return WalMetadata{DecodeFixed64(data.data() + 12),
                     DecodeFixed64(data.data() + 20)};
}

std::vector<uint64_t> SaveMemberFile(Disk& disk, const WalMetadata& member) {
  return {
      disk.Submit(CreateOp{kMemberTempName}),
      disk.Submit(WriteOp{kMemberTempName, 0, EncodeMemberFile(member)}),
      disk.Submit(SyncOp{kMemberTempName}),
      disk.Submit(RenameOp{kMemberTempName, kMemberFileName}),
      disk.Submit(SyncDirOp{}),
  };
}

absl::StatusOr<std::optional<WalMetadata>> LoadMemberFile(Disk& disk) {
  absl::StatusOr<std::vector<std::string>> names = disk.List();
  if (!names.ok()) return names.status();
  if (!std::binary_search(names->begin(), names->end(),
                          std::string(kMemberFileName))) {
    return std::nullopt;
  }
  absl::StatusOr<std::string> data = disk.ReadFile(kMemberFileName);
  if (!data.ok()) return data.status();
  absl::StatusOr<WalMetadata> member = DecodeMemberFile(*data);
  if (!member.ok()) return member.status();
  return *member;
}

absl::StatusOr<std::unique_ptr<Wal>> Bootstrap(Disk& disk,
                                               const WalOptions& options,
                                               const WalMetadata& member) {
  absl::StatusOr<std::vector<std::string>> names = disk.List();
  if (!names.ok()) return names.status();
  if (std::binary_search(names->begin(), names->end(),
                         std::string(kMemberFileName))) {
    return absl::FailedPreconditionError(
        "data dir: already bootstrapped (it has a member file)");
  }
  RemoveTempFiles(disk, *names);
  // The member file first: see the header.
  SaveMemberFile(disk, member);
  return Wal::Create(&disk, options, member);
}

namespace {

// Checks the WAL against the member and snapshot, fits it to the snapshot,
// opens it for appending and fills the rest of *state.
absl::Status ContinueWal(Disk& disk, const WalOptions& options,
                         WalContents* contents, RecoveredState* state) {
  if (!(contents->metadata == state->member)) {
    return absl::DataLossError(absl::StrCat(
        "data dir: the WAL belongs to member ", contents->metadata.member_id,
        " of cluster ", contents->metadata.cluster_id,
        ", the member file names member ", state->member.member_id,
        " of cluster ", state->member.cluster_id));
  }
  // The WAL records that the kv state was saved at a snapshot and may have
  // released the log before it: with no valid snapshot file left, nothing
  // rebuilds that state (as etcd, which refuses to start without its
  // snapshot database). Only the index-0 marker, a new cluster's initial
  // membership, stands without a file.
  if (!state->snapshot.has_value() && contents->last_snapshot.has_value() &&
      contents->last_snapshot->index() > 0) {
    const std::string why =
        state->skipped_snapshots.empty()
            ? std::string("no snapshot file is left")
            : std::string(state->skipped_snapshots.front().message());
    return absl::DataLossError(absl::StrCat(
        "data dir: the WAL records a snapshot at index ",
        contents->last_snapshot->index(), " (term ",
        contents->last_snapshot->term(), ") but ", why,
        "; this member cannot rebuild its state: remove its data dir and "
        "add it back as a new member"));
  }
  if (absl::Status s = FitToSnapshot(state->snapshot, contents); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<Wal>> wal =
      Wal::Open(&disk, options, *contents);
  if (!wal.ok()) return wal.status();
  absl::StatusOr<std::vector<std::string>> names = disk.List();
  if (!names.ok()) return names.status();
  RemoveTempFiles(disk, *names);
  state->wal = std::move(*wal);
  state->hard_state = contents->hard_state;
  state->entries = std::move(contents->entries);
  state->torn_tail = contents->torn_tail;
  state->wal_snapshot = contents->last_snapshot;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecoveredState> Recover(Disk& disk, const WalOptions& options) {
  absl::StatusOr<std::optional<WalMetadata>> member = LoadMemberFile(disk);
  if (!member.ok()) return member.status();
  if (!member->has_value()) {
    return absl::NotFoundError(
        "data dir: no member file: the dir was never bootstrapped");
  }
  absl::StatusOr<NewestSnapshot> newest = LoadNewestValidSnapshot(disk);
  if (!newest.ok()) return newest.status();
  RecoveredState state;
  state.member = **member;
  state.snapshot = std::move(newest->snapshot);
  state.skipped_snapshots = std::move(newest->skipped);
  const uint64_t snapshot_index =
      state.snapshot.has_value() ? state.snapshot->metadata.index() : 0;

  absl::StatusOr<WalContents> contents = ReadAll(disk, snapshot_index);
  if (absl::IsNotFound(contents.status()) && !state.snapshot.has_value() &&
      state.skipped_snapshots.empty()) {
    // The crash came between the member file and the WAL at bootstrap.
    absl::StatusOr<std::unique_ptr<Wal>> wal =
        Wal::Create(&disk, options, state.member);
    if (!wal.ok()) return wal.status();
    state.wal = std::move(*wal);
    return state;
  }
  if (!contents.ok()) return contents.status();
  if (absl::Status s = ContinueWal(disk, options, &*contents, &state);
      !s.ok()) {
    return s;
  }
  return state;
}

}  // namespace etcdpp::storage
