// The watch and lease checkers on hand-made histories: each kind of
// violation they exist to find is found, and a faithful record passes.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/lease.h"
#include "kv/mvcc_store.h"
#include "sim/lease_checker.h"
#include "sim/watch_checker.h"

namespace etcdpp::sim {
namespace {

// Exactly one violation, and it says `what`.
testing::AssertionResult OneSaying(const std::vector<std::string>& v,
                                   const std::string& what) {
  if (v.size() == 1 && v[0].find(what) != std::string::npos) {
    return testing::AssertionSuccess();
  }
  testing::AssertionResult r = testing::AssertionFailure();
  r << "want one violation saying '" << what << "', got " << v.size() << ":";
  for (const std::string& s : v) r << "\n  " << s;
  return r;
}

void Put(kv::MvccStore& store, const std::string& key, const std::string& value,
         int64_t lease = 0) {
  etcdserverpb::PutRequest put;
  put.set_key(key);
  put.set_value(value);
  put.set_lease(lease);
  ASSERT_TRUE(store.Put(put).ok());
}

void Delete(kv::MvccStore& store, const std::string& key) {
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(key);
  ASSERT_TRUE(store.DeleteRange(del).ok());
}

// The store's history of [k, l) as a watch from revision 1 receives it.
WatchLog FaithfulLog(const kv::MvccStore& store) {
  WatchLog log;
  log.key = "k";
  log.range_end = "l";
  log.from_revision = 1;
  log.sessions.push_back(WatchSession{1, 1, 0, kNever, ""});
  const kv::KeyRange range = kv::KeyRange::FromRequest("k", "l");
  for (const kv::Revision& rev : store.ChangesSince(range, 1)) {
    const mvccpb::KeyValue* kv = store.FindChange(rev);
    WatchEventSeen seen;
    seen.event.set_type(kv->create_revision() == 0 ? mvccpb::Event::DELETE
                                                   : mvccpb::Event::PUT);
    *seen.event.mutable_kv() = *kv;
    log.events.push_back(seen);
  }
  return log;
}

class WatchCheckerTest : public testing::Test {
 protected:
  void SetUp() override {
    Put(store_, "k1", "a");   // rev 2
    Put(store_, "k2", "b");   // rev 3
    Put(store_, "x", "out");  // rev 4, outside [k, l)
    Delete(store_, "k1");     // rev 5
    Put(store_, "k1", "c");   // rev 6
  }
  kv::MvccStore store_;
};

TEST_F(WatchCheckerTest, FaithfulStreamPasses) {
  const WatchLog log = FaithfulLog(store_);
  ASSERT_EQ(log.events.size(), 4u);
  EXPECT_TRUE(CheckWatches({log}, store_).empty());
}

TEST_F(WatchCheckerTest, ReversedEventsAreOutOfOrder) {
  WatchLog log = FaithfulLog(store_);
  std::swap(log.events[1], log.events[2]);
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "out of order"));
}

TEST_F(WatchCheckerTest, MissingEventIsAGap) {
  WatchLog log = FaithfulLog(store_);
  log.events.erase(log.events.begin() + 1);
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "gap"));
}

TEST_F(WatchCheckerTest, MissingTailOfACompleteStream) {
  WatchLog log = FaithfulLog(store_);
  log.events.pop_back();                             // rev 6
  EXPECT_TRUE(CheckWatches({log}, store_).empty());  // may be in flight
  log.complete_through = 6;  // but its stream had everything up to rev 6
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "missed events"));
  log.events.clear();
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "missed events"));
}

TEST_F(WatchCheckerTest, RepeatedEventIsADuplicate) {
  WatchLog log = FaithfulLog(store_);
  log.events.insert(log.events.begin() + 2, log.events[1]);
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "duplicate"));
}

TEST_F(WatchCheckerTest, WrongValueDiffers) {
  WatchLog log = FaithfulLog(store_);
  log.events[3].event.mutable_kv()->set_value("zzz");
  EXPECT_TRUE(
      OneSaying(CheckWatches({log}, store_), "differs from the history"));
}

// A compaction canceled the watch when it still needed revisions 3..5: the
// changes there it never received are not owed, those after are.
TEST_F(WatchCheckerTest, CompactionExcusesOnlyTheLostWindow) {
  WatchLog log = FaithfulLog(store_);  // revs 2, 3, 5, 6
  log.events.erase(log.events.begin() + 1, log.events.begin() + 3);
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "gap"));
  log.lost.push_back(WatchLog::Lost{3, 5});
  EXPECT_TRUE(CheckWatches({log}, store_).empty());
  // A window that ends before revision 5 does not excuse it.
  log.lost.back().last = 4;
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "gap"));
  // Nor does a window excuse a change lost after it.
  log = FaithfulLog(store_);
  log.events.pop_back();  // rev 6
  log.complete_through = 6;
  log.lost.push_back(WatchLog::Lost{3, 5});
  EXPECT_TRUE(OneSaying(CheckWatches({log}, store_), "missed events"));
}

TEST_F(WatchCheckerTest, OkWriteMustBeAtItsRevision) {
  Operation put;
  put.kind = OpKind::kPut;
  put.key = "k2";
  put.value = "b";
  put.outcome = Outcome::kOk;
  put.revision = 3;
  EXPECT_TRUE(CheckWritesInStore({put}, store_).empty());
  put.revision = 6;  // k1 changed there, not k2
  EXPECT_TRUE(OneSaying(CheckWritesInStore({put}, store_),
                        "not in the store's history"));
}

