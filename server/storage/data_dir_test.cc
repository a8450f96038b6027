#include "server/storage/data_dir.h"

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
#include "server/storage/snapshot_file.h"
#include "server/storage/test_disks.h"
#include "server/storage/wal.h"
#include "server/storage/wal_format.h"
#include "server/storage/wal_reader.h"

namespace etcdpp::storage {
namespace {

using testing::DiskKind;

constexpr WalMetadata kMember{0x1234, 0xabcd};

// WalOptions with the given segment size, the rest default.
WalOptions Sized(uint64_t segment_size_bytes) {
  WalOptions options;
  options.segment_size_bytes = segment_size_bytes;
  return options;
}

raftpb::Entry E(uint64_t index, uint64_t term) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(absl::StrCat("e", index));
  return entry;
}

raftpb::HardState HS(uint64_t term, uint64_t commit) {
  raftpb::HardState hs;
  hs.set_term(term);
  hs.set_vote(1);
  hs.set_commit(commit);
  return hs;
}

raftpb::SnapshotMetadata Meta(uint64_t term, uint64_t index) {
  raftpb::SnapshotMetadata metadata;
  metadata.set_term(term);
  metadata.set_index(index);
  return metadata;
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

class DataDirTest : public ::testing::TestWithParam<DiskKind> {
 protected:
  void SetUp() override { disk_ = testing::NewDisk(GetParam()); }

  void SettleOk() {
    for (const DiskCompletion& c : testing::Settle(*disk_)) {
      ASSERT_TRUE(c.status.ok()) << c.status;
    }
  }

  // A bootstrapped member with entries 1..count of `term`, commit = count.
  std::unique_ptr<Wal> Bootstrapped(uint64_t count, uint64_t term = 1,
                                    uint64_t segment_size = 64 << 10) {
    absl::StatusOr<std::unique_ptr<Wal>> wal =
        Bootstrap(*disk_, Sized(segment_size), kMember);
    EXPECT_TRUE(wal.ok()) << wal.status();
    for (uint64_t i = 1; i <= count; ++i) {
      (*wal)->Append(std::vector{E(i, term)}, HS(term, i));
    }
    SettleOk();
    return std::move(*wal);
  }

  RecoveredState MustRecover() {
    absl::StatusOr<RecoveredState> state = Recover(*disk_, WalOptions{});
    EXPECT_TRUE(state.ok()) << state.status();
    SettleOk();
    return state.ok() ? std::move(*state) : RecoveredState{};
  }

  std::unique_ptr<Disk> disk_;
};

TEST_P(DataDirTest, MemberFileRoundTripAndCorruption) {
  absl::StatusOr<std::optional<WalMetadata>> none = LoadMemberFile(*disk_);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  SaveMemberFile(*disk_, kMember);
  SettleOk();
  absl::StatusOr<std::optional<WalMetadata>> loaded = LoadMemberFile(*disk_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(**loaded, kMember);
  testing::FlipByte(*disk_, kMemberFileName, 13);
  EXPECT_EQ(LoadMemberFile(*disk_).status().message(),
            "data dir: corrupt member file: checksum mismatch");
  testing::Cut(*disk_, kMemberFileName, 20);
  EXPECT_EQ(LoadMemberFile(*disk_).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_P(DataDirTest, FreshDirIsNotFoundThenBootstrapsAndRecovers) {
  EXPECT_EQ(Recover(*disk_, WalOptions{}).status().code(),
            absl::StatusCode::kNotFound);
  std::unique_ptr<Wal> wal = Bootstrapped(5);
  wal.reset();
  RecoveredState state = MustRecover();
  EXPECT_EQ(state.member, kMember);
  EXPECT_FALSE(state.snapshot.has_value());
  EXPECT_EQ(Indexes(state.entries), Range(1, 5));
  EXPECT_EQ(state.hard_state.commit(), 5u);
  ASSERT_NE(state.wal, nullptr);
  state.wal->Append(std::vector{E(6, 1)}, HS(1, 6));
  SettleOk();
  EXPECT_EQ(Indexes(MustRecover().entries), Range(1, 6));
}

TEST_P(DataDirTest, BootstrapRefusesABootstrappedDir) {
  Bootstrapped(1);
  EXPECT_EQ(Bootstrap(*disk_, WalOptions{}, kMember).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(DataDirTest, RecoversFromTheSnapshotAndTheWalAfterIt) {
  std::unique_ptr<Wal> wal = Bootstrapped(20, 1, /*segment_size=*/1024);
  SaveSnapshotFile(*disk_, Meta(1, 10), "kv state at 10");
  WalBatch marker;
  marker.snapshot = Meta(1, 10);
  wal->Append(marker);
  SettleOk();
  wal->ReleaseTo(10);
  SettleOk();
  wal.reset();
  RecoveredState state = MustRecover();
  ASSERT_TRUE(state.snapshot.has_value());
  EXPECT_EQ(state.snapshot->metadata.index(), 10u);
  EXPECT_EQ(state.snapshot->body, "kv state at 10");
  EXPECT_EQ(Indexes(state.entries), Range(11, 20));
  EXPECT_EQ(state.hard_state.commit(), 20u);
}

TEST_P(DataDirTest, FallsBackToAnOlderSnapshotWhenTheNewestIsCorrupt) {
  Bootstrapped(20);
  SaveSnapshotFile(*disk_, Meta(1, 5), "five");
  SaveSnapshotFile(*disk_, Meta(1, 10), "ten");
  SettleOk();
  testing::FlipByte(*disk_, SnapshotFileName(1, 10), 30);
  RecoveredState state = MustRecover();
  ASSERT_TRUE(state.snapshot.has_value());
  EXPECT_EQ(state.snapshot->body, "five");
  ASSERT_EQ(state.skipped_snapshots.size(), 1u);
  EXPECT_EQ(Indexes(state.entries), Range(6, 20));
}

TEST_P(DataDirTest, RefusesToStartWhenTheOnlySnapshotTheWalNeedsIsCorrupt) {
  // Found by the simulator (seed 1455): the only snapshot file was
  // damaged, recovery skipped it and raft restarted from the WAL's marker
  // at index 10 with an empty kv state.
  std::unique_ptr<Wal> wal = Bootstrapped(20, 1, /*segment_size=*/1024);
  SaveSnapshotFile(*disk_, Meta(1, 10), "kv state at 10");
  WalBatch marker;
  marker.snapshot = Meta(1, 10);
  wal->Append(marker);
  SettleOk();
  wal.reset();
  testing::FlipByte(*disk_, SnapshotFileName(1, 10), 30);
  absl::StatusOr<RecoveredState> state = Recover(*disk_, WalOptions{});
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss);
  const std::string message(state.status().message());
  EXPECT_NE(message.find("WAL records a snapshot at index 10"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(SnapshotFileName(1, 10)), std::string::npos)
      << message;
}

TEST_P(DataDirTest, CommitIsRaisedToTheSnapshotAndStaleEntriesDropped) {
  // A follower had 1..12 at term 1, committed to 3, then installed the
  // leader's snapshot at 10 (term 2) and crashed before anything else.
  std::unique_ptr<Wal> wal = Bootstrapped(12);
  wal->Append(std::vector<raftpb::Entry>{}, HS(1, 3));
  SaveSnapshotFile(*disk_, Meta(2, 10), "leader's state");
  SettleOk();
  RecoveredState state = MustRecover();
  EXPECT_EQ(state.hard_state.commit(), 10u);
  EXPECT_TRUE(state.entries.empty()) << "11 and 12 are stale (term 1 < 2)";
}

TEST_P(DataDirTest, WalOfAnotherMemberIsRefused) {
  Bootstrapped(2);
  SaveMemberFile(*disk_, WalMetadata{99, 0xabcd});
  SettleOk();
  const absl::Status status = Recover(*disk_, WalOptions{}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(status.message(), "belongs to member 4660"))
      << status;
}

TEST_P(DataDirTest, CorruptWalRefusesToStartNamingFileAndOffset) {
  Bootstrapped(5);
  const std::string segment = wal::SegmentName(0, 1);
  testing::FlipByte(*disk_, segment, 100);
  const absl::Status status = Recover(*disk_, WalOptions{}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(
      status.message(),
      absl::StrCat("wal: corrupt record in ", segment, " at offset ")))
      << status;
}

TEST_P(DataDirTest, TornTailIsReportedAndRepaired) {
  Bootstrapped(5);
  const std::string segment = wal::SegmentName(0, 1);
  std::string data = *disk_->ReadFile(segment);
  const uint64_t end = data.find_last_not_of('\0') + 1;
  testing::FlipByte(*disk_, segment, end - 3);  // inside the last record
  RecoveredState state = MustRecover();
  ASSERT_TRUE(state.torn_tail.has_value());
  EXPECT_EQ(state.torn_tail->segment, segment);
  EXPECT_EQ(Indexes(state.entries), Range(1, 5)) << "only the last hard state";
  EXPECT_EQ(state.hard_state.commit(), 4u);
  state.wal.reset();
  EXPECT_FALSE(MustRecover().torn_tail.has_value()) << "repaired at open";
}

TEST_P(DataDirTest, LeftoverTempFilesAreRemoved) {
  Bootstrapped(1);
  for (const std::string& name :
       {std::string("member.tmp"), SnapshotFileName(1, 1) + ".tmp",
        wal::TempName(wal::SegmentName(1, 2))}) {
    disk_->Submit(CreateOp{name});
  }
  SettleOk();
  MustRecover();
  EXPECT_EQ(*disk_->List(),
            (std::vector<std::string>{std::string(kMemberFileName),
                                      wal::SegmentName(0, 1)}));
}

INSTANTIATE_TEST_SUITE_P(Disks, DataDirTest,
                         ::testing::Values(DiskKind::kMem, DiskKind::kPosix),
                         [](const auto& info) {
                           return testing::DiskKindName(info.param);
                         });

// A crash after any number of bootstrap's operations leaves a dir that
// either recovers or bootstraps again.
TEST(DataDirCrashTest, CrashAnywhereInBootstrap) {
  const WalOptions options = Sized(4096);
  for (size_t completed = 0;; ++completed) {
    MemDisk disk;
    ASSERT_TRUE(Bootstrap(disk, options, kMember).ok());
    const size_t total = disk.pending_count();
    disk.Complete(completed);
    disk.Crash();
    absl::StatusOr<RecoveredState> state = Recover(disk, options);
    if (absl::IsNotFound(state.status())) {
      EXPECT_TRUE(Bootstrap(disk, options, kMember).ok()) << completed;
    } else {
      ASSERT_TRUE(state.ok()) << completed << ": " << state.status();
      EXPECT_EQ(state->member, kMember);
    }
    disk.CompleteAll();
    for (const DiskCompletion& c : disk.TakeCompletions()) {
      EXPECT_TRUE(c.status.ok()) << completed << ": " << c.status;
    }
    EXPECT_TRUE(Recover(disk, options).ok()) << completed;
    if (completed == total) break;
  }
}

}  // namespace
}  // namespace etcdpp::storage
