// PosixDisk: the production Disk over a real directory. The one file of
// server/storage that makes system calls.
//
// In this slice every operation runs synchronously inside Submit(), on the
// caller's thread, and its completion is queued for TakeCompletions(). That
// already keeps the Disk contract (completions are events, in per-key
// order); the runner will move execution to an I/O thread so that an fsync
// no longer blocks the node thread, without changing this interface.
//
// Files are opened O_CLOEXEC with mode 0600 (a data dir holds every key's
// value) and kept open until removed or the disk is destroyed, so that an
// fsync reports writeback errors of writes made through the same
// descriptor. Errors carry errno's code and words and name the operation and
// file: "fsync wal-...log: Input/output error".
//
// Not thread-safe.
#ifndef ETCDPP_SERVER_STORAGE_POSIX_DISK_H_
#define ETCDPP_SERVER_STORAGE_POSIX_DISK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/storage/disk.h"

namespace etcdpp::storage {

class PosixDisk : public Disk {
 public:
  // Opens dir, creating it (mode 0700) if it does not exist; its parent must.
  static absl::StatusOr<std::unique_ptr<PosixDisk>> Open(std::string dir);
  ~PosixDisk() override;
  PosixDisk(const PosixDisk&) = delete;
  PosixDisk& operator=(const PosixDisk&) = delete;

  // flock(LOCK_EX | LOCK_NB) on the directory itself, so it never adds a
  // file to List(). The kernel drops the lock when the process dies, so a
  // crash never leaves a stale lock behind.
  absl::Status Lock() override;
  uint64_t Submit(DiskOp op) override;
  std::vector<DiskCompletion> TakeCompletions() override;
  absl::StatusOr<std::string> ReadFile(absl::string_view path) override;
  absl::StatusOr<uint64_t> FileSize(absl::string_view path) override;
  absl::StatusOr<std::vector<std::string>> List() override;

  const std::string& dir() const { return dir_; }

 private:
  PosixDisk(std::string dir, int dir_fd);

  absl::Status Execute(const DiskOp& op);
  // The open descriptor of an existing file, opening it if needed.
  absl::StatusOr<int> Fd(const std::string& path, absl::string_view what);
  absl::Status Create(const std::string& path, absl::string_view what);
  absl::Status WriteAt(const std::string& path, uint64_t offset,
                       absl::string_view bytes, bool append,
                       absl::string_view what);
  absl::Status Truncate(const std::string& path, uint64_t size,
                        absl::string_view what);
  absl::Status Sync(const std::string& path, absl::string_view what);
  absl::Status Rename(const std::string& from, const std::string& to,
                      absl::string_view what);
  absl::Status Remove(const std::string& path, absl::string_view what);
  absl::Status Preallocate(const std::string& path, uint64_t size,
                           absl::string_view what);
  void Close(const std::string& path);

  std::string dir_;
  int dir_fd_;
  std::map<std::string, int, std::less<>> fds_;
  uint64_t next_op_id_ = 1;
  std::vector<DiskCompletion> completed_;
  absl::Status first_failure_;  // sticky, see the Disk contract
};

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_POSIX_DISK_H_
