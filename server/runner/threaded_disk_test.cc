#include "server/runner/threaded_disk.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "server/storage/posix_disk.h"

namespace etcdpp::runner {
namespace {

std::unique_ptr<storage::Disk> NewPosixDisk(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  auto disk = storage::PosixDisk::Open(std::string(tmp ? tmp : "/tmp") + "/" +
                                       name);
  EXPECT_TRUE(disk.ok()) << disk.status();
  return std::move(*disk);
}

// Collects completions until `n` arrived, waking on notify.
std::vector<storage::DiskCompletion> Collect(ThreadedDisk& disk,
                                            std::atomic<int>& notified,
                                            size_t n) {
  std::vector<storage::DiskCompletion> all;
  for (int i = 0; i < 5000 && all.size() < n; ++i) {
    for (auto& c : disk.TakeCompletions()) all.push_back(std::move(c));
    if (all.size() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(notified.load(), 0);
  return all;
}

TEST(ThreadedDiskTest, RunsOpsInOrderOffThreadAndReportsEachOnce) {
  std::atomic<int> notified{0};
  ThreadedDisk disk(NewPosixDisk("ordered"), [&] { ++notified; });
  ASSERT_TRUE(disk.Lock().ok());
  std::vector<uint64_t> ids;
  ids.push_back(disk.Submit(storage::CreateOp{"log"}));
  for (int i = 0; i < 100; ++i) {
    ids.push_back(disk.Submit(storage::AppendOp{"log", std::to_string(i) + ","}));
  }
  ids.push_back(disk.Submit(storage::SyncOp{"log"}));
  std::vector<storage::DiskCompletion> done = Collect(disk, notified, ids.size());
  ASSERT_EQ(done.size(), ids.size());
  for (size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].op_id, ids[i]);
    EXPECT_EQ(ids[i], i + 1) << "ids count submissions from 1";
    EXPECT_TRUE(done[i].status.ok()) << done[i].status;
  }
  absl::StatusOr<std::string> contents = disk.ReadFile("log");
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(contents->substr(0, 6), "0,1,2,");
  EXPECT_EQ(contents->size(), 290u);
}

TEST(ThreadedDiskTest, ReadsSeeEverySubmittedOp) {
  std::atomic<int> notified{0};
  ThreadedDisk disk(NewPosixDisk("reads"), [&] { ++notified; });
  disk.Submit(storage::CreateOp{"a"});
  disk.Submit(storage::AppendOp{"a", "hello"});
  // No waiting for completions: the read waits for the queue itself.
  absl::StatusOr<std::string> contents = disk.ReadFile("a");
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, "hello");
}

TEST(ThreadedDiskTest, ErrorsComeBackAsCompletions) {
  std::atomic<int> notified{0};
  ThreadedDisk disk(NewPosixDisk("errors"), [&] { ++notified; });
  const uint64_t id = disk.Submit(storage::SyncOp{"missing"});
  std::vector<storage::DiskCompletion> done = Collect(disk, notified, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].op_id, id);
  EXPECT_FALSE(done[0].status.ok());
}

}  // namespace
}  // namespace etcdpp::runner
