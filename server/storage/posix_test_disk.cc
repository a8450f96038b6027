#include "server/storage/posix_test_disk.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/storage/posix_disk.h"

namespace etcdpp::storage::testing {

std::unique_ptr<Disk> NewPosixTestDisk(absl::string_view name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir_name(name);
  for (char& c : dir_name) {
    if (c == '/') c = '_';
  }
  const std::string dir =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", dir_name);
  absl::StatusOr<std::unique_ptr<PosixDisk>> disk = PosixDisk::Open(dir);
  EXPECT_TRUE(disk.ok()) << disk.status();
  // Start empty even if an earlier run left files behind.
  const std::vector<std::string> files = *(*disk)->List();
  for (const std::string& file : files) {
    (*disk)->Submit(RemoveOp{file});
  }
  (*disk)->TakeCompletions();
  return std::move(*disk);
}

}  // namespace etcdpp::storage::testing
