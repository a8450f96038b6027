// Alarms and the space quota through the Applier: etcd's alarm requests
// (activate, deactivate, get), NOSPACE raised by the quota and what it
// refuses, CORRUPT and what it refuses, disarming, and the quota costs.
#include "kv/alarm.h"

#include <string>

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

std::string Alarms(const Applier& applier) {
  std::string out;
  for (const auto& a : applier.alarms().Get(etcdserverpb::NONE)) {
    out += a.ShortDebugString() + ";";
  }
  return out;
}

TEST(AlarmTest, ActivateGetDeactivate) {
  Applier applier;
  ApplyResult r = Apply(applier,
                        "alarm { action: ACTIVATE memberID: 2 alarm: NOSPACE }");
  ASSERT_TRUE(r.status.ok());
  EXPECT_PROTO_EQ(Parse<etcdserverpb::AlarmResponse>(
                      "header { revision: 1 } alarms { memberID: 2 alarm: "
                      "NOSPACE }"),
                  r.response.alarm());
  r = Apply(applier, "alarm { action: ACTIVATE memberID: 2 alarm: NOSPACE }");
  EXPECT_EQ(r.response.alarm().alarms_size(), 1);
  Apply(applier, "alarm { action: ACTIVATE memberID: 1 alarm: CORRUPT }");
  Apply(applier, "alarm { action: ACTIVATE memberID: 1 alarm: NOSPACE }");
  // NONE activates nothing.
  EXPECT_EQ(Apply(applier, "alarm { action: ACTIVATE memberID: 1 }")
                .response.alarm()
                .alarms_size(),
            0);
  EXPECT_EQ(Alarms(applier),
            "memberID: 1 alarm: NOSPACE;memberID: 2 alarm: NOSPACE;"
            "memberID: 1 alarm: CORRUPT;");
  r = Apply(applier, "alarm { action: GET alarm: CORRUPT }");
  ASSERT_EQ(r.response.alarm().alarms_size(), 1);
  EXPECT_EQ(r.response.alarm().alarms(0).memberid(), 1u);
  EXPECT_EQ(Apply(applier, "alarm { action: GET }").response.alarm()
                .alarms_size(),
            3);
  r = Apply(applier, "alarm { action: DEACTIVATE memberID: 1 alarm: CORRUPT }");
  EXPECT_EQ(r.response.alarm().alarms_size(), 1);
  // Deactivating what is not active answers no alarm.
  r = Apply(applier, "alarm { action: DEACTIVATE memberID: 1 alarm: CORRUPT }");
  EXPECT_EQ(r.response.alarm().alarms_size(), 0);
  EXPECT_FALSE(applier.alarms().IsActive(etcdserverpb::CORRUPT));
  EXPECT_TRUE(applier.alarms().IsActive(etcdserverpb::NOSPACE));
}

