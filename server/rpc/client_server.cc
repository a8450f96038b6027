#include "server/rpc/client_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace etcdpp::rpc {
namespace {

// gRPC's own framing on top of a request, as etcd allows for it.
constexpr int kGrpcOverheadBytes = 512 * 1024;

// gRPC does not say why a port could not be bound; binding it ourselves
// recovers the errno for a clear message.
std::string WhyCannotBind(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return "bad address";
  }
  std::string host = address.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return "not an IPv4 address";
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  close(fd);
  return rc == 0 ? "gRPC could not bind it" : std::strerror(err);
}

std::shared_ptr<grpc::ServerCredentials> Credentials(const ClientTls& tls) {
  grpc::SslServerCredentialsOptions options(
      tls.client_cert_auth
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = tls.files.trusted_ca_pem;
  options.pem_key_cert_pairs.push_back(
      {tls.files.private_key_pem, tls.files.cert_chain_pem});
  return grpc::SslServerCredentials(options);
}

}  // namespace

ClientServer::ClientServer(Backend* backend,
                           const ClientServerOptions& options)
    : kv_(std::make_unique<KvService>(backend, options.limits)),
      maintenance_(std::make_unique<MaintenanceService>(backend)),
      cluster_(std::make_unique<ClusterService>(backend)),
      lease_(std::make_unique<LeaseService>(backend)),
      watch_(std::make_unique<WatchService>(backend)),
      auth_(std::make_unique<AuthService>(backend, options.bcrypt_cost)) {}

ClientServer::~ClientServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<ClientServer>> ClientServer::Start(
    Backend* backend, const ClientServerOptions& options) {
  std::unique_ptr<ClientServer> server(
      new ClientServer(backend, options));
  grpc::ServerBuilder builder;
  server->ports_.assign(options.listen_addresses.size(), 0);
  for (size_t i = 0; i < options.listen_addresses.size(); ++i) {
    const ListenAddress& address = options.listen_addresses[i];
    if (address.tls && !options.tls.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen on ", address.host_port, ": TLS asked for but no key pair"));
    }
    builder.AddListeningPort(address.host_port,
                             address.tls ? Credentials(*options.tls)
                                         : grpc::InsecureServerCredentials(),
                             &server->ports_[i]);
  }
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(options.limits.max_request_bytes) + kGrpcOverheadBytes);
  builder.SetMaxSendMessageSize(INT32_MAX);
  // gRPC binds with SO_REUSEPORT by default, so a second server on a busy
  // port would silently share it; a busy port must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(server->kv_.get());
  builder.RegisterService(server->maintenance_.get());
  builder.RegisterService(server->cluster_.get());
  builder.RegisterService(server->lease_.get());
  builder.RegisterService(server->watch_.get());
  builder.RegisterService(server->auth_.get());
  server->server_ = builder.BuildAndStart();
  for (size_t i = 0; i < options.listen_addresses.size(); ++i) {
    if (server->server_ == nullptr || server->ports_[i] == 0) {
      const std::string& address = options.listen_addresses[i].host_port;
      return absl::UnavailableError(absl::StrCat(
          "listen on ", address, ": ", WhyCannotBind(address)));
    }
  }
  return server;
}

void ClientServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
}

}  // namespace etcdpp::rpc
