#include "kv/mvcc_store.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/testing.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::CompactionRequest;
using etcdserverpb::DeleteRangeRequest;
using etcdserverpb::DeleteRangeResponse;
using etcdserverpb::PutRequest;
using etcdserverpb::PutResponse;
using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using testing::Parse;

const std::string kNul(1, '\0');

PutResponse MustPut(MvccStore& store, const std::string& key,
                    const std::string& value, int64_t lease = 0) {
  PutRequest put;
  put.set_key(key);
  put.set_value(value);
  put.set_lease(lease);
  auto response = store.Put(put);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.value_or(PutResponse());
}

DeleteRangeResponse MustDelete(MvccStore& store, const std::string& key,
                               const std::string& end = "") {
  DeleteRangeRequest del;
  del.set_key(key);
  del.set_range_end(end);
  auto response = store.DeleteRange(del);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.value_or(DeleteRangeResponse());
}

RangeResponse MustRange(const MvccStore& store, const std::string& text) {
  auto response = store.Range(Parse<RangeRequest>(text));
  EXPECT_TRUE(response.ok()) << response.status();
  return response.value_or(RangeResponse());
}

std::vector<std::string> Keys(const RangeResponse& r) {
  std::vector<std::string> keys;
  for (const auto& kv : r.kvs()) keys.push_back(kv.key());
  return keys;
}

// foo=1@2, bar=2@3, foo=3@4, baz=4@5, zoo=5@6 (lease 7), delete bar@7
void Fill(MvccStore& store) {
  MustPut(store, "foo", "1");
  MustPut(store, "bar", "2");
  MustPut(store, "foo", "3");
  MustPut(store, "baz", "4");
  MustPut(store, "zoo", "5", 7);
  MustDelete(store, "bar");
  store.CheckInvariants();
}

using V = std::vector<std::string>;

TEST(MvccStoreTest, FreshStoreIsAtRevisionOne) {
  MvccStore store;
  EXPECT_EQ(store.current_revision(), 1);
  EXPECT_EQ(store.compact_revision(), -1);
  EXPECT_PROTO_EQ(Parse<RangeResponse>("header { revision: 1 }"),
                  MustRange(store, "key: 'a' range_end: '\\000'"));
}

TEST(MvccStoreTest, PutCountsVersionsAndGenerations) {
  MvccStore store;
  EXPECT_PROTO_EQ(Parse<PutResponse>("header { revision: 2 }"),
                  MustPut(store, "k", "a"));
  MustPut(store, "k", "b", 9);
  EXPECT_PROTO_EQ(
      Parse<RangeResponse>(
          "header { revision: 3 } count: 1 kvs { key: 'k' value: 'b' "
          "create_revision: 2 mod_revision: 3 version: 2 lease: 9 }"),
      MustRange(store, "key: 'k'"));
  MustDelete(store, "k");
  MustPut(store, "k", "c");
  EXPECT_PROTO_EQ(
      Parse<RangeResponse>(
          "header { revision: 5 } count: 1 kvs { key: 'k' value: 'c' "
          "create_revision: 5 mod_revision: 5 version: 1 }"),
      MustRange(store, "key: 'k'"));
}

TEST(MvccStoreTest, RangeKinds) {
  MvccStore store;
  Fill(store);
  EXPECT_EQ(Keys(MustRange(store, "key: 'foo'")), V{"foo"});
  EXPECT_EQ(Keys(MustRange(store, "key: 'bar'")), V{});
  EXPECT_EQ(Keys(MustRange(store, "key: 'ba' range_end: 'bb'")), V{"baz"});
  EXPECT_EQ(Keys(MustRange(store, "key: 'baz' range_end: '\\000'")),
            (V{"baz", "foo", "zoo"}));
  EXPECT_EQ(Keys(MustRange(store, "key: '\\000' range_end: '\\000'")),
            (V{"baz", "foo", "zoo"}));
  EXPECT_EQ(Keys(MustRange(store, "key: 'z' range_end: 'a'")), V{});
  EXPECT_EQ(Keys(MustRange(store, "key: 'foo' range_end: 'foo'")), V{});
}

TEST(MvccStoreTest, RangeAtHistoricRevisions) {
  MvccStore store;
  Fill(store);
  EXPECT_EQ(Keys(MustRange(store, "key: 'a' range_end: 'z' revision: 3")),
            (V{"bar", "foo"}));
  const RangeResponse at3 = MustRange(store, "key: 'foo' revision: 3");
  EXPECT_EQ(at3.header().revision(), 7) << "the header is the current rev";
  EXPECT_EQ(at3.kvs(0).value(), "1");
  EXPECT_EQ(Keys(MustRange(store, "key: 'bar' revision: 6")), V{"bar"});
  EXPECT_EQ(Keys(MustRange(store, "key: 'bar' revision: 7")), V{});
  EXPECT_EQ(Keys(MustRange(store, "key: 'foo' revision: 1")), V{});
  EXPECT_EQ(Keys(MustRange(store, "key: 'foo' revision: -5")), V{"foo"})
      << "a negative revision means the newest";
}

