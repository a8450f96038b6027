// MemDisk: a deterministic in-memory Disk for tests and the simulator.
//
// It models what a crash may keep, the way LevelDB's fault-injection test
// does: every file (an inode) has its contents as of its last completed Sync
// and its current contents, and the directory has its names as of the last
// completed SyncDir and its current names. A crash throws away everything
// not synced; CrashTorn() instead keeps a random prefix of the unsynced
// writes of each file and of the directory, the last write maybe cut short —
// what a power cut in the middle of writeback leaves.
//
// Submitted operations wait in a queue until the owner completes them with
// Complete(n), CompleteOp(id) or CompleteAll(); an operation takes effect
// when it completes, so a crash loses every pending one. Completing an op
// first completes every earlier pending op that shares a key with it
// (transitively), which keeps the per-key order of the Disk contract while
// letting the simulator reorder independent files.
//
// Faults: FailNextSync (EIO on the next Sync or SyncDir to complete),
// SetNoSpace (ENOSPC on writes that need space), CorruptSynced / ZeroSynced
// (bit flips and zeroed sectors in durable data).
//
// No clocks, threads, randomness of its own or system calls; the same calls
// give the same results. Not thread-safe.
#ifndef ETCDPP_SERVER_STORAGE_MEM_DISK_H_
#define ETCDPP_SERVER_STORAGE_MEM_DISK_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/prng.h"
#include "server/storage/disk.h"

namespace etcdpp::storage {

class MemDisk : public Disk {
 public:
  // name appears in the lock error, as a directory path would.
  explicit MemDisk(std::string name = "memdisk");

  absl::Status Lock() override;
  uint64_t Submit(DiskOp op) override;
  std::vector<DiskCompletion> TakeCompletions() override;
  absl::StatusOr<std::string> ReadFile(absl::string_view path) override;
  absl::StatusOr<uint64_t> FileSize(absl::string_view path) override;
  absl::StatusOr<std::vector<std::string>> List() override;

  // ---- Driving completions ----
  // Ids of the submitted, not yet completed operations, oldest first.
  std::vector<uint64_t> PendingOps() const;
  size_t pending_count() const { return pending_.size(); }
  // Completes the oldest min(n, pending) operations.
  void Complete(size_t n);
  void CompleteAll() { Complete(pending_.size()); }
  // Completes op_id and, first, the earlier pending ops it must follow.
  // No-op if op_id is not pending.
  void CompleteOp(uint64_t op_id);

  // ---- Crashes ----
  // Loses pending operations, unsynced data and unsynced names, and
  // releases the lock: the disk as a restarted process finds it.
  void Crash();
  // Like Crash, but first makes durable a prng-chosen prefix of each file's
  // unsynced writes (the last of them maybe cut short) and of the
  // directory's unsynced changes.
  void CrashTorn(base::Prng& prng);

  // ---- Faults ----
  // The next Sync or SyncDir to complete fails with EIO and syncs nothing.
  void FailNextSync() { fail_next_sync_ = true; }
  // While set, Append, Write, Preallocate and growing Truncate fail with
  // ENOSPC and change nothing.
  void SetNoSpace(bool no_space) { no_space_ = no_space; }
  // XORs mask into the synced (and current) byte at offset: a bit flip in
  // durable data.
  absl::Status CorruptSynced(absl::string_view path, uint64_t offset,
                             uint8_t mask);
  // Zeroes length synced (and current) bytes from offset: a lost sector.
  absl::Status ZeroSynced(absl::string_view path, uint64_t offset,
                          uint64_t length);

  // The durable contents of path (as a crash would leave them), or NotFound
  // if the name is not durable.
  absl::StatusOr<std::string> SyncedContents(absl::string_view path) const;

 private:
  // A completed write not yet made durable: Write or Truncate to size.
  struct DataChange {
    bool is_truncate = false;
    uint64_t offset_or_size = 0;
    std::string bytes;
  };
  struct Inode {
    std::string synced;
    std::string current;
    std::vector<DataChange> unsynced;  // applied to synced, gives current
  };
  // A completed change of the directory not yet made durable: one or two
  // name edits (a rename is two, made durable together). An edit maps a
  // name to an inode, or removes it (nullopt).
  using NameEdit = std::pair<std::string, std::optional<uint64_t>>;
  struct DirChange {
    std::vector<NameEdit> edits;
  };
  struct Pending {
    uint64_t op_id;
    DiskOp op;
  };

  absl::Status Apply(const DiskOp& op);
  absl::Status ApplyCreate(const std::string& path, const std::string& what);
  absl::Status ApplyData(const std::string& path, DataChange change,
                         bool needs_space, const std::string& what);
  absl::Status ApplySync(const std::string& path, const std::string& what);
  absl::Status ApplyRename(const std::string& from, const std::string& to);
  absl::Status ApplySyncDir(const std::string& what);
  absl::StatusOr<std::string*> FindSynced(absl::string_view path);
  absl::Status ZeroOrFlip(absl::string_view path, uint64_t offset,
                          uint64_t length, uint8_t mask, bool zero);
  void ChangeDir(std::vector<NameEdit> edits);
  static void ApplyEdits(const std::vector<NameEdit>& edits,
                         std::map<std::string, uint64_t, std::less<>>* names);
  absl::StatusOr<Inode*> Find(absl::string_view path);
  void CompleteAt(size_t position);
  void DropUnreferencedInodes();
  static void ApplyChange(const DataChange& change, std::string* contents);

  std::string name_;
  bool locked_ = false;
  uint64_t next_op_id_ = 1;
  uint64_t next_inode_ = 1;
  std::map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t, std::less<>> names_;         // current
  std::map<std::string, uint64_t, std::less<>> synced_names_;  // durable
  std::vector<DirChange> unsynced_dir_;
  std::deque<Pending> pending_;
  std::vector<DiskCompletion> completed_;
  absl::Status first_failure_;  // sticky, see the Disk contract
  bool fail_next_sync_ = false;
  bool no_space_ = false;
};

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_MEM_DISK_H_
