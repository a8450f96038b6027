// WatchHub unit tests: one per documented behaviour of etcd's watch (and
// each deliberate difference), over a real Applier.
#include "kv/watch.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/testing.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::WatchCreateRequest;
using etcdserverpb::WatchResponse;
using mvccpb::Event;
using testing::Parse;

class WatchTest : public ::testing::Test {
 protected:
  explicit WatchTest(WatchHubOptions options = {})
      : hub_(&applier_.store(), options) {}

  void Apply(const std::string& text) {
    ApplyResult r = applier_.Apply(Parse<kvpb::InternalRequest>(text));
    ASSERT_TRUE(r.status.ok()) << r.status;
    if (!r.events.empty()) {
      hub_.OnApplied(r.events, applier_.store().current_revision());
    }
    hub_.CheckInvariants();
  }
  void Put(const std::string& key, const std::string& value) {
    Apply("put { key: \"" + key + "\" value: \"" + value + "\" }");
  }
  void Delete(const std::string& key) {
    Apply("delete_range { key: \"" + key + "\" }");
  }
  void Watch(int64_t id, const std::string& text) {
    ASSERT_TRUE(hub_.Watch(id, Parse<WatchCreateRequest>(text)).ok());
    hub_.CheckInvariants();
  }
  // Every event the watcher's queued responses carry, in order.
  std::vector<Event> Events(int64_t id) {
    std::vector<Event> out;
    for (const WatchResponse& r : hub_.Take(id)) {
      for (const Event& e : r.events()) out.push_back(e);
    }
    return out;
  }
  static std::vector<std::string> Keys(const std::vector<Event>& events) {
    std::vector<std::string> keys;
    for (const Event& e : events) {
      keys.push_back((e.type() == Event::DELETE ? "-" : "+") + e.kv().key() +
                     "@" + std::to_string(e.kv().mod_revision()));
    }
    return keys;
  }

  Applier applier_;
  WatchHub hub_;
};

using Strings = std::vector<std::string>;

TEST_F(WatchTest, CreatedResponseThenLiveEvents) {
  Put("a", "0");
  Watch(1, R"pb(key: "a")pb");
  std::vector<WatchResponse> out = hub_.Take(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_PROTO_EQ(Parse<WatchResponse>(R"pb(header { revision: 2 }
                                            watch_id: 1
                                            created: true)pb"),
                  out[0]);
  Put("a", "1");
  Put("b", "x");
  Delete("a");
  out = hub_.Take(1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].header().revision(), 3);
  EXPECT_EQ(out[0].events(0).kv().value(), "1");
  EXPECT_EQ(out[1].events(0).type(), Event::DELETE);
  EXPECT_PROTO_EQ(Parse<mvccpb::KeyValue>(R"pb(key: "a" mod_revision: 5)pb"),
                  out[1].events(0).kv());
}

TEST_F(WatchTest, RangePrefixAndFromKey) {
  Watch(1, R"pb(key: "a" range_end: "b")pb");     // prefix "a"
  Watch(2, R"pb(key: "b" range_end: "\000")pb");  // every key >= "b"
  Watch(3, R"pb(key: "" range_end: "\000")pb");   // every key
  Apply(R"pb(txn {
               success { request_put { key: "a" value: "1" } }
               success { request_put { key: "ab" value: "1" } }
               success { request_put { key: "c" value: "1" } }
             })pb");
  EXPECT_EQ(Keys(Events(1)), (Strings{"+a@2", "+ab@2"}));
  EXPECT_EQ(Keys(Events(2)), (Strings{"+c@2"}));
  // One response holds the whole revision, in sub-revision order.
  hub_.Take(3);
  Apply(R"pb(delete_range { key: "a" range_end: "z" })pb");
  std::vector<WatchResponse> out = hub_.Take(3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].events_size(), 3);
}