TEST(MvccStoreTest, RangeRevisionErrors) {
  MvccStore store;
  Fill(store);
  auto future = store.Range(Parse<RangeRequest>("key: 'foo' revision: 8"));
  EXPECT_EQ(
      future.status(),
      absl::OutOfRangeError("mvcc: required revision is a future revision"));
  ASSERT_TRUE(store.Compact(Parse<CompactionRequest>("revision: 4")).ok());
  auto compacted = store.Range(Parse<RangeRequest>("key: 'foo' revision: 3"));
  EXPECT_EQ(
      compacted.status(),
      absl::OutOfRangeError("mvcc: required revision has been compacted"));
  EXPECT_EQ(Keys(MustRange(store, "key: 'a' range_end: 'z' revision: 4")),
            (V{"bar", "foo"}))
      << "the compact revision itself is still readable";
}

TEST(MvccStoreTest, RangeValidation) {
  MvccStore store;
  EXPECT_EQ(store.Range(RangeRequest()).status(),
            absl::InvalidArgumentError("etcdserver: key is not provided"));
  RangeRequest bad_order = Parse<RangeRequest>("key: 'a'");
  bad_order.set_sort_order(static_cast<RangeRequest::SortOrder>(7));
  EXPECT_EQ(store.Range(bad_order).status(),
            absl::InvalidArgumentError("etcdserver: invalid sort option"));
  RangeRequest bad_target = Parse<RangeRequest>("key: 'a'");
  bad_target.set_sort_target(static_cast<RangeRequest::SortTarget>(9));
  EXPECT_EQ(store.Range(bad_target).status(),
            absl::InvalidArgumentError("etcdserver: invalid sort option"));
}

TEST(MvccStoreTest, LimitMoreAndCount) {
  MvccStore store;
  Fill(store);
  const RangeResponse two =
      MustRange(store, "key: 'a' range_end: 'z~' limit: 2");
  EXPECT_EQ(Keys(two), (V{"baz", "foo"}));
  EXPECT_TRUE(two.more());
  EXPECT_EQ(two.count(), 3);
  const RangeResponse three =
      MustRange(store, "key: 'a' range_end: 'z~' limit: 3");
  EXPECT_EQ(three.kvs_size(), 3);
  EXPECT_FALSE(three.more());
  EXPECT_FALSE(MustRange(store, "key: 'a' range_end: 'z~' limit: 0").more());
}

TEST(MvccStoreTest, CountOnlyAndKeysOnly) {
  MvccStore store;
  Fill(store);
  EXPECT_PROTO_EQ(
      Parse<RangeResponse>("header { revision: 7 } count: 3"),
      MustRange(store, "key: 'a' range_end: 'z~' count_only: true limit: 1"));
  const RangeResponse keys =
      MustRange(store, "key: 'a' range_end: 'z~' keys_only: true");
  ASSERT_EQ(keys.kvs_size(), 3);
  for (const auto& kv : keys.kvs()) {
    EXPECT_TRUE(kv.value().empty());
    EXPECT_GT(kv.mod_revision(), 0) << "keys_only keeps the metadata";
  }
}

