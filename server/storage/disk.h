// Disk: the asynchronous file seam between the node and one data directory.
//
// The node never waits for a write. It *submits* an operation and goes on;
// the operation completes later, and its driver (the production runner or
// the simulator) drains the completions with TakeCompletions() and feeds each
// one to the node as a DiskDone(op_id, status) input. So a slow fsync never
// blocks the node, every proposal that arrives during an fsync joins the next
// batch (group commit), and the simulator can delay completions, reorder them
// across files and crash with some of them still pending.
//
// Reads are synchronous: they happen only at recovery, before the node runs.
//
// Contract, which every implementation keeps and callers rely on:
//  - Names are plain file names inside the data directory: no '/', not "."
//    or "..", not empty. There are no subdirectories.
//  - Submit() returns the operation's id; ids of one Disk start at 1 and
//    increase in submission order.
//  - Every operation touches a set of keys: its file name(s), plus the
//    directory for Create, Rename, Remove and SyncDir. Two operations that
//    share a key complete in submission order, and the later one acts on the
//    state the earlier one left. Operations with disjoint keys may complete
//    in any order.
//  - A BarrierOp completes after every operation submitted before it, and
//    every operation submitted after it completes after it: it orders
//    writes to different files (the WAL's new segment must not appear
//    before the previous segment's seal is durable).
//  - Failure is sticky: once an operation fails, every operation that
//    completes after it fails with FailedPrecondition naming the first
//    failure. A failed write or fsync is fatal for the node (DESIGN.md: the
//    page cache can no longer be trusted), so nothing is lost by refusing
//    more work, and a chain of operations linked by shared keys (temp file,
//    final name, directory) succeeded iff its last operation did.
//  - Data is durable only after a Sync of its file completes; a name created,
//    renamed or removed is durable only after a SyncDir completes.
//
// Not thread-safe; a Disk is owned by one node. Deterministic implementations
// (MemDisk) make no system calls; PosixDisk is the only one that does.
#ifndef ETCDPP_SERVER_STORAGE_DISK_H_
#define ETCDPP_SERVER_STORAGE_DISK_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace etcdpp::storage {

// Creates an empty file, or truncates an existing one to zero bytes.
struct CreateOp {
  std::string path;
};
// Writes bytes at the file's current end.
struct AppendOp {
  std::string path;
  std::string bytes;
};
// Writes bytes at offset, extending the file (with zeros) if needed.
struct WriteOp {
  std::string path;
  uint64_t offset = 0;
  std::string bytes;
};
// Sets the file's size, cutting or zero-extending it.
struct TruncateOp {
  std::string path;
  uint64_t size = 0;
};
// Makes the file's data (fdatasync) durable.
struct SyncOp {
  std::string path;
};
// Atomically replaces `to` with `from`.
struct RenameOp {
  std::string from;
  std::string to;
};
struct RemoveOp {
  std::string path;
};
// Makes creations, renames and removals in the directory durable.
struct SyncDirOp {};
// Reserves blocks so that the file is at least size bytes long and later
// writes inside it cannot fail for lack of space; new bytes read as zeros.
struct PreallocateOp {
  std::string path;
  uint64_t size = 0;
};

// Does nothing but order: see the contract above.
struct BarrierOp {};

using DiskOp =
    std::variant<CreateOp, AppendOp, WriteOp, TruncateOp, SyncOp, RenameOp,
                 RemoveOp, SyncDirOp, PreallocateOp, BarrierOp>;

struct DiskCompletion {
  uint64_t op_id = 0;
  absl::Status status;
};

class Disk {
 public:
  virtual ~Disk() = default;

  // Takes the data directory's lock, held until the Disk is destroyed (or,
  // for MemDisk, crashes). Fails with FailedPrecondition "data dir <path> is
  // locked by another process" when another holder has it.
  virtual absl::Status Lock() = 0;

  // Queues op and returns its id. Never fails here: errors arrive as the
  // status of the op's completion.
  virtual uint64_t Submit(DiskOp op) = 0;

  // The operations completed since the last call, in completion order.
  virtual std::vector<DiskCompletion> TakeCompletions() = 0;

  // Synchronous reads, for recovery. They see the effects of every completed
  // operation.
  virtual absl::StatusOr<std::string> ReadFile(absl::string_view path) = 0;
  virtual absl::StatusOr<uint64_t> FileSize(absl::string_view path) = 0;
  // The names of the files in the directory, sorted bytewise.
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;
};

// A short name of the op ("append wal-...log") for messages.
std::string DescribeOp(const DiskOp& op);

// The keys op touches (see the contract above); the directory is "", and a
// barrier has kAllKeys, which shares a key with every op.
inline constexpr char kAllKeys[] = "/";
std::vector<std::string> OpKeys(const DiskOp& op);

// OK if path is a valid name under the contract above.
absl::Status ValidatePath(absl::string_view path);

// A status for errno err from the operation `what` (e.g. "fsync wal-1.log"),
// keeping errno's code mapping and words: "fsync wal-1.log: Input/output
// error".
absl::Status ErrnoStatus(int err, absl::string_view what);

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_DISK_H_
