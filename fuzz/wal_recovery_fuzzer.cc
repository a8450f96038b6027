// wal_recovery_fuzzer: damaged data dirs through storage::Recover.
//
// The first input byte picks a mode:
//   0, 1  a valid WAL is built on a MemDisk (Bootstrap, then batches of
//         entries and hard states drawn from the input, some overwriting
//         the tail of the log as a new leader would, small segments so it
//         rolls over), every op completed; then the rest of the input is a
//         list of damage to the synced files: bit flips, zeroed ranges,
//         truncation, garbage written or appended, a file removed;
//   2     the rest of the input is the whole first segment file;
//   3     a valid segment header followed by the rest of the input.
// Recover must return OK or a clean error, never crash or hang (libFuzzer's
// -timeout catches a hang). When it returns OK:
//   - the entries are contiguous from 1 (there is no snapshot);
//   - every entry is one that was written at its index, and the hard state
//     one that was written: recovery never invents data;
//   - with no damage at all, everything written comes back;
//   - once Recover's repairs (a zeroed torn tail, a new segment) complete,
//     a second Recover agrees with the first: the repair lost nothing more.
// What recovery may legitimately drop (a damaged tail of the last segment
// reads as a torn write, wal_reader.h) is not checked.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "raft/raft.pb.h"
#include "server/storage/data_dir.h"
#include "server/storage/disk.h"
#include "server/storage/mem_disk.h"
#include "server/storage/wal.h"
#include "server/storage/wal_format.h"
#include "server/storage/wal_reader.h"