TEST(MvccStoreTest, SortEveryTargetBothWays) {
  MvccStore store;
  MustPut(store, "a", "z");  // 2
  MustPut(store, "b", "y");  // 3
  MustPut(store, "c", "x");  // 4
  MustPut(store, "a", "w");  // 5: a has version 2, create 2, mod 5
  struct Case {
    std::string options;
    V keys;
  };
  const Case cases[] = {
      {"", {"a", "b", "c"}},
      {"sort_order: ASCEND", {"a", "b", "c"}},
      {"sort_order: DESCEND", {"c", "b", "a"}},
      {"sort_target: VERSION", {"b", "c", "a"}},  // NONE + target = ASCEND
      {"sort_order: ASCEND sort_target: VERSION", {"b", "c", "a"}},
      {"sort_order: DESCEND sort_target: VERSION", {"a", "b", "c"}},
      {"sort_order: ASCEND sort_target: CREATE", {"a", "b", "c"}},
      {"sort_order: DESCEND sort_target: CREATE", {"c", "b", "a"}},
      {"sort_order: ASCEND sort_target: MOD", {"b", "c", "a"}},
      {"sort_order: DESCEND sort_target: MOD", {"a", "c", "b"}},
      {"sort_order: ASCEND sort_target: VALUE", {"a", "c", "b"}},
      {"sort_order: DESCEND sort_target: VALUE", {"b", "c", "a"}},
      {"sort_order: DESCEND sort_target: MOD limit: 1", {"a"}},
      // etcd's quirk: order NONE reads limit+1 keys by key, then sorts.
      {"sort_target: MOD limit: 1", {"b"}},
      {"sort_order: ASCEND sort_target: MOD limit: 1", {"b"}},
      {"sort_target: VALUE limit: 1", {"a"}},
      {"sort_order: ASCEND sort_target: VALUE limit: 1", {"a"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.options);
    EXPECT_EQ(Keys(MustRange(store, "key: 'a' range_end: 'z' " + c.options)),
              c.keys);
  }
}

TEST(MvccStoreTest, RevisionFiltersDoNotChangeCount) {
  MvccStore store;
  Fill(store);  // baz c5 m5, foo c2 m4, zoo c6 m6
  struct Case {
    std::string options;
    V keys;
  };
  const Case cases[] = {
      {"min_mod_revision: 5", {"baz", "zoo"}},
      {"max_mod_revision: 5", {"baz", "foo"}},
      {"min_create_revision: 3", {"baz", "zoo"}},
      {"max_create_revision: 5", {"baz", "foo"}},
      {"min_mod_revision: 5 max_mod_revision: 5", {"baz"}},
      {"min_create_revision: 3 limit: 1", {"baz"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.options);
    const RangeResponse r =
        MustRange(store, "key: 'a' range_end: 'z~' " + c.options);
    EXPECT_EQ(Keys(r), c.keys);
    EXPECT_EQ(r.count(), 3) << "etcd counts before filtering";
  }
  EXPECT_TRUE(MustRange(store,
                        "key: 'a' range_end: 'z~' min_create_revision: 3 "
                        "limit: 1")
                  .more());
}

TEST(MvccStoreTest, PutPrevKvAndIgnoreFlags) {
  MvccStore store;
  PutRequest put = Parse<PutRequest>("key: 'k' value: 'v1' prev_kv: true");
  auto first = store.Put(put);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_prev_kv()) << "no previous kv for a new key";
  put = Parse<PutRequest>("key: 'k' value: 'v2' lease: 5 prev_kv: true");
  auto second = store.Put(put);
  ASSERT_TRUE(second.ok());
  EXPECT_PROTO_EQ(Parse<mvccpb::KeyValue>("key: 'k' value: 'v1' "
                                          "create_revision: 2 mod_revision: 2 "
                                          "version: 1"),
                  second->prev_kv());
  ASSERT_TRUE(
      store.Put(Parse<PutRequest>("key: 'k' ignore_value: true lease: 5"))
          .ok());
  ASSERT_TRUE(
      store.Put(Parse<PutRequest>("key: 'k' value: 'v3' ignore_lease: true"))
          .ok());
  EXPECT_PROTO_EQ(
      Parse<RangeResponse>(
          "header { revision: 5 } count: 1 kvs { key: 'k' value: 'v3' "
          "create_revision: 2 mod_revision: 5 version: 4 lease: 5 }"),
      MustRange(store, "key: 'k'"));
}

TEST(MvccStoreTest, PutErrorsChangeNothing) {
  MvccStore store;
  struct Case {
    std::string request;
    absl::Status status;
  };
  const Case cases[] = {
      {"value: 'v'",
       absl::InvalidArgumentError("etcdserver: key is not provided")},
      {"key: 'k' value: 'v' ignore_value: true",
       absl::InvalidArgumentError("etcdserver: value is provided")},
      {"key: 'k' lease: 3 ignore_lease: true",
       absl::InvalidArgumentError("etcdserver: lease is provided")},
      {"key: 'k' ignore_value: true",
       absl::InvalidArgumentError("etcdserver: key not found")},
      {"key: 'k' ignore_lease: true",
       absl::InvalidArgumentError("etcdserver: key not found")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.request);
    std::vector<mvccpb::Event> events;
    EXPECT_EQ(store.Put(Parse<PutRequest>(c.request), &events).status(),
              c.status);
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(store.current_revision(), 1);
  }
}

TEST(MvccStoreTest, DeleteRange) {
  MvccStore store;
  Fill(store);
  std::vector<mvccpb::Event> events;
  auto deleted = store.DeleteRange(
      Parse<DeleteRangeRequest>("key: 'b' range_end: 'g' prev_kv: true"),
      &events);
  ASSERT_TRUE(deleted.ok());
  EXPECT_PROTO_EQ(Parse<DeleteRangeResponse>(
                      "header { revision: 8 } deleted: 2 "
                      "prev_kvs { key: 'baz' value: '4' create_revision: 5 "
                      "mod_revision: 5 version: 1 } "
                      "prev_kvs { key: 'foo' value: '3' create_revision: 2 "
                      "mod_revision: 4 version: 2 }"),
                  *deleted);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_PROTO_EQ(Parse<mvccpb::Event>("type: DELETE kv { key: 'baz' "
                                       "mod_revision: 8 }"),
                  events[0]);
  EXPECT_PROTO_EQ(Parse<mvccpb::Event>("type: DELETE kv { key: 'foo' "
                                       "mod_revision: 8 }"),
                  events[1]);
  EXPECT_NE(store.FindChange({8, 1}), nullptr) << "one revision, two subs";
  EXPECT_EQ(Keys(MustRange(store, "key: '\\000' range_end: '\\000'")),
            V{"zoo"});
}

TEST(MvccStoreTest, DeleteOfNothingKeepsRevision) {
  MvccStore store;
  Fill(store);
  EXPECT_PROTO_EQ(Parse<DeleteRangeResponse>("header { revision: 7 }"),
                  MustDelete(store, "nothing"));
  EXPECT_EQ(store.current_revision(), 7);
  EXPECT_EQ(store.DeleteRange(DeleteRangeRequest()).status(),
            absl::InvalidArgumentError("etcdserver: key is not provided"));
  EXPECT_EQ(MustDelete(store, "c", kNul).deleted(), 2) << "from-key delete";
}

TEST(MvccStoreTest, PutEvents) {
  MvccStore store;
  std::vector<mvccpb::Event> events;
  ASSERT_TRUE(
      store.Put(Parse<PutRequest>("key: 'k' value: 'v' lease: 3"), &events)
          .ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_PROTO_EQ(
      Parse<mvccpb::Event>("type: PUT kv { key: 'k' value: 'v' "
                           "create_revision: 2 mod_revision: 2 version: 1 "
                           "lease: 3 }"),
      events[0]);
}

TEST(MvccStoreTest, CompactionErrors) {
  MvccStore store;
  EXPECT_TRUE(store.Compact(Parse<CompactionRequest>("revision: 0")).ok())
      << "etcd's fresh store allows one compaction at 0";
  EXPECT_EQ(
      store.Compact(Parse<CompactionRequest>("revision: 0")).status(),
      absl::OutOfRangeError("mvcc: required revision has been compacted"));
  EXPECT_EQ(
      store.Compact(Parse<CompactionRequest>("revision: 2")).status(),
      absl::OutOfRangeError("mvcc: required revision is a future revision"));
  Fill(store);
  auto ok = store.Compact(Parse<CompactionRequest>("revision: 5"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->header().revision(), 7);
  EXPECT_EQ(store.compact_revision(), 5);
  EXPECT_EQ(
      store.Compact(Parse<CompactionRequest>("revision: 5")).status(),
      absl::OutOfRangeError("mvcc: required revision has been compacted"));
}

TEST(MvccStoreTest, CompactionKeepsEveryLaterRead) {
  for (int64_t at = 1; at <= 7; ++at) {
    SCOPED_TRACE(at);
    MvccStore reference, store;
    Fill(reference);
    Fill(store);
    ASSERT_TRUE(store
                    .Compact(Parse<CompactionRequest>("revision: " +
                                                      std::to_string(at)))
                    .ok());
    store.CheckInvariants();
    for (int64_t rev = at; rev <= 7; ++rev) {
      const std::string all =
          "key: '\\000' range_end: '\\000' revision: " + std::to_string(rev);
      EXPECT_PROTO_EQ(MustRange(reference, all), MustRange(store, all));
    }
  }
}

TEST(MvccStoreTest, CompactionDropsDeletedKeysAndOldValues) {
  MvccStore store;
  Fill(store);
  EXPECT_EQ(store.change_count(), 6u);
  ASSERT_TRUE(store.Compact(Parse<CompactionRequest>("revision: 7")).ok());
  // Kept: foo@4, baz@5, zoo@6; gone: foo@2, bar@3, bar's tombstone@7.
  EXPECT_EQ(store.change_count(), 3u);
  EXPECT_EQ(store.key_count(), 3u);
  EXPECT_EQ(store.FindChange({2, 0}), nullptr);
  EXPECT_NE(store.FindChange({4, 0}), nullptr);
}

}  // namespace
}  // namespace etcdpp::kv
