// ClientServer: the gRPC server that etcd clients reach, with etcd's KV,
// Maintenance, Cluster, Lease, Watch and Auth services over one Backend.
#ifndef ETCDPP_SERVER_RPC_CLIENT_SERVER_H_
#define ETCDPP_SERVER_RPC_CLIENT_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/rpc/auth_service.h"
#include "server/rpc/backend.h"
#include "server/rpc/cluster_service.h"
#include "server/rpc/kv_service.h"
#include "server/rpc/lease_service.h"
#include "server/rpc/watch_service.h"

namespace etcdpp::rpc {

struct ClientServerOptions {
  // host:port pairs; port 0 picks a free port.
  std::vector<std::string> listen_addresses;
  Limits limits;
  // etcd's --bcrypt-cost for new passwords (validated by the flags).
  int bcrypt_cost = kDefaultBcryptCost;
};

class ClientServer {
 public:
  // Fails with a clear error naming the address when one cannot be bound.
  static absl::StatusOr<std::unique_ptr<ClientServer>> Start(
      Backend* backend, const ClientServerOptions& options);
  ~ClientServer();

  // The bound ports, in the order of listen_addresses.
  const std::vector<int>& ports() const { return ports_; }

  // Stops accepting calls and cancels those in flight after the grace
  // period.
  void Shutdown(absl::Duration grace);

 private:
  ClientServer(Backend* backend, const ClientServerOptions& options);

  std::unique_ptr<KvService> kv_;
  std::unique_ptr<MaintenanceService> maintenance_;
  std::unique_ptr<ClusterService> cluster_;
  std::unique_ptr<LeaseService> lease_;
  std::unique_ptr<WatchService> watch_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_CLIENT_SERVER_H_
