// HashKV: etcd's own hash of the kept history, so replicas (and a mixed
// cluster with etcd) compare equal. The golden values were read from Debian's
// etcd 3.4.23 (`etcdctl endpoint hashkv --rev=N`) after the same history.
#include <string>

#include "gtest/gtest.h"
#include "kv/errors.h"
#include "kv/mvcc_store.h"
#include "kv/testing.h"
#include "kv/txn.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::CompactionRequest;
using etcdserverpb::DeleteRangeRequest;
using etcdserverpb::PutRequest;
using etcdserverpb::RangeRequest;
using etcdserverpb::TxnRequest;
using testing::Parse;

void MustPut(MvccStore& store, const std::string& key,
             const std::string& value) {
  PutRequest put;
  put.set_key(key);
  put.set_value(value);
  ASSERT_TRUE(store.Put(put).ok());
}

void MustDelete(MvccStore& store, const std::string& key) {
  DeleteRangeRequest del;
  del.set_key(key);
  ASSERT_TRUE(store.DeleteRange(del).ok());
}

void MustCompact(MvccStore& store, int64_t revision) {
  CompactionRequest compact;
  compact.set_revision(revision);
  ASSERT_TRUE(store.Compact(compact).ok());
}

uint32_t MustHash(const MvccStore& store, int64_t revision) {
  absl::StatusOr<KeyValueHash> h = store.HashKV(revision);
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? h->hash : 0;
}

// foo=bar@2 foo=baz@3 a=1@4 del a@5 b=2@6 txn{c=3 d=4}@7 del foo@8
void Fill(MvccStore& store) {
  MustPut(store, "foo", "bar");
  MustPut(store, "foo", "baz");
  MustPut(store, "a", "1");
  MustDelete(store, "a");
  MustPut(store, "b", "2");
  ASSERT_TRUE(Txn(&store, Parse<TxnRequest>(R"pb(
                compare { key: "foo" target: VALUE result: EQUAL value: "baz" }
                success { request_put { key: "c" value: "3" } }
                success { request_put { key: "d" value: "4" } }
              )pb"))
                  .ok());
  MustDelete(store, "foo");
  ASSERT_EQ(store.current_revision(), 8);
}

TEST(HashKvTest, MatchesEtcdGoldenValuesBeforeCompaction) {
  MvccStore store;
  Fill(store);
  EXPECT_EQ(MustHash(store, 0), 3643780610u);
  EXPECT_EQ(MustHash(store, 2), 3305255506u);
  EXPECT_EQ(MustHash(store, 3), 2020292994u);
  EXPECT_EQ(MustHash(store, 5), 1832146948u);
  EXPECT_EQ(MustHash(store, 7), 3484815210u);
  EXPECT_EQ(MustHash(store, 8), 3643780610u);
}

TEST(HashKvTest, MatchesEtcdGoldenValuesAfterCompaction) {
  MvccStore store;
  Fill(store);
  MustCompact(store, 5);
  EXPECT_EQ(MustHash(store, 0), 1517483652u);
  EXPECT_EQ(MustHash(store, 6), 2711702469u);
  EXPECT_EQ(MustHash(store, 7), 1160300757u);
  EXPECT_EQ(MustHash(store, 8), 1517483652u);
  MustCompact(store, 8);
  EXPECT_EQ(MustHash(store, 0), 3879004543u);
}

TEST(HashKvTest, ReportsRevisionsHashed) {
  MvccStore store;
  Fill(store);
  MustCompact(store, 5);
  absl::StatusOr<KeyValueHash> h = store.HashKV(0);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->hash_revision, 8);
  EXPECT_EQ(h->compact_revision, 5);
  h = store.HashKV(6);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->hash_revision, 6);
}

TEST(HashKvTest, FreshStoreHashesTheBucketNameOnly) {
  MvccStore store;
  absl::StatusOr<KeyValueHash> h = store.HashKV(0);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->hash, 0x40A4756Du);  // crc32c("key")
  EXPECT_EQ(h->compact_revision, -1);
  EXPECT_EQ(h->hash_revision, 1);
}

TEST(HashKvTest, RefusesCompactedAndFutureRevisionsAsEtcd) {
  MvccStore store;
  Fill(store);
  MustCompact(store, 5);
  // etcd refuses the compact revision itself, unlike Range.
  EXPECT_EQ(store.HashKV(5).status(), CompactedError());
  EXPECT_EQ(store.HashKV(4).status(), CompactedError());
  EXPECT_EQ(store.HashKV(9).status(), FutureRevisionError());
  EXPECT_TRUE(store.HashKV(6).ok());
}

TEST(HashKvTest, EqualForEqualHistoriesAndChangedByEveryWrite) {
  MvccStore a, b;
  Fill(a);
  Fill(b);
  EXPECT_EQ(*a.HashKV(0), *b.HashKV(0));
  MustPut(b, "foo", "other");
  MustPut(a, "foo", "else");
  EXPECT_NE(a.HashKV(0)->hash, b.HashKV(0)->hash);
  // The hash below the differing write still agrees.
  EXPECT_EQ(*a.HashKV(8), *b.HashKV(8));
}

TEST(HashKvTest, UnchangedByReadsAndFailedWrites) {
  MvccStore store;
  Fill(store);
  const KeyValueHash before = *store.HashKV(0);
  ASSERT_TRUE(
      store.Range(Parse<RangeRequest>(R"pb(key: "a" range_end: "\0")pb")).ok());
  // A delete of nothing writes nothing and keeps the revision.
  MustDelete(store, "nothing");
  PutRequest bad;
  bad.set_key("missing");
  bad.set_ignore_value(true);
  EXPECT_FALSE(store.Put(bad).ok());
  EXPECT_EQ(*store.HashKV(0), before);
}

// etcd compares hashes only between members at the same compact revision:
// a change kept by an older compaction still counts, as in etcd.
TEST(HashKvTest, DependsOnTheCompactRevisionAsEtcd) {
  MvccStore a, b;
  Fill(a);
  Fill(b);
  MustCompact(a, 3);
  MustCompact(b, 6);
  EXPECT_NE(a.HashKV(8)->hash, b.HashKV(8)->hash);
  MustCompact(a, 6);
  EXPECT_EQ(*a.HashKV(8), *b.HashKV(8));
}

}  // namespace
}  // namespace etcdpp::kv
