// ClientServer: the gRPC server that etcd clients reach, with etcd's KV,
// Maintenance, Cluster, Lease, Watch and Auth services over one Backend,
// and etcd's HTTP endpoints beside it (server/rpc/http_endpoints.h).
//
// Like etcd (which splits its client port with cmux), a plain client port
// serves both: given an event loop, the server accepts on it, and a
// connection that opens with HTTP/2's preface goes to gRPC, any other to
// HTTP/1.1. An https:// address serves gRPC only (gRPC's own TLS), and so
// does an IPv6 one; their HTTP endpoints are reached through
// --listen-metrics-urls.
#ifndef ETCDPP_SERVER_RPC_CLIENT_SERVER_H_
#define ETCDPP_SERVER_RPC_CLIENT_SERVER_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "net/event_loop.h"
#include "net/http.h"
#include "net/tcp.h"
#include "net/tls_files.h"
#include "server/rpc/auth_service.h"
#include "server/rpc/backend.h"
#include "server/rpc/cluster_service.h"
#include "server/rpc/election_service.h"
#include "server/rpc/http_endpoints.h"
#include "server/rpc/kv_service.h"
#include "server/rpc/lease_service.h"
#include "server/rpc/lock_service.h"
#include "server/rpc/metrics.h"
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
  bool tls = false;  // an https:// URL: served with ClientServerOptions::tls
};

struct ClientServerOptions {
  std::vector<ListenAddress> listen_addresses;
  // Required when an address has tls set.
  std::optional<ClientTls> tls;
  Limits limits;
  // etcd's --bcrypt-cost for new passwords (validated by the flags).
  int bcrypt_cost = kDefaultBcryptCost;
  // Where plain addresses are accepted and HTTP is served (see above).
  // Without one, plain addresses serve gRPC only, through gRPC's listener.
  net::EventLoop* loop = nullptr;
  // etcd's --listen-metrics-urls: /metrics and /health only, over HTTP/1.1
  // (https ones with `tls`). Needs `loop`.
  std::vector<ListenAddress> metrics_addresses;
  // Counts the gRPC calls and is shown by /metrics (may be null; must
  // outlive the server).
  ServerMetrics* metrics = nullptr;
};

class ClientServer {
 public:
  // Fails with a clear error naming the address when one cannot be bound,
  // or when a TLS address has no ClientTls. Call on the loop's thread, or
  // before it runs.
  static absl::StatusOr<std::unique_ptr<ClientServer>> Start(
      Backend* backend, const ClientServerOptions& options);
  // With a loop: on its thread, or after it stopped.
  ~ClientServer();

  // The bound ports, in the order of listen_addresses.
  const std::vector<int>& ports() const { return ports_; }
  // The bound ports of metrics_addresses, in order.
  const std::vector<int>& metrics_ports() const { return metrics_ports_; }

  // Stops accepting calls and cancels those in flight after the grace
  // period.
  void Shutdown(absl::Duration grace);

 private:
  ClientServer(Backend* backend, const ClientServerOptions& options);
  absl::Status ListenShared(const ListenAddress& address, int* port);
  absl::Status ListenMetrics(const ClientServerOptions& options,
                             const ListenAddress& address, int* port);
  // A connection accepted on a shared port: waits for its first bytes.
  void Sniff(int fd);
  void Route(int fd);
  void CloseSniffing();
  std::weak_ptr<bool> Alive() const { return alive_; }

  Backend* const backend_;
  net::EventLoop* const loop_;

  std::unique_ptr<KvService> kv_;
  std::unique_ptr<MaintenanceService> maintenance_;
  std::unique_ptr<ClusterService> cluster_;
  std::unique_ptr<LeaseService> lease_;
  std::unique_ptr<WatchService> watch_;
  std::unique_ptr<AuthService> auth_;
  // etcd's v3lock and v3election: clients of the services above, through
  // the server's in-process channel.
  std::unique_ptr<LockService> lock_;
  std::unique_ptr<ElectionService> election_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
  std::vector<int> metrics_ports_;
  // On the loop: the HTTP side of the shared ports and the metrics ports.
  std::unique_ptr<HttpEndpoints> endpoints_;
  std::unique_ptr<HttpEndpoints> metrics_endpoints_;
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<net::HttpServer> metrics_http_;
  std::vector<std::unique_ptr<net::TcpListener>> listeners_;
  std::set<int> sniffing_;  // accepted, protocol not known yet
  // Expires when the server shuts down, for the loop timers that name it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_CLIENT_SERVER_H_
