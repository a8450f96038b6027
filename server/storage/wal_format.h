// The WAL's on-disk format: segment names, segment headers and records.
// wal_format.md beside this file is the grammar; keep the two in step.
//
// Pure functions over bytes: the writer (wal.h) encodes with them, the
// reader (wal_reader.h) decodes with them.
#ifndef ETCDPP_SERVER_STORAGE_WAL_FORMAT_H_
#define ETCDPP_SERVER_STORAGE_WAL_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace etcdpp::storage::wal {

inline constexpr char kMagic[] = "ETCDPPWL";  // 8 bytes, no terminator
inline constexpr uint32_t kFormatVersion = 1;

// magic[8] version u32 sequence u64 first_index u64 crc u32.
inline constexpr uint64_t kHeaderSize = 8 + 4 + 8 + 8 + 4;
static_assert(kHeaderSize == 32, "segment header is 32 bytes on disk");

// length u32, crc u32, type u8.
inline constexpr uint64_t kRecordHeaderSize = 4 + 4 + 1;
static_assert(kRecordHeaderSize == 9, "record header is 9 bytes on disk");

// member_id u64, cluster_id u64.
inline constexpr uint64_t kMetadataPayloadSize = 16;

inline constexpr uint64_t kDefaultSegmentSizeBytes = 64ull << 20;
// Room for the header, the records every segment begins with and a few
// entries; tests use small segments to exercise rollover.
inline constexpr uint64_t kMinSegmentSizeBytes = 512;

// Record types. Zero is never a valid type, so a zero-filled (preallocated,
// never written) region never decodes as a record.
enum class RecordType : uint8_t {
  kEntry = 1,      // payload: raftpb::Entry
  kHardState = 2,  // payload: raftpb::HardState
  kSnapshot = 3,   // payload: raftpb::SnapshotMetadata (index, term)
  kMetadata = 4,   // payload: member_id u64, cluster_id u64
  kSeal = 5,       // empty payload: this segment is complete
};
inline constexpr uint8_t kMaxRecordType = 5;

struct SegmentHeader {
  uint64_t sequence = 0;
  uint64_t first_index = 0;
};

// "wal-<sequence 16 hex>-<first index 16 hex>.log".
std::string SegmentName(uint64_t sequence, uint64_t first_index);
// The header fields a segment name encodes, or nullopt if name is not a
// segment name (temp files and other files are not).
std::optional<SegmentHeader> ParseSegmentName(absl::string_view name);
// The name a segment has while it is being prepared.
std::string TempName(absl::string_view segment_name);
bool IsTempSegmentName(absl::string_view name);

std::string EncodeHeader(const SegmentHeader& header);
// DataLoss naming `file` if data does not begin with a valid header.
absl::StatusOr<SegmentHeader> DecodeHeader(absl::string_view file,
                                           absl::string_view data);

std::string EncodeRecord(RecordType type, absl::string_view payload);

// The outcome of decoding the record at some offset of a segment.
struct DecodedRecord {
  enum class Kind {
    kRecord,  // a valid record: type, payload, next_offset are set
    kZeros,   // only zero bytes where a record header would be
    kBad,     // anything else; reason says what
  };
  Kind kind = Kind::kBad;
  RecordType type = RecordType::kEntry;
  absl::string_view payload;
  uint64_t next_offset = 0;
  std::string reason;  // for kBad: "bad length", "checksum mismatch", ...
};

// Decodes the record at offset of data (a whole segment).
DecodedRecord DecodeRecord(absl::string_view data, uint64_t offset);

// The first offset >= from at which a valid record begins, if any. Used to
// tell a torn tail (nothing valid after the bad bytes) from corruption in
// the middle of written data (valid records after it).
std::optional<uint64_t> FindValidRecord(absl::string_view data, uint64_t from);

}  // namespace etcdpp::storage::wal

#endif  // ETCDPP_SERVER_STORAGE_WAL_FORMAT_H_
