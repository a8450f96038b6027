// The etcd Cluster gRPC service (MemberAdd, MemberRemove, MemberUpdate,
// MemberList, MemberPromote) over a Backend, on grpc++'s callback API: a
// change completes when its conf change applies, with no thread waiting.
// Errors carry etcd's codes and words (server/node/errors.h).
#ifndef ETCDPP_SERVER_RPC_CLUSTER_SERVICE_H_
#define ETCDPP_SERVER_RPC_CLUSTER_SERVICE_H_

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "server/rpc/backend.h"

namespace etcdpp::rpc {

class ClusterService final : public etcdserverpb::Cluster::CallbackService {
 public:
  explicit ClusterService(Backend* backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* MemberAdd(
      grpc::CallbackServerContext* context,
      const etcdserverpb::MemberAddRequest* request,
      etcdserverpb::MemberAddResponse* response) override;
  grpc::ServerUnaryReactor* MemberRemove(
      grpc::CallbackServerContext* context,
      const etcdserverpb::MemberRemoveRequest* request,
      etcdserverpb::MemberRemoveResponse* response) override;
  grpc::ServerUnaryReactor* MemberUpdate(
      grpc::CallbackServerContext* context,
      const etcdserverpb::MemberUpdateRequest* request,
      etcdserverpb::MemberUpdateResponse* response) override;
  grpc::ServerUnaryReactor* MemberList(
      grpc::CallbackServerContext* context,
      const etcdserverpb::MemberListRequest* request,
      etcdserverpb::MemberListResponse* response) override;
  grpc::ServerUnaryReactor* MemberPromote(
      grpc::CallbackServerContext* context,
      const etcdserverpb::MemberPromoteRequest* request,
      etcdserverpb::MemberPromoteResponse* response) override;

 private:
  Backend* const backend_;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_CLUSTER_SERVICE_H_