TEST_F(WatchTest, HistoricStartReplaysFromTheStore) {
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Put("a", "2");  // 4
  Delete("a");    // 5
  Watch(1, R"pb(key: "a" start_revision: 3)pb");
  EXPECT_FALSE(hub_.IsSynced(1));
  hub_.SyncUnsynced();
  EXPECT_TRUE(hub_.IsSynced(1));
  EXPECT_EQ(Keys(Events(1)), (Strings{"+a@4", "-a@5"}));
  Put("a", "3");
  EXPECT_EQ(Keys(Events(1)), (Strings{"+a@6"}));
}

// etcd lets a txn put a key and then delete it when the two sit in sibling
// nested txns, put first. A synced watcher hears both changes; one catching
// up from history must hear the same (etcd replays every sub-revision), and
// the delete's prev_kv is the key before the txn (etcd reads it at
// mod_revision - 1), for both.
TEST_F(WatchTest, PutThenDeleteInOneTxnReachesSyncedAndReplayingWatchers) {
  Put("a", "old");  // 2
  Watch(1, R"pb(key: "a" prev_kv: true)pb");
  Apply(
      R"pb(txn {
             success {
               request_txn { success { request_put { key: "a" value: "new" } } }
             }
             success {
               request_txn { success { request_delete_range { key: "a" } } }
             }
           })pb");  // 3
  Watch(2, R"pb(key: "a" start_revision: 3 prev_kv: true)pb");
  hub_.SyncUnsynced();
  for (int64_t id : {1, 2}) {
    SCOPED_TRACE(id);
    const std::vector<Event> events = Events(id);
    EXPECT_EQ(Keys(events), (Strings{"+a@3", "-a@3"}));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kv().value(), "new");
    EXPECT_EQ(events[0].prev_kv().value(), "old");
    EXPECT_EQ(events[1].prev_kv().value(), "old");
  }
}

TEST_F(WatchTest, FutureStartSkipsEarlierRevisions) {
  Watch(1, R"pb(key: "a" start_revision: 4)pb");
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("a", "3");  // 4
  EXPECT_EQ(Keys(Events(1)), (Strings{"+a@4"}));
}

TEST_F(WatchTest, Filters) {
  Watch(1, R"pb(key: "a" filters: NOPUT)pb");
  Watch(2, R"pb(key: "a" filters: NODELETE)pb");
  Watch(3, R"pb(key: "a" filters: NOPUT filters: NODELETE)pb");
  Put("a", "1");
  Delete("a");
  EXPECT_EQ(Keys(Events(1)), (Strings{"-a@3"}));
  EXPECT_EQ(Keys(Events(2)), (Strings{"+a@2"}));
  // Everything filtered: not even an empty response (beyond created).
  EXPECT_EQ(hub_.Take(3).size(), 1u);
}

TEST_F(WatchTest, PrevKvOnUpdatesAndDeletesNotOnCreates) {
  Watch(1, R"pb(key: "a" prev_kv: true)pb");
  Put("a", "1");
  Put("a", "2");
  Delete("a");
  const std::vector<Event> events = Events(1);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_FALSE(events[0].has_prev_kv());
  EXPECT_EQ(events[1].prev_kv().value(), "1");
  EXPECT_EQ(events[2].prev_kv().value(), "2");
  EXPECT_EQ(events[2].prev_kv().mod_revision(), 3);
}

TEST_F(WatchTest, CompactedStartIsCanceledWithTheCompactRevision) {
  Put("a", "1");
  Put("a", "2");
  Put("a", "3");
  Apply("compaction { revision: 3 }");
  Watch(1, R"pb(key: "a" start_revision: 2)pb");
  // Unlike etcd, the compact revision itself is refused too: its deletes
  // are gone from the store.
  Watch(2, R"pb(key: "a" start_revision: 3)pb");
  Watch(3, R"pb(key: "a" start_revision: 4)pb");
  hub_.SyncUnsynced();
  for (int64_t id : {1, 2}) {
    std::vector<WatchResponse> out = hub_.Take(id);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[1].canceled());
    EXPECT_EQ(out[1].compact_revision(), 3);
  }
  EXPECT_EQ(Keys(Events(3)), (Strings{"+a@4"}));
  EXPECT_EQ(hub_.watcher_count(), 1u);
}

