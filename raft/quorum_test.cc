#include "raft/quorum.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"

namespace etcdpp::raft {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Acked indexes of voters 1..n: std::nullopt = not reported.
MapAckIndexer Acked(const std::vector<std::optional<uint64_t>>& indexes) {
  MapAckIndexer acked;
  for (size_t i = 0; i < indexes.size(); ++i) {
    if (indexes[i].has_value()) acked.Set(i + 1, *indexes[i]);
  }
  return acked;
}

struct CommitCase {
  std::string name;
  MajorityConfig incoming;
  MajorityConfig outgoing;
  std::vector<std::optional<uint64_t>> acked;  // of voters 1, 2, ...
  uint64_t want;
};

TEST(MajorityConfigTest, CommittedIndex) {
  const std::vector<CommitCase> cases = {
      {"empty config commits everything", {}, {}, {}, kMax},
      {"single voter, unreported", {1}, {}, {std::nullopt}, 0},
      {"single voter", {1}, {}, {12}, 12},
      {"two voters need both", {1, 2}, {}, {12, 5}, 5},
      {"two voters, one unreported", {1, 2}, {}, {12, std::nullopt}, 0},
      {"three voters, median", {1, 2, 3}, {}, {10, 20, 30}, 20},
      {"three voters, one unreported",
       {1, 2, 3},
       {},
       {10, std::nullopt, 30},
       10},
      {"three voters, two unreported",
       {1, 2, 3},
       {},
       {std::nullopt, std::nullopt, 30},
       0},
      {"four voters need three", {1, 2, 3, 4}, {}, {10, 20, 30, 40}, 20},
      {"five voters need three", {1, 2, 3, 4, 5}, {}, {5, 1, 4, 2, 3}, 3},
      {"ties", {1, 2, 3}, {}, {7, 7, 1}, 7},
      {"acks of non-voters ignored", {1, 2}, {}, {9, 9, 100}, 9},
  };
  for (const CommitCase& c : cases) {
    EXPECT_EQ(c.incoming.CommittedIndex(Acked(c.acked)), c.want) << c.name;
  }
}

TEST(JointConfigTest, CommittedIndex) {
  const std::vector<CommitCase> cases = {
      {"both empty", {}, {}, {}, kMax},
      {"empty outgoing acts like incoming", {1, 2, 3}, {}, {10, 20, 30}, 20},
      {"empty incoming acts like outgoing", {}, {1, 2, 3}, {10, 20, 30}, 20},
      {"same halves", {1, 2, 3}, {1, 2, 3}, {10, 20, 30}, 20},
      {"minimum of halves", {1, 2, 3}, {3, 4, 5}, {10, 20, 30, 1, 2}, 2},
      {"minimum of halves, other side", {1, 2}, {3}, {4, 5, 9}, 4},
      {"unreported voter in outgoing", {1}, {2, 3}, {50, 50, std::nullopt}, 0},
  };
  for (const CommitCase& c : cases) {
    JointConfig joint{c.incoming, c.outgoing};
    EXPECT_EQ(joint.CommittedIndex(Acked(c.acked)), c.want) << c.name;
  }
}

struct VoteCase {
  std::string name;
  MajorityConfig incoming;
  MajorityConfig outgoing;
  absl::flat_hash_map<uint64_t, bool> votes;
  VoteResult want;
};

TEST(MajorityConfigTest, VoteResult) {
  const std::vector<VoteCase> cases = {
      {"empty config wins", {}, {}, {}, VoteResult::kWon},
      {"no votes yet", {1, 2, 3}, {}, {}, VoteResult::kPending},
      {"one of three", {1, 2, 3}, {}, {{1, true}}, VoteResult::kPending},
      {"two of three", {1, 2, 3}, {}, {{1, true}, {3, true}}, VoteResult::kWon},
      {"two rejections of three",
       {1, 2, 3},
       {},
       {{1, false}, {2, false}},
       VoteResult::kLost},
      {"split, one missing",
       {1, 2, 3},
       {},
       {{1, true}, {2, false}},
       VoteResult::kPending},
      {"two of four is not enough",
       {1, 2, 3, 4},
       {},
       {{1, true}, {2, true}, {3, false}, {4, false}},
       VoteResult::kLost},
      {"votes of non-voters ignored",
       {1, 2, 3},
       {},
       {{1, true}, {7, true}, {8, true}},
       VoteResult::kPending},
  };
  for (const VoteCase& c : cases) {
    EXPECT_EQ(c.incoming.VoteResult(c.votes), c.want) << c.name;
  }
}

TEST(JointConfigTest, VoteResult) {
  const std::vector<VoteCase> cases = {
      {"both empty", {}, {}, {}, VoteResult::kWon},
      {"empty outgoing acts like incoming",
       {1, 2, 3},
       {},
       {{1, true}, {2, true}},
       VoteResult::kWon},
      {"won and pending is pending",
       {1, 2, 3},
       {4, 5, 6},
       {{1, true}, {2, true}, {4, true}},
       VoteResult::kPending},
      {"won and won",
       {1, 2, 3},
       {3, 4, 5},
       {{1, true}, {3, true}, {4, true}},
       VoteResult::kWon},
      {"won and lost is lost",
       {1, 2, 3},
       {3, 4, 5},
       {{1, true}, {2, true}, {4, false}, {5, false}},
       VoteResult::kLost},
      {"pending and lost is lost",
       {1, 2, 3},
       {4, 5, 6},
       {{4, false}, {5, false}},
       VoteResult::kLost},
      {"pending and pending",
       {1, 2},
       {2, 3},
       {{2, true}},
       VoteResult::kPending},
  };
  for (const VoteCase& c : cases) {
    JointConfig joint{c.incoming, c.outgoing};
    EXPECT_EQ(joint.VoteResult(c.votes), c.want) << c.name;
  }
}

TEST(MajorityConfigTest, ToStringAndSlice) {
  EXPECT_EQ(MajorityConfig().ToString(), "()");
  MajorityConfig config{3, 1, 2};
  EXPECT_EQ(config.ToString(), "(1 2 3)");
  EXPECT_EQ(config.Slice(), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(JointConfigTest, ToStringAndIds) {
  JointConfig joint{{1, 2, 3}, {}};
  EXPECT_EQ(joint.ToString(), "(1 2 3)");
  EXPECT_FALSE(joint.IsJoint());
  joint.outgoing = {3, 4};
  EXPECT_EQ(joint.ToString(), "(1 2 3)&&(3 4)");
  EXPECT_TRUE(joint.IsJoint());
  EXPECT_EQ(joint.IDs(), (absl::btree_set<uint64_t>{1, 2, 3, 4}));
}

TEST(MajorityConfigTest, Describe) {
  EXPECT_EQ(MajorityConfig().Describe(MapAckIndexer()),
            "<empty majority quorum>");
  // Voter 3 has not reported; voters 1 and 4 tie and share a bar.
  MajorityConfig config{1, 2, 3, 4};
  MapAckIndexer acked({{1, 100}, {2, 101}, {4, 100}});
  EXPECT_EQ(config.Describe(acked),
            "        idx\n"
            "x>      100    (id=1)\n"
            "xxx>    101    (id=2)\n"
            "?         0    (id=3)\n"
            "x>      100    (id=4)\n");
}

TEST(JointConfigTest, DescribeCoversBothHalves) {
  JointConfig joint{{1}, {2}};
  MapAckIndexer acked({{1, 5}, {2, 6}});
  EXPECT_EQ(joint.Describe(acked),
            "      idx\n"
            ">       5    (id=1)\n"
            "x>      6    (id=2)\n");
}

TEST(VoteResultTest, Names) {
  EXPECT_STREQ(VoteResultName(VoteResult::kPending), "Pending");
  EXPECT_STREQ(VoteResultName(VoteResult::kLost), "Lost");
  EXPECT_STREQ(VoteResultName(VoteResult::kWon), "Won");
}

}  // namespace
}  // namespace etcdpp::raft
