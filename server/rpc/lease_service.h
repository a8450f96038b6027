// The etcd Lease gRPC service (LeaseGrant, LeaseRevoke, LeaseKeepAlive,
// LeaseTimeToLive, LeaseLeases) over a Backend, on grpc++'s callback API.
//
// Grants and revokes go through the raft log (Backend::Write). Keepalive
// and time-to-live need the leader's expiries: a follower's backend names
// the leader and the call is forwarded to its client endpoint, as etcd's
// followers forward them. The keepalive stream answers each request with
// the new TTL, or TTL 0 for an unknown or expired lease, as etcd does.
#ifndef ETCDPP_SERVER_RPC_LEASE_SERVICE_H_
#define ETCDPP_SERVER_RPC_LEASE_SERVICE_H_

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "server/rpc/backend.h"

namespace etcdpp::rpc {

class LeaseService final : public etcdserverpb::Lease::CallbackService {
 public:
  explicit LeaseService(Backend* backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* LeaseGrant(
      grpc::CallbackServerContext* context,
      const etcdserverpb::LeaseGrantRequest* request,
      etcdserverpb::LeaseGrantResponse* response) override;
  grpc::ServerUnaryReactor* LeaseRevoke(
      grpc::CallbackServerContext* context,
      const etcdserverpb::LeaseRevokeRequest* request,
      etcdserverpb::LeaseRevokeResponse* response) override;
  grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                          etcdserverpb::LeaseKeepAliveResponse>*
  LeaseKeepAlive(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* LeaseTimeToLive(
      grpc::CallbackServerContext* context,
      const etcdserverpb::LeaseTimeToLiveRequest* request,
      etcdserverpb::LeaseTimeToLiveResponse* response) override;
  grpc::ServerUnaryReactor* LeaseLeases(
      grpc::CallbackServerContext* context,
      const etcdserverpb::LeaseLeasesRequest* request,
      etcdserverpb::LeaseLeasesResponse* response) override;

 private:
  Backend* const backend_;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_LEASE_SERVICE_H_
