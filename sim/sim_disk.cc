#include "sim/sim_disk.h"

#include <algorithm>
#include <variant>

#include "absl/strings/str_cat.h"
#include "server/storage/snapshot_file.h"
#include "server/storage/wal_format.h"

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

namespace {

// A byte range of one file that may be corrupted.
struct Region {
  std::string file;
  uint64_t begin;
  uint64_t end;
};

// The records of a WAL segment recovery must read, as one region: from the
// header to the start of the last valid record if `is_last` (a bad record
// with a valid one after it is corruption; a bad last record would pass
// as a torn write), else to the end of the records.
std::optional<Region> WalRegion(const std::string& name, absl::string_view data,
                                bool is_last) {
  namespace wal = storage::wal;
  uint64_t offset = wal::kHeaderSize;
  uint64_t last_start = offset;
  while (offset < data.size()) {
    const wal::DecodedRecord r = wal::DecodeRecord(data, offset);
    if (r.kind != wal::DecodedRecord::Kind::kRecord) break;
    last_start = offset;
    offset = r.next_offset;
  }
  const uint64_t end = is_last ? last_start : offset;
  if (end <= wal::kHeaderSize) return std::nullopt;
  return Region{name, wal::kHeaderSize, end};
}

}  // namespace

std::optional<std::string> SimDisk::CorruptSynced(base::Prng& prng) {
  absl::StatusOr<std::vector<std::string>> names = mem_.List();
  if (!names.ok()) return std::nullopt;
  std::string last_segment;
  uint64_t last_sequence = 0;
  for (const std::string& name : *names) {
    if (auto h = storage::wal::ParseSegmentName(name);
        h.has_value() && h->sequence >= last_sequence) {
      last_sequence = h->sequence;
      last_segment = name;
    }
  }
  std::vector<Region> regions;
  for (const std::string& name : *names) {  // List is sorted
    absl::StatusOr<std::string> data = mem_.SyncedContents(name);
    if (!data.ok()) continue;
    if (storage::wal::ParseSegmentName(name).has_value()) {
      if (auto r = WalRegion(name, *data, name == last_segment)) {
        regions.push_back(*r);
      }
    } else if (storage::ParseSnapshotFileName(name).has_value() &&
               !data->empty()) {
      regions.push_back(Region{name, 0, data->size()});
    }
  }
  if (regions.empty()) return std::nullopt;
  // Half the time a snapshot file, if there is one: WAL segments outnumber
  // them, and the skip-a-corrupt-snapshot path wants reaching too.
  std::vector<const Region*> snapshots;
  for (const Region& r : regions) {
    if (storage::ParseSnapshotFileName(r.file).has_value()) {
      snapshots.push_back(&r);
    }
  }
  const Region& r = !snapshots.empty() && prng.OneIn(2)
                        ? *snapshots[prng.Uniform(snapshots.size())]
                        : regions[prng.Uniform(regions.size())];
  const uint64_t at = prng.InRange(r.begin, r.end - 1);
  if (prng.OneIn(2)) {
    const uint8_t mask = static_cast<uint8_t>(1u << prng.Uniform(8));
    if (!mem_.CorruptSynced(r.file, at, mask).ok()) return std::nullopt;
    return absl::StrCat("bit flip ", r.file, " offset=", at,
                        " mask=", static_cast<int>(mask));
  }
  // The 512-byte sector holding `at`, clipped to the region.
  const uint64_t from = std::max(r.begin, at / 512 * 512);
  const uint64_t to = std::min(r.end, at / 512 * 512 + 512);
  if (!mem_.ZeroSynced(r.file, from, to - from).ok()) return std::nullopt;
  return absl::StrCat("zeroed sector ", r.file, " [", from, ",", to, ")");
}

void SimDisk::Crash(bool torn, base::Prng& prng) {
  if (torn) {
    // Writes the node submitted may have reached the page cache (the I/O
    // thread ran them; their completion was not yet seen): a random prefix
    // of the pending ops takes effect, its fsyncs held back, so the torn
    // crash below has unsynced data to tear.
    const std::vector<uint64_t> pending = mem_.PendingOps();
    const size_t prefix = prng.Uniform(pending.size() + 1);
    for (size_t i = 0; i < prefix; ++i) {
      if (!IsSync(pending[i])) mem_.CompleteOp(pending[i]);
    }
    (void)mem_.TakeCompletions();
    mem_.CrashTorn(prng);
  } else {
    mem_.Crash();
  }
  syncs_.clear();
}

}  // namespace etcdpp::sim
