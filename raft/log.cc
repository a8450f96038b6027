#include "raft/log.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace etcdpp::raft {

RaftLog::RaftLog(const Storage* storage, uint64_t max_applying_size)
    : storage_(storage), max_applying_size_(max_applying_size) {
  CHECK(storage != nullptr) << "a raft log reads from a storage";
  const uint64_t first = storage->FirstIndex();
  const uint64_t last = storage->LastIndex();
  unstable_ = Unstable(last + 1);
  // Everything before the first stored entry is in the snapshot, which is
  // committed and applied by definition.
  committed_ = first - 1;
  applying_ = first - 1;
  applied_ = first - 1;
}

RaftLog::MaybeAppendOutcome RaftLog::MaybeAppend(
    EntryId prev, uint64_t committed, absl::Span<const raftpb::Entry> entries) {
  if (!MatchTerm(prev.index, prev.term)) {
    return {AppendResult::kMismatch, 0};
  }
  const uint64_t last_new = prev.index + entries.size();
  const uint64_t conflict = FindConflict(entries);
  if (conflict != 0) {
    // A correct leader never sends entries that differ from committed ones
    // (Leader Completeness, §5.4); refuse them rather than lose data.
    if (conflict <= committed_) {
      return {AppendResult::kConflictsWithCommitted, 0};
    }
    Append(entries.subspan(conflict - (prev.index + 1)));
  }
  CommitTo(std::min(committed, last_new));
  return {AppendResult::kAppended, last_new};
}

uint64_t RaftLog::Append(absl::Span<const raftpb::Entry> entries) {
  if (entries.empty()) return LastIndex();
  CHECK_GT(entries[0].index(), committed_)
      << "committed entries are never overwritten";
  unstable_.TruncateAndAppend(entries);
  return LastIndex();
}

