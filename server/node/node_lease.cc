// server::Node's leases: the lessor's clock, expiry and checkpoints while
// leader, and the lease requests answered by the node rather than through
// the log. Kept apart from node.cc so the two change independently.
//
// etcd's shape (server/etcdserver/server.go, lease/lessor.go): only the
// leader ("primary") expires leases. It becomes primary when it applies
// the empty entry of its own term -- by then it has applied everything
// earlier leaders committed -- and extends every remaining TTL by an
// election timeout, since no keepalive could reach anyone while there was
// no leader. It revokes expired leases by proposing LeaseRevoke, at most
// kLeaseRevokeRatePerSecond, and proposes LeaseCheckpoint so that remaining
// TTLs survive a leader change. Losing leadership demotes the lessor.
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/node/node.h"

namespace etcdpp::server {
namespace {

// etcd's leaseRevokeRate and its revoke loop's period.
constexpr int64_t kLeaseRevokeRatePerSecond = 1000;
constexpr int64_t kLeaseCheckPeriodMs = 500;
// etcd's maxLeaseCheckpointBatchSize.
constexpr size_t kMaxLeaseCheckpointBatch = 1000;

}  // namespace

void Node::FillProposal(uint64_t proposal_id,
                        kvpb::InternalRequest* request) const {
  request->mutable_header()->set_member_id(member_id_);
  // etcd's LeaseGrant picks a positive id when the client gave none; the
  // proposal id is unique across members and runs, so is the lease id.
  if (request->has_lease_grant() && request->lease_grant().id() == 0) {
    request->mutable_lease_grant()->set_id(
        static_cast<int64_t>(proposal_id & 0x7fffffffffffffffULL));
  }
}

void Node::ProposeInternal(kvpb::InternalRequest request) {
  const uint64_t id = next_proposal_id_++;
  request.mutable_header()->set_id(id);
  FillProposal(id, &request);
  // A refused proposal (no leader any more, a transfer) is not retried
  // here: the lessor hands an expired lease out again after
  // kExpiredLeaseRetryMs, and a demoted lessor proposes nothing.
  (void)raw_->Propose(request.SerializeAsString());
}

void Node::LeaseTick() {
  kv::Lessor& lessor = applier_->lessor();
  lessor.AdvanceTo(now_ms());
  const int64_t period_ticks =
      std::max<int64_t>(1, kLeaseCheckPeriodMs / options_.tick_ms);
  if (++lease_tick_ < period_ticks) return;
  lease_tick_ = 0;
  if (!lessor.primary()) return;
  const size_t revoke_limit = static_cast<size_t>(std::max<int64_t>(
      1, kLeaseRevokeRatePerSecond * period_ticks * options_.tick_ms / 1000));
  for (int64_t id : lessor.TakeExpired(revoke_limit)) {
    kvpb::InternalRequest revoke;
    revoke.mutable_lease_revoke()->set_id(id);
    Log(base::LogLevel::kDebug,
        absl::StrCat("msg=\"revoking expired lease\" lease=", id));
    ProposeInternal(std::move(revoke));
  }
  std::vector<etcdserverpb::LeaseCheckpoint> checkpoints =
      lessor.TakeCheckpoints(kMaxLeaseCheckpointBatch);
  if (checkpoints.empty()) return;
  kvpb::InternalRequest request;
  for (etcdserverpb::LeaseCheckpoint& cp : checkpoints) {
    *request.mutable_lease_checkpoint()->add_checkpoints() = std::move(cp);
  }
  ProposeInternal(std::move(request));
}

void Node::MaybePromoteLessor(uint64_t entry_term) {
  if (raw_->raft().state() != raft::StateType::kLeader ||
      entry_term != raw_->raft().term()) {
    return;
  }
  const int64_t extend_ms = options_.election_ticks * options_.tick_ms;
  applier_->lessor().Promote(extend_ms);
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"lessor promoted\" leases=",
                   applier_->lessor().leases().size(),
                   " extend_ms=", extend_ms));
}

void Node::MaybeDemoteLessor() {
  if (applier_->lessor().primary() &&
      raw_->raft().state() != raft::StateType::kLeader) {
    applier_->lessor().Demote();
  }
}

void Node::ResetLessorClock() { applier_->lessor().AdvanceTo(now_ms()); }

void Node::LeaseKeepAlive(uint64_t request_id, int64_t lease_id) {
  if (halted_) return;
  if (!applier_->lessor().primary() ||
      options_.planted_bugs.renew_lease_on_deposed_leader) {
    return RenewLease(request_id, lease_id);
  }
  reads_waiting_.push_back(PendingRead{request_id, {},
                                       tick_ + options_.request_timeout_ticks,
                                       lease_id});
  MaybeStartReadRound();
  Pump();
}

void Node::RenewLease(uint64_t request_id, int64_t lease_id) {
  // After a confirming round the member may have lost the lead (and its
  // lessor demoted): Renew answers "not leader" then.
  absl::StatusOr<int64_t> ttl = applier_->lessor().Renew(lease_id);
  kvpb::InternalResponse response;
  if (ttl.ok()) {
    response.mutable_lease_keep_alive()->set_id(lease_id);
    response.mutable_lease_keep_alive()->set_ttl(*ttl);
  }
  Reply(request_id, ttl.status(), std::move(response));
}

void Node::LeaseTimeToLive(
    uint64_t request_id, const etcdserverpb::LeaseTimeToLiveRequest& request) {
  if (halted_) return;
  if (!applier_->lessor().primary()) {
    Reply(request_id, kv::NotPrimaryError());
    return;
  }
  kvpb::InternalResponse response;
  *response.mutable_lease_time_to_live() =
      applier_->lessor().TimeToLive(request.id(), request.keys());
  Reply(request_id, absl::OkStatus(), std::move(response));
}

void Node::LeaseLeases(uint64_t request_id) {
  if (halted_) return;
  kvpb::InternalResponse response;
  *response.mutable_lease_leases() = applier_->lessor().Leases();
  Reply(request_id, absl::OkStatus(), std::move(response));
}

}  // namespace etcdpp::server