TEST_F(WatchTest,
       LaggingWatcherCompactedWhileUnsyncedIsCanceledAfterItsEvents) {
  WatchHub hub(&applier_.store(), {.max_pending_events = 1});
  ASSERT_TRUE(hub.Watch(1, Parse<WatchCreateRequest>(R"pb(key: "a")pb")).ok());
  for (const char* v : {"1", "2", "3"}) {
    ApplyResult r = applier_.Apply(Parse<kvpb::InternalRequest>(
        std::string("put { key: \"a\" value: \"") + v + "\" }"));
    hub.OnApplied(r.events, applier_.store().current_revision());
  }
  EXPECT_FALSE(hub.IsSynced(1));
  applier_.Apply(Parse<kvpb::InternalRequest>("compaction { revision: 4 }"));
  hub.SyncUnsynced();
  std::vector<WatchResponse> out = hub.Take(1);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].events(0).kv().mod_revision(), 2);
  EXPECT_TRUE(out[2].canceled());
  EXPECT_EQ(out[2].compact_revision(), 4);
}

TEST_F(WatchTest, SlowWatcherNeverHoldsBackOthersAndCatchesUpExactlyOnce) {
  WatchHub hub(&applier_.store(), {.max_pending_events = 2});
  auto watch = [&](int64_t id) {
    ASSERT_TRUE(
        hub.Watch(id, Parse<WatchCreateRequest>(R"pb(key: "k")pb")).ok());
  };
  watch(1);  // never taken until the end: slow
  watch(2);  // taken after every write
  std::vector<int64_t> fast_seen;
  for (int i = 0; i < 10; ++i) {
    ApplyResult r = applier_.Apply(Parse<kvpb::InternalRequest>(
        "put { key: \"k\" value: \"" + std::to_string(i) + "\" }"));
    hub.OnApplied(r.events, applier_.store().current_revision());
    hub.SyncUnsynced();
    hub.CheckInvariants();
    for (const WatchResponse& resp : hub.Take(2)) {
      for (const Event& e : resp.events())
        fast_seen.push_back(e.kv().mod_revision());
    }
  }
  EXPECT_EQ(fast_seen.size(), 10u);
  EXPECT_FALSE(hub.IsSynced(1));
  std::vector<int64_t> slow_seen;
  while (!hub.IsSynced(1) || !hub.WatchersWithOutput().empty()) {
    for (const WatchResponse& resp : hub.Take(1)) {
      for (const Event& e : resp.events())
        slow_seen.push_back(e.kv().mod_revision());
    }
    hub.SyncUnsynced();
    hub.CheckInvariants();
  }
  EXPECT_EQ(slow_seen, fast_seen);
}

TEST_F(WatchTest, CancelDropsPendingAndAnswersOnce) {
  Watch(1, R"pb(key: "a")pb");
  Put("a", "1");
  ASSERT_TRUE(hub_.Cancel(1).ok());
  // The untaken created response stays; the untaken event goes.
  std::vector<WatchResponse> out = hub_.Take(1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].created());
  EXPECT_TRUE(out[1].canceled());
  EXPECT_EQ(out[1].events_size(), 0);
  EXPECT_EQ(out[1].compact_revision(), 0);
  EXPECT_EQ(hub_.Cancel(1).code(), absl::StatusCode::kNotFound);
  Put("a", "2");
  EXPECT_TRUE(hub_.Take(1).empty());
  // The id is free again once its output was taken.
  Watch(1, R"pb(key: "a")pb");
}

