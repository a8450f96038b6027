// SimDisk: the Disk a simulated node sees -- a MemDisk that also remembers
// which submitted operations are fsyncs, so the world can aim an EIO at a
// sync it is about to complete (rather than arm a flag that may fire much
// later, in the liveness phase, where no faults are allowed).
//
// Not thread-safe; owned by the world, one per member, across restarts.
#ifndef ETCDPP_SIM_SIM_DISK_H_
#define ETCDPP_SIM_SIM_DISK_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/prng.h"
#include "server/storage/disk.h"
#include "server/storage/mem_disk.h"

namespace etcdpp::sim {

class SimDisk final : public storage::Disk {
 public:
  explicit SimDisk(std::string name) : mem_(std::move(name)) {}

  absl::Status Lock() override { return mem_.Lock(); }
  uint64_t Submit(storage::DiskOp op) override;
  std::vector<storage::DiskCompletion> TakeCompletions() override {
    return mem_.TakeCompletions();
  }
  absl::StatusOr<std::string> ReadFile(absl::string_view path) override {
    return mem_.ReadFile(path);
  }
  absl::StatusOr<uint64_t> FileSize(absl::string_view path) override {
    return mem_.FileSize(path);
  }
  absl::StatusOr<std::vector<std::string>> List() override {
    return mem_.List();
  }

  // Completes op_id (and the earlier ops it must follow); if fail_sync and
  // op_id is a sync, that completion fails with EIO.
  void CompleteOp(uint64_t op_id, bool fail_sync);
  bool IsSync(uint64_t op_id) const { return syncs_.contains(op_id); }
  // Loses what a crash loses; torn keeps a prng-chosen prefix of unsynced
  // writes.
  void Crash(bool torn, base::Prng& prng);

  // Corrupts synced data where recovery must notice it: a bit flip or a
  // zeroed 512-byte sector inside a WAL record that a valid record follows
  // (in the last segment; any record of an earlier one), or anywhere in a
  // snapshot file (checksummed whole). Never the tail record of the last
  // segment, which recovery cannot tell from a torn write, nor the member
  // file. Call on a crashed disk (nothing pending or unsynced). Returns a
  // description of what it did, or nullopt if no file qualifies.
  std::optional<std::string> CorruptSynced(base::Prng& prng);

  storage::MemDisk& mem() { return mem_; }

 private:
  storage::MemDisk mem_;
  std::set<uint64_t> syncs_;  // pending Sync/SyncDir op ids
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_SIM_DISK_H_
