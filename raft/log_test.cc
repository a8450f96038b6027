#include "raft/log.h"

#include <memory>

#include "gtest/gtest.h"

namespace etcdpp::raft {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  return e;
}

std::vector<raftpb::Entry> Terms(uint64_t first, std::vector<uint64_t> terms) {
  std::vector<raftpb::Entry> out;
  for (uint64_t t : terms) out.push_back(E(first++, t));
  return out;
}

std::vector<uint64_t> TermsOf(const RaftLog& log) {
  std::vector<uint64_t> out;
  for (const raftpb::Entry& e : log.AllEntries()) out.push_back(e.term());
  return out;
}

TEST(RaftLogTest, FindConflict) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(Terms(1, {1, 2, 3}));
  struct Case {
    std::vector<raftpb::Entry> ents;
    uint64_t want;
  };
  const std::vector<Case> cases = {
      {{}, 0},
      {Terms(1, {1, 2, 3}), 0},
      {Terms(2, {2, 3}), 0},
      {Terms(3, {3}), 0},
      {Terms(1, {1, 2, 3, 4, 4}), 4},  // new entries
      {Terms(3, {3, 4, 4}), 4},
      {Terms(1, {4, 4}), 1},  // conflicts
      {Terms(2, {1, 4, 4}), 2},
      {Terms(3, {1, 2, 4, 4}), 3},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    EXPECT_EQ(log.FindConflict(cases[k].ents), cases[k].want) << k;
  }
}

TEST(RaftLogTest, FindConflictByTerm) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  // Terms at indexes 1..7: 1 1 2 2 2 5 5
  log.Append(Terms(1, {1, 1, 2, 2, 2, 5, 5}));
  struct Case {
    uint64_t index, term, want_index, want_term;
  };
  const std::vector<Case> cases = {
      {7, 5, 7, 5}, {7, 4, 5, 2}, {7, 2, 5, 2}, {7, 1, 2, 1},
      {7, 0, 0, 0}, {4, 9, 4, 2}, {9, 9, 9, 0},  // past our log: unknown
  };
  for (const Case& c : cases) {
    EntryId got = log.FindConflictByTerm(c.index, c.term);
    EXPECT_EQ(got.index, c.want_index) << c.index << "/" << c.term;
    EXPECT_EQ(got.term, c.want_term) << c.index << "/" << c.term;
  }
}

TEST(RaftLogTest, IsUpToDate) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(Terms(1, {1, 2, 3}));
  EXPECT_TRUE(log.IsUpToDate(2, 4));   // higher term wins
  EXPECT_FALSE(log.IsUpToDate(9, 2));  // lower term loses
  EXPECT_TRUE(log.IsUpToDate(3, 3));
  EXPECT_TRUE(log.IsUpToDate(4, 3));
  EXPECT_FALSE(log.IsUpToDate(2, 3));
}

TEST(RaftLogTest, MaybeAppendMatchesTruncatesAndCommits) {
  struct Case {
    EntryId prev;
    uint64_t committed;
    std::vector<raftpb::Entry> ents;
    RaftLog::AppendResult want;
    uint64_t want_last_new;
    uint64_t want_commit;
    std::vector<uint64_t> want_terms;
  };
  using R = RaftLog::AppendResult;
  const std::vector<Case> cases = {
      // Mismatched prev term, or prev past our log.
      {{2, 3}, 3, Terms(4, {4}), R::kMismatch, 0, 1, {1, 2, 3}},
      {{3, 4}, 3, Terms(5, {4}), R::kMismatch, 0, 1, {1, 2, 3}},
      // Matches; commit is min(committed, last new).
      {{3, 3}, 3, {}, R::kAppended, 3, 3, {1, 2, 3}},
      {{3, 3}, 9, Terms(4, {4}), R::kAppended, 4, 4, {1, 2, 3, 4}},
      {{3, 3}, 2, {}, R::kAppended, 3, 2, {1, 2, 3}},
      // Truncation of conflicting uncommitted entries.
      {{1, 1}, 2, Terms(2, {4}), R::kAppended, 2, 2, {1, 4}},
      {{2, 2}, 3, Terms(3, {4, 4}), R::kAppended, 4, 3, {1, 2, 4, 4}},
      // Older duplicates do not truncate.
      {{1, 1}, 1, Terms(2, {2}), R::kAppended, 2, 1, {1, 2, 3}},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    MemoryStorage storage;
    RaftLog log(&storage, kNoLimit);
    log.Append(Terms(1, {1, 2, 3}));
    log.CommitTo(1);
    RaftLog::MaybeAppendOutcome got =
        log.MaybeAppend(cases[k].prev, cases[k].committed, cases[k].ents);
    EXPECT_EQ(got.result, cases[k].want) << k;
    EXPECT_EQ(got.last_new_index, cases[k].want_last_new) << k;
    EXPECT_EQ(log.committed(), cases[k].want_commit) << k;
    EXPECT_EQ(TermsOf(log), cases[k].want_terms) << k;
    log.CheckInvariants();
  }
}