TEST_F(WatchTest, RefusesDuplicateIdsEmptyRangesAndNegativeStarts) {
  Watch(1, R"pb(key: "a")pb");
  EXPECT_EQ(hub_.Watch(1, Parse<WatchCreateRequest>(R"pb(key: "b")pb")),
            absl::AlreadyExistsError(
                "mvcc: duplicate watch ID provided on the WatchStream"));
  EXPECT_EQ(hub_.Watch(
                2, Parse<WatchCreateRequest>(R"pb(key: "b" range_end: "a")pb")),
            absl::InvalidArgumentError("mvcc: watcher range is empty"));
  EXPECT_EQ(hub_.Watch(3,
                       Parse<WatchCreateRequest>(R"pb(key: "b"
                                                      start_revision: -1)pb"))
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hub_.watcher_count(), 1u);
}

TEST_F(WatchTest, ProgressGoesToSyncedWatchersBehindTheirEvents) {
  Put("a", "1");
  Watch(1, R"pb(key: "a")pb");
  Watch(2, R"pb(key: "a" start_revision: 1)pb");  // unsynced until synced
  hub_.TakeAll();
  Put("a", "2");
  hub_.Progress();
  std::vector<WatchResponse> out = hub_.Take(1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].events_size(), 1);
  EXPECT_PROTO_EQ(Parse<WatchResponse>(R"pb(header { revision: 3 }
                                            watch_id: 1)pb"),
                  out[1]);
  EXPECT_TRUE(hub_.Take(2).empty());
}

TEST_F(WatchTest, ProgressNotifyOnlyToIdleWatchersThatAsked) {
  Watch(1, R"pb(key: "a" progress_notify: true)pb");
  Watch(2, R"pb(key: "b" progress_notify: true)pb");
  Watch(3, R"pb(key: "c")pb");
  hub_.TakeAll();
  Put("a", "1");
  hub_.ProgressNotify();
  EXPECT_EQ(hub_.Take(1).size(), 1u);  // the event only
  EXPECT_EQ(hub_.Take(2).size(), 1u);  // a notification
  EXPECT_TRUE(hub_.Take(3).empty());
  hub_.ProgressNotify();
  EXPECT_EQ(hub_.Take(1).size(), 1u);  // idle since the last one now
}

TEST_F(WatchTest, FragmentSplitsALargeRevisionOnlyWhenAsked) {
  WatchHub hub(&applier_.store(), {.max_response_bytes = 300});
  ASSERT_TRUE(hub.Watch(1, Parse<WatchCreateRequest>(R"pb(key: "a"
                                                          range_end: "z"
                                                          fragment: true)pb"))
                  .ok());
  ASSERT_TRUE(hub.Watch(2, Parse<WatchCreateRequest>(R"pb(key: "a"
                                                          range_end: "z")pb"))
                  .ok());
  hub.TakeAll();
  etcdserverpb::TxnRequest txn;
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(k);
    put->set_value(std::string(100, 'v'));
  }
  kvpb::InternalRequest request;
  *request.mutable_txn() = txn;
  ApplyResult r = applier_.Apply(request);
  hub.OnApplied(r.events, applier_.store().current_revision());
  std::vector<WatchResponse> parts = hub.Take(1);
  ASSERT_GT(parts.size(), 1u);
  int events = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_EQ(parts[i].fragment(), i + 1 < parts.size()) << i;
    EXPECT_LT(parts[i].ByteSizeLong(), 300u + 130u);
    events += parts[i].events_size();
  }
  EXPECT_EQ(events, 5);
  EXPECT_EQ(hub.Take(2).size(), 1u);
}

