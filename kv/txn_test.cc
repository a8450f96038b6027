#include "kv/txn.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/testing.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;
using testing::Parse;

const absl::Status kDuplicate = absl::InvalidArgumentError(
    "etcdserver: duplicate key given in txn request");
const absl::Status kTooMany = absl::InvalidArgumentError(
    "etcdserver: too many operations in txn request");

// k = "v5" created 2, mod 3, version 2, lease 7; other = "x" at 4.
void Fill(MvccStore& store) {
  ASSERT_TRUE(
      store.Put(Parse<etcdserverpb::PutRequest>("key: 'k' value: 'v1'")).ok());
  ASSERT_TRUE(
      store
          .Put(Parse<etcdserverpb::PutRequest>("key: 'k' value: 'v5' lease: 7"))
          .ok());
  ASSERT_TRUE(
      store.Put(Parse<etcdserverpb::PutRequest>("key: 'other' value: 'x'"))
          .ok());
}

absl::StatusOr<TxnResponse> RunTxn(MvccStore& store, const std::string& text,
                                   TxnOptions options = {}) {
  return Txn(&store, Parse<TxnRequest>(text), options);
}

TEST(TxnTest, CompareEveryTargetAndResult) {
  MvccStore store;
  Fill(store);
  struct Case {
    std::string compare;
    bool holds;
  };
  const Case cases[] = {
      {"target: VALUE result: EQUAL value: 'v5'", true},
      {"target: VALUE result: EQUAL value: 'v4'", false},
      {"target: VALUE result: NOT_EQUAL value: 'v4'", true},
      {"target: VALUE result: GREATER value: 'v4'", true},
      {"target: VALUE result: GREATER value: 'v5'", false},
      {"target: VALUE result: LESS value: 'v6'", true},
      {"target: VALUE result: LESS value: 'v5'", false},
      {"target: VERSION result: EQUAL version: 2", true},
      {"target: VERSION result: NOT_EQUAL version: 2", false},
      {"target: VERSION result: GREATER version: 1", true},
      {"target: VERSION result: LESS version: 2", false},
      {"target: CREATE result: EQUAL create_revision: 2", true},
      {"target: CREATE result: GREATER create_revision: 2", false},
      {"target: CREATE result: LESS create_revision: 3", true},
      {"target: CREATE result: NOT_EQUAL create_revision: 3", true},
      {"target: MOD result: EQUAL mod_revision: 3", true},
      {"target: MOD result: LESS mod_revision: 3", false},
      {"target: MOD result: GREATER mod_revision: 2", true},
      {"target: MOD result: NOT_EQUAL mod_revision: 3", false},
      {"target: LEASE result: EQUAL lease: 7", true},
      {"target: LEASE result: GREATER lease: 7", false},
      {"target: LEASE result: LESS lease: 8", true},
      {"target: LEASE result: NOT_EQUAL lease: 0", true},
      // A union member of another target reads as zero.
      {"target: MOD result: GREATER version: 100", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.compare);
    EXPECT_EQ(EvaluateCompare(store, Parse<Compare>("key: 'k' " + c.compare)),
              c.holds);
  }
}

TEST(TxnTest, CompareOnMissingKey) {
  MvccStore store;
  Fill(store);
  struct Case {
    std::string compare;
    bool holds;
  };
  const Case cases[] = {
      // No value exists to compare, whatever the result asked.
      {"target: VALUE result: EQUAL value: ''", false},
      {"target: VALUE result: NOT_EQUAL value: 'a'", false},
      {"target: VALUE result: LESS value: 'a'", false},
      // The others compare a zero KeyValue.
      {"target: VERSION result: EQUAL version: 0", true},
      {"target: CREATE result: EQUAL create_revision: 0", true},
      {"target: MOD result: LESS mod_revision: 1", true},
      {"target: LEASE result: EQUAL lease: 0", true},
      {"target: VERSION result: GREATER version: 0", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.compare);
    EXPECT_EQ(
        EvaluateCompare(store, Parse<Compare>("key: 'missing' " + c.compare)),
        c.holds);
  }
}

