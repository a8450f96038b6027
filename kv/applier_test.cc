#include "kv/applier.h"

#include <deque>
#include <string>

#include "gtest/gtest.h"
#include "kv/testing.h"

namespace etcdpp::kv {
namespace {

using kvpb::InternalRequest;
using kvpb::InternalResponse;
using testing::Parse;

ApplyResult Apply(Applier& applier, const std::string& text) {
  ApplyResult result = applier.Apply(Parse<InternalRequest>(text));
  applier.CheckInvariants();
  return result;
}

InternalRequest PutWithId(uint64_t id, const std::string& key) {
  InternalRequest r;
  r.mutable_header()->set_id(id);
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value("v");
  return r;
}

TEST(ApplierTest, ARequestIdIsAppliedOnce) {
  Applier applier;
  ApplyResult first = applier.Apply(PutWithId(7, "a"));
  ASSERT_TRUE(first.status.ok());
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(applier.store().current_revision(), 2);
  ApplyResult second = applier.Apply(PutWithId(7, "a"));
  applier.CheckInvariants();
  EXPECT_TRUE(second.duplicate);
  EXPECT_TRUE(second.status.ok());
  EXPECT_TRUE(second.events.empty());
  EXPECT_EQ(second.response.ByteSizeLong(), 0u);
  EXPECT_EQ(applier.store().current_revision(), 2);
  // Another id is applied.
  EXPECT_FALSE(applier.Apply(PutWithId(8, "a")).duplicate);
  EXPECT_EQ(applier.store().current_revision(), 3);
  EXPECT_EQ(applier.applied_ids(), (std::deque<uint64_t>{7, 8}));
}

TEST(ApplierTest, AFailedRequestIdIsRememberedToo) {
  Applier applier;
  InternalRequest compact;
  compact.mutable_header()->set_id(5);
  compact.mutable_compaction()->set_revision(2);  // in the future: fails
  EXPECT_FALSE(applier.Apply(compact).status.ok());
  ASSERT_TRUE(applier.Apply(PutWithId(6, "a")).status.ok());
  // Revision 2 exists now, but the copy is still the request that failed.
  ApplyResult copy = applier.Apply(compact);
  EXPECT_TRUE(copy.duplicate);
  EXPECT_EQ(applier.store().compact_revision(), -1);
}

TEST(ApplierTest, IdZeroIsNeverDeduplicated) {
  Applier applier;
  for (int i = 0; i < 3; ++i) {
    ApplyResult r = applier.Apply(PutWithId(0, "a"));
    EXPECT_FALSE(r.duplicate);
    ASSERT_TRUE(r.status.ok());
  }
  EXPECT_EQ(applier.store().current_revision(), 4);
  EXPECT_TRUE(applier.applied_ids().empty());
}

TEST(ApplierTest, TheWindowForgetsTheOldestIds) {
  Applier applier({.txn = {}, .applied_id_window = 4});
  for (uint64_t id = 1; id <= 6; ++id) {
    ASSERT_FALSE(applier.Apply(PutWithId(id, "a")).duplicate);
  }
  applier.CheckInvariants();
  EXPECT_EQ(applier.applied_ids(), (std::deque<uint64_t>{3, 4, 5, 6}));
  EXPECT_TRUE(applier.Apply(PutWithId(3, "a")).duplicate);
  EXPECT_TRUE(applier.Apply(PutWithId(6, "a")).duplicate);
  // 1 and 2 were evicted: applied again, and 1 evicts 3.
  EXPECT_FALSE(applier.Apply(PutWithId(1, "a")).duplicate);
  EXPECT_EQ(applier.applied_ids(), (std::deque<uint64_t>{4, 5, 6, 1}));
  EXPECT_EQ(applier.store().current_revision(), 8);
  applier.CheckInvariants();
}

TEST(ApplierTest, TheDefaultWindowHolds65536Ids) {
  Applier applier;
  for (uint64_t id = 1; id <= kDefaultAppliedIdWindow + 1; ++id) {
    InternalRequest range;
    range.mutable_header()->set_id(id);
    range.mutable_range()->set_key("a");
    ASSERT_FALSE(applier.Apply(range).duplicate) << id;
  }
  EXPECT_EQ(applier.applied_ids().size(), kDefaultAppliedIdWindow);
  EXPECT_EQ(applier.applied_ids().front(), 2u);
  applier.CheckInvariants();
}

TEST(ApplierTest, KvRequestsAnswerWithTheirOwnResponse) {
  Applier applier;
  ApplyResult put = Apply(applier, R"pb(
    header { ID: 1 }
    put { key: 'a' value: '1' })pb");
  ASSERT_TRUE(put.status.ok()) << put.status;
  EXPECT_PROTO_EQ(Parse<InternalResponse>("put { header { revision: 2 } }"),
                  put.response);
  ASSERT_EQ(put.events.size(), 1u);
  EXPECT_EQ(put.events[0].kv().mod_revision(), 2);

  ApplyResult range = Apply(applier, "range { key: 'a' }");
  ASSERT_TRUE(range.status.ok());
  EXPECT_EQ(range.response.range().count(), 1);
  EXPECT_TRUE(range.events.empty());

  ApplyResult txn = Apply(applier, R"pb(
    txn {
      success { request_put { key: 'b' value: '2' } }
      success { request_put { key: 'c' value: '3' } }
    })pb");
  ASSERT_TRUE(txn.status.ok()) << txn.status;
  EXPECT_EQ(txn.response.txn().header().revision(), 3);
  EXPECT_EQ(txn.events.size(), 2u);

  ApplyResult del = Apply(applier, R"pb(
    delete_range { key: 'a' range_end: 'c' })pb");
  ASSERT_TRUE(del.status.ok());
  EXPECT_EQ(del.response.delete_range().deleted(), 2);
  EXPECT_EQ(del.events.size(), 2u);

  ApplyResult compact = Apply(applier, "compaction { revision: 4 }");
  ASSERT_TRUE(compact.status.ok());
  EXPECT_PROTO_EQ(
      Parse<InternalResponse>("compaction { header { revision: 4 } }"),
      compact.response);
}

TEST(ApplierTest, ErrorsLeaveTheResponseEmpty) {
  Applier applier;
  ApplyResult put = Apply(applier, "put { key: 'a' ignore_value: true }");
  EXPECT_EQ(put.status,
            absl::InvalidArgumentError("etcdserver: key not found"));
  EXPECT_EQ(put.response.response_case(), InternalResponse::RESPONSE_NOT_SET);
  ApplyResult compact = Apply(applier, "compaction { revision: 9 }");
  EXPECT_EQ(
      compact.status,
      absl::OutOfRangeError("mvcc: required revision is a future revision"));
  EXPECT_EQ(Apply(applier, "").status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(applier.store().current_revision(), 1);
}

TEST(ApplierTest, TxnOptionsReachTheTxn) {
  Applier applier(ApplierOptions{.txn = {.max_txn_ops = 1}});
  EXPECT_EQ(Apply(applier, R"pb(
              txn {
                success { request_range { key: 'a' } }
                success { request_range { key: 'b' } }
              })pb")
                .status,
            absl::InvalidArgumentError(
                "etcdserver: too many operations in txn request"));
}

TEST(ApplierTest, SameRequestsSameResults) {
  // Determinism: two replicas applying the same log agree byte for byte.
  Applier a, b;
  const char* log[] = {
      "put { key: 'x' value: '1' lease: 3 }",
      "txn { compare { key: 'x' target: VALUE value: '1' } "
      "success { request_delete_range { key: 'x' prev_kv: true } } }",
      "put { key: 'y' value: '2' prev_kv: true }",
      "range { key: '\\000' range_end: '\\000' sort_order: DESCEND }",
      "compaction { revision: 3 }",
  };
  for (const char* text : log) {
    ApplyResult ra = Apply(a, text), rb = Apply(b, text);
    EXPECT_EQ(ra.status, rb.status);
    EXPECT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString());
    EXPECT_EQ(ra.events.size(), rb.events.size());
  }
}

}  // namespace
}  // namespace etcdpp::kv