// A read sees the store at the revision its reply names: k1 was "a" at
// revisions 2..4, absent at 5, "c" from 6.
TEST_F(WatchCheckerTest, OkReadMustBeTheStateAtItsRevision) {
  Operation get;
  get.kind = OpKind::kGet;
  get.serializable = true;
  get.key = "k1";
  get.read = "a";
  get.outcome = Outcome::kOk;
  get.revision = 4;
  EXPECT_TRUE(CheckReadsAtRevision({get}, store_).empty());
  get.revision = 5;
  EXPECT_TRUE(OneSaying(CheckReadsAtRevision({get}, store_),
                        "not the store's state"));
  get.read = "";
  EXPECT_TRUE(CheckReadsAtRevision({get}, store_).empty());

  Operation range;
  range.kind = OpKind::kRange;
  range.key = "k1";
  range.key2 = "k3";
  range.range_keys = {"k1", "k2"};
  range.range_reads = {"c", "b"};
  range.outcome = Outcome::kOk;
  range.revision = 6;
  EXPECT_TRUE(CheckReadsAtRevision({range}, store_).empty());
  range.revision = 3;  // k1 was "a" then
  EXPECT_TRUE(OneSaying(CheckReadsAtRevision({range}, store_),
                        "not the store's state"));
}

Scenario NoDrift() {
  Scenario s;
  s.heartbeat_us = 100000;
  s.drift_permille_max = 0;
  return s;
}

TEST(LeaseCheckerTest, KeyOfAGoneLeaseOutlivesIt) {
  kv::MvccStore store;
  kv::Lessor lessor;
  Put(store, "l0.0.0", "v", /*lease=*/77);
  const std::vector<std::string> v =
      CheckLeases(LeaseHistory{}, store, lessor, NoDrift());
  EXPECT_TRUE(OneSaying(v, "outlives its lease 77"));
}

TEST(LeaseCheckerTest, KeyStillAttachedAtTheRevokesRevision) {
  kv::MvccStore store;
  kv::Lessor lessor;
  ASSERT_TRUE(lessor.Grant(77, 5).ok());
  Put(store, "l0.0.0", "v", 77);  // rev 2; the revoke "returned" at rev 2
  LeaseHistory h;
  LeaseRecord lease;
  lease.id = 77;
  lease.ttl_seconds = 5;
  lease.keys = {"l0.0.0"};
  lease.revoke_invoke_us = 1000000;
  lease.revoke_ok_us = 1100000;
  lease.revoke_revision = 2;
  h.leases.push_back(lease);
  EXPECT_TRUE(OneSaying(CheckLeases(h, store, lessor, NoDrift()),
                        "still attached at rev 2"));
}

TEST(LeaseCheckerTest, ReadAfterTheRevokeMustNotFindTheKey) {
  kv::MvccStore store;
  kv::Lessor lessor;
  LeaseHistory h;
  LeaseRecord lease;
  lease.id = 77;
  lease.ttl_seconds = 5;
  lease.revoke_invoke_us = 1000000;
  lease.revoke_ok_us = 1100000;
  h.leases.push_back(lease);
  LeaseRead read;
  read.key = "l0.0.0";
  read.ok = true;
  read.found = true;
  read.found_lease = 77;
  read.invoke_us = 1000500;  // concurrent with the revoke: may see it
  h.reads.push_back(read);
  EXPECT_TRUE(CheckLeases(h, store, lessor, NoDrift()).empty());
  h.reads[0].invoke_us = 1200000;  // after it returned
  EXPECT_TRUE(OneSaying(CheckLeases(h, store, lessor, NoDrift()),
                        "after its lease was gone"));
}

TEST(LeaseCheckerTest, ExpiryNoEarlierThanTtlAfterTheLastRefresh) {
  kv::MvccStore store;
  kv::Lessor lessor;
  LeaseHistory h;
  LeaseRecord lease;
  lease.id = 77;
  lease.ttl_seconds = 3;
  lease.last_refresh_invoke_us = 10000000;
  // TTL 3 s from 10 s, less one tick of slack: 12.9 s.
  lease.deleted_applied_us = 12900000;
  h.leases.push_back(lease);
  EXPECT_TRUE(CheckLeases(h, store, lessor, NoDrift()).empty());
  h.leases[0].deleted_applied_us = 12899999;
  EXPECT_TRUE(
      OneSaying(CheckLeases(h, store, lessor, NoDrift()), "expired early"));
  // A client's revoke invoked before the deletion: not an expiry.
  h.leases[0].revoke_invoke_us = 11000000;
  EXPECT_TRUE(CheckLeases(h, store, lessor, NoDrift()).empty());
}

TEST(LeaseCheckerTest, DriftWidensTheSlack) {
  kv::MvccStore store;
  kv::Lessor lessor;
  Scenario s = NoDrift();
  s.drift_permille_max = 50;  // ticks from 95 ms to 105 ms
  LeaseHistory h;
  LeaseRecord lease;
  lease.id = 77;
  lease.ttl_seconds = 2;
  lease.last_refresh_invoke_us = 0;
  // 20 ticks of 95 ms, less one of 105 ms: 1.795 s.
  lease.deleted_applied_us = 1795000;
  h.leases.push_back(lease);
  EXPECT_TRUE(CheckLeases(h, store, lessor, s).empty());
  h.leases[0].deleted_applied_us = 1794999;
  EXPECT_TRUE(OneSaying(CheckLeases(h, store, lessor, s), "expired early"));
}

}  // namespace
}  // namespace etcdpp::sim
