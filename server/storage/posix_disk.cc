#include "server/storage/posix_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace etcdpp::storage {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

}  // namespace

absl::StatusOr<std::unique_ptr<PosixDisk>> PosixDisk::Open(std::string dir) {
  if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("create data dir ", dir));
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open data dir ", dir));
  return std::unique_ptr<PosixDisk>(new PosixDisk(std::move(dir), fd));
}

PosixDisk::PosixDisk(std::string dir, int dir_fd)
    : dir_(std::move(dir)), dir_fd_(dir_fd) {}

PosixDisk::~PosixDisk() {
  for (const auto& [path, fd] : fds_) ::close(fd);
  ::close(dir_fd_);  // also releases the flock
}

absl::Status PosixDisk::Lock() {
  if (::flock(dir_fd_, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
  if (errno == EWOULDBLOCK) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", dir_, " is locked by another process"));
  }
  return ErrnoStatus(errno, absl::StrCat("lock data dir ", dir_));
}

uint64_t PosixDisk::Submit(DiskOp op) {
  const uint64_t op_id = next_op_id_++;
  absl::Status status;
  if (!first_failure_.ok()) {
    status = absl::FailedPreconditionError(absl::StrCat(
        DescribeOp(op),
        ": not done after an earlier failure: ", first_failure_.message()));
  } else {
    status = Execute(op);
    if (!status.ok()) first_failure_ = status;
  }
  completed_.push_back(DiskCompletion{op_id, std::move(status)});
  return op_id;
}

std::vector<DiskCompletion> PosixDisk::TakeCompletions() {
  return std::exchange(completed_, {});
}

absl::Status PosixDisk::Execute(const DiskOp& op) {
  const std::string what = DescribeOp(op);
  return std::visit(
      Overloaded{
          [&](const CreateOp& o) { return Create(o.path, what); },
          [&](const AppendOp& o) {
            return WriteAt(o.path, 0, o.bytes, /*append=*/true, what);
          },
          [&](const WriteOp& o) {
            return WriteAt(o.path, o.offset, o.bytes, /*append=*/false, what);
          },
          [&](const TruncateOp& o) { return Truncate(o.path, o.size, what); },
          [&](const SyncOp& o) { return Sync(o.path, what); },
          [&](const RenameOp& o) { return Rename(o.from, o.to, what); },
          [&](const RemoveOp& o) { return Remove(o.path, what); },
          [&](const SyncDirOp&) -> absl::Status {
            if (::fsync(dir_fd_) != 0) return ErrnoStatus(errno, what);
            return absl::OkStatus();
          },
          [&](const PreallocateOp& o) {
            return Preallocate(o.path, o.size, what);
          },
          // Operations run in submission order here: nothing to wait for.
          [](const BarrierOp&) { return absl::OkStatus(); },
      },
      op);
}

absl::StatusOr<int> PosixDisk::Fd(const std::string& path,
                                  absl::string_view what) {
  if (absl::Status s = ValidatePath(path); !s.ok()) return s;
  if (const auto it = fds_.find(path); it != fds_.end()) return it->second;
  const int fd = ::openat(dir_fd_, path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, what);
  fds_[path] = fd;
  return fd;
}

void PosixDisk::Close(const std::string& path) {
  if (const auto it = fds_.find(path); it != fds_.end()) {
    ::close(it->second);
    fds_.erase(it);
  }
}

absl::Status PosixDisk::Create(const std::string& path,
                               absl::string_view what) {
  if (absl::Status s = ValidatePath(path); !s.ok()) return s;
  Close(path);
  const int fd = ::openat(dir_fd_, path.c_str(),
                          O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  if (fd < 0) return ErrnoStatus(errno, what);
  fds_[path] = fd;
  return absl::OkStatus();
}

absl::Status PosixDisk::WriteAt(const std::string& path, uint64_t offset,
                                absl::string_view bytes, bool append,
                                absl::string_view what) {
  absl::StatusOr<int> fd = Fd(path, what);
  if (!fd.ok()) return fd.status();
  if (append) {
    // Not O_APPEND: Linux's pwrite ignores the offset on O_APPEND files, and
    // the same descriptor serves Write.
    struct stat st;
    if (::fstat(*fd, &st) != 0) return ErrnoStatus(errno, what);
    offset = static_cast<uint64_t>(st.st_size);
  }
  while (!bytes.empty()) {
    const ssize_t n =
        ::pwrite(*fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, what);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PosixDisk::Truncate(const std::string& path, uint64_t size,
                                 absl::string_view what) {
  absl::StatusOr<int> fd = Fd(path, what);
  if (!fd.ok()) return fd.status();
  if (::ftruncate(*fd, static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(errno, what);
  }
  return absl::OkStatus();
}

absl::Status PosixDisk::Sync(const std::string& path, absl::string_view what) {
  absl::StatusOr<int> fd = Fd(path, what);
  if (!fd.ok()) return fd.status();
  // fdatasync: the size and blocks a write changed are flushed too; only
  // timestamps are skipped.
  if (::fdatasync(*fd) != 0) return ErrnoStatus(errno, what);
  return absl::OkStatus();
}

absl::Status PosixDisk::Rename(const std::string& from, const std::string& to,
                               absl::string_view what) {
  if (absl::Status s = ValidatePath(from); !s.ok()) return s;
  if (absl::Status s = ValidatePath(to); !s.ok()) return s;
  if (::renameat(dir_fd_, from.c_str(), dir_fd_, to.c_str()) != 0) {
    return ErrnoStatus(errno, what);
  }
  // The open descriptor follows the file to its new name.
  Close(to);
  if (const auto it = fds_.find(from); it != fds_.end()) {
    const int fd = it->second;
    fds_.erase(it);
    fds_[to] = fd;
  }
  return absl::OkStatus();
}

absl::Status PosixDisk::Remove(const std::string& path,
                               absl::string_view what) {
  if (absl::Status s = ValidatePath(path); !s.ok()) return s;
  Close(path);
  if (::unlinkat(dir_fd_, path.c_str(), 0) != 0) {
    return ErrnoStatus(errno, what);
  }
  return absl::OkStatus();
}

absl::Status PosixDisk::Preallocate(const std::string& path, uint64_t size,
                                    absl::string_view what) {
  absl::StatusOr<int> fd = Fd(path, what);
  if (!fd.ok()) return fd.status();
  if (::fallocate(*fd, 0, 0, static_cast<off_t>(size)) == 0) {
    return absl::OkStatus();
  }
  if (errno != EOPNOTSUPP) return ErrnoStatus(errno, what);
  // A file system without fallocate: extend the size at least, so that the
  // segment has its fixed length (its blocks are then allocated lazily).
  struct stat st;
  if (::fstat(*fd, &st) != 0) return ErrnoStatus(errno, what);
  if (static_cast<uint64_t>(st.st_size) >= size) return absl::OkStatus();
  return Truncate(path, size, what);
}

absl::StatusOr<std::string> PosixDisk::ReadFile(absl::string_view path) {
  if (absl::Status s = ValidatePath(path); !s.ok()) return s;
  const std::string name(path);
  const std::string what = absl::StrCat("read ", name);
  const int fd = ::openat(dir_fd_, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, what);
  std::string contents;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, what);
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}

absl::StatusOr<uint64_t> PosixDisk::FileSize(absl::string_view path) {
  if (absl::Status s = ValidatePath(path); !s.ok()) return s;
  const std::string name(path);
  struct stat st;
  if (::fstatat(dir_fd_, name.c_str(), &st, 0) != 0) {
    return ErrnoStatus(errno, absl::StrCat("stat ", name));
  }
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<std::vector<std::string>> PosixDisk::List() {
  // A duplicate descriptor: closedir() closes the one fdopendir() takes.
  const int fd = ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("list ", dir_));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("list ", dir_));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const absl::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return ErrnoStatus(err, absl::StrCat("list ", dir_));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace etcdpp::storage
