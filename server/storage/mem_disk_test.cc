#include "server/storage/mem_disk.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/prng.h"
#include "gtest/gtest.h"
#include "server/storage/disk.h"

namespace etcdpp::storage {
namespace {

// Completes everything and expects every completion to be OK.
void Drain(MemDisk& disk) {
  disk.CompleteAll();
  for (const DiskCompletion& c : disk.TakeCompletions()) {
    ASSERT_TRUE(c.status.ok()) << c.op_id << ": " << c.status;
  }
}

TEST(MemDiskTest, OpsTakeEffectWhenCompleted) {
  MemDisk disk;
  const uint64_t create = disk.Submit(CreateOp{"a"});
  const uint64_t append = disk.Submit(AppendOp{"a", "hello"});
  EXPECT_EQ(create, 1u);
  EXPECT_EQ(append, 2u);
  EXPECT_FALSE(disk.ReadFile("a").ok()) << "nothing happens before completion";
  disk.Complete(2);
  EXPECT_EQ(*disk.ReadFile("a"), "hello");
  const std::vector<DiskCompletion> done = disk.TakeCompletions();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].op_id, create);
  EXPECT_EQ(done[1].op_id, append);
  EXPECT_TRUE(disk.TakeCompletions().empty());
}

TEST(MemDiskTest, WriteTruncatePreallocate) {
  MemDisk disk;
  disk.Submit(CreateOp{"f"});
  disk.Submit(PreallocateOp{"f", 8});
  disk.Submit(WriteOp{"f", 2, "xy"});
  disk.Submit(WriteOp{"f", 10, "z"});
  Drain(disk);
  EXPECT_EQ(*disk.ReadFile("f"), std::string("\0\0xy\0\0\0\0\0\0z", 11));
  disk.Submit(TruncateOp{"f", 3});
  disk.Submit(PreallocateOp{"f", 2});  // never shrinks
  Drain(disk);
  EXPECT_EQ(*disk.ReadFile("f"), std::string("\0\0x", 3));
  EXPECT_EQ(*disk.FileSize("f"), 3u);
}

TEST(MemDiskTest, CrashKeepsOnlySyncedDataAndNames) {
  MemDisk disk;
  disk.Submit(CreateOp{"a"});
  disk.Submit(AppendOp{"a", "synced"});
  disk.Submit(SyncOp{"a"});
  disk.Submit(SyncDirOp{});
  disk.Submit(AppendOp{"a", "-lost"});
  disk.Submit(CreateOp{"b"});
  disk.Submit(SyncOp{"b"});  // b's data is synced, its name is not
  Drain(disk);
  disk.Submit(AppendOp{"a", "-pending"});
  EXPECT_EQ(*disk.ReadFile("a"), "synced-lost");
  disk.Crash();
  EXPECT_EQ(*disk.ReadFile("a"), "synced");
  EXPECT_EQ(*disk.List(), std::vector<std::string>{"a"});
  EXPECT_EQ(disk.pending_count(), 0u);
}

TEST(MemDiskTest, UnsyncedRenameIsLostOnCrash) {
  MemDisk disk;
  disk.Submit(CreateOp{"tmp"});
  disk.Submit(AppendOp{"tmp", "x"});
  disk.Submit(SyncOp{"tmp"});
  disk.Submit(SyncDirOp{});
  disk.Submit(RenameOp{"tmp", "final"});
  Drain(disk);
  EXPECT_EQ(*disk.List(), std::vector<std::string>{"final"});
  disk.Crash();
  EXPECT_EQ(*disk.List(), std::vector<std::string>{"tmp"});
  disk.Submit(RenameOp{"tmp", "final"});
  disk.Submit(SyncDirOp{});
  Drain(disk);
  disk.Crash();
  EXPECT_EQ(*disk.List(), std::vector<std::string>{"final"});
  EXPECT_EQ(*disk.ReadFile("final"), "x");
}

TEST(MemDiskTest, CrashTornKeepsAPrefixOfUnsyncedWrites) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MemDisk disk;
    disk.Submit(CreateOp{"a"});
    disk.Submit(SyncDirOp{});
    disk.Submit(AppendOp{"a", "0123"});
    disk.Submit(SyncOp{"a"});
    disk.Submit(AppendOp{"a", "4567"});
    disk.Submit(AppendOp{"a", "89"});
    Drain(disk);
    base::Prng prng(seed);
    disk.CrashTorn(prng);
    const std::string contents = *disk.ReadFile("a");
    ASSERT_GE(contents.size(), 4u) << "synced data survives, seed " << seed;
    EXPECT_EQ(contents, std::string("0123456789").substr(0, contents.size()))
        << "seed " << seed;
  }
}

