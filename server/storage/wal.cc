#include "server/storage/wal.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "server/storage/coding.h"

namespace etcdpp::storage {
namespace {

using wal::RecordType;

absl::Status ValidateOptions(const WalOptions& options) {
  if (options.segment_size_bytes < wal::kMinSegmentSizeBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("wal: segment size ", options.segment_size_bytes,
                     " is below the minimum ", wal::kMinSegmentSizeBytes));
  }
  return absl::OkStatus();
}

std::string MetadataPayload(const WalMetadata& metadata) {
  std::string payload;
  PutFixed64(&payload, metadata.member_id);
  PutFixed64(&payload, metadata.cluster_id);
  return payload;
}

// A seal record: what Roll() appends, reserved at the end of every segment.
const uint64_t kSealSize = wal::kRecordHeaderSize;

}  // namespace

Wal::Wal(Disk* disk, const WalOptions& options, const WalMetadata& metadata)
    : disk_(disk), options_(options), metadata_(metadata) {}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Create(Disk* disk,
                                                 const WalOptions& options,
                                                 const WalMetadata& metadata,
                                                 uint64_t first_index) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> names = disk->List();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (wal::ParseSegmentName(name).has_value()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "wal: cannot create a WAL: the data dir already has ", name));
    }
  }
  CHECK_GE(first_index, 1u) << "raft indexes start at 1";
  std::unique_ptr<Wal> w(new Wal(disk, options, metadata));
  w->next_index_ = first_index;
  w->StartSegment(0);
  return w;
}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(Disk* disk,
                                               const WalOptions& options,
                                               const WalContents& contents) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  if (contents.segments.empty()) {
    return absl::InvalidArgumentError("wal: no segments to open");
  }
  absl::StatusOr<std::vector<std::string>> names = disk->List();
  if (!names.ok()) return names.status();
  std::unique_ptr<Wal> w(new Wal(disk, options, contents.metadata));
  w->segments_.assign(contents.segments.begin(), contents.segments.end());
  w->next_index_ = contents.next_index;
  w->hard_state_ = contents.hard_state;
  w->snapshot_ = contents.last_snapshot;
  w->offset_ = contents.tail_offset;
  w->data_start_ = wal::kHeaderSize;
  // A segment still under its temp name never made it into the WAL.
  for (const std::string& name : *names) {
    if (wal::IsTempSegmentName(name)) w->Submit(RemoveOp{name});
  }
  if (const std::optional<WalTornTail>& torn = contents.torn_tail) {
    CHECK_EQ(torn->segment, w->segments_.back().name)
        << "a torn tail is only ever in the last segment";
    if (options.planted_bugs.skip_torn_tail_truncation) {
      w->offset_ = torn->end;
    } else {
      // Zeros, not a shorter file: the segment keeps its preallocated
      // size, and zeros read as the clean end of the written records.
      w->Submit(WriteOp{torn->segment, torn->offset,
                        std::string(torn->end - torn->offset, '\0')});
      w->Submit(SyncOp{torn->segment});
    }
  }
  if (contents.last_sealed) w->StartSegment(w->segments_.back().sequence + 1);
  return w;
}

uint64_t Wal::Submit(DiskOp op) {
  const uint64_t op_id = disk_->Submit(std::move(op));
  pending_.insert(op_id);
  return op_id;
}

uint64_t Wal::Append(const WalBatch& batch) {
  CHECK(buffer_.empty()) << "every batch is flushed before the next begins";
  // Each field of the WAL's state is updated after its record is added, so
  // that a segment started in the middle of the batch opens with the state
  // as of the records before it.
  if (batch.snapshot.has_value()) {
    AddRecord(RecordType::kSnapshot, batch.snapshot->SerializeAsString());
    snapshot_ = batch.snapshot;
  }
  for (const raftpb::Entry& entry : batch.entries) {
    CHECK_GE(entry.index(), 1u) << "raft indexes start at 1";
    AddRecord(RecordType::kEntry, entry.SerializeAsString());
    next_index_ = entry.index() + 1;
  }
  if (batch.hard_state.has_value()) {
    AddRecord(RecordType::kHardState, batch.hard_state->SerializeAsString());
    hard_state_ = *batch.hard_state;
  }
  Flush();
  const uint64_t batch_id = options_.planted_bugs.skip_fsync
                                ? Submit(BarrierOp{})
                                : Submit(SyncOp{segments_.back().name});
  batches_.push_back(batch_id);
  return batch_id;
}