namespace etcdpp::storage {
namespace {

constexpr WalMetadata kMember{0x1234, 0xabcd};
constexpr int kMaxBatches = 24;
constexpr int kMaxDamage = 16;

// Reads the input front to back; past its end every read is zero.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | (Byte() << 8)); }
  std::string Bytes(size_t n) {
    n = std::min(n, size_ - std::min(pos_, size_));
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string Rest() { return Bytes(size_); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Every entry and hard state ever written, and the log as the writer last
// left it.
struct Written {
  std::map<uint64_t, std::set<std::pair<uint64_t, std::string>>> entries;
  std::set<std::string> hard_states;  // serialized
  std::vector<raftpb::Entry> log;     // log[k] has index k + 1
  raftpb::HardState last_hard_state;
};

// Completes every pending op; each must succeed (a MemDisk failure is
// sticky and would silently stop every later write, the repairs included).
void CompleteAll(MemDisk& disk) {
  disk.CompleteAll();
  for (const DiskCompletion& c : disk.TakeCompletions()) CHECK_OK(c.status);
}

raftpb::Entry MakeEntry(uint64_t index, uint64_t term, size_t size) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(absl::StrCat("i", index, "t", term, std::string(size, 'x')));
  return e;
}

// Batches of 1..4 entries; some first rewind the uncommitted tail and
// overwrite it with a higher term, as a new leader's log would.
Written BuildWal(MemDisk& disk, Input& in) {
  WalOptions options;
  options.segment_size_bytes = wal::kMinSegmentSizeBytes + 64 * (in.Byte() % 16);
  absl::StatusOr<std::unique_ptr<Wal>> wal = Bootstrap(disk, options, kMember);
  CHECK_OK(wal.status());
  Written w;
  uint64_t term = 1;
  uint64_t commit = 0;
  const int batches = 1 + in.Byte() % kMaxBatches;
  for (int b = 0; b < batches; ++b) {
    const uint8_t shape = in.Byte();
    uint64_t next = w.log.size() + 1;
    if (shape & 0x80 && next - 1 > commit) {
      // Rewind 1..4 entries, never into the committed prefix.
      next -= std::min<uint64_t>(1 + (shape & 3), next - 1 - commit);
      ++term;
      w.log.resize(next - 1);
    }
    std::vector<raftpb::Entry> batch;
    for (int k = 0; k <= (shape >> 2) % 4; ++k) {
      batch.push_back(MakeEntry(next + k, term, (shape >> 4) % 8 * 16));
      w.entries[next + k].insert({term, batch.back().data()});
      w.log.push_back(batch.back());
    }
    commit = std::max<uint64_t>(commit, w.log.size() > 2 ? w.log.size() - 2 : 0);
    raftpb::HardState hs;
    hs.set_term(term);
    hs.set_vote(1);
    hs.set_commit(commit);
    w.hard_states.insert(hs.SerializeAsString());
    w.last_hard_state = hs;
    (*wal)->Append(batch, hs);
  }
  CompleteAll(disk);
  return w;
}

// One piece of damage to a file of the dir; false if there was none.
bool Damage(MemDisk& disk, Input& in) {
  const uint8_t kind = in.Byte() % 6;
  absl::StatusOr<std::vector<std::string>> names = disk.List();
  CHECK_OK(names.status());
  if (names->empty()) return false;
  const std::string name = (*names)[in.Byte() % names->size()];
  const uint64_t size = *disk.FileSize(name);
  const uint64_t offset = size == 0 ? 0 : in.U16() % size;
  switch (kind) {
    case 0:
      if (size == 0) return false;
      CHECK_OK(disk.CorruptSynced(name, offset, in.Byte() | 1));
      return true;
    case 1:
      if (size == 0) return false;
      CHECK_OK(disk.ZeroSynced(name, offset,
                               std::min<uint64_t>(size - offset,
                                                  1 + in.U16() % 512)));
      return true;
    case 2:
      disk.Submit(TruncateOp{name, offset});
      break;
    case 3:
      disk.Submit(WriteOp{name, offset, in.Bytes(1 + in.Byte() % 64)});
      break;
    case 4:
      disk.Submit(AppendOp{name, in.Bytes(1 + in.Byte() % 64)});
      break;
    case 5:
      disk.Submit(RemoveOp{name});
      disk.Submit(SyncDirOp{});
      CompleteAll(disk);
      return true;
  }
  disk.Submit(SyncOp{name});
  CompleteAll(disk);
  return true;
}

// A data dir whose only segment is `segment`, raw.
void RawSegment(MemDisk& disk, const std::string& segment) {
  SaveMemberFile(disk, kMember);
  const std::string name = wal::SegmentName(1, 1);
  disk.Submit(CreateOp{name});
  disk.Submit(WriteOp{name, 0, segment});
  disk.Submit(SyncOp{name});
  disk.Submit(SyncDirOp{});
  CompleteAll(disk);
}

void CheckContiguous(const RecoveredState& state) {
  CHECK(!state.snapshot.has_value()) << "no snapshot file was written";
  for (size_t k = 0; k < state.entries.size(); ++k) {
    CHECK_EQ(state.entries[k].index(), k + 1) << "recovered entries are "
                                                 "contiguous from 1";
  }
}

// Recovery returns nothing that was not written.
void CheckNothingInvented(const RecoveredState& state, const Written& w) {
  for (const raftpb::Entry& e : state.entries) {
    auto it = w.entries.find(e.index());
    CHECK(it != w.entries.end()) << "an entry at an index never written";
    CHECK(it->second.contains({e.term(), e.data()}))
        << "entry " << e.index() << " term " << e.term()
        << " was never written at that index";
    CHECK_EQ(e.type(), raftpb::EntryNormal) << "entry type as written";
  }
  const std::string hs = state.hard_state.SerializeAsString();
  if (!hs.empty()) {
    CHECK(w.hard_states.contains(hs)) << "a hard state never written";
  }
}

void CheckEverythingBack(const RecoveredState& state, const Written& w) {
  CHECK_EQ(state.entries.size(), w.log.size()) << "an undamaged WAL loses "
                                                  "nothing";
  for (size_t k = 0; k < w.log.size(); ++k) {
    CHECK_EQ(state.entries[k].SerializeAsString(), w.log[k].SerializeAsString());
  }
  CHECK_EQ(state.hard_state.SerializeAsString(),
           w.last_hard_state.SerializeAsString());
  CHECK(!state.torn_tail.has_value()) << "an undamaged WAL has no torn tail";
}

// Recovers again once the first recovery's repairs are on disk.
void CheckRecoverAgain(MemDisk& disk, const RecoveredState& first) {
  CompleteAll(disk);
  absl::StatusOr<RecoveredState> again = Recover(disk, WalOptions{});
  CHECK(again.ok()) << "a repaired WAL recovers: " << again.status();
  CHECK_EQ(again->entries.size(), first.entries.size())
      << "the repair lost no entry";
  for (size_t k = 0; k < first.entries.size(); ++k) {
    CHECK_EQ(again->entries[k].SerializeAsString(),
             first.entries[k].SerializeAsString());
  }
  CHECK_EQ(again->hard_state.SerializeAsString(),
           first.hard_state.SerializeAsString());
  CHECK(!again->torn_tail.has_value()) << "the repair cleared the torn tail";
  CompleteAll(disk);
}

}  // namespace
}  // namespace etcdpp::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace etcdpp::storage;
  Input in(data, size);
  MemDisk disk;
  const uint8_t mode = in.Byte() % 4;
  std::optional<Written> written;
  bool damaged = false;
  if (mode <= 1) {
    written = BuildWal(disk, in);
    for (int k = 0; k < kMaxDamage && !in.empty(); ++k) {
      damaged = Damage(disk, in) || damaged;
    }
  } else if (mode == 2) {
    RawSegment(disk, in.Rest());
  } else {
    RawSegment(disk, wal::EncodeHeader({1, 1}) + in.Rest());
  }
  absl::StatusOr<RecoveredState> state = Recover(disk, WalOptions{});
  if (!state.ok()) return 0;  // a clean error is a fine answer
  CheckContiguous(*state);
  if (written.has_value()) {
    CheckNothingInvented(*state, *written);
    if (!damaged) CheckEverythingBack(*state, *written);
  }
  state->wal.reset();
  CheckRecoverAgain(disk, *state);
  return 0;
}
