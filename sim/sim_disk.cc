#include "sim/sim_disk.h"

#include <algorithm>
#include <variant>

namespace etcdpp::sim {

uint64_t SimDisk::Submit(storage::DiskOp op) {
  const bool is_sync = std::holds_alternative<storage::SyncOp>(op) ||
                       std::holds_alternative<storage::SyncDirOp>(op);
  const uint64_t id = mem_.Submit(std::move(op));
  if (is_sync) syncs_.insert(id);
  return id;
}

void SimDisk::CompleteOp(uint64_t op_id, bool fail_sync) {
  // The flag is consumed by the first sync to complete, which is op_id or
  // an earlier sync it must follow: either way within this call.
  if (fail_sync && IsSync(op_id)) mem_.FailNextSync();
  mem_.CompleteOp(op_id);
  // Completed ops are no longer pending; forget their sync marks.
  const std::vector<uint64_t> pending = mem_.PendingOps();
  // PendingOps is oldest first, so sorted by id.
  std::erase_if(syncs_, [&](uint64_t id) {
    return !std::binary_search(pending.begin(), pending.end(), id);
  });
}

void SimDisk::Crash(bool torn, base::Prng& prng) {
  if (torn) {
    mem_.CrashTorn(prng);
  } else {
    mem_.Crash();
  }
  syncs_.clear();
}

}  // namespace etcdpp::sim