uint64_t Wal::Append(absl::Span<const raftpb::Entry> entries,
                     const raftpb::HardState& hard_state) {
  WalBatch batch;
  batch.entries.assign(entries.begin(), entries.end());
  batch.hard_state = hard_state;
  return Append(batch);
}

void Wal::AddRecord(RecordType type, const std::string& payload) {
  const std::string record = wal::EncodeRecord(type, payload);
  // A record bigger than a whole segment still goes in one (which then
  // grows past its size): records never span segments.
  const uint64_t capacity = segments_.back().size_bytes;
  if (offset_ > data_start_ && offset_ + record.size() + kSealSize > capacity) {
    Roll();
  }
  buffer_ += record;
  offset_ += record.size();
}

void Wal::Flush() {
  if (buffer_.empty()) return;
  const uint64_t start = offset_ - buffer_.size();
  Submit(WriteOp{segments_.back().name, start, std::move(buffer_)});
  buffer_.clear();
}

void Wal::Roll() {
  buffer_ += wal::EncodeRecord(RecordType::kSeal, "");
  offset_ += kSealSize;
  Flush();
  Submit(SyncOp{segments_.back().name});
  // The next segment must not become visible before this one's seal is
  // durable: a reader takes a missing seal before a later segment for
  // corruption.
  Submit(BarrierOp{});
  StartSegment(segments_.back().sequence + 1);
}

void Wal::StartSegment(uint64_t sequence) {
  const std::string name = wal::SegmentName(sequence, next_index_);
  const std::string temp = wal::TempName(name);
  std::string opening = wal::EncodeHeader({sequence, next_index_});
  opening +=
      wal::EncodeRecord(RecordType::kMetadata, MetadataPayload(metadata_));
  opening += wal::EncodeRecord(RecordType::kHardState,
                               hard_state_.SerializeAsString());
  if (snapshot_.has_value()) {
    opening += wal::EncodeRecord(RecordType::kSnapshot,
                                 snapshot_->SerializeAsString());
  }
  Submit(CreateOp{temp});
  Submit(PreallocateOp{temp, options_.segment_size_bytes});
  Submit(WriteOp{temp, 0, opening});
  Submit(SyncOp{temp});
  Submit(RenameOp{temp, name});
  Submit(SyncDirOp{});
  segments_.push_back(
      WalSegment{name, sequence, next_index_, options_.segment_size_bytes});
  offset_ = opening.size();
  data_start_ = offset_;
}

void Wal::ReleaseTo(uint64_t index) {
  // Segment i holds only entries below segment i+1's first index (a later
  // rewrite below it drops them at replay), so it is covered once that
  // first index is at most index + 1. Oldest first, so that the segments
  // left are always consecutive even if a crash cuts this short.
  bool removed = false;
  while (segments_.size() > 1 && segments_[1].first_index <= index + 1) {
    Submit(RemoveOp{segments_.front().name});
    segments_.pop_front();
    removed = true;
  }
  if (removed) Submit(SyncDirOp{});
}

void Wal::CheckInvariants() const {
  CHECK(!segments_.empty()) << "a Wal always has a segment to write to";
  for (size_t i = 1; i < segments_.size(); ++i) {
    CHECK_EQ(segments_[i].sequence, segments_[i - 1].sequence + 1)
        << "segment sequences are consecutive";
  }
  CHECK(buffer_.empty()) << "records are submitted before Append returns";
  CHECK_GE(offset_, data_start_) << "writes go after the opening records";
  CHECK_GE(next_index_, 1u) << "raft indexes start at 1";
  if (!batches_.empty()) {
    CHECK_GT(batches_.front(), durable_batch_)
        << "a batch waiting for durability is newer than the durable one";
  }
}

absl::Status Wal::OnDiskDone(uint64_t op_id, const absl::Status& status) {
  CHECK(OwnsOp(op_id)) << "OnDiskDone gets only completions of the Wal's ops";
  if (!status.ok()) {
    // The failed op stays pending, so no later batch is ever durable.
    if (failure_.ok()) {
      failure_ =
          absl::Status(status.code(), absl::StrCat("wal: ", status.message()));
    }
    return failure_;
  }
  pending_.erase(op_id);
  while (!batches_.empty() &&
         (pending_.empty() || *pending_.begin() > batches_.front())) {
    CHECK_GT(batches_.front(), durable_batch_) << "batch ids increase";
    durable_batch_ = batches_.front();
    batches_.pop_front();
  }
  return failure_;
}

}  // namespace etcdpp::storage
