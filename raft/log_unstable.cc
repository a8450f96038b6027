#include "raft/log_unstable.h"

#include <algorithm>

#include "base/check.h"

namespace etcdpp::raft {

std::optional<uint64_t> Unstable::MaybeFirstIndex() const {
  if (snapshot_.has_value()) return snapshot_->metadata().index() + 1;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_.has_value()) return snapshot_->metadata().index();
  return std::nullopt;
}

std::optional<uint64_t> Unstable::MaybeTerm(uint64_t i) const {
  if (i < offset_) {
    if (snapshot_.has_value() && snapshot_->metadata().index() == i) {
      return snapshot_->metadata().term();
    }
    return std::nullopt;
  }
  std::optional<uint64_t> last = MaybeLastIndex();
  if (!last.has_value() || i > *last) return std::nullopt;
  return entries_[i - offset_].term();
}

absl::Span<const raftpb::Entry> Unstable::NextEntries() const {
  const uint64_t in_progress = offset_in_progress_ - offset_;
  if (in_progress >= entries_.size()) return {};
  return absl::MakeConstSpan(entries_).subspan(in_progress);
}

const raftpb::Snapshot* Unstable::NextSnapshot() const {
  if (!snapshot_.has_value() || snapshot_in_progress_) return nullptr;
  return &*snapshot_;
}

void Unstable::AcceptInProgress() {
  if (!entries_.empty()) offset_in_progress_ = offset_ + entries_.size();
  if (snapshot_.has_value()) snapshot_in_progress_ = true;
}

void Unstable::StableTo(uint64_t i, uint64_t t) {
  std::optional<uint64_t> term = MaybeTerm(i);
  // The entry is unknown here (already stable, or under a snapshot).
  if (!term.has_value()) return;
  // Only entries, not a snapshot's index, may be dropped this way.
  if (i < offset_) return;
  // The entry was overwritten by a new leader while being persisted; the
  // newer entry will be persisted (and stabilized) on its own.
  if (*term != t) return;
  const uint64_t n = i + 1 - offset_;
  entries_.erase(entries_.begin(), entries_.begin() + n);
  offset_ = i + 1;
  offset_in_progress_ = std::max(offset_in_progress_, offset_);
  // Give back memory when the vector has shrunk a lot.
  if (entries_.empty() || entries_.capacity() > 4 * entries_.size() + 64) {
    entries_.shrink_to_fit();
  }
}

void Unstable::StableSnapTo(uint64_t i) {
  if (snapshot_.has_value() && snapshot_->metadata().index() == i) {
    snapshot_.reset();
    snapshot_in_progress_ = false;
  }
}

void Unstable::Restore(const raftpb::Snapshot& snapshot) {
  offset_ = snapshot.metadata().index() + 1;
  offset_in_progress_ = offset_;
  entries_.clear();
  snapshot_ = snapshot;
  snapshot_in_progress_ = false;
}

void Unstable::TruncateAndAppend(absl::Span<const raftpb::Entry> entries) {
  if (entries.empty()) return;
  const uint64_t from = entries[0].index();
  if (from == offset_ + entries_.size()) {
    // The common case: the entries directly follow ours.
    entries_.insert(entries_.end(), entries.begin(), entries.end());
  } else if (from <= offset_) {
    // Replace everything we hold, and restart from `from`.
    entries_.assign(entries.begin(), entries.end());
    offset_ = from;
    offset_in_progress_ = offset_;
  } else {
    // Keep our entries before `from` and append after them.
    CheckOutOfBounds(offset_, from);
    entries_.resize(from - offset_);
    entries_.insert(entries_.end(), entries.begin(), entries.end());
    // Entries from `from` on must be persisted again, even if an older
    // version of them was already handed out.
    offset_in_progress_ = std::min(offset_in_progress_, from);
  }
}

std::vector<raftpb::Entry> Unstable::Slice(uint64_t lo, uint64_t hi) const {
  CheckOutOfBounds(lo, hi);
  return std::vector<raftpb::Entry>(entries_.begin() + (lo - offset_),
                                    entries_.begin() + (hi - offset_));
}

void Unstable::CheckOutOfBounds(uint64_t lo, uint64_t hi) const {
  CHECK_LE(lo, hi) << "an unstable slice never ends before it starts";
  CHECK_GE(lo, offset_) << "an unstable slice starts within the entries";
  CHECK_LE(hi, offset_ + entries_.size())
      << "an unstable slice ends within the entries";
}

void Unstable::CheckInvariants() const {
  CHECK_LE(offset_, offset_in_progress_)
      << "entries in progress start at or after the offset";
  CHECK_LE(offset_in_progress_, offset_ + entries_.size())
      << "entries in progress are held entries";
  for (size_t k = 0; k < entries_.size(); ++k) {
    CHECK_EQ(entries_[k].index(), offset_ + k)
        << "unstable entries are contiguous from the offset";
  }
  if (snapshot_.has_value()) {
    CHECK_EQ(snapshot_->metadata().index() + 1, offset_)
        << "unstable entries directly follow the unstable snapshot";
  }
  if (snapshot_in_progress_) {
    CHECK(snapshot_.has_value()) << "only a held snapshot is in progress";
  }
}

}  // namespace etcdpp::raft