TEST(TxnTest, CompareOverRangeNeedsEveryKey) {
  MvccStore store;
  Fill(store);
  EXPECT_TRUE(EvaluateCompare(
      store, Parse<Compare>("key: 'a' range_end: 'z' target: VERSION "
                            "result: GREATER version: 0")));
  EXPECT_FALSE(EvaluateCompare(
      store, Parse<Compare>("key: 'a' range_end: 'z' target: VERSION "
                            "result: EQUAL version: 2")));
  EXPECT_TRUE(EvaluateCompare(
      store, Parse<Compare>("key: 'k' range_end: '\\000' target: CREATE "
                            "result: GREATER create_revision: 1")));
  EXPECT_TRUE(EvaluateCompare(
      store, Parse<Compare>("key: 'p' range_end: 'q' target: VERSION "
                            "result: EQUAL version: 0")))
      << "an empty range compares a zero KeyValue";
}

TEST(TxnTest, BranchesOneRevisionAndSubRevisions) {
  MvccStore store;
  Fill(store);
  std::vector<mvccpb::Event> events;
  auto response = Txn(&store, Parse<TxnRequest>(R"pb(
    compare { key: 'k' target: VALUE result: EQUAL value: 'v5' }
    success { request_put { key: 'a' value: '1' } }
    success { request_range { key: 'a' } }
    success { request_delete_range { key: 'other' } }
    success { request_put { key: 'b' value: '2' prev_kv: true } }
    failure { request_put { key: 'c' value: '3' } }
  )pb"),
                      {}, &events);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_PROTO_EQ(Parse<TxnResponse>(R"pb(
                    header { revision: 5 }
                    succeeded: true
                    responses { response_put { header { revision: 5 } } }
                    responses {
                      response_range {
                        header { revision: 5 }
                        count: 1
                        kvs {
                          key: 'a'
                          value: '1'
                          create_revision: 5
                          mod_revision: 5
                          version: 1
                        }
                      }
                    }
                    responses {
                      response_delete_range {
                        header { revision: 5 }
                        deleted: 1
                      }
                    }
                    responses { response_put { header { revision: 5 } } }
                  )pb"),
                  *response);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].kv().key(), "b");
  EXPECT_NE(store.FindChange({5, 2}), nullptr) << "b is the third change";
  EXPECT_EQ(store.current_revision(), 5);
}

TEST(TxnTest, FailureBranch) {
  MvccStore store;
  Fill(store);
  auto response = RunTxn(store, R"pb(
    compare { key: 'k' target: VERSION result: LESS version: 2 }
    compare { key: 'k' target: VERSION result: EQUAL version: 2 }
    success { request_put { key: 'a' value: '1' } }
    failure { request_put { key: 'c' value: '3' } }
  )pb");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(response->succeeded());
  ASSERT_EQ(response->responses_size(), 1);
  EXPECT_TRUE(response->responses(0).has_response_put());
  EXPECT_EQ(store.current_revision(), 5);
}

