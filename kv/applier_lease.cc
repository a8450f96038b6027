// The Applier's leases, alarms and space quota (see applier.h); kept apart
// from applier.cc so the kv and lease halves change independently.
#include <string>
#include <utility>
#include <vector>

#include "base/check.h"
#include "kv/applier.h"

namespace etcdpp::kv {
namespace {

using kvpb::InternalRequest;

ApplyResult Failed(absl::Status status) {
  ApplyResult result;
  result.status = std::move(status);
  return result;
}

// etcd's applierV3Corrupt refuses these; alarms still pass.
bool RefusedWhenCorrupt(InternalRequest::RequestCase c) {
  switch (c) {
    case InternalRequest::kRange:
    case InternalRequest::kPut:
    case InternalRequest::kDeleteRange:
    case InternalRequest::kTxn:
    case InternalRequest::kCompaction:
    case InternalRequest::kLeaseGrant:
    case InternalRequest::kLeaseRevoke:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Applier::CheckLeaseAttachments() const {
  for (const auto& [id, lease] : lessor_.leases()) {
    for (const std::string& key : lease.keys) {
      etcdserverpb::RangeRequest get;
      get.set_key(key);
      absl::StatusOr<etcdserverpb::RangeResponse> found = store_.Range(get);
      CHECK(found.ok()) << "a point read of the current revision succeeds";
      CHECK_EQ(found->kvs_size(), 1) << "attached key " << key << " is live";
      CHECK_EQ(found->kvs(0).lease(), id)
          << "attached key " << key << " names its lease";
    }
  }
}

uint64_t Applier::EstimatedSizeBytes() const {
  return store_.size_bytes() + lessor_.leases().size() * kLeaseOverheadBytes;
}

absl::Status Applier::CheckAlarmsAndQuota(const InternalRequest& request) {
  if (alarms_.IsActive(etcdserverpb::CORRUPT) &&
      RefusedWhenCorrupt(request.request_case())) {
    return CorruptError();
  }
  // Only what may grow the store costs anything; deletes, compactions,
  // revokes and reads pass even with NOSPACE active, so space can be freed.
  const uint64_t cost = QuotaCost(request);
  if (cost == 0) return absl::OkStatus();
  if (alarms_.IsActive(etcdserverpb::NOSPACE)) return NoSpaceError();
  const uint64_t quota = options_.quota_backend_bytes == 0
                             ? kDefaultQuotaBackendBytes
                             : options_.quota_backend_bytes;
  // etcd's backendQuota.Available: size + cost < quota.
  if (EstimatedSizeBytes() + cost < quota) return absl::OkStatus();
  // etcd raises the alarm through raft from the member that saw the quota
  // hit; here every replica sees it in this same entry and raises it for
  // the member that proposed the request.
  alarms_.Activate(request.header().member_id(), etcdserverpb::NOSPACE);
  return NoSpaceError();
}

ApplyResult Applier::ApplyLeaseGrant(
    const etcdserverpb::LeaseGrantRequest& request) {
  absl::StatusOr<const Lessor::Lease*> lease =
      lessor_.Grant(request.id(), request.ttl());
  if (!lease.ok()) return Failed(lease.status());
  ApplyResult result;
  etcdserverpb::LeaseGrantResponse* response =
      result.response.mutable_lease_grant();
  response->mutable_header()->set_revision(store_.current_revision());
  response->set_id((*lease)->id);
  response->set_ttl((*lease)->ttl_seconds);
  return result;
}

ApplyResult Applier::ApplyLeaseRevoke(
    const etcdserverpb::LeaseRevokeRequest& request) {
  const Lessor::Lease* lease = lessor_.Find(request.id());
  if (lease == nullptr) return Failed(LeaseNotFoundError());
  ApplyResult result;
  if (!options_.bugs.lease_outlives_revoke) {
    // One write transaction, so every attached key goes in one revision,
    // deleted in key order as etcd does (its keys are sorted first so that
    // every member deletes alike).
    const std::vector<std::string> keys(lease->keys.begin(), lease->keys.end());
    WriteTxn txn(&store_);
    for (const std::string& key : keys) {
      etcdserverpb::DeleteRangeRequest del;
      del.set_key(key);
      txn.DeleteRange(del);
    }
    txn.End();
    txn.MoveEventsTo(&result.events);
    lessor_.OnEvents(result.events);
    CHECK(lessor_.Find(request.id())->keys.empty())
        << "a revoked lease's keys are all deleted";
  }
  CHECK_OK(lessor_.Remove(request.id()));
  result.response.mutable_lease_revoke()->mutable_header()->set_revision(
      store_.current_revision());
  return result;
}

ApplyResult Applier::ApplyLeaseCheckpoint(
    const etcdserverpb::LeaseCheckpointRequest& request) {
  for (const etcdserverpb::LeaseCheckpoint& cp : request.checkpoints()) {
    lessor_.Checkpoint(cp.id(), cp.remaining_ttl());
  }
  ApplyResult result;
  result.response.mutable_lease_checkpoint()->mutable_header()->set_revision(
      store_.current_revision());
  return result;
}

ApplyResult Applier::ApplyAlarm(const etcdserverpb::AlarmRequest& request) {
  ApplyResult result;
  etcdserverpb::AlarmResponse* response = result.response.mutable_alarm();
  *response = alarms_.Apply(request);
  response->mutable_header()->set_revision(store_.current_revision());
  return result;
}

}  // namespace etcdpp::kv
