#include "server/storage/test_disks.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/storage/posix_test_disk.h"

namespace etcdpp::storage::testing {

std::string DiskKindName(DiskKind kind) {
  return kind == DiskKind::kMem ? "Mem" : "Posix";
}

std::unique_ptr<Disk> NewDisk(DiskKind kind, absl::string_view suffix) {
  if (kind == DiskKind::kMem) return std::make_unique<MemDisk>();
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return NewPosixTestDisk(
      absl::StrCat(info->test_suite_name(), "_", info->name(), suffix));
}

std::vector<DiskCompletion> Settle(Disk& disk) {
  if (auto* mem = dynamic_cast<MemDisk*>(&disk)) mem->CompleteAll();
  return disk.TakeCompletions();
}

void Poke(Disk& disk, const std::string& path, uint64_t offset,
          absl::string_view bytes) {
  Settle(disk);
  disk.Submit(WriteOp{path, offset, std::string(bytes)});
  disk.Submit(SyncOp{path});
  for (const DiskCompletion& c : Settle(disk)) {
    ASSERT_TRUE(c.status.ok()) << c.status;
  }
}

void FlipByte(Disk& disk, const std::string& path, uint64_t offset,
              uint8_t mask) {
  absl::StatusOr<std::string> data = disk.ReadFile(path);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_LT(offset, data->size());
  const char flipped = static_cast<char>((*data)[offset] ^ mask);
  Poke(disk, path, offset, absl::string_view(&flipped, 1));
}

void Cut(Disk& disk, const std::string& path, uint64_t size) {
  Settle(disk);
  disk.Submit(TruncateOp{path, size});
  disk.Submit(SyncOp{path});
  for (const DiskCompletion& c : Settle(disk)) {
    ASSERT_TRUE(c.status.ok()) << c.status;
  }
}

}  // namespace etcdpp::storage::testing
