#include "kv/key_index.h"

#include <vector>

#include "gtest/gtest.h"

namespace etcdpp::kv {
namespace {

using Revs = std::vector<Revision>;

// put(2.0) put(3.0) tombstone(4.0) put(6.0) put(7.1) tombstone(9.0)
KeyIndex TwoGenerations() {
  KeyIndex ki("foo");
  ki.Put({2, 0});
  ki.Put({3, 0});
  ki.Tombstone({4, 0});
  ki.Put({6, 0});
  ki.Put({7, 1});
  ki.Tombstone({9, 0});
  ki.CheckInvariants();
  return ki;
}

TEST(KeyIndexTest, GetFollowsGenerations) {
  const KeyIndex ki = TwoGenerations();
  struct Case {
    int64_t at;
    bool found;
    Revision modified, created;
    int64_t version;
  };
  const Case cases[] = {
      {1, false, {}, {}, 0},        {2, true, {2, 0}, {2, 0}, 1},
      {3, true, {3, 0}, {2, 0}, 2}, {4, false, {}, {}, 0},
      {5, false, {}, {}, 0},        {6, true, {6, 0}, {6, 0}, 1},
      {7, true, {7, 1}, {6, 0}, 2}, {8, true, {7, 1}, {6, 0}, 2},
      {9, false, {}, {}, 0},        {100, false, {}, {}, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.at);
    auto got = ki.Get(c.at);
    ASSERT_EQ(got.has_value(), c.found);
    if (!c.found) continue;
    EXPECT_EQ(got->modified, c.modified);
    EXPECT_EQ(got->created, c.created);
    EXPECT_EQ(got->version, c.version);
  }
}

TEST(KeyIndexTest, SinceGivesEveryChangeOfATransaction) {
  KeyIndex ki("k");
  ki.Put({2, 0});
  ki.Put({2, 3});  // the same transaction wrote twice
  ki.Tombstone({3, 0});
  ki.Put({5, 1});
  EXPECT_EQ(ki.Since(1), (Revs{{2, 0}, {2, 3}, {3, 0}, {5, 1}}));
  EXPECT_EQ(ki.Since(2), (Revs{{2, 0}, {2, 3}, {3, 0}, {5, 1}}));
  EXPECT_EQ(ki.Since(3), (Revs{{3, 0}, {5, 1}}));
  EXPECT_EQ(ki.Since(4), (Revs{{5, 1}}));
  EXPECT_EQ(ki.Since(6), Revs{});
}

TEST(KeyIndexTest, CompactKeepsLatestRevisionAtOrBeforeCompactPoint) {
  struct Case {
    int64_t at;
    Revs kept;
    bool empty_after;
  };
  const Case cases[] = {
      {1, {}, false},       {2, {{2, 0}}, false}, {3, {{3, 0}}, false},
      {4, {}, false},       {5, {}, false},       {6, {{6, 0}}, false},
      {8, {{7, 1}}, false}, {9, {}, true},        {20, {}, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.at);
    KeyIndex ki = TwoGenerations();
    absl::btree_set<Revision> available;
    KeyIndex keep_view = TwoGenerations();
    absl::btree_set<Revision> keep;
    keep_view.Keep(c.at, &keep);
    ki.Compact(c.at, &available);
    EXPECT_EQ(Revs(available.begin(), available.end()), c.kept);
    EXPECT_EQ(keep, available) << "Keep agrees with Compact";
    EXPECT_EQ(ki.IsEmpty(), c.empty_after);
    if (c.empty_after) continue;
    ki.CheckInvariants();
    // Every read at or after the compact point is unchanged.
    const KeyIndex before = TwoGenerations();
    for (int64_t rev = c.at; rev <= 12; ++rev) {
      auto a = ki.Get(rev), b = before.Get(rev);
      ASSERT_EQ(a.has_value(), b.has_value()) << rev;
      if (!a) continue;
      EXPECT_EQ(a->modified, b->modified);
      EXPECT_EQ(a->created, b->created);
      EXPECT_EQ(a->version, b->version);
    }
  }
}

TEST(KeyIndexTest, CompactTwiceIsStable) {
  KeyIndex ki = TwoGenerations();
  absl::btree_set<Revision> available;
  ki.Compact(7, &available);
  available.clear();
  ki.Compact(8, &available);
  EXPECT_EQ(Revs(available.begin(), available.end()), (Revs{{7, 1}}));
  EXPECT_EQ(ki.Get(8)->version, 2);
  EXPECT_EQ(ki.Get(8)->created, (Revision{6, 0}));
}

TEST(KeyIndexTest, PutAfterDeleteInOneTransaction) {
  KeyIndex ki("k");
  ki.Put({2, 0});
  ki.Tombstone({3, 0});
  ki.Put({3, 1});
  auto at = ki.Get(3);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->created, (Revision{3, 1}));
  EXPECT_EQ(at->version, 1);
}

TEST(KeyIndexTest, DeleteAfterPutInOneTransaction) {
  KeyIndex ki("k");
  ki.Put({2, 0});
  ki.Tombstone({2, 1});
  EXPECT_FALSE(ki.Get(2).has_value());
}

TEST(KeyIndexDeathTest, OutOfOrderPutStops) {
  KeyIndex ki("k");
  ki.Put({3, 0});
  EXPECT_DEATH(ki.Put({2, 0}), "revision order");
}

TEST(KeyIndexDeathTest, TombstoneOfMissingKeyStops) {
  KeyIndex ki("k");
  EXPECT_DEATH(ki.Tombstone({2, 0}), "only an existing key");
}

}  // namespace
}  // namespace etcdpp::kv