uint64_t RaftLog::FindConflict(absl::Span<const raftpb::Entry> entries) const {
  for (const raftpb::Entry& e : entries) {
    if (!MatchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

EntryId RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  for (; index > 0; --index) {
    absl::StatusOr<uint64_t> ours = Term(index);
    // Compacted or missing: we cannot tell, so assume it may match.
    if (!ours.ok()) return {0, index};
    if (*ours <= term) return {*ours, index};
  }
  return {0, 0};
}

uint64_t RaftLog::FirstIndex() const {
  if (std::optional<uint64_t> i = unstable_.MaybeFirstIndex()) return *i;
  return storage_->FirstIndex();
}

uint64_t RaftLog::LastIndex() const {
  if (std::optional<uint64_t> i = unstable_.MaybeLastIndex()) return *i;
  return storage_->LastIndex();
}

uint64_t RaftLog::LastTerm() const {
  absl::StatusOr<uint64_t> t = Term(LastIndex());
  CHECK(t.ok()) << "the term of the last entry is always known: " << t.status();
  return *t;
}

absl::StatusOr<uint64_t> RaftLog::Term(uint64_t i) const {
  // The unstable part first: if it knows the term, i is in range.
  if (std::optional<uint64_t> t = unstable_.MaybeTerm(i)) return *t;
  // The valid range is [FirstIndex() - 1, LastIndex()]: the term of the
  // entry just before the first is kept with the snapshot.
  if (i + 1 < FirstIndex()) return CompactedError();
  if (i > LastIndex()) return EntryUnavailableError();
  absl::StatusOr<uint64_t> t = storage_->Term(i);
  if (!t.ok()) {
    CHECK(IsCompacted(t.status()) || IsEntryUnavailable(t.status()))
        << "storage fails only with compacted or unavailable: " << t.status();
  }
  return t;
}

uint64_t RaftLog::TermOrZero(uint64_t i) const {
  absl::StatusOr<uint64_t> t = Term(i);
  return t.ok() ? *t : 0;
}

bool RaftLog::MatchTerm(uint64_t i, uint64_t term) const {
  absl::StatusOr<uint64_t> t = Term(i);
  return t.ok() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t last_term) const {
  const uint64_t our_term = LastTerm();
  return last_term > our_term ||
         (last_term == our_term && last_index >= LastIndex());
}

absl::StatusOr<std::vector<raftpb::Entry>> RaftLog::Entries(
    uint64_t i, uint64_t max_size) const {
  if (i > LastIndex()) return std::vector<raftpb::Entry>();
  return Slice(i, LastIndex() + 1, max_size);
}

absl::StatusOr<std::vector<raftpb::Entry>> RaftLog::Slice(
    uint64_t lo, uint64_t hi, uint64_t max_size) const {
  CHECK_LE(lo, hi) << "a log slice never ends before it starts";
  CHECK_LE(hi, LastIndex() + 1) << "a log slice ends within the log";
  if (lo < FirstIndex()) return CompactedError();
  if (lo == hi) return std::vector<raftpb::Entry>();
  const uint64_t offset = unstable_.offset();
  if (lo >= offset) {
    std::vector<raftpb::Entry> out = unstable_.Slice(lo, hi);
    LimitSize(&out, max_size);
    return out;
  }
  const uint64_t cut = std::min(hi, offset);
  absl::StatusOr<std::vector<raftpb::Entry>> stored =
      storage_->Entries(lo, cut, max_size);
  if (!stored.ok()) {
    CHECK(IsCompacted(stored.status()))
        << "stored entries below the unstable offset exist: "
        << stored.status();
    return stored.status();
  }
  std::vector<raftpb::Entry> out = *std::move(stored);
  if (hi <= offset || out.size() < cut - lo) return out;
  uint64_t size = 0;
  for (const raftpb::Entry& e : out) size += EntrySize(e);
  for (const raftpb::Entry& e : unstable_.Slice(offset, hi)) {
    size += EntrySize(e);
    if (size > max_size) break;
    out.push_back(e);
  }
  return out;
}

std::vector<raftpb::Entry> RaftLog::AllEntries() const {
  absl::StatusOr<std::vector<raftpb::Entry>> all =
      Entries(FirstIndex(), kNoLimit);
  CHECK(all.ok()) << "entries from the first index are readable";
  return *std::move(all);
}

void RaftLog::CommitTo(uint64_t to_commit) {
  if (to_commit <= committed_) return;
  CHECK_LE(to_commit, LastIndex()) << "only entries we hold are committed";
  committed_ = to_commit;
}

bool RaftLog::MaybeCommit(uint64_t max_index, uint64_t term) {
  if (max_index > committed_ && TermOrZero(max_index) == term) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

void RaftLog::AppliedTo(uint64_t i) {
  if (i == 0) return;
  CHECK_LE(i, committed_) << "applied never passes committed";
  CHECK_GE(i, applied_) << "applied never goes down";
  applied_ = i;
  applying_ = std::max(applying_, i);
}

std::vector<raftpb::Entry> RaftLog::NextCommittedEntries() const {
  // A pending snapshot must be applied before any entry after it.
  if (HasUnstableSnapshot()) return {};
  const uint64_t lo = applying_ + 1;
  const uint64_t hi = committed_ + 1;
  if (lo >= hi) return {};
  absl::StatusOr<std::vector<raftpb::Entry>> out =
      Slice(lo, hi, max_applying_size_);
  CHECK(out.ok()) << "committed entries not yet applied are readable: "
                  << out.status();
  return *std::move(out);
}

bool RaftLog::HasNextCommittedEntries() const {
  return !HasUnstableSnapshot() && applying_ < committed_;
}

absl::StatusOr<raftpb::Snapshot> RaftLog::Snapshot() const {
  if (unstable_.snapshot().has_value()) return *unstable_.snapshot();
  return storage_->Snapshot();
}

void RaftLog::Restore(const raftpb::Snapshot& snapshot) {
  committed_ = snapshot.metadata().index();
  unstable_.Restore(snapshot);
}

void RaftLog::CheckInvariants() const {
  CHECK_LE(applied_, applying_) << "applied <= applying";
  CHECK_LE(applying_, committed_) << "applying <= committed";
  CHECK_LE(committed_, LastIndex()) << "committed <= last index";
  CHECK_LE(FirstIndex(), LastIndex() + 1) << "first index <= last index + 1";
  unstable_.CheckInvariants();
}

}  // namespace etcdpp::raft
