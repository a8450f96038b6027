#include "server/storage/wal_reader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "server/storage/coding.h"
#include "server/storage/wal_format.h"

namespace etcdpp::storage {
namespace {

using wal::DecodedRecord;
using wal::RecordType;

absl::Status Corrupt(absl::string_view file, uint64_t offset,
                     absl::string_view why) {
  return absl::DataLossError(absl::StrCat("wal: corrupt record in ", file,
                                          " at offset ", offset, ": ", why));
}

// One past the last non-zero byte of data.
uint64_t EndOfNonZero(absl::string_view data) {
  const size_t last = data.find_last_not_of('\0');
  return last == absl::string_view::npos ? 0 : last + 1;
}

// Replays the records of the segments, in order, into a WalContents.
class Replayer {
 public:
  Replayer(uint64_t snapshot_index, WalContents* out)
      : snapshot_index_(snapshot_index), out_(out) {}

  absl::Status ReadSegment(const WalSegment& segment, absl::string_view data,
                           bool is_last);

 private:
  absl::Status Stop(const WalSegment& segment, absl::string_view data,
                    uint64_t offset, const DecodedRecord& record, bool is_last,
                    bool seen_metadata);
  absl::Status Apply(const std::string& file, uint64_t offset,
                     const DecodedRecord& record);
  absl::Status ApplyMetadata(const std::string& file, uint64_t offset,
                             absl::string_view payload);
  absl::Status ApplyEntry(const std::string& file, uint64_t offset,
                          raftpb::Entry entry);