TEST(TxnTest, ReadOnlyTxnKeepsRevision) {
  MvccStore store;
  Fill(store);
  auto response = RunTxn(store, R"pb(
    success { request_range { key: 'k' } }
    success { request_delete_range { key: 'nothing' } }
  )pb");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->header().revision(), 4);
  EXPECT_EQ(store.current_revision(), 4);
  auto empty = RunTxn(store, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_PROTO_EQ(Parse<TxnResponse>("header { revision: 4 } succeeded: true"),
                  *empty);
}

TEST(TxnTest, NestedTxnComparesSeeThePreTxnStore) {
  MvccStore store;
  Fill(store);
  auto response = RunTxn(store, R"pb(
    success { request_put { key: 'k' value: 'new' } }
    success {
      request_txn {
        compare { key: 'k' target: VALUE result: EQUAL value: 'v5' }
        success { request_range { key: 'k' } }
        failure { request_put { key: 'f' value: 'x' } }
      }
    }
  )pb");
  ASSERT_TRUE(response.ok()) << response.status();
  const TxnResponse& nested = response->responses(1).response_txn();
  EXPECT_TRUE(nested.succeeded()) << "k was still v5 before the txn";
  EXPECT_EQ(nested.header().revision(), 0) << "etcd's nested header is empty";
  EXPECT_TRUE(nested.has_header());
  EXPECT_EQ(nested.responses(0).response_range().kvs(0).value(), "new")
      << "the range sees the put before it";
}

TEST(TxnTest, DuplicateKeys) {
  MvccStore store;
  Fill(store);
  struct Case {
    std::string txn;
    bool duplicate;
  };
  const Case cases[] = {
      {"success { request_put { key: 'a' } } success { request_put { key: 'a' "
       "} }",
       true},
      {"success { request_put { key: 'a' } } success { request_delete_range { "
       "key: 'a' } }",
       true},
      {"success { request_delete_range { key: 'a' range_end: 'c' } } success "
       "{ request_put { key: 'b' } }",
       true},
      {"success { request_delete_range { key: 'a' range_end: 'c' } } success "
       "{ request_put { key: 'c' } }",
       false},
      {"success { request_delete_range { key: 'a' range_end: '\\000' } } "
       "success { request_put { key: 'zz' } }",
       true},  // our deliberate difference, see validate.h
      {"success { request_delete_range { key: 'a' } } success { "
       "request_delete_range { key: 'a' } }",
       false},
      {"success { request_put { key: 'a' } } failure { request_put { key: "
       "'a' } }",
       false},
      {"success { request_put { key: 'a' } } success { request_txn { success "
       "{ request_put { key: 'a' } } } }",
       true},
      {"success { request_txn { success { request_put { key: 'a' } } failure "
       "{ request_put { key: 'a' } } } }",
       false},
      {"success { request_txn { success { request_put { key: 'a' } } } } "
       "success { request_txn { failure { request_put { key: 'a' } } } }",
       true},
      {"success { request_txn { success { request_delete_range { key: 'a' } } "
       "} } success { request_put { key: 'a' } }",
       true},
      {"success { request_delete_range { key: 'a' } } success { request_txn "
       "{ failure { request_put { key: 'a' } } } }",
       true},
      {"success { request_txn { success { request_delete_range { key: 'a' } } "
       "} } success { request_txn { success { request_put { key: 'a' } } } }",
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.txn);
    const absl::Status status = ValidateTxnRequest(Parse<TxnRequest>(c.txn));
    if (c.duplicate) {
      EXPECT_EQ(status, kDuplicate);
      EXPECT_EQ(RunTxn(store, c.txn).status(), kDuplicate);
    } else {
      EXPECT_TRUE(status.ok()) << status;
    }
  }
  EXPECT_EQ(store.current_revision(), 4) << "refused txns write nothing";
}

std::string Ops(const std::string& branch, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += branch + " { request_range { key: 'k" + std::to_string(i) + "' } } ";
  }
  return out;
}

TEST(TxnTest, TooManyOperations) {
  MvccStore store;
  std::string compares;
  for (int i = 0; i < 129; ++i) compares += "compare { key: 'k' } ";
  EXPECT_EQ(RunTxn(store, compares).status(), kTooMany);
  EXPECT_TRUE(RunTxn(store, Ops("success", 128)).ok());
  EXPECT_EQ(RunTxn(store, Ops("success", 129)).status(), kTooMany);
  EXPECT_EQ(RunTxn(store, Ops("failure", 129)).status(), kTooMany);
  EXPECT_EQ(
      RunTxn(store, Ops("success", 3), TxnOptions{.max_txn_ops = 2}).status(),
      kTooMany);
  // A nested txn may use only what its parent's largest list leaves.
  const std::string nested = Ops("success", 2) + "success { request_txn { " +
                             Ops("success", 2) + "} }";
  EXPECT_EQ(RunTxn(store, nested, TxnOptions{.max_txn_ops = 4}).status(),
            kTooMany);
  EXPECT_TRUE(RunTxn(store, nested, TxnOptions{.max_txn_ops = 5}).ok());
}

