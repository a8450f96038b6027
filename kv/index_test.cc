#include "kv/index.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace etcdpp::kv {
namespace {

using Revs = std::vector<Revision>;

// a@2 b@3 c@4 b@5 (tombstone a@6) d@7
Index Sample() {
  Index index;
  index.Put("a", {2, 0});
  index.Put("b", {3, 0});
  index.Put("c", {4, 0});
  index.Put("b", {5, 0});
  index.Tombstone("a", {6, 0});
  index.Put("d", {7, 0});
  index.CheckInvariants();
  return index;
}

std::vector<std::string> Keys(const std::vector<Index::Entry>& entries) {
  std::vector<std::string> keys;
  for (const auto& e : entries) keys.emplace_back(e.key);
  return keys;
}

TEST(IndexTest, RangeKinds) {
  const Index index = Sample();
  using V = std::vector<std::string>;
  EXPECT_EQ(Keys(index.Range(KeyRange::Single("b"), 7)), V{"b"});
  EXPECT_EQ(Keys(index.Range(KeyRange::Single("a"), 7)), V{});
  EXPECT_EQ(Keys(index.Range(KeyRange::Single("a"), 5)), V{"a"});
  EXPECT_EQ(Keys(index.Range(KeyRange::FromRequest("a", "c"), 7)), V{"b"});
  EXPECT_EQ(
      Keys(index.Range(KeyRange::FromRequest("b", std::string(1, '\0')), 7)),
      (V{"b", "c", "d"}));
  EXPECT_EQ(Keys(index.Range(KeyRange::FromRequest("c", "b"), 7)), V{});
  EXPECT_EQ(Keys(index.Range(KeyRange::FromRequest("a", "z"), 3)),
            (V{"a", "b"}));
}

TEST(IndexTest, RevisionsLimitAndTotal) {
  const Index index = Sample();
  auto all = index.Revisions(KeyRange::FromRequest("a", "z"), 7, 0);
  EXPECT_EQ(all.revisions, (Revs{{5, 0}, {4, 0}, {7, 0}}));
  EXPECT_EQ(all.total, 3);
  auto two = index.Revisions(KeyRange::FromRequest("a", "z"), 7, 2);
  EXPECT_EQ(two.revisions, (Revs{{5, 0}, {4, 0}}));
  EXPECT_EQ(two.total, 3);
  EXPECT_EQ(index.CountRevisions(KeyRange::FromRequest("a", "z"), 4), 3);
}

TEST(IndexTest, RangeSinceIsInRevisionOrder) {
  const Index index = Sample();
  EXPECT_EQ(index.RangeSince(KeyRange::FromRequest("a", "z"), 4),
            (Revs{{4, 0}, {5, 0}, {6, 0}, {7, 0}}));
  EXPECT_EQ(index.RangeSince(KeyRange::Single("b"), 0), (Revs{{3, 0}, {5, 0}}));
}

TEST(IndexTest, CompactDropsDeletedKeysAndKeepsLatest) {
  Index index = Sample();
  const absl::btree_set<Revision> keep_view = index.Keep(6);
  const absl::btree_set<Revision> keep = index.Compact(6);
  EXPECT_EQ(keep, keep_view);
  EXPECT_EQ(Revs(keep.begin(), keep.end()), (Revs{{4, 0}, {5, 0}}));
  EXPECT_EQ(index.key_count(), 3u) << "a, deleted at 6, is gone";
  EXPECT_FALSE(index.Get("a", 7).has_value());
  EXPECT_EQ(index.Get("b", 6)->version, 2);
  index.CheckInvariants();
}

}  // namespace
}  // namespace etcdpp::kv
