// Snapshot and restore of the whole replicated state: the kept kv history
// with its current and compact revisions, the raft index it reflects, the
// applier's window of applied request ids and its remembered results, the leases (attached keys are
// rebuilt from the kv changes), the auth state (users, roles, enabled flag,
// auth revision; never the member-local tokens) and the alarms.
//
// The stream's format is kv/snapshot_format.md. It is produced and consumed
// in chunks, so neither side ever holds a second copy of the store: the
// writer encodes a bounded window of records at a time straight from the
// store, and the reader rebuilds the store record by record as chunks
// arrive. A CRC-32C over the stream and a trailer with the record and byte
// counts make a corrupt or truncated stream fail with DataLoss, naming what
// is wrong, instead of restoring a state no replica ever had.
//
// Pure: no I/O. The node writes the chunks to its snapshot file or sends
// them to a peer, and feeds the reader what it reads back. Not thread-safe.
#ifndef ETCDPP_KV_SNAPSHOT_H_
#define ETCDPP_KV_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/applier.h"
#include "kv/revision.h"

namespace etcdpp::kv {

inline constexpr uint32_t kSnapshotFormatVersion = 4;
// The oldest version this build still reads (2: no lease, alarm or auth
// entries).
inline constexpr uint32_t kMinSnapshotFormatVersion = 2;
inline constexpr size_t kDefaultSnapshotChunkBytes = 1 << 20;
// No record is longer: a bigger length field is corruption, and refusing it
// keeps a flipped bit from asking for gigabytes.
inline constexpr uint32_t kMaxSnapshotRecordBytes = 64 << 20;

struct SnapshotWriterOptions {
  // Every chunk but the last is exactly this long; the last is at most this.
  size_t max_chunk_bytes = kDefaultSnapshotChunkBytes;
};

// Streams a snapshot of `applier` as taken at construction. The applier must
// outlive the writer and must not change until Next() has returned false (a
// CHECK holds it to that): the node takes snapshots between applies.
class SnapshotWriter {
 public:
  SnapshotWriter(const Applier& applier, uint64_t applied_index,
                 SnapshotWriterOptions options = {});
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Replaces *chunk with the next piece of the stream; false, with *chunk
  // empty, once the whole stream has been returned.
  bool Next(std::string* chunk);

  // Bytes returned so far.
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  enum class Stage {
    kHeader,
    kKv,
    kChanges,
    kLeases,
    kOtherSections,
    kAppliedIds,
    kResults,
    kTrailer,
    kDone
  };

  // Appends the next record (or, for kOtherSections, the empty sections) to
  // pending_; advances stage_.
  void EncodeNext();
  void AppendRecord(uint8_t type, std::string_view payload);
  void EncodeNextLease();
  // Appends the auth section: its header and every auth entry.
  void EncodeAuthSection();

  const Applier& applier_;
  const uint64_t applied_index_;
  const SnapshotWriterOptions options_;
  // The store's revisions at construction; unchanged while writing.
  const int64_t current_revision_;
  const int64_t compact_revision_;
  // The applier's window of applied ids at construction; unchanged too.
  const size_t applied_id_count_;
  const uint64_t newest_applied_id_;
  const size_t result_count_;
  const size_t lease_count_;
  // The auth state at construction; unchanged too.
  const uint64_t auth_revision_;
  const bool auth_enabled_;

  Stage stage_ = Stage::kHeader;
  // The last change encoded; the next is the first after it.
  Revision cursor_;
  // The last lease encoded (none yet: nullopt).
  std::optional<int64_t> lease_cursor_;
  bool lease_section_written_ = false;
  // The next applied id to encode, as an index into applier_.applied_ids().
  size_t applied_id_cursor_ = 0;
  // The next remembered result to encode.
  size_t result_cursor_ = 0;
  uint64_t records_ = 0;
  uint64_t encoded_bytes_ = 0;  // bytes appended to pending_ ever
  uint32_t crc_ = 0;            // over every byte before the trailer
  // Encoded but not yet returned; at most one record past max_chunk_bytes.
  std::string pending_;
  size_t pending_offset_ = 0;
  uint64_t bytes_written_ = 0;
};

// What a snapshot restores to.
struct RestoredState {
  std::unique_ptr<Applier> applier;
  // The raft index the snapshot's state reflects (its last applied entry).
  uint64_t applied_index = 0;
};

// Rebuilds the state from a stream fed in any chunking. The first failure
// poisons the reader: every later call returns it again.
class SnapshotReader {
 public:
  explicit SnapshotReader(ApplierOptions options = {});
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  // Consumes the next bytes of the stream, restoring each complete record.
  absl::Status Add(std::string_view chunk);
  // After the last chunk: DataLoss unless the stream ended exactly with a
  // trailer that matches it. Call once.
  absl::StatusOr<RestoredState> Finish();

 private:
  enum class Expect {
    kHeader,
    kKvSection,
    kChange,
    kSection,
    kLease,
    kAlarm,
    kAppliedId,
    kResult,
    kAuthEntry,
    kDone
  };

  // Parses and applies every complete record in buffer_.
  absl::Status Drain();
  absl::Status ApplyRecord(uint8_t type, std::string_view payload);
  absl::Status ApplyHeader(std::string_view payload);
  absl::Status ApplyKvSection(std::string_view payload);
  absl::Status ApplyChange(std::string_view payload);
  absl::Status ApplySection(std::string_view payload);
  absl::Status ApplyAppliedId(std::string_view payload);
  absl::Status ApplyResult(std::string_view payload);
  absl::Status ApplyLease(std::string_view payload);
  absl::Status ApplyAlarm(std::string_view payload);
  absl::Status ApplyAuthEntry(uint8_t type, std::string_view payload);
  absl::Status ApplyTrailer(std::string_view payload);
  absl::Status Fail(absl::Status status);

  std::unique_ptr<Applier> applier_;
  absl::Status status_;
  Expect expect_ = Expect::kHeader;
  uint64_t applied_index_ = 0;
  uint32_t version_ = 0;  // of the stream, from its header
  int64_t current_revision_ = 0;
  int64_t compact_revision_ = 0;
  uint64_t changes_left_ = 0;
  uint64_t applied_ids_left_ = 0;
  uint64_t results_left_ = 0;
  uint64_t leases_left_ = 0;
  uint64_t alarms_left_ = 0;
  uint64_t auth_entries_left_ = 0;
  // The auth state record came (it is first); then users, then roles.
  bool auth_state_read_ = false;
  bool auth_roles_begun_ = false;
  // The section the next kSection record must be.
  uint8_t next_section_ = 0;
  uint64_t records_ = 0;
  uint64_t consumed_bytes_ = 0;  // bytes of whole records consumed
  uint32_t crc_ = 0;             // over those bytes, trailer excluded
  std::string buffer_;           // bytes of records not yet complete
  bool finished_ = false;
};

// Convenience over SnapshotWriter: the whole stream as its chunks.
std::vector<std::string> WriteSnapshot(const Applier& applier,
                                       uint64_t applied_index,
                                       SnapshotWriterOptions options = {});
// Convenience over SnapshotReader.
absl::StatusOr<RestoredState> RestoreSnapshot(
    const std::vector<std::string>& chunks, ApplierOptions options = {});

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_SNAPSHOT_H_
