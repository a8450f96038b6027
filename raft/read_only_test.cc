#include "raft/read_only.h"

#include "gtest/gtest.h"

namespace etcdpp::raft {
namespace {

raftpb::Message Req(uint64_t from, const std::string& ctx) {
  raftpb::Message m;
  m.set_type(raftpb::MsgReadIndex);
  m.set_from(from);
  m.add_entries()->set_data(ctx);
  return m;
}

TEST(ReadOnlyTest, AdvanceDequeuesInOrderUpToTheContext) {
  ReadOnly ro(ReadOnlyOption::kSafe);
  ro.AddRequest(5, Req(1, "a"));
  ro.AddRequest(6, Req(2, "b"));
  ro.AddRequest(7, Req(3, "c"));
  EXPECT_EQ(ro.LastPendingRequestCtx(), "c");
  std::vector<ReadIndexStatus> done = ro.Advance("b");
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].index, 5u);
  EXPECT_EQ(done[0].req.from(), 1u);
  EXPECT_EQ(done[1].index, 6u);
  EXPECT_EQ(ro.pending_count(), 1u);
  EXPECT_TRUE(ro.Advance("zz").empty());
  EXPECT_EQ(ro.Advance("c").size(), 1u);
  EXPECT_EQ(ro.LastPendingRequestCtx(), "");
  ro.CheckInvariants();
}

TEST(ReadOnlyTest, DuplicateContextIsIgnored) {
  ReadOnly ro(ReadOnlyOption::kSafe);
  ro.AddRequest(5, Req(1, "a"));
  ro.AddRequest(9, Req(1, "a"));
  EXPECT_EQ(ro.pending_count(), 1u);
  EXPECT_EQ(ro.Advance("a")[0].index, 5u);
}

TEST(ReadOnlyTest, RecvAckCountsAcksPerContext) {
  ReadOnly ro(ReadOnlyOption::kSafe);
  EXPECT_EQ(ro.RecvAck(1, "a"), nullptr);
  ro.AddRequest(5, Req(1, "a"));
  ro.RecvAck(1, "a");
  ro.RecvAck(2, "a");
  const auto* acks = ro.RecvAck(2, "a");
  ASSERT_NE(acks, nullptr);
  EXPECT_EQ(acks->size(), 2u);
}

}  // namespace
}  // namespace etcdpp::raft
