// For tests only: a PosixDisk over a fresh, empty directory under the test's
// temporary directory (TEST_TMPDIR). It reads the environment and touches
// real files, so it lives beside posix_disk, outside the deterministic core.
#ifndef ETCDPP_SERVER_STORAGE_POSIX_TEST_DISK_H_
#define ETCDPP_SERVER_STORAGE_POSIX_TEST_DISK_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "server/storage/disk.h"

namespace etcdpp::storage::testing {

// `name` becomes the directory name ('/' replaced); files an earlier run
// left behind are removed.
std::unique_ptr<Disk> NewPosixTestDisk(absl::string_view name);

}  // namespace etcdpp::storage::testing

#endif  // ETCDPP_SERVER_STORAGE_POSIX_TEST_DISK_H_
