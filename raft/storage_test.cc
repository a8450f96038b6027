#include "raft/storage.h"

#include <vector>

#include "gtest/gtest.h"

namespace etcdpp::raft {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  return e;
}

// A storage whose snapshot is at (3, 3) and that holds entries 4 and 5.
MemoryStorage Make345() {
  MemoryStorage s;
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(3);
  snap.mutable_metadata()->set_term(3);
  EXPECT_TRUE(s.ApplySnapshot(snap).ok());
  EXPECT_TRUE(s.Append({E(4, 4), E(5, 5)}).ok());
  return s;
}

TEST(MemoryStorageTest, TermOverTheValidRange) {
  MemoryStorage s = Make345();
  EXPECT_TRUE(IsCompacted(s.Term(2).status()));
  EXPECT_EQ(*s.Term(3), 3u);  // the snapshot's term
  EXPECT_EQ(*s.Term(4), 4u);
  EXPECT_EQ(*s.Term(5), 5u);
  EXPECT_TRUE(IsEntryUnavailable(s.Term(6).status()));
}

TEST(MemoryStorageTest, EntriesRespectsBoundsAndSizeLimit) {
  MemoryStorage s = Make345();
  ASSERT_TRUE(s.Append({E(6, 6)}).ok());
  EXPECT_TRUE(IsCompacted(s.Entries(2, 6, kNoLimit).status()));
  EXPECT_TRUE(IsCompacted(s.Entries(3, 4, kNoLimit).status()));
  EXPECT_TRUE(IsEntryUnavailable(s.Entries(4, 8, kNoLimit).status()));
  EXPECT_EQ(s.Entries(4, 7, kNoLimit)->size(), 3u);
  EXPECT_EQ(s.Entries(4, 5, kNoLimit)->size(), 1u);
  // Always at least one entry, even over the limit.
  EXPECT_EQ(s.Entries(4, 7, 0)->size(), 1u);
  const uint64_t two = EntrySize(E(4, 4)) + EntrySize(E(5, 5));
  EXPECT_EQ(s.Entries(4, 7, two)->size(), 2u);
  EXPECT_EQ(s.Entries(4, 7, two - 1)->size(), 1u);
}

TEST(MemoryStorageTest, FirstAndLastIndex) {
  MemoryStorage s = Make345();
  EXPECT_EQ(s.FirstIndex(), 4u);
  EXPECT_EQ(s.LastIndex(), 5u);
  ASSERT_TRUE(s.Compact(4).ok());
  EXPECT_EQ(s.FirstIndex(), 5u);
  EXPECT_EQ(s.LastIndex(), 5u);
}

TEST(MemoryStorageTest, Compact) {
  MemoryStorage s = Make345();
  EXPECT_TRUE(IsCompacted(s.Compact(2)));
  EXPECT_TRUE(IsCompacted(s.Compact(3)));
  EXPECT_EQ(s.Compact(9).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(s.Compact(5).ok());
  EXPECT_EQ(*s.Term(5), 5u);
  EXPECT_EQ(s.FirstIndex(), 6u);
}

TEST(MemoryStorageTest, CreateSnapshot) {
  MemoryStorage s = Make345();
  raftpb::ConfState cs;
  cs.add_voters(1);
  absl::StatusOr<raftpb::Snapshot> snap = s.CreateSnapshot(4, &cs, "data");
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->metadata().index(), 4u);
  EXPECT_EQ(snap->metadata().term(), 4u);
  EXPECT_EQ(snap->data(), "data");
  EXPECT_TRUE(IsSnapshotOutOfDate(s.CreateSnapshot(3, &cs, "").status()));
  EXPECT_FALSE(s.CreateSnapshot(9, &cs, "").ok());
}

TEST(MemoryStorageTest, AppendTruncatesAndExtends) {
  struct Case {
    std::vector<raftpb::Entry> append;
    bool ok;
    std::vector<std::pair<uint64_t, uint64_t>> want;  // (index, term)
  };
  const std::vector<Case> cases = {
      {{E(4, 4), E(5, 5)}, true, {{3, 3}, {4, 4}, {5, 5}}},
      {{E(4, 4), E(5, 6), E(6, 6)}, true, {{3, 3}, {4, 4}, {5, 6}, {6, 6}}},
      {{E(4, 4), E(5, 5), E(6, 5)}, true, {{3, 3}, {4, 4}, {5, 5}, {6, 5}}},
      // Entries under the snapshot are ignored.
      {{E(2, 3), E(3, 3), E(4, 5)}, true, {{3, 3}, {4, 5}}},
      {{E(4, 5)}, true, {{3, 3}, {4, 5}}},
      {{E(6, 5)}, true, {{3, 3}, {4, 4}, {5, 5}, {6, 5}}},
      // A gap.
      {{E(7, 5)}, false, {{3, 3}, {4, 4}, {5, 5}}},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    MemoryStorage s = Make345();
    EXPECT_EQ(s.Append(cases[k].append).ok(), cases[k].ok) << "case " << k;
    std::vector<std::pair<uint64_t, uint64_t>> got;
    for (uint64_t i = s.FirstIndex() - 1; i <= s.LastIndex(); ++i) {
      got.emplace_back(i, *s.Term(i));
    }
    EXPECT_EQ(got, cases[k].want) << "case " << k;
  }
}

TEST(MemoryStorageTest, ApplySnapshotRefusesOlder) {
  MemoryStorage s;
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(4);
  snap.mutable_metadata()->set_term(4);
  ASSERT_TRUE(s.ApplySnapshot(snap).ok());
  snap.mutable_metadata()->set_index(3);
  EXPECT_TRUE(IsSnapshotOutOfDate(s.ApplySnapshot(snap)));
  EXPECT_EQ(s.FirstIndex(), 5u);
}

TEST(MemoryStorageTest, ErrorsHaveDistinctCodes) {
  EXPECT_TRUE(IsCompacted(CompactedError()));
  EXPECT_FALSE(IsEntryUnavailable(CompactedError()));
  EXPECT_TRUE(IsEntryUnavailable(EntryUnavailableError()));
  EXPECT_TRUE(
      IsSnapshotTemporarilyUnavailable(SnapshotTemporarilyUnavailableError()));
  EXPECT_FALSE(IsCompacted(SnapshotOutOfDateError()));
}

}  // namespace
}  // namespace etcdpp::raft
