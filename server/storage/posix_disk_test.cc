#include "server/storage/posix_disk.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/storage/disk.h"

namespace etcdpp::storage {
namespace {

// A fresh directory under Bazel's TEST_TMPDIR, named after the test.
std::string TestDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/posix_disk_",
                      info->name());
}

std::unique_ptr<PosixDisk> OpenOrDie(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<PosixDisk>> disk = PosixDisk::Open(dir);
  EXPECT_TRUE(disk.ok()) << disk.status();
  return std::move(*disk);
}

void ExpectAllOk(Disk& disk) {
  for (const DiskCompletion& c : disk.TakeCompletions()) {
    EXPECT_TRUE(c.status.ok()) << c.op_id << ": " << c.status;
  }
}

TEST(PosixDiskTest, WritesReadsRenamesAndLists) {
  std::unique_ptr<PosixDisk> disk = OpenOrDie(TestDir());
  disk->Submit(CreateOp{"b.tmp"});
  disk->Submit(AppendOp{"b.tmp", "hello"});
  disk->Submit(WriteOp{"b.tmp", 7, "!"});
  disk->Submit(SyncOp{"b.tmp"});
  disk->Submit(RenameOp{"b.tmp", "b"});
  disk->Submit(AppendOp{"b", "?"});  // the descriptor follows the rename
  disk->Submit(CreateOp{"a"});
  disk->Submit(PreallocateOp{"a", 4096});
  disk->Submit(SyncDirOp{});
  ExpectAllOk(*disk);
  EXPECT_EQ(*disk->ReadFile("b"), std::string("hello\0\0!?", 9));
  EXPECT_EQ(*disk->FileSize("a"), 4096u);
  EXPECT_EQ(*disk->List(), (std::vector<std::string>{"a", "b"}));
  disk->Submit(TruncateOp{"a", 10});
  disk->Submit(RemoveOp{"b"});
  ExpectAllOk(*disk);
  EXPECT_EQ(*disk->FileSize("a"), 10u);
  EXPECT_EQ(*disk->List(), std::vector<std::string>{"a"});
}

TEST(PosixDiskTest, ErrorsNameOperationAndFileAndAreSticky) {
  std::unique_ptr<PosixDisk> disk = OpenOrDie(TestDir());
  const uint64_t id = disk->Submit(AppendOp{"missing", "x"});
  disk->Submit(CreateOp{"ok"});
  std::vector<DiskCompletion> done = disk->TakeCompletions();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].op_id, id);
  EXPECT_EQ(done[0].status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(done[0].status.message().find("append missing"), std::string::npos)
      << done[0].status;
  EXPECT_EQ(done[1].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(disk->ReadFile("missing").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(PosixDiskTest, SecondLockOnTheSameDirFailsClearly) {
  const std::string dir = TestDir();
  std::unique_ptr<PosixDisk> first = OpenOrDie(dir);
  std::unique_ptr<PosixDisk> second = OpenOrDie(dir);
  ASSERT_TRUE(first->Lock().ok());
  const absl::Status status = second->Lock();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            absl::StrCat("data dir ", dir, " is locked by another process"));
  first.reset();  // closing the directory releases the lock
  EXPECT_TRUE(second->Lock().ok());
}

TEST(PosixDiskTest, AnotherProcessCannotLockTheDir) {
  const std::string dir = TestDir();
  std::unique_ptr<PosixDisk> disk = OpenOrDie(dir);
  ASSERT_TRUE(disk->Lock().ok());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child's exit code says what its Lock() returned.
    absl::StatusOr<std::unique_ptr<PosixDisk>> other = PosixDisk::Open(dir);
    if (!other.ok()) _exit(2);
    const absl::Status status = (*other)->Lock();
    _exit(status.message() == absl::StrCat("data dir ", dir,
                                           " is locked by another process")
              ? 0
              : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
}

TEST(PosixDiskTest, OpenFailsWithoutParent) {
  const absl::StatusOr<std::unique_ptr<PosixDisk>> disk =
      PosixDisk::Open(TestDir() + "/no/such/parent");
  EXPECT_EQ(disk.status().code(), absl::StatusCode::kNotFound) << disk.status();
}

}  // namespace
}  // namespace etcdpp::storage