TEST(AlarmTest, QuotaRaisesNospaceAndRefusesGrowthUntilDisarmed) {
  ApplierOptions options;
  options.quota_backend_bytes = 2000;
  Applier applier(options);
  Apply(applier, "lease_grant { ID: 1 TTL: 60 }");
  // 64 (lease) + 3 * (256 + 1 + 300) = 1735 < 2000.
  const std::string value(300, 'x');
  for (const char* key : {"a", "b", "c"}) {
    InternalRequest put;
    put.mutable_put()->set_key(key);
    put.mutable_put()->set_value(value);
    ASSERT_TRUE(applier.Apply(put).status.ok());
  }
  EXPECT_EQ(applier.EstimatedSizeBytes(), 64u + 3 * 557u);
  InternalRequest put;
  put.mutable_header()->set_member_id(7);
  put.mutable_put()->set_key("d");
  put.mutable_put()->set_value(value);
  ApplyResult r = applier.Apply(put);
  EXPECT_EQ(r.status, NoSpaceError());
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status.message(), "mvcc: database space exceeded");
  EXPECT_EQ(applier.store().current_revision(), 4);  // nothing written
  EXPECT_EQ(Alarms(applier), "memberID: 7 alarm: NOSPACE;");
  // Now even a small put, a txn with a put, and a grant are refused...
  EXPECT_EQ(Apply(applier, "put { key: 'e' value: '' }").status,
            NoSpaceError());
  EXPECT_EQ(Apply(applier,
                  "txn { failure { request_put { key: 'e' value: '' } } }")
                .status,
            NoSpaceError());
  EXPECT_EQ(Apply(applier, "lease_grant { ID: 2 TTL: 60 }").status,
            NoSpaceError());
  // ...while reads, deletes, read-only txns, revokes and compaction pass.
  EXPECT_TRUE(Apply(applier, "range { key: 'a' }").status.ok());
  EXPECT_TRUE(Apply(applier, "txn { success { request_range { key: 'a' } } }")
                  .status.ok());
  EXPECT_TRUE(Apply(applier, "delete_range { key: 'a' }").status.ok());
  EXPECT_TRUE(Apply(applier, "lease_revoke { ID: 1 }").status.ok());
  EXPECT_TRUE(Apply(applier, "compaction { revision: 5 }").status.ok());
  // Compaction freed space; disarming lets writes in again.
  EXPECT_LT(applier.EstimatedSizeBytes(), 2000u);
  EXPECT_EQ(Apply(applier, "put { key: 'e' value: '' }").status,
            NoSpaceError());
  Apply(applier, "alarm { action: DEACTIVATE memberID: 7 alarm: NOSPACE }");
  EXPECT_TRUE(Apply(applier, "put { key: 'e' value: '' }").status.ok());
}

TEST(AlarmTest, CorruptRefusesKvAndLeaseRequestsButNotAlarms) {
  Applier applier;
  Apply(applier, "lease_grant { ID: 1 TTL: 60 }");
  Apply(applier, "alarm { action: ACTIVATE memberID: 3 alarm: CORRUPT }");
  for (const char* text :
       {"range { key: 'a' }", "put { key: 'a' }", "delete_range { key: 'a' }",
        "txn { }", "compaction { revision: 1 }",
        "lease_grant { ID: 2 TTL: 5 }", "lease_revoke { ID: 1 }"}) {
    SCOPED_TRACE(text);
    ApplyResult r = Apply(applier, text);
    EXPECT_EQ(r.status.message(), "etcdserver: corrupt cluster");
    EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_TRUE(Apply(applier, "lease_checkpoint { }").status.ok());
  EXPECT_TRUE(Apply(applier,
                    "alarm { action: DEACTIVATE memberID: 3 alarm: CORRUPT }")
                  .status.ok());
  EXPECT_TRUE(Apply(applier, "put { key: 'a' }").status.ok());
}

TEST(AlarmTest, QuotaCosts) {
  EXPECT_EQ(QuotaCost(Parse<InternalRequest>("put { key: 'ab' value: 'xyz' }")),
            256u + 5);
  EXPECT_EQ(QuotaCost(Parse<InternalRequest>("lease_grant { TTL: 5 }")), 64u);
  EXPECT_EQ(QuotaCost(Parse<InternalRequest>("delete_range { key: 'a' }")), 0u);
  EXPECT_EQ(QuotaCost(Parse<InternalRequest>(
                "txn { success { request_put { key: 'a' } }"
                "      failure { request_put { key: 'b' } }"
                "      failure { request_txn { success { request_put {"
                "        key: 'c' value: 'v' } } } } }")),
            257u + 258u);
  EXPECT_EQ(QuotaCost(Parse<InternalRequest>(
                "txn { success { request_range { key: 'a' } } }")),
            0u);
}

TEST(AlarmTest, DefaultQuotaIsTwoGibibytes) {
  EXPECT_EQ(ApplierOptions{}.quota_backend_bytes, uint64_t{2} << 30);
}

}  // namespace
}  // namespace etcdpp::kv
