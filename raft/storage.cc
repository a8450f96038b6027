#include "raft/storage.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::raft {

absl::Status CompactedError() {
  return absl::OutOfRangeError(
      "raft: requested index is unavailable due to compaction");
}
absl::Status EntryUnavailableError() {
  return absl::NotFoundError("raft: requested entry at index is unavailable");
}
absl::Status SnapshotTemporarilyUnavailableError() {
  return absl::UnavailableError("raft: snapshot is temporarily unavailable");
}
absl::Status SnapshotOutOfDateError() {
  return absl::FailedPreconditionError(
      "raft: requested index is older than the existing snapshot");
}

bool IsCompacted(const absl::Status& status) {
  return status.code() == absl::StatusCode::kOutOfRange;
}
bool IsEntryUnavailable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kNotFound;
}
bool IsSnapshotTemporarilyUnavailable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}
bool IsSnapshotOutOfDate(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition;
}

uint64_t EntrySize(const raftpb::Entry& entry) { return entry.ByteSizeLong(); }
uint64_t PayloadSize(const raftpb::Entry& entry) { return entry.data().size(); }

void LimitSize(std::vector<raftpb::Entry>* entries, uint64_t max_size) {
  if (entries->empty()) return;
  uint64_t size = EntrySize((*entries)[0]);
  size_t keep = 1;
  for (; keep < entries->size(); ++keep) {
    size += EntrySize((*entries)[keep]);
    if (size > max_size) break;
  }
  entries->resize(keep);
}

MemoryStorage::MemoryStorage() { ents_.emplace_back(); }

absl::StatusOr<InitialState> MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, snapshot_.metadata().conf_state()};
}

absl::StatusOr<std::vector<raftpb::Entry>> MemoryStorage::Entries(
    uint64_t lo, uint64_t hi, uint64_t max_size) const {
  CHECK_LE(lo, hi) << "an entry range never ends before it starts";
  if (lo <= Offset()) return CompactedError();
  if (hi > LastIndex() + 1) return EntryUnavailableError();
  // Only the dummy entry is left: nothing to read.
  if (ents_.size() == 1) return EntryUnavailableError();
  std::vector<raftpb::Entry> out(ents_.begin() + (lo - Offset()),
                                 ents_.begin() + (hi - Offset()));
  LimitSize(&out, max_size);
  return out;
}

absl::StatusOr<uint64_t> MemoryStorage::Term(uint64_t i) const {
  if (i < Offset()) return CompactedError();
  if (i - Offset() >= ents_.size()) return EntryUnavailableError();
  return ents_[i - Offset()].term();
}

uint64_t MemoryStorage::LastIndex() const {
  return Offset() + ents_.size() - 1;
}

uint64_t MemoryStorage::FirstIndex() const { return Offset() + 1; }

absl::StatusOr<raftpb::Snapshot> MemoryStorage::Snapshot() const {
  return snapshot_;
}

void MemoryStorage::SetHardState(const raftpb::HardState& hard_state) {
  hard_state_ = hard_state;
}

absl::Status MemoryStorage::ApplySnapshot(const raftpb::Snapshot& snapshot) {
  if (snapshot.metadata().index() < snapshot_.metadata().index()) {
    return SnapshotOutOfDateError();
  }
  snapshot_ = snapshot;
  ents_.clear();
  raftpb::Entry& dummy = ents_.emplace_back();
  dummy.set_index(snapshot.metadata().index());
  dummy.set_term(snapshot.metadata().term());
  return absl::OkStatus();
}

absl::StatusOr<raftpb::Snapshot> MemoryStorage::CreateSnapshot(
    uint64_t i, const raftpb::ConfState* conf_state, std::string data) {
  if (i <= snapshot_.metadata().index()) return SnapshotOutOfDateError();
  if (i > LastIndex()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raft: snapshot index ", i, " is past the last index ", LastIndex()));
  }
  snapshot_.mutable_metadata()->set_index(i);
  snapshot_.mutable_metadata()->set_term(ents_[i - Offset()].term());
  if (conf_state != nullptr) {
    *snapshot_.mutable_metadata()->mutable_conf_state() = *conf_state;
  }
  snapshot_.set_data(std::move(data));
  return snapshot_;
}

absl::Status MemoryStorage::Compact(uint64_t compact_index) {
  if (compact_index <= Offset()) return CompactedError();
  if (compact_index > LastIndex()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raft: compact index ", compact_index,
                     " is past the last index ", LastIndex()));
  }
  const uint64_t k = compact_index - Offset();
  std::vector<raftpb::Entry> kept;
  kept.reserve(ents_.size() - k);
  kept.emplace_back();
  kept[0].set_index(ents_[k].index());
  kept[0].set_term(ents_[k].term());
  for (size_t j = k + 1; j < ents_.size(); ++j) {
    kept.push_back(std::move(ents_[j]));
  }
  ents_ = std::move(kept);
  return absl::OkStatus();
}

absl::Status MemoryStorage::Append(std::vector<raftpb::Entry> entries) {
  if (entries.empty()) return absl::OkStatus();
  for (size_t k = 1; k < entries.size(); ++k) {
    if (entries[k].index() != entries[k - 1].index() + 1) {
      return absl::InvalidArgumentError("raft: appended entries not contiguous");
    }
  }
  const uint64_t first = FirstIndex();
  const uint64_t last = entries.back().index();
  // Everything is already covered by the snapshot.
  if (last < first) return absl::OkStatus();
  size_t skip = 0;
  if (first > entries[0].index()) skip = first - entries[0].index();
  const uint64_t start = entries[skip].index();
  if (start > LastIndex() + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("raft: missing log entries [last: ", LastIndex(),
                     ", append at: ", start, "]"));
  }
  // Truncate what the new entries overwrite, then append.
  ents_.resize(start - Offset());
  for (size_t k = skip; k < entries.size(); ++k) {
    ents_.push_back(std::move(entries[k]));
  }
  return absl::OkStatus();
}

}  // namespace etcdpp::raft