TEST(MemDiskTest, SameFileOpsCompleteInOrderOthersMayNot) {
  MemDisk disk;
  disk.Submit(CreateOp{"a"});
  disk.Submit(CreateOp{"b"});
  Drain(disk);
  const uint64_t a1 = disk.Submit(AppendOp{"a", "1"});
  const uint64_t b1 = disk.Submit(AppendOp{"b", "1"});
  const uint64_t a2 = disk.Submit(SyncOp{"a"});
  disk.CompleteOp(a2);
  std::vector<uint64_t> order;
  for (const DiskCompletion& c : disk.TakeCompletions())
    order.push_back(c.op_id);
  EXPECT_EQ(order, (std::vector<uint64_t>{a1, a2}));
  EXPECT_EQ(disk.PendingOps(), std::vector<uint64_t>{b1});
  disk.CompleteOp(12345);  // not pending: nothing happens
  EXPECT_EQ(disk.pending_count(), 1u);
}

TEST(MemDiskTest, CompleteOpFollowsDirectoryOrderTransitively) {
  MemDisk disk;
  const uint64_t create_tmp = disk.Submit(CreateOp{"tmp"});
  const uint64_t write_tmp = disk.Submit(AppendOp{"tmp", "x"});
  const uint64_t other = disk.Submit(CreateOp{"other"});
  const uint64_t rename = disk.Submit(RenameOp{"tmp", "final"});
  const uint64_t sync_dir = disk.Submit(SyncDirOp{});
  disk.CompleteOp(sync_dir);
  std::vector<uint64_t> order;
  for (const DiskCompletion& c : disk.TakeCompletions())
    order.push_back(c.op_id);
  EXPECT_EQ(order, (std::vector<uint64_t>{create_tmp, write_tmp, other, rename,
                                          sync_dir}));
}

TEST(MemDiskTest, BarrierOrdersDifferentFiles) {
  MemDisk disk;
  const uint64_t a = disk.Submit(CreateOp{"a"});
  const uint64_t sync_a = disk.Submit(SyncOp{"a"});
  const uint64_t barrier = disk.Submit(BarrierOp{});
  const uint64_t b = disk.Submit(AppendOp{"b", ""});
  const uint64_t c = disk.Submit(AppendOp{"c", ""});
  disk.CompleteOp(c);
  std::vector<uint64_t> order;
  for (const DiskCompletion& d : disk.TakeCompletions())
    order.push_back(d.op_id);
  EXPECT_EQ(order, (std::vector<uint64_t>{a, sync_a, barrier, c}));
  EXPECT_EQ(disk.PendingOps(), std::vector<uint64_t>{b});
}

TEST(MemDiskTest, FailedSyncIsEioAndSticky) {
  MemDisk disk;
  disk.Submit(CreateOp{"a"});
  disk.Submit(AppendOp{"a", "x"});
  disk.FailNextSync();
  const uint64_t sync = disk.Submit(SyncOp{"a"});
  const uint64_t later = disk.Submit(AppendOp{"a", "y"});
  disk.CompleteAll();
  std::vector<DiskCompletion> done = disk.TakeCompletions();
  ASSERT_EQ(done.size(), 4u);
  EXPECT_EQ(done[2].op_id, sync);
  EXPECT_EQ(done[2].status.message(), "fsync a: Input/output error");
  EXPECT_EQ(done[3].op_id, later);
  EXPECT_EQ(done[3].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*disk.ReadFile("a"), "x");
  disk.Crash();
  EXPECT_TRUE(disk.List()->empty()) << "nothing was ever synced";
}

TEST(MemDiskTest, NoSpaceFailsWritesWithoutEffect) {
  MemDisk disk;
  disk.Submit(CreateOp{"a"});
  Drain(disk);
  disk.SetNoSpace(true);
  disk.Submit(AppendOp{"a", "x"});
  disk.CompleteAll();
  std::vector<DiskCompletion> done = disk.TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.code(), absl::StatusCode::kResourceExhausted)
      << done[0].status;
  EXPECT_EQ(*disk.ReadFile("a"), "");
}

TEST(MemDiskTest, CorruptAndZeroSyncedData) {
  MemDisk disk;
  disk.Submit(CreateOp{"a"});
  disk.Submit(AppendOp{"a", "abcd"});
  disk.Submit(SyncOp{"a"});
  disk.Submit(SyncDirOp{});
  Drain(disk);
  ASSERT_TRUE(disk.CorruptSynced("a", 1, 0x01).ok());
  ASSERT_TRUE(disk.ZeroSynced("a", 3, 1).ok());
  EXPECT_EQ(*disk.ReadFile("a"), std::string("acc\0", 4));
  disk.Crash();
  EXPECT_EQ(*disk.ReadFile("a"), std::string("acc\0", 4));
  EXPECT_EQ(disk.CorruptSynced("a", 4, 1).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(disk.CorruptSynced("b", 0, 1).code(), absl::StatusCode::kNotFound);
}

TEST(MemDiskTest, LockIsExclusiveUntilCrash) {
  MemDisk disk("/data/node1");
  ASSERT_TRUE(disk.Lock().ok());
  const absl::Status second = disk.Lock();
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.message(),
            "data dir /data/node1 is locked by another process");
  disk.Crash();
  EXPECT_TRUE(disk.Lock().ok());
}

TEST(MemDiskTest, BadNamesAndMissingFilesFail) {
  MemDisk disk;
  disk.Submit(CreateOp{"../x"});
  disk.CompleteAll();
  std::vector<DiskCompletion> done = disk.TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(disk.ReadFile("missing").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace etcdpp::storage