  const uint64_t snapshot_index_;
  WalContents* const out_;
  bool have_metadata_ = false;
};

absl::Status Replayer::ReadSegment(const WalSegment& segment,
                                   absl::string_view data, bool is_last) {
  uint64_t offset = wal::kHeaderSize;
  bool seen_metadata = false;
  while (true) {
    const DecodedRecord record = wal::DecodeRecord(data, offset);
    if (record.kind != DecodedRecord::Kind::kRecord) {
      return Stop(segment, data, offset, record, is_last, seen_metadata);
    }
    // The metadata comes first so that any one segment names its writer,
    // even after the ones before it were released.
    if (!seen_metadata && record.type != RecordType::kMetadata) {
      return Corrupt(segment.name, offset,
                     "segment does not begin with a metadata record");
    }
    seen_metadata = true;
    if (absl::Status s = Apply(segment.name, offset, record); !s.ok()) {
      return s;
    }
    offset = record.next_offset;
    if (record.type == RecordType::kSeal) break;
  }
  // Sealed: the writer finished this segment and went on to the next. If
  // this is the last one, it crashed before the next one was in place.
  if (is_last) {
    out_->tail_offset = offset;
    out_->last_sealed = true;
  }
  return absl::OkStatus();
}

absl::Status Replayer::Stop(const WalSegment& segment, absl::string_view data,
                            uint64_t offset, const DecodedRecord& record,
                            bool is_last, bool seen_metadata) {
  if (const std::optional<uint64_t> valid =
          wal::FindValidRecord(data, offset + 1)) {
    return Corrupt(
        segment.name, offset,
        absl::StrCat(record.reason, " (a valid record follows at offset ",
                     *valid, ")"));
  }
  // A segment is renamed into place only after its first records are
  // synced, so even the last one cannot lack them.
  if (!seen_metadata) {
    return Corrupt(
        segment.name, offset,
        absl::StrCat(record.reason,
                     ": segment does not begin with a metadata record"));
  }
  // Every earlier segment was sealed and synced before the next began.
  if (!is_last) {
    return Corrupt(
        segment.name, offset,
        absl::StrCat(record.reason, ": segment ends without a seal record"));
  }
  out_->tail_offset = offset;
  if (record.kind == DecodedRecord::Kind::kBad) {
    out_->torn_tail = WalTornTail{segment.name, offset, EndOfNonZero(data)};
  }
  return absl::OkStatus();
}

absl::Status Replayer::Apply(const std::string& file, uint64_t offset,
                             const DecodedRecord& record) {
  const absl::string_view payload = record.payload;
  const int size = static_cast<int>(payload.size());
  switch (record.type) {
    case RecordType::kMetadata:
      return ApplyMetadata(file, offset, payload);
    case RecordType::kEntry: {
      raftpb::Entry entry;
      if (!entry.ParseFromArray(payload.data(), size)) {
        return Corrupt(file, offset, "unparsable entry");
      }
      return ApplyEntry(file, offset, std::move(entry));
    }
    case RecordType::kHardState:
      if (!out_->hard_state.ParseFromArray(payload.data(), size)) {
        return Corrupt(file, offset, "unparsable hard state");
      }
      return absl::OkStatus();
    case RecordType::kSnapshot: {
      raftpb::SnapshotMetadata snapshot;
      if (!snapshot.ParseFromArray(payload.data(), size)) {
        return Corrupt(file, offset, "unparsable snapshot marker");
      }
      out_->last_snapshot = std::move(snapshot);
      return absl::OkStatus();
    }
    case RecordType::kSeal:
      if (!payload.empty()) return Corrupt(file, offset, "seal with a payload");
      return absl::OkStatus();
  }
  return Corrupt(file, offset, "unknown record type");
}

absl::Status Replayer::ApplyMetadata(const std::string& file, uint64_t offset,
                                     absl::string_view payload) {
  if (payload.size() != wal::kMetadataPayloadSize) {
    return Corrupt(file, offset, "bad metadata record size");
  }
  const WalMetadata metadata{DecodeFixed64(payload.data()),
                             DecodeFixed64(payload.data() + 8)};
  if (have_metadata_ && !(metadata == out_->metadata)) {
    return Corrupt(file, offset,
                   absl::StrCat("metadata (member ", metadata.member_id,
                                ", cluster ", metadata.cluster_id,
                                ") differs from earlier segments' (member ",
                                out_->metadata.member_id, ", cluster ",
                                out_->metadata.cluster_id, ")"));
  }
  have_metadata_ = true;
  out_->metadata = metadata;
  return absl::OkStatus();
}

// Raft's log rules, replayed: an entry at an index already present rewrites
// it and drops everything after (the leader forced a conflict truncation);
// an entry past the end extends the log; anything else is a hole.
absl::Status Replayer::ApplyEntry(const std::string& file, uint64_t offset,
                                  raftpb::Entry entry) {
  std::vector<raftpb::Entry>& entries = out_->entries;
  const uint64_t index = entry.index();
  if (index <= snapshot_index_) {
    // Covered by the snapshot; a rewrite down here still drops every later
    // entry seen so far, which it overwrote.
    entries.clear();
    return absl::OkStatus();
  }
  const uint64_t last =
      entries.empty() ? snapshot_index_ : entries.back().index();
  if (index > last + 1) {
    return absl::DataLossError(
        absl::StrCat("wal: gap in the log in ", file, " at offset ", offset,
                     ": entry ", index, " follows ",
                     entries.empty() ? "the snapshot at " : "entry ", last));
  }
  if (index <= last) {
    CHECK(!entries.empty()) << "a rewrite has something to rewrite";
    entries.resize(index - entries.front().index());
  }
  entries.push_back(std::move(entry));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<WalSegment>> ListSegments(Disk& disk) {
  absl::StatusOr<std::vector<std::string>> names = disk.List();
  if (!names.ok()) return names.status();
  std::vector<WalSegment> segments;
  for (const std::string& name : *names) {
    const std::optional<wal::SegmentHeader> header =
        wal::ParseSegmentName(name);
    if (!header.has_value()) continue;
    // Names sort by sequence: fixed-width hex.
    if (!segments.empty() && header->sequence != segments.back().sequence + 1) {
      return absl::DataLossError(absl::StrCat("wal: missing segment between ",
                                              segments.back().name, " and ",
                                              name));
    }
    segments.push_back(WalSegment{name, header->sequence, header->first_index});
  }
  if (segments.empty()) {
    return absl::NotFoundError("wal: no segments in the data dir");
  }
  return segments;
}

}  // namespace

absl::StatusOr<WalContents> ReadAll(Disk& disk, uint64_t snapshot_index) {
  absl::StatusOr<std::vector<WalSegment>> segments = ListSegments(disk);
  if (!segments.ok()) return segments.status();
  WalContents out;
  Replayer replayer(snapshot_index, &out);
  for (size_t i = 0; i < segments->size(); ++i) {
    WalSegment& segment = (*segments)[i];
    absl::StatusOr<std::string> data = disk.ReadFile(segment.name);
    if (!data.ok()) return data.status();
    absl::StatusOr<wal::SegmentHeader> header =
        wal::DecodeHeader(segment.name, *data);
    if (!header.ok()) return header.status();
    if (header->sequence != segment.sequence ||
        header->first_index != segment.first_index) {
      return absl::DataLossError(absl::StrCat(
          "wal: corrupt header in ", segment.name, ": it says sequence ",
          header->sequence, ", first index ", header->first_index));
    }
    segment.size_bytes = data->size();
    const bool is_last = i + 1 == segments->size();
    if (absl::Status s = replayer.ReadSegment(segment, *data, is_last);
        !s.ok()) {
      return s;
    }
  }
  out.segments = std::move(*segments);
  out.next_index =
      (out.entries.empty() ? snapshot_index : out.entries.back().index()) + 1;
  return out;
}

}  // namespace etcdpp::storage
