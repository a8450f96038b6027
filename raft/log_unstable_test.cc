#include "raft/log_unstable.h"

#include "gtest/gtest.h"

namespace etcdpp::raft {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  return e;
}

raftpb::Snapshot Snap(uint64_t index, uint64_t term) {
  raftpb::Snapshot s;
  s.mutable_metadata()->set_index(index);
  s.mutable_metadata()->set_term(term);
  return s;
}

TEST(UnstableTest, IndexesAndTerms) {
  Unstable u(5);
  EXPECT_FALSE(u.MaybeFirstIndex().has_value());
  EXPECT_FALSE(u.MaybeLastIndex().has_value());
  u.TruncateAndAppend(std::vector<raftpb::Entry>{E(5, 1), E(6, 2)});
  EXPECT_EQ(*u.MaybeLastIndex(), 6u);
  EXPECT_EQ(*u.MaybeTerm(6), 2u);
  EXPECT_FALSE(u.MaybeTerm(4).has_value());
  EXPECT_FALSE(u.MaybeTerm(7).has_value());
  u.Restore(Snap(10, 3));
  EXPECT_EQ(*u.MaybeFirstIndex(), 11u);
  EXPECT_EQ(*u.MaybeLastIndex(), 10u);
  EXPECT_EQ(*u.MaybeTerm(10), 3u);
  EXPECT_FALSE(u.MaybeTerm(9).has_value());
  u.CheckInvariants();
}

TEST(UnstableTest, TruncateAndAppendCases) {
  struct Case {
    std::vector<raftpb::Entry> append;
    uint64_t want_offset;
    std::vector<uint64_t> want_terms;
  };
  const std::vector<Case> cases = {
      {{E(7, 1)}, 5, {1, 1, 1}},           // directly after
      {{E(5, 2), E(6, 2)}, 5, {2, 2}},     // replaces all
      {{E(4, 2), E(5, 2)}, 4, {2, 2}},     // before the offset
      {{E(6, 2)}, 5, {1, 2}},              // truncates in the middle
      {{E(6, 2), E(7, 2), E(8, 2)}, 5, {1, 2, 2, 2}},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    Unstable u(5);
    u.TruncateAndAppend(std::vector<raftpb::Entry>{E(5, 1), E(6, 1)});
    u.TruncateAndAppend(cases[k].append);
    EXPECT_EQ(u.offset(), cases[k].want_offset) << k;
    std::vector<uint64_t> terms;
    for (const raftpb::Entry& e : u.entries()) terms.push_back(e.term());
    EXPECT_EQ(terms, cases[k].want_terms) << k;
    u.CheckInvariants();
  }
}

TEST(UnstableTest, StableToIgnoresOverwrittenEntries) {
  Unstable u(5);
  u.TruncateAndAppend(std::vector<raftpb::Entry>{E(5, 1), E(6, 1)});
  u.AcceptInProgress();
  u.StableTo(6, 2);  // term mismatch: nothing happens
  EXPECT_EQ(u.entries().size(), 2u);
  u.StableTo(5, 1);
  EXPECT_EQ(u.offset(), 6u);
  EXPECT_EQ(u.entries().size(), 1u);
  u.StableTo(9, 1);  // unknown index: nothing happens
  EXPECT_EQ(u.entries().size(), 1u);
  u.CheckInvariants();
}

TEST(UnstableTest, InProgressTracksHandedOutEntries) {
  Unstable u(5);
  u.TruncateAndAppend(std::vector<raftpb::Entry>{E(5, 1), E(6, 1)});
  EXPECT_EQ(u.NextEntries().size(), 2u);
  u.AcceptInProgress();
  EXPECT_TRUE(u.NextEntries().empty());
  u.TruncateAndAppend(std::vector<raftpb::Entry>{E(7, 1)});
  EXPECT_EQ(u.NextEntries().size(), 1u);
  // Overwriting a handed-out entry makes it due again.
  u.TruncateAndAppend(std::vector<raftpb::Entry>{E(6, 2)});
  ASSERT_EQ(u.NextEntries().size(), 1u);
  EXPECT_EQ(u.NextEntries()[0].term(), 2u);
  u.CheckInvariants();
}

TEST(UnstableTest, SnapshotInProgress) {
  Unstable u(1);
  u.Restore(Snap(4, 2));
  ASSERT_NE(u.NextSnapshot(), nullptr);
  u.AcceptInProgress();
  EXPECT_EQ(u.NextSnapshot(), nullptr);
  u.StableSnapTo(3);
  EXPECT_TRUE(u.snapshot().has_value());
  u.StableSnapTo(4);
  EXPECT_FALSE(u.snapshot().has_value());
  u.CheckInvariants();
}

}  // namespace
}  // namespace etcdpp::raft
