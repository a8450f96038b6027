// Leases through the Applier (grant, revoke, checkpoint, attach/detach on
// put, delete and txn) and the Lessor's leader-local side (promote, demote,
// renew, expiry, checkpoints, time-to-live, listing), each against etcd's
// documented behaviour and error words.
#include "kv/lease.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/testing.h"

namespace etcdpp::kv {
namespace {

using kvpb::InternalRequest;
using testing::Parse;

ApplyResult Apply(Applier& applier, const std::string& text) {
  ApplyResult result = applier.Apply(Parse<InternalRequest>(text));
  applier.CheckInvariants();
  return result;
}

void MustApply(Applier& applier, const std::string& text) {
  ApplyResult result = Apply(applier, text);
  ASSERT_TRUE(result.status.ok()) << text << ": " << result.status;
}

std::vector<std::string> Keys(const Applier& applier, int64_t id) {
  const etcdserverpb::LeaseTimeToLiveResponse ttl =
      applier.lessor().TimeToLive(id, true);
  return std::vector<std::string>(ttl.keys().begin(), ttl.keys().end());
}

int64_t Count(const Applier& applier, const std::string& key) {
  etcdserverpb::RangeRequest r;
  r.set_key(key);
  return applier.store().Range(r)->count();
}

TEST(LeaseTest, GrantAnswersIdAndTtl) {
  Applier applier;
  ApplyResult r = Apply(applier, "lease_grant { ID: 7 TTL: 60 }");
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.response.lease_grant().id(), 7);
  EXPECT_EQ(r.response.lease_grant().ttl(), 60);
  EXPECT_EQ(r.response.lease_grant().header().revision(), 1);
  // A grant changes no key: the revision stays.
  EXPECT_EQ(applier.store().current_revision(), 1);
  ASSERT_NE(applier.lessor().Find(7), nullptr);
}

TEST(LeaseTest, GrantRaisesTtlToTheMinimum) {
  ApplierOptions options;
  options.lessor.min_ttl_seconds = 5;
  Applier applier(options);
  EXPECT_EQ(Apply(applier, "lease_grant { ID: 1 TTL: 1 }")
                .response.lease_grant().ttl(), 5);
  EXPECT_EQ(Apply(applier, "lease_grant { ID: 2 TTL: -3 }")
                .response.lease_grant().ttl(), 5);
  EXPECT_EQ(Apply(applier, "lease_grant { ID: 3 TTL: 6 }")
                .response.lease_grant().ttl(), 6);
}

TEST(LeaseTest, GrantErrors) {
  Applier applier;
  ApplyResult zero = Apply(applier, "lease_grant { ID: 0 TTL: 10 }");
  EXPECT_EQ(zero.status, LeaseNotFoundError());
  EXPECT_EQ(zero.status.code(), absl::StatusCode::kNotFound);
  ApplyResult big = Apply(applier, "lease_grant { ID: 1 TTL: 9000000001 }");
  EXPECT_EQ(big.status.message(), "etcdserver: too large lease TTL");
  EXPECT_EQ(big.status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(
      Apply(applier, "lease_grant { ID: 1 TTL: 9000000000 }").status.ok());
  ApplyResult again = Apply(applier, "lease_grant { ID: 1 TTL: 5 }");
  EXPECT_EQ(again.status.message(), "etcdserver: lease already exists");
  EXPECT_EQ(again.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(applier.lessor().Find(1)->ttl_seconds, 9000000000);
}

TEST(LeaseTest, PutWithUnknownLeaseFailsAndWritesNothing) {
  Applier applier;
  ApplyResult r = Apply(applier, "put { key: 'a' value: 'v' lease: 9 }");
  EXPECT_EQ(r.status.message(), "etcdserver: requested lease not found");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(applier.store().current_revision(), 1);
  EXPECT_TRUE(r.events.empty());
  // Validation comes first, as in etcd.
  EXPECT_EQ(Apply(applier, "put { key: '' lease: 9 }").status.message(),
            "etcdserver: key is not provided");
}

TEST(LeaseTest, PutAttachesAndRewritesMoveOrDetach) {
  Applier applier;
  MustApply(applier, "lease_grant { ID: 1 TTL: 60 }");
  MustApply(applier, "lease_grant { ID: 2 TTL: 60 }");
  MustApply(applier, "put { key: 'b' value: 'v' lease: 1 }");
  MustApply(applier, "put { key: 'a' value: 'v' lease: 1 }");
  MustApply(applier, "put { key: 'c' value: 'v' lease: 2 }");
  EXPECT_EQ(Keys(applier, 1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Keys(applier, 2), (std::vector<std::string>{"c"}));
  // Another lease moves the key; ignore_lease keeps it; no lease detaches.
  MustApply(applier, "put { key: 'a' value: 'w' lease: 2 }");
  EXPECT_EQ(Keys(applier, 1), (std::vector<std::string>{"b"}));
  MustApply(applier, "put { key: 'a' value: 'x' ignore_lease: true }");
  EXPECT_EQ(Keys(applier, 2), (std::vector<std::string>{"a", "c"}));
  MustApply(applier, "put { key: 'c' value: 'x' }");
  EXPECT_EQ(Keys(applier, 2), (std::vector<std::string>{"a"}));
  EXPECT_EQ(applier.lessor().LeaseOf("c"), kNoLease);
  // A delete detaches.
  MustApply(applier, "delete_range { key: 'a' range_end: 'c' }");
  EXPECT_TRUE(Keys(applier, 1).empty());
  EXPECT_TRUE(Keys(applier, 2).empty());
}

TEST(LeaseTest, TxnPutChecksAndAttachesLeases) {
  Applier applier;
  MustApply(applier, "lease_grant { ID: 1 TTL: 60 }");
  // Only the path taken is checked: the failure branch names lease 9.
  MustApply(applier,
            "txn { success { request_put { key: 'a' value: 'v' lease: 1 } }"
            "      failure { request_put { key: 'z' value: 'v' lease: 9 } } }");
  EXPECT_EQ(Keys(applier, 1), (std::vector<std::string>{"a"}));
  ApplyResult bad = Apply(
      applier,
      "txn { success { request_put { key: 'b' value: 'v' lease: 1 } }"
      "      success { request_txn { success { request_put {"
      "        key: 'c' value: 'v' lease: 9 } } } } }");
  EXPECT_EQ(bad.status, LeaseNotFoundError());
  EXPECT_EQ(Count(applier, "b"), 0);
  MustApply(applier, "txn { success { request_delete_range { key: 'a' } } }");
  EXPECT_TRUE(Keys(applier, 1).empty());
}

TEST(LeaseTest, RevokeDeletesEveryAttachedKeyInOneRevision) {
  Applier applier;
  MustApply(applier, "lease_grant { ID: 1 TTL: 60 }");
  MustApply(applier, "put { key: 'c' value: 'v' lease: 1 }");
  MustApply(applier, "put { key: 'a' value: 'v' lease: 1 }");
  MustApply(applier, "put { key: 'b' value: 'v' }");
  MustApply(applier, "put { key: 'd' value: 'v' lease: 1 }");
  ASSERT_EQ(applier.store().current_revision(), 5);
  ApplyResult r = Apply(applier, "lease_revoke { ID: 1 }");
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(applier.store().current_revision(), 6);
  EXPECT_EQ(r.response.lease_revoke().header().revision(), 6);
  ASSERT_EQ(r.events.size(), 3u);
  const char* want[] = {"a", "c", "d"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.events[i].type(), mvccpb::Event::DELETE);
    EXPECT_EQ(r.events[i].kv().key(), want[i]);
    EXPECT_EQ(r.events[i].kv().mod_revision(), 6);
  }
  EXPECT_EQ(Count(applier, "a"), 0);
  EXPECT_EQ(Count(applier, "b"), 1);
  EXPECT_EQ(applier.lessor().Find(1), nullptr);
  EXPECT_EQ(applier.lessor().TimeToLive(1, true).ttl(), -1);
}

TEST(LeaseTest, RevokeErrorsAndEmptyLeases) {
  Applier applier;
  EXPECT_EQ(Apply(applier, "lease_revoke { ID: 3 }").status,
            LeaseNotFoundError());
  MustApply(applier, "lease_grant { ID: 3 TTL: 60 }");
  ApplyResult r = Apply(applier, "lease_revoke { ID: 3 }");
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(applier.store().current_revision(), 1);
  EXPECT_EQ(Apply(applier, "lease_revoke { ID: 3 }").status,
            LeaseNotFoundError());
  // The id can be granted again.
  MustApply(applier, "lease_grant { ID: 3 TTL: 60 }");
}

TEST(LeaseTest, CheckpointRecordsRemainingTtlAndIgnoresUnknownLeases) {
  Applier applier;
  MustApply(applier, "lease_grant { ID: 1 TTL: 600 }");
  ApplyResult r = Apply(applier,
                        "lease_checkpoint { checkpoints { ID: 1 remaining_TTL: "
                        "250 } checkpoints { ID: 8 remaining_TTL: 3 } }");
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(r.response.has_lease_checkpoint());
  EXPECT_EQ(applier.lessor().Find(1)->remaining_ttl_seconds, 250);
  EXPECT_EQ(applier.lessor().Find(8), nullptr);
  // Off the leader, time-to-live is the checkpointed TTL.
  EXPECT_EQ(applier.lessor().TimeToLive(1, false).ttl(), 250);
  EXPECT_EQ(applier.lessor().TimeToLive(1, false).grantedttl(), 600);
}

// ---- Leader-local ------------------------------------------------------------

TEST(LessorTest, FollowersNeitherRenewNorExpire) {
  Lessor lessor;
  ASSERT_TRUE(lessor.Grant(1, 10).ok());
  lessor.AdvanceTo(1000000);
  EXPECT_EQ(lessor.Renew(1).status(), NotPrimaryError());
  EXPECT_EQ(lessor.Renew(1).status().message(), "etcdserver: not leader");
  EXPECT_TRUE(lessor.TakeExpired(10).empty());
  EXPECT_TRUE(lessor.TakeCheckpoints(10).empty());
  EXPECT_EQ(lessor.Find(1)->expiry_ms, kForeverMs);
  lessor.CheckInvariants();
}

TEST(LessorTest, PromoteExtendsAndExpiresInOrder) {
  Lessor lessor;
  ASSERT_TRUE(lessor.Grant(2, 10).ok());
  ASSERT_TRUE(lessor.Grant(1, 20).ok());
  ASSERT_TRUE(lessor.Grant(3, 10).ok());
  lessor.AdvanceTo(5000);
  lessor.Promote(1000);
  EXPECT_EQ(lessor.Find(2)->expiry_ms, 5000 + 1000 + 10000);
  EXPECT_EQ(lessor.Find(1)->expiry_ms, 5000 + 1000 + 20000);
  lessor.AdvanceTo(15999);
  EXPECT_TRUE(lessor.TakeExpired(10).empty());
  EXPECT_EQ(lessor.TimeToLive(2, false).ttl(), 0);  // 1 ms left
  lessor.AdvanceTo(16000);
  EXPECT_EQ(lessor.TakeExpired(10), (std::vector<int64_t>{2, 3}));
  // Handed out once; again only after the retry interval.
  EXPECT_TRUE(lessor.TakeExpired(10).empty());
  lessor.AdvanceTo(16000 + kExpiredLeaseRetryMs);
  EXPECT_EQ(lessor.TakeExpired(1), (std::vector<int64_t>{2}));
  // Still not revoked: 2 and 3 are handed out again, with 1 now expired.
  lessor.AdvanceTo(26000);
  EXPECT_EQ(lessor.TakeExpired(10), (std::vector<int64_t>{2, 3, 1}));
  lessor.CheckInvariants();
}

TEST(LessorTest, RenewRestartsTheTtl) {
  Lessor lessor;
  ASSERT_TRUE(lessor.Grant(1, 10).ok());
  lessor.Promote(0);
  lessor.AdvanceTo(9000);
  absl::StatusOr<int64_t> ttl = lessor.Renew(1);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 10);
  EXPECT_EQ(lessor.TimeToLive(1, false).ttl(), 10);
  lessor.AdvanceTo(18999);
  EXPECT_TRUE(lessor.TakeExpired(10).empty());
  EXPECT_EQ(lessor.Renew(7).status(), LeaseNotFoundError());
  lessor.AdvanceTo(19000);
  // Past its expiry: its revoke is decided, the renewal is refused.
  EXPECT_EQ(lessor.Renew(1).status(), LeaseNotFoundError());
}

TEST(LessorTest, GrantOnThePrimaryExpiresFromNow) {
  Lessor lessor;
  lessor.Promote(0);
  lessor.AdvanceTo(3000);
  ASSERT_TRUE(lessor.Grant(1, 4).ok());
  EXPECT_EQ(lessor.Find(1)->expiry_ms, 7000);
  EXPECT_EQ(lessor.TimeToLive(1, false).ttl(), 4);
}

TEST(LessorTest, DemoteMakesLeasesLiveForever) {
  Lessor lessor;
  ASSERT_TRUE(lessor.Grant(1, 4).ok());
  lessor.Promote(0);
  lessor.AdvanceTo(10000);
  lessor.Demote();
  EXPECT_FALSE(lessor.primary());
  EXPECT_TRUE(lessor.TakeExpired(10).empty());
  lessor.CheckInvariants();
  // A new term counts the whole TTL again, plus the extension.
  lessor.Promote(500);
  EXPECT_EQ(lessor.Find(1)->expiry_ms, 14500);
}

TEST(LessorTest, CheckpointsCarryTheRemainingTtlToTheNextLeader) {
  LessorOptions options;
  options.checkpoint_interval_ms = 300000;
  Lessor leader(options);
  Lessor next(options);
  for (Lessor* l : {&leader, &next}) ASSERT_TRUE(l->Grant(1, 1000).ok());
  for (Lessor* l : {&leader, &next}) ASSERT_TRUE(l->Grant(2, 100).ok());
  leader.Promote(0);
  leader.AdvanceTo(299999);
  EXPECT_TRUE(leader.TakeCheckpoints(10).empty());
  leader.AdvanceTo(300000);
  std::vector<etcdserverpb::LeaseCheckpoint> due = leader.TakeCheckpoints(10);
  // Lease 2 outlives no interval, so it is never checkpointed.
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id(), 1);
  EXPECT_EQ(due[0].remaining_ttl(), 700);
  EXPECT_TRUE(leader.TakeCheckpoints(10).empty());
  // Applied everywhere; the leader schedules the next one.
  leader.Checkpoint(1, due[0].remaining_ttl());
  next.Checkpoint(1, due[0].remaining_ttl());
  // The next leader counts from the checkpoint, not the full TTL.
  next.AdvanceTo(400000);
  next.Promote(2000);
  EXPECT_EQ(next.Find(1)->expiry_ms, 400000 + 2000 + 700000);
  // A renewal makes the checkpoint stale: the leader clears it with 0.
  ASSERT_TRUE(leader.Renew(1).ok());
  due = leader.TakeCheckpoints(10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].remaining_ttl(), 0);
  leader.Checkpoint(1, 0);
  EXPECT_EQ(leader.Find(1)->remaining_ttl_seconds, 0);
}