TEST(TxnTest, InvalidOps) {
  MvccStore store;
  struct Case {
    std::string txn;
    absl::Status status;
  };
  const Case cases[] = {
      {"compare { key: '' }",
       absl::InvalidArgumentError("etcdserver: key is not provided")},
      {"success { }", absl::InvalidArgumentError("etcdserver: key not found")},
      {"failure { request_put { key: '' } }",
       absl::InvalidArgumentError("etcdserver: key is not provided")},
      {"success { request_put { key: 'a' value: 'v' ignore_value: true } }",
       absl::InvalidArgumentError("etcdserver: value is provided")},
      {"success { request_delete_range { } }",
       absl::InvalidArgumentError("etcdserver: key is not provided")},
      {"success { request_range { key: 'a' sort_order: 5 } }",
       absl::InvalidArgumentError("etcdserver: invalid sort option")},
      {"success { request_txn { success { request_range { } } } }",
       absl::InvalidArgumentError("etcdserver: key is not provided")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.txn);
    EXPECT_EQ(RunTxn(store, c.txn).status(), c.status);
  }
}

TEST(TxnTest, ApplyTimeChecksWriteNothing) {
  MvccStore store;
  Fill(store);
  ASSERT_TRUE(
      store.Compact(Parse<etcdserverpb::CompactionRequest>("revision: 3"))
          .ok());
  struct Case {
    std::string txn;
    absl::Status status;
  };
  const Case cases[] = {
      {"success { request_put { key: 'a' value: '1' } } success { request_put "
       "{ key: 'missing' ignore_value: true } }",
       absl::InvalidArgumentError("etcdserver: key not found")},
      {"success { request_put { key: 'a' value: '1' } } success { request_put "
       "{ key: 'missing' ignore_lease: true } }",
       absl::InvalidArgumentError("etcdserver: key not found")},
      {"success { request_put { key: 'a' value: '1' } } success { "
       "request_range { key: 'k' revision: 5 } }",
       absl::OutOfRangeError("mvcc: required revision is a future revision")},
      {"success { request_put { key: 'a' value: '1' } } success { "
       "request_range { key: 'k' revision: 2 } }",
       absl::OutOfRangeError("mvcc: required revision has been compacted")},
      {"success { request_txn { success { request_put { key: 'a' } } success "
       "{ request_put { key: 'missing' ignore_value: true } } } }",
       absl::InvalidArgumentError("etcdserver: key not found")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.txn);
    EXPECT_EQ(RunTxn(store, c.txn).status(), c.status);
    EXPECT_EQ(store.current_revision(), 4);
  }
  // Every put on the path is checked before any range.
  EXPECT_EQ(RunTxn(store,
                   "success { request_range { key: 'k' revision: 9 } } "
                   "success { request_put { key: 'm' ignore_value: true } }")
                .status(),
            absl::InvalidArgumentError("etcdserver: key not found"));
  // Only the branch taken is checked.
  EXPECT_TRUE(
      RunTxn(store,
             "compare { key: 'k' target: VERSION version: 99 } success { "
             "request_put { key: 'missing' ignore_value: true } }")
          .ok());
  // A range at the compact revision itself is fine.
  EXPECT_TRUE(
      RunTxn(store, "success { request_range { key: 'k' revision: 3 } }").ok());
}

TEST(TxnTest, IgnoreValueAndLeaseInTxnUsePreTxnKey) {
  MvccStore store;
  Fill(store);
  auto response = RunTxn(store, R"pb(
    success {
      request_put {
        key: 'k'
        ignore_value: true
        ignore_lease: true
        prev_kv: true
      }
    }
  )pb");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->responses(0).response_put().prev_kv().value(), "v5");
  auto got = store.Range(Parse<etcdserverpb::RangeRequest>("key: 'k'"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kvs(0).value(), "v5");
  EXPECT_EQ(got->kvs(0).lease(), 7);
  EXPECT_EQ(got->kvs(0).version(), 3);
}

}  // namespace
}  // namespace etcdpp::kv
