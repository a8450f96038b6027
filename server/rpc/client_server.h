// ClientServer: the gRPC server that etcd clients reach, with etcd's KV,
// Maintenance, Cluster, Lease, Watch and Auth services over one Backend.
#ifndef ETCDPP_SERVER_RPC_CLIENT_SERVER_H_
#define ETCDPP_SERVER_RPC_CLIENT_SERVER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "net/tls_files.h"
#include "server/rpc/auth_service.h"
#include "server/rpc/backend.h"
#include "server/rpc/cluster_service.h"
#include "server/rpc/kv_service.h"
#include "server/rpc/lease_service.h"
#include "server/rpc/watch_service.h"

namespace etcdpp::rpc {

// Server TLS for https:// client URLs.
struct ClientTls {
  net::TlsFiles files;
  // Clients must present a certificate signed by files.trusted_ca_pem
  // (etcd's --client-cert-auth with --trusted-ca-file).
  bool client_cert_auth = false;
};

struct ListenAddress {
  std::string host_port;  // port 0 picks a free port
  bool tls = false;       // an https:// URL: served with ClientServerOptions::tls
};

struct ClientServerOptions {
  std::vector<ListenAddress> listen_addresses;
  // Required when an address has tls set.
  std::optional<ClientTls> tls;
  Limits limits;
  // etcd's --bcrypt-cost for new passwords (validated by the flags).
  int bcrypt_cost = kDefaultBcryptCost;
};

class ClientServer {
 public:
  // Fails with a clear error naming the address when one cannot be bound,
  // or when a TLS address has no ClientTls.
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
