#include "server/config/ids.h"

#include "gtest/gtest.h"

namespace etcdpp::config {
namespace {

// Reference values printed by Debian's etcd 3.4.23 (`etcdctl member list
// -w json`) for the same flags.
TEST(IdsTest, MatchesEtcdForADefaultMember) {
  const uint64_t member = ComputeMemberId({"http://localhost:2380"},
                                          "etcd-cluster");
  EXPECT_EQ(member, 10276657743932975437ULL);
  EXPECT_EQ(ComputeClusterId({member}), 14841639068965178418ULL);
}

TEST(IdsTest, MatchesEtcdWithATokenAndExplicitUrls) {
  const uint64_t member = ComputeMemberId({"http://127.0.0.1:23801"}, "tok-1");
  EXPECT_EQ(member, 17836315519559875096ULL);
  EXPECT_EQ(ComputeClusterId({member}), 15904247452754297380ULL);
}

TEST(IdsTest, OrderOfUrlsAndMembersDoesNotMatter) {
  EXPECT_EQ(ComputeMemberId({"http://a:1", "http://b:2"}, "t"),
            ComputeMemberId({"http://b:2", "http://a:1"}, "t"));
  EXPECT_EQ(ComputeClusterId({1, 2, 3}), ComputeClusterId({3, 1, 2}));
}

TEST(IdsTest, TimeMakesAReaddedMemberDistinct) {
  EXPECT_NE(ComputeMemberId({"http://a:1"}, "t"),
            ComputeMemberId({"http://a:1"}, "t", 1700000000));
}

}  // namespace
}  // namespace etcdpp::config