TEST_F(WatchTest, RebindCatchesUpFromTheRestoredStore) {
  Put("a", "1");  // 2
  Watch(1, R"pb(key: "a")pb");
  Watch(2, R"pb(key: "a" start_revision: 10)pb");
  hub_.TakeAll();
  // A replica that applied two more writes, then compacted at the first.
  Applier ahead;
  for (const char* v : {"1", "2", "3"}) {
    ahead.Apply(Parse<kvpb::InternalRequest>(
        std::string("put { key: \"a\" value: \"") + v + "\" }"));
  }
  hub_.Rebind(&ahead.store());
  EXPECT_FALSE(hub_.IsSynced(1));
  hub_.SyncUnsynced();
  hub_.CheckInvariants();
  EXPECT_EQ(Keys(Events(1)), (Strings{"+a@3", "+a@4"}));
  EXPECT_TRUE(hub_.Take(2).empty());
  EXPECT_TRUE(hub_.IsSynced(2));

  Applier compacted;
  for (const char* v : {"1", "2", "3", "4"}) {
    compacted.Apply(Parse<kvpb::InternalRequest>(
        std::string("put { key: \"a\" value: \"") + v + "\" }"));
  }
  compacted.Apply(Parse<kvpb::InternalRequest>("compaction { revision: 5 }"));
  hub_.Rebind(&compacted.store());
  hub_.SyncUnsynced();
  std::vector<WatchResponse> out = hub_.Take(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].canceled());
  EXPECT_EQ(out[0].compact_revision(), 5);
}

// A driver that applies a batch of requests, then tells the hub of each
// (the production runner): the events and prev_kv are the same as if told
// one at a time.
TEST_F(WatchTest, BatchedNotificationAfterTheStoreMovedOn) {
  Put("a", "1");  // 2
  Watch(1, R"pb(key: "a" prev_kv: true)pb");
  hub_.TakeAll();
  std::vector<std::pair<std::vector<Event>, int64_t>> batch;
  for (const char* text : {R"pb(put { key: "a" value: "2" })pb",
                           R"pb(put { key: "b" value: "x" })pb",
                           R"pb(delete_range { key: "a" })pb"}) {
    ApplyResult r = applier_.Apply(Parse<kvpb::InternalRequest>(text));
    ASSERT_TRUE(r.status.ok());
    batch.emplace_back(r.events, applier_.store().current_revision());
  }
  for (const auto& [events, revision] : batch) hub_.OnApplied(events, revision);
  hub_.CheckInvariants();
  std::vector<Event> got = Events(1);
  EXPECT_EQ(Keys(got), (Strings{"+a@3", "-a@5"}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].prev_kv().value(), "1");
  EXPECT_EQ(got[1].prev_kv().value(), "2");
}

// A node's output hands the hub a replaced store (a restored snapshot) and
// the events applied after it: the hub rebinds from what it heard, never
// reading the old store, and the watchers replay the gap from the new one.
TEST_F(WatchTest, FeedOfAReplacedStoreReplaysTheGapFromTheNewStore) {
  Put("a", "1");  // 2
  Watch(1, R"pb(key: "a")pb");
  hub_.TakeAll();
  auto restored = std::make_unique<Applier>();
  for (const char* v : {"1", "2", "3"}) {
    restored->Apply(Parse<kvpb::InternalRequest>(
        std::string("put { key: \"a\" value: \"") + v + "\" }"));
  }
  // Applied after the restore, in the same output.
  ApplyResult r = restored->Apply(
      Parse<kvpb::InternalRequest>(R"pb(put { key: "a" value: "4" })pb"));
  hub_.Feed(&restored->store(), /*store_replaced=*/true, r.events);
  EXPECT_EQ(hub_.heard_revision(), 5);
  hub_.SyncUnsynced();
  hub_.CheckInvariants();
  EXPECT_EQ(Keys(Events(1)), (Strings{"+a@3", "+a@4", "+a@5"}));
  EXPECT_TRUE(hub_.IsSynced(1));

  // Later outputs go on from there on the new store.
  r = restored->Apply(
      Parse<kvpb::InternalRequest>(R"pb(put { key: "a" value: "5" })pb"));
  hub_.Feed(&restored->store(), /*store_replaced=*/false, r.events);
  EXPECT_EQ(Keys(Events(1)), (Strings{"+a@6"}));
}

}  // namespace
}  // namespace etcdpp::kv
