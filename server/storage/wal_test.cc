#include "server/storage/wal.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "raft/raft.pb.h"
#include "server/storage/disk.h"
#include "server/storage/mem_disk.h"
#include "server/storage/test_disks.h"
#include "server/storage/wal_format.h"
#include "server/storage/wal_reader.h"

namespace etcdpp::storage {
namespace {

using testing::DiskKind;

// WalOptions with the given segment size, the rest default.
WalOptions Sized(uint64_t segment_size_bytes) {
  WalOptions options;
  options.segment_size_bytes = segment_size_bytes;
  return options;
}

raftpb::Entry E(uint64_t index, uint64_t term, std::string data = "") {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(data.empty() ? absl::StrCat("value-", index, "-", term)
                              : std::move(data));
  return entry;
}

raftpb::HardState HS(uint64_t term, uint64_t vote, uint64_t commit) {
  raftpb::HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  return hs;
}

std::vector<uint64_t> Indexes(const std::vector<raftpb::Entry>& entries) {
  std::vector<uint64_t> out;
  for (const raftpb::Entry& e : entries) out.push_back(e.index());
  return out;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

// The offsets of the valid records of a segment, in order.
std::vector<uint64_t> RecordOffsets(const std::string& data) {
  std::vector<uint64_t> offsets;
  uint64_t offset = wal::kHeaderSize;
  while (true) {
    const wal::DecodedRecord r = wal::DecodeRecord(data, offset);
    if (r.kind != wal::DecodedRecord::Kind::kRecord) break;
    offsets.push_back(offset);
    offset = r.next_offset;
  }
  return offsets;
}

constexpr WalMetadata kMetadata{7, 9};

class WalTest : public ::testing::TestWithParam<DiskKind> {
 protected:
  void SetUp() override { disk_ = testing::NewDisk(GetParam()); }

  std::unique_ptr<Wal> CreateWal(uint64_t segment_size = 64 << 10,
                                 uint64_t first_index = 1) {
    absl::StatusOr<std::unique_ptr<Wal>> wal =
        Wal::Create(disk_.get(), Sized(segment_size), kMetadata, first_index);
    EXPECT_TRUE(wal.ok()) << wal.status();
    return std::move(*wal);
  }

  // Completes everything and hands it to the Wal, which must accept it.
  void Settle(Wal& wal) {
    for (const DiskCompletion& c : testing::Settle(*disk_)) {
      ASSERT_TRUE(wal.OnDiskDone(c.op_id, c.status).ok()) << c.status;
    }
    wal.CheckInvariants();
  }

  WalContents MustRead(uint64_t snapshot_index = 0) {
    absl::StatusOr<WalContents> contents = ReadAll(*disk_, snapshot_index);
    EXPECT_TRUE(contents.ok()) << contents.status();
    return contents.ok() ? std::move(*contents) : WalContents{};
  }

  // One entry per batch, each with a hard state committing it.
  std::unique_ptr<Wal> WalWithEntries(uint64_t count,
                                      uint64_t segment_size = 64 << 10) {
    std::unique_ptr<Wal> wal = CreateWal(segment_size);
    for (uint64_t i = 1; i <= count; ++i) {
      wal->Append(std::vector{E(i, 1, std::string(40, 'x'))}, HS(1, 1, i));
    }
    Settle(*wal);
    return wal;
  }

  std::string LastSegment() { return MustRead().segments.back().name; }

  std::unique_ptr<Disk> disk_;
};

TEST_P(WalTest, RoundTrip) {
  std::unique_ptr<Wal> wal = CreateWal();
  const uint64_t b1 = wal->Append(std::vector{E(1, 1), E(2, 1)}, HS(1, 1, 2));
  const uint64_t b2 = wal->Append(std::vector{E(3, 2)}, HS(2, 1, 3));
  EXPECT_LT(b1, b2);
  Settle(*wal);
  EXPECT_EQ(wal->durable_batch(), b2);
  EXPECT_TRUE(wal->IsDurable(b1));
  const WalContents contents = MustRead();
  EXPECT_EQ(Indexes(contents.entries), Range(1, 3));
  EXPECT_EQ(contents.entries[2].term(), 2u);
  EXPECT_EQ(contents.entries[2].data(), "value-3-2");
  EXPECT_EQ(contents.hard_state.term(), 2u);
  EXPECT_EQ(contents.hard_state.commit(), 3u);
  EXPECT_EQ(contents.metadata, kMetadata);
  EXPECT_EQ(contents.segments.size(), 1u);
  EXPECT_FALSE(contents.torn_tail.has_value());
  EXPECT_FALSE(contents.last_sealed);
  EXPECT_EQ(contents.next_index, 4u);
  EXPECT_EQ(*disk_->FileSize(contents.segments[0].name), 64u << 10)
      << "segments are preallocated";
}

TEST_P(WalTest, SnapshotMarkerIsReplayed) {
  std::unique_ptr<Wal> wal = CreateWal();
  WalBatch batch;
  batch.snapshot.emplace();
  batch.snapshot->set_index(5);
  batch.snapshot->set_term(2);
  wal->Append(batch);
  Settle(*wal);
  const WalContents contents = MustRead();
  ASSERT_TRUE(contents.last_snapshot.has_value());
  EXPECT_EQ(contents.last_snapshot->index(), 5u);
  EXPECT_EQ(contents.last_snapshot->term(), 2u);
}

TEST_P(WalTest, ReplayStartsAfterTheSnapshot) {
  std::unique_ptr<Wal> wal = WalWithEntries(5);
  EXPECT_EQ(Indexes(MustRead(3).entries), Range(4, 5));
  const WalContents past = MustRead(5);
  EXPECT_TRUE(past.entries.empty());
  EXPECT_EQ(past.next_index, 6u);
  EXPECT_EQ(past.hard_state.commit(), 5u);
}

TEST_P(WalTest, LaterEntriesOverwriteEarlierOnReplay) {
  std::unique_ptr<Wal> wal = CreateWal();
  wal->Append(std::vector{E(1, 1), E(2, 1), E(3, 1), E(4, 1), E(5, 1)},
              HS(1, 1, 2));
  wal->Append(std::vector{E(3, 2), E(4, 2)}, HS(2, 2, 2));
  Settle(*wal);
  const WalContents contents = MustRead();
  EXPECT_EQ(Indexes(contents.entries), Range(1, 4));
  EXPECT_EQ(contents.entries[2].term(), 2u);
  EXPECT_EQ(contents.entries[3].term(), 2u);
  EXPECT_EQ(wal->last_index(), 4u);
  // A rewrite at or below the snapshot drops what followed it too.
  wal->Append(std::vector{E(2, 3)}, HS(3, 3, 2));
  Settle(*wal);
  EXPECT_EQ(Indexes(MustRead(2).entries), std::vector<uint64_t>{});
}

TEST_P(WalTest, GapInTheLogIsDataLoss) {
  std::unique_ptr<Wal> wal = CreateWal(64 << 10, /*first_index=*/3);
  wal->Append(std::vector{E(3, 1), E(4, 1)}, HS(1, 1, 3));
  Settle(*wal);
  EXPECT_EQ(Indexes(MustRead(2).entries), Range(3, 4));
  const absl::Status gap = ReadAll(*disk_, 0).status();
  EXPECT_EQ(gap.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(
      absl::StrContains(gap.message(), "entry 3 follows the snapshot at 0"))
      << gap;
  wal->Append(std::vector{E(6, 1)}, HS(1, 1, 3));
  Settle(*wal);
  EXPECT_TRUE(absl::StrContains(ReadAll(*disk_, 2).status().message(),
                                "entry 6 follows entry 4"));
}

TEST_P(WalTest, RollsOverToNewSegments) {
  std::unique_ptr<Wal> wal = WalWithEntries(50, /*segment_size=*/1024);
  const WalContents contents = MustRead();
  ASSERT_GE(contents.segments.size(), 4u);
  for (size_t i = 0; i < contents.segments.size(); ++i) {
    const WalSegment& s = contents.segments[i];
    EXPECT_EQ(s.sequence, i);
    EXPECT_EQ(s.name, wal::SegmentName(s.sequence, s.first_index));
    EXPECT_EQ(s.size_bytes, 1024u);
  }
  EXPECT_EQ(contents.segments[0].first_index, 1u);
  EXPECT_EQ(Indexes(contents.entries), Range(1, 50));
  EXPECT_EQ(contents.hard_state.commit(), 50u);
  const std::vector<std::string> names = *disk_->List();
  for (const std::string& name : names) {
    EXPECT_FALSE(wal::IsTempSegmentName(name)) << name;
  }
}

TEST_P(WalTest, ReleaseRemovesOnlyCoveredSegments) {
  std::unique_ptr<Wal> wal = WalWithEntries(50, /*segment_size=*/1024);
  const size_t before = wal->segments().size();
  wal->ReleaseTo(30);
  Settle(*wal);
  const std::vector<WalSegment> left = wal->segments();
  ASSERT_LT(left.size(), before);
  EXPECT_LE(left[0].first_index, 31u) << "the segment holding 31 stays";
  ASSERT_GE(left.size(), 2u);
  EXPECT_GT(left[1].first_index, 31u) << "every covered segment went";
  const WalContents contents = MustRead(30);
  EXPECT_EQ(contents.segments.size(), left.size());
  EXPECT_EQ(Indexes(contents.entries), Range(31, 50));
  EXPECT_EQ(contents.metadata, kMetadata) << "every segment opens with it";
  EXPECT_EQ(contents.hard_state.commit(), 50u);
  // Without the snapshot the log now has a hole at its start.
  EXPECT_EQ(ReadAll(*disk_, 0).status().code(), absl::StatusCode::kDataLoss);
  wal->ReleaseTo(1000);
  Settle(*wal);
  EXPECT_EQ(wal->segments().size(), 1u) << "the last segment always stays";
}

TEST_P(WalTest, HardStateSurvivesRelease) {
  std::unique_ptr<Wal> wal = CreateWal(1024);
  wal->Append(std::vector<raftpb::Entry>{}, HS(4, 2, 0));
  for (uint64_t i = 1; i <= 30; ++i) {
    WalBatch batch;
    batch.entries = {E(i, 4, std::string(60, 'y'))};
    wal->Append(batch);
  }
  Settle(*wal);
  wal->ReleaseTo(25);
  Settle(*wal);
  const WalContents contents = MustRead(25);
  EXPECT_EQ(contents.hard_state.term(), 4u);
  EXPECT_EQ(contents.hard_state.vote(), 2u);
}

TEST_P(WalTest, RecordLargerThanASegmentGetsItsOwn) {
  std::unique_ptr<Wal> wal = CreateWal(1024);
  wal->Append(std::vector{E(1, 1)}, HS(1, 1, 1));
  wal->Append(std::vector{E(2, 1, std::string(3000, 'z'))}, HS(1, 1, 2));
  wal->Append(std::vector{E(3, 1)}, HS(1, 1, 3));
  Settle(*wal);
  const WalContents contents = MustRead();
  EXPECT_EQ(Indexes(contents.entries), Range(1, 3));
  EXPECT_EQ(contents.entries[1].data().size(), 3000u);
  EXPECT_GE(contents.segments.size(), 2u);
}

TEST_P(WalTest, CreateRefusesADirWithAWal) {
  std::unique_ptr<Wal> wal = WalWithEntries(1);
  EXPECT_EQ(Wal::Create(disk_.get(), WalOptions{}, kMetadata).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Wal::Create(disk_.get(), Sized(100), kMetadata).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(WalTest, NoSegmentsIsNotFound) {
  EXPECT_EQ(ReadAll(*disk_, 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(WalTest, OpenContinuesAfterTheLastRecord) {
  WalWithEntries(3);
  absl::StatusOr<std::unique_ptr<Wal>> wal =
      Wal::Open(disk_.get(), WalOptions{}, MustRead());
  ASSERT_TRUE(wal.ok()) << wal.status();
  (*wal)->Append(std::vector{E(4, 1)}, HS(1, 1, 4));
  Settle(**wal);
  EXPECT_EQ(Indexes(MustRead().entries), Range(1, 4));
}

// ---- Damage at the tail of the last segment: torn writes, repaired ----

class WalTornTailTest : public WalTest {
 protected:
  // Three batches; the last is a lone entry, the last record of the WAL.
  void SetUp() override {
    WalTest::SetUp();
    std::unique_ptr<Wal> wal = CreateWal();
    wal->Append(std::vector{E(1, 1), E(2, 1)}, HS(1, 1, 1));
    wal->Append(std::vector{E(3, 1)}, HS(1, 1, 2));
    WalBatch last;
    last.entries = {E(4, 1, std::string(100, 'q'))};
    wal->Append(last);
    Settle(*wal);
    segment_ = LastSegment();
    last_record_ = RecordOffsets(*disk_->ReadFile(segment_)).back();
  }

  // Reads, expects the tail torn at last_record_, repairs it by opening
  // and checks the WAL takes appends again.
  void ExpectRepaired(bool expect_torn_report = true) {
    const WalContents contents = MustRead();
    EXPECT_EQ(Indexes(contents.entries), Range(1, 3));
    EXPECT_EQ(contents.tail_offset, last_record_);
    ASSERT_EQ(contents.torn_tail.has_value(), expect_torn_report);
    if (expect_torn_report) {
      EXPECT_EQ(contents.torn_tail->segment, segment_);
      EXPECT_EQ(contents.torn_tail->offset, last_record_);
    }
    absl::StatusOr<std::unique_ptr<Wal>> wal =
        Wal::Open(disk_.get(), WalOptions{}, contents);
    ASSERT_TRUE(wal.ok()) << wal.status();
    Settle(**wal);
    const WalContents repaired = MustRead();
    EXPECT_FALSE(repaired.torn_tail.has_value());
    EXPECT_EQ(Indexes(repaired.entries), Range(1, 3));
    (*wal)->Append(std::vector{E(4, 2)}, HS(2, 1, 3));
    Settle(**wal);
    const WalContents after = MustRead();
    EXPECT_EQ(Indexes(after.entries), Range(1, 4));
    EXPECT_EQ(after.entries.back().term(), 2u);
  }

  std::string segment_;
  uint64_t last_record_ = 0;
};

TEST_P(WalTornTailTest, BadLength) {
  testing::Poke(*disk_, segment_, last_record_,
                std::string("\xff\xff\xff\x0f", 4));
  ExpectRepaired();
}

TEST_P(WalTornTailTest, ChecksumMismatch) {
  testing::FlipByte(*disk_, segment_, last_record_ + 50);
  ExpectRepaired();
}

TEST_P(WalTornTailTest, LastRecordCutShort) {
  // Only the first 30 bytes of the record reached the disk.
  testing::Poke(*disk_, segment_, last_record_ + 30, std::string(100, '\0'));
  ExpectRepaired();
}

TEST_P(WalTornTailTest, ZeroedTailIsACleanEnd) {
  testing::Poke(*disk_, segment_, last_record_, std::string(200, '\0'));
  ExpectRepaired(/*expect_torn_report=*/false);
}

TEST_P(WalTornTailTest, GarbageAfterTheLastRecord) {
  testing::Poke(*disk_, segment_, last_record_, "not a record at all");
  ExpectRepaired();
}

// ---- Damage anywhere else: refused, naming file and offset ----

class WalCorruptionTest : public WalTest {};

TEST_P(WalCorruptionTest, FlippedByteInTheMiddleOfANonLastSegment) {
  WalWithEntries(50, 1024);
  const std::string first = MustRead().segments[0].name;
  const std::vector<uint64_t> offsets = RecordOffsets(*disk_->ReadFile(first));
  ASSERT_GE(offsets.size(), 6u);
  const uint64_t middle = offsets[offsets.size() / 2];
  testing::FlipByte(*disk_, first, middle + 12);
  const absl::Status status = ReadAll(*disk_, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(
      status.message(),
      absl::StrCat("wal: corrupt record in ", first, " at offset ", middle,
                   ": checksum mismatch")))
      << status;
}

TEST_P(WalCorruptionTest, FlippedByteInAMiddleRecordOfTheLastSegment) {
  WalWithEntries(5);
  const std::string last = LastSegment();
  const std::vector<uint64_t> offsets = RecordOffsets(*disk_->ReadFile(last));
  const uint64_t middle = offsets[offsets.size() / 2];
  testing::FlipByte(*disk_, last, middle + 9);
  const absl::Status status = ReadAll(*disk_, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(
      status.message(),
      absl::StrCat("wal: corrupt record in ", last, " at offset ", middle,
                   ": checksum mismatch (a valid record "
                   "follows at offset ",
                   offsets[offsets.size() / 2 + 1], ")")))
      << status;
}

TEST_P(WalCorruptionTest, BadLengthInTheMiddle) {
  WalWithEntries(5);
  const std::string last = LastSegment();
  const std::vector<uint64_t> offsets = RecordOffsets(*disk_->ReadFile(last));
  const uint64_t middle = offsets[2];
  testing::Poke(*disk_, last, middle, std::string("\x00\x00\x01\x00", 4));
  const absl::Status status = ReadAll(*disk_, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(
      status.message(),
      absl::StrCat(last, " at offset ", middle, ": bad length")))
      << status;
}

TEST_P(WalCorruptionTest, ZeroedSectorInTheMiddle) {
  WalWithEntries(5);
  const std::string last = LastSegment();
  const std::vector<uint64_t> offsets = RecordOffsets(*disk_->ReadFile(last));
  testing::Poke(*disk_, last, offsets[2],
                std::string(offsets[3] - offsets[2], '\0'));
  const absl::Status status = ReadAll(*disk_, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(
      status.message(),
      absl::StrCat(last, " at offset ", offsets[2], ": zeroed bytes")))
      << status;
}

TEST_P(WalCorruptionTest, NonLastSegmentWithoutItsSeal) {
  WalWithEntries(50, 1024);
  const std::string first = MustRead().segments[0].name;
  const std::vector<uint64_t> offsets = RecordOffsets(*disk_->ReadFile(first));
  testing::Poke(*disk_, first, offsets.back(),
                std::string(wal::kRecordHeaderSize, '\0'));
  const absl::Status status = ReadAll(*disk_, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(),
            absl::StrCat("wal: corrupt record in ", first, " at offset ",
                         offsets.back(),
                         ": zeroed bytes: segment ends without a seal record"));
}

TEST_P(WalCorruptionTest, TruncatedHeader) {
  WalWithEntries(2);
  const std::string last = LastSegment();
  testing::Cut(*disk_, last, 20);
  const absl::Status status = ReadAll(*disk_, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), absl::StrCat("wal: corrupt header in ", last,
                                           ": truncated header"));
}

TEST_P(WalCorruptionTest, HeaderChecksumMismatch) {
  WalWithEntries(2);
  const std::string last = LastSegment();
  testing::FlipByte(*disk_, last, 14);
  EXPECT_EQ(
      ReadAll(*disk_, 0).status().message(),
      absl::StrCat("wal: corrupt header in ", last, ": checksum mismatch"));
}

TEST_P(WalCorruptionTest, MissingSegment) {
  WalWithEntries(50, 1024);
  const std::vector<WalSegment> segments = MustRead().segments;
  ASSERT_GE(segments.size(), 3u);
  disk_->Submit(RemoveOp{segments[1].name});
  testing::Settle(*disk_);
  const absl::Status status = ReadAll(*disk_, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(),
            absl::StrCat("wal: missing segment between ", segments[0].name,
                         " and ", segments[2].name));
}

TEST_P(WalCorruptionTest, SegmentRenamedToAnotherSequence) {
  WalWithEntries(2);
  const std::string last = LastSegment();
  disk_->Submit(RenameOp{last, wal::SegmentName(0, 2)});
  testing::Settle(*disk_);
  EXPECT_EQ(ReadAll(*disk_, 0).status().code(), absl::StatusCode::kDataLoss);
}

// ---- A crash in the middle of starting a segment ----

TEST_P(WalTest, SealedLastSegmentAndLeftoverTempAreHandledAtOpen) {
  WalWithEntries(50, 1024);
  std::vector<WalSegment> segments = MustRead().segments;
  // As if the crash came after sealing the second-to-last segment and
  // creating the last one's temp file, but before the rename.
  const std::string last = segments.back().name;
  disk_->Submit(RenameOp{last, wal::TempName(last)});
  testing::Settle(*disk_);
  const WalContents contents = MustRead();
  EXPECT_TRUE(contents.last_sealed);
  const uint64_t recovered = contents.entries.back().index();
  absl::StatusOr<std::unique_ptr<Wal>> wal =
      Wal::Open(disk_.get(), Sized(1024), contents);
  ASSERT_TRUE(wal.ok()) << wal.status();
  (*wal)->Append(std::vector{E(recovered + 1, 2)}, HS(2, 1, recovered));
  Settle(**wal);
  const WalContents after = MustRead();
  EXPECT_FALSE(after.last_sealed);
  EXPECT_EQ(Indexes(after.entries), Range(1, recovered + 1));
  EXPECT_EQ(after.segments.back().sequence, segments.back().sequence);
  const std::vector<std::string> names = *disk_->List();
  for (const std::string& name : names) {
    EXPECT_FALSE(wal::IsTempSegmentName(name)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Disks, WalTest,
                         ::testing::Values(DiskKind::kMem, DiskKind::kPosix),
                         [](const auto& info) {
                           return testing::DiskKindName(info.param);
                         });
INSTANTIATE_TEST_SUITE_P(Disks, WalTornTailTest,
                         ::testing::Values(DiskKind::kMem, DiskKind::kPosix),
                         [](const auto& info) {
                           return testing::DiskKindName(info.param);
                         });
INSTANTIATE_TEST_SUITE_P(Disks, WalCorruptionTest,
                         ::testing::Values(DiskKind::kMem, DiskKind::kPosix),
                         [](const auto& info) {
                           return testing::DiskKindName(info.param);
                         });

// ---- MemDisk only: durability follows completions ----

class WalOnMemDiskTest : public ::testing::Test {
 protected:
  void Deliver() {
    for (const DiskCompletion& c : disk_.TakeCompletions()) {
      last_status_ = wal_->OnDiskDone(c.op_id, c.status);
    }
  }
  void SetUp() override { wal_ = *Wal::Create(&disk_, Sized(1024), kMetadata); }
  MemDisk disk_;
  std::unique_ptr<Wal> wal_;
  absl::Status last_status_;
};

TEST_F(WalOnMemDiskTest, BatchIsDurableOnlyWhenAllItsOpsComplete) {
  const uint64_t b1 = wal_->Append(std::vector{E(1, 1)}, HS(1, 1, 0));
  const uint64_t b2 = wal_->Append(std::vector{E(2, 1)}, HS(1, 1, 1));
  EXPECT_TRUE(wal_->OwnsOp(b1));
  disk_.Complete(disk_.pending_count() - 3);  // b2's write and sync wait
  Deliver();
  EXPECT_EQ(wal_->durable_batch(), 0u) << "b1's fsync has not completed";
  disk_.Complete(1);
  Deliver();
  EXPECT_EQ(wal_->durable_batch(), b1);
  EXPECT_FALSE(wal_->IsDurable(b2));
  disk_.CompleteOp(b2);
  Deliver();
  EXPECT_EQ(wal_->durable_batch(), b2);
  EXPECT_FALSE(wal_->OwnsOp(b2));
}

TEST_F(WalOnMemDiskTest, FailedFsyncIsFatalAndStopsDurability) {
  disk_.CompleteAll();
  Deliver();
  disk_.FailNextSync();
  const uint64_t b1 = wal_->Append(std::vector{E(1, 1)}, HS(1, 1, 0));
  wal_->Append(std::vector{E(2, 1)}, HS(1, 1, 1));
  disk_.CompleteAll();
  Deliver();
  EXPECT_FALSE(last_status_.ok());
  EXPECT_TRUE(absl::StartsWith(last_status_.message(), "wal: fsync wal-"))
      << last_status_;
  EXPECT_TRUE(absl::StrContains(last_status_.message(), "Input/output error"))
      << last_status_;
  EXPECT_LT(wal_->durable_batch(), b1);
}

TEST_F(WalOnMemDiskTest, NoSpaceIsFatal) {
  disk_.CompleteAll();
  Deliver();
  disk_.SetNoSpace(true);
  wal_->Append(std::vector{E(1, 1)}, HS(1, 1, 0));
  disk_.CompleteAll();
  Deliver();
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(wal_->durable_batch(), 0u);
}

TEST_F(WalOnMemDiskTest, CrashLosesTheBatchWhoseFsyncDidNotComplete) {
  wal_->Append(std::vector{E(1, 1)}, HS(1, 1, 0));
  disk_.CompleteAll();
  Deliver();
  wal_->Append(std::vector{E(2, 1)}, HS(1, 1, 1));
  disk_.Complete(disk_.pending_count() - 1);  // the write, not the fsync
  disk_.Crash();
  absl::StatusOr<WalContents> contents = ReadAll(disk_, 0);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(Indexes(contents->entries), std::vector<uint64_t>{1});
  EXPECT_EQ(contents->hard_state.commit(), 0u);
}

TEST(WalPlantedBugTest, SkipFsyncLosesADurableBatchInACrash) {
  MemDisk disk;
  WalOptions options = Sized(1024);
  options.planted_bugs.skip_fsync = true;
  std::unique_ptr<Wal> wal = *Wal::Create(&disk, options, kMetadata);
  const uint64_t batch = wal->Append(std::vector{E(1, 1)}, HS(1, 1, 0));
  disk.CompleteAll();
  for (const DiskCompletion& c : disk.TakeCompletions()) {
    ASSERT_TRUE(wal->OnDiskDone(c.op_id, c.status).ok());
  }
  EXPECT_TRUE(wal->IsDurable(batch));
  disk.Crash();
  absl::StatusOr<WalContents> contents = ReadAll(disk, 0);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_TRUE(contents->entries.empty()) << "the planted bug lost the entry";
}

TEST_F(WalOnMemDiskTest, CrashBeforeTheFirstSegmentIsRenamedLeavesNoWal) {
  disk_.Complete(3);  // create, preallocate, write the temp segment
  disk_.Crash();
  EXPECT_EQ(ReadAll(disk_, 0).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace etcdpp::storage