TEST(LessorTest, CheckpointsOff) {
  LessorOptions options;
  options.checkpoint_interval_ms = 0;
  Lessor lessor(options);
  ASSERT_TRUE(lessor.Grant(1, 100000).ok());
  lessor.Promote(0);
  lessor.AdvanceTo(100000000);
  EXPECT_TRUE(lessor.TakeCheckpoints(10).empty());
}

TEST(LessorTest, LeasesListSoonestExpiryFirst) {
  Lessor lessor;
  ASSERT_TRUE(lessor.Grant(5, 30).ok());
  ASSERT_TRUE(lessor.Grant(6, 10).ok());
  ASSERT_TRUE(lessor.Grant(4, 20).ok());
  auto ids = [&] {
    const etcdserverpb::LeaseLeasesResponse leases = lessor.Leases();
    std::vector<int64_t> out;
    for (const auto& s : leases.leases()) out.push_back(s.id());
    return out;
  };
  EXPECT_EQ(ids(), (std::vector<int64_t>{4, 5, 6}));  // forever: by id
  lessor.Promote(0);
  EXPECT_EQ(ids(), (std::vector<int64_t>{6, 4, 5}));
}

TEST(LessorTest, PromoteSpreadsAPileOfExpiries) {
  Lessor lessor;
  for (int64_t id = 1; id <= 2000; ++id) ASSERT_TRUE(lessor.Grant(id, 10).ok());
  lessor.Promote(0);
  // No second holds more than 3/4 of the revoke rate (1000/s).
  std::vector<int64_t> per_second(100, 0);
  for (const auto& [id, lease] : lessor.leases()) {
    ASSERT_GE(lease.expiry_ms, 10000);
    ++per_second[(lease.expiry_ms - 10000) / 1000];
  }
  for (int64_t n : per_second) EXPECT_LE(n, 750);
  EXPECT_EQ(per_second[0], 750);
}

TEST(LessorTest, TimeToLiveOfUnknownLease) {
  Lessor lessor;
  etcdserverpb::LeaseTimeToLiveResponse r = lessor.TimeToLive(42, true);
  EXPECT_EQ(r.id(), 42);
  EXPECT_EQ(r.ttl(), -1);
  EXPECT_EQ(r.keys_size(), 0);
}

}  // namespace
}  // namespace etcdpp::kv