TEST(RaftLogTest, MaybeAppendRefusesToOverwriteCommitted) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(Terms(1, {1, 2, 3}));
  log.CommitTo(3);
  RaftLog::MaybeAppendOutcome got = log.MaybeAppend({1, 1}, 3, Terms(2, {5}));
  EXPECT_EQ(got.result, RaftLog::AppendResult::kConflictsWithCommitted);
  EXPECT_EQ(TermsOf(log), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(RaftLogTest, Figure8CommitRuleNeedsCurrentTerm) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(Terms(1, {1, 2, 3}));
  EXPECT_FALSE(log.MaybeCommit(2, 3));  // entry 2 has term 2
  EXPECT_EQ(log.committed(), 0u);
  EXPECT_TRUE(log.MaybeCommit(3, 3));
  EXPECT_EQ(log.committed(), 3u);
  EXPECT_FALSE(log.MaybeCommit(2, 2));  // never goes down
}

TEST(RaftLogTest, StableAndCommittedEntriesAcrossStorage) {
  MemoryStorage storage;
  ASSERT_TRUE(storage.Append(Terms(1, {1, 1})).ok());
  RaftLog log(&storage, kNoLimit);
  EXPECT_EQ(log.LastIndex(), 2u);
  log.Append(Terms(3, {2, 2}));
  EXPECT_EQ(log.NextUnstableEntries().size(), 2u);
  log.CommitTo(4);
  // Committed entries span storage and the unstable part.
  std::vector<raftpb::Entry> ents = log.NextCommittedEntries();
  ASSERT_EQ(ents.size(), 4u);
  log.AcceptApplying(4);
  EXPECT_FALSE(log.HasNextCommittedEntries());
  ASSERT_TRUE(storage.Append(Terms(3, {2, 2})).ok());
  log.StableTo(4, 2);
  EXPECT_TRUE(log.unstable().entries().empty());
  EXPECT_EQ(log.LastIndex(), 4u);
  log.AppliedTo(4);
  log.CheckInvariants();
}

TEST(RaftLogTest, SliceSizeLimitSpansStorageAndUnstable) {
  MemoryStorage storage;
  ASSERT_TRUE(storage.Append(Terms(1, {1, 1})).ok());
  RaftLog log(&storage, kNoLimit);
  log.Append(Terms(3, {1, 1}));
  const uint64_t one = EntrySize(E(1, 1));
  EXPECT_EQ(log.Slice(1, 5, kNoLimit)->size(), 4u);
  EXPECT_EQ(log.Slice(1, 5, 0)->size(), 1u);
  EXPECT_EQ(log.Slice(1, 5, 3 * one)->size(), 3u);
  EXPECT_EQ(log.Slice(3, 5, one)->size(), 1u);
}

TEST(RaftLogTest, CompactedRangesReportCompacted) {
  MemoryStorage storage;
  ASSERT_TRUE(storage.Append(Terms(1, {1, 1, 1, 1})).ok());
  ASSERT_TRUE(storage.Compact(2).ok());
  RaftLog log(&storage, kNoLimit);
  EXPECT_EQ(log.FirstIndex(), 3u);
  EXPECT_EQ(*log.Term(2), 1u);  // kept with the snapshot
  EXPECT_TRUE(IsCompacted(log.Term(1).status()));
  EXPECT_TRUE(IsCompacted(log.Slice(2, 4, kNoLimit).status()));
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_EQ(log.FindConflictByTerm(1, 5).term, 0u);
}

TEST(RaftLogTest, RestoreFromSnapshot) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(Terms(1, {1, 1}));
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(10);
  snap.mutable_metadata()->set_term(3);
  log.Restore(snap);
  EXPECT_EQ(log.committed(), 10u);
  EXPECT_EQ(log.LastIndex(), 10u);
  EXPECT_EQ(log.FirstIndex(), 11u);
  EXPECT_EQ(log.LastTerm(), 3u);
  EXPECT_FALSE(log.HasNextCommittedEntries());  // snapshot first
  ASSERT_NE(log.NextUnstableSnapshot(), nullptr);
  log.CheckInvariants();
}

}  // namespace
}  // namespace etcdpp::raft
