#include "server/rpc/client_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/server_posix.h"
#include "server/rpc/metrics_interceptor.h"

namespace etcdpp::rpc {
namespace {

// gRPC's own framing on top of a request, as etcd allows for it.
constexpr int kGrpcOverheadBytes = 512 * 1024;

// How a gRPC connection opens (HTTP/2's client preface); HTTP/1.1 requests
// open with a method, and none begins "PR".
constexpr std::string_view kPrefacePrefix = "PRI ";
// A shared-port connection that has not said which protocol by then is
// closed.
constexpr uint64_t kSniffTimeoutMs = 10'000;

// Whether host:port names an IPv4 address (or localhost).
bool IsIpv4(const std::string& host_port) {
  std::string host = host_port.substr(0, host_port.rfind(':'));
  if (host == "localhost") return true;
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

absl::StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(
    const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen on ", address, ": bad address"));
  }
  return std::make_pair(address.substr(0, colon), static_cast<uint16_t>(port));
}

// gRPC does not say why a port could not be bound; binding it ourselves
// recovers the errno for a clear message.
std::string WhyCannotBind(const std::string& address) {
  absl::StatusOr<std::pair<std::string, uint16_t>> where =
      SplitHostPort(address);
  if (!where.ok()) return "bad address";
  std::string host = where->first;
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(where->second);
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

ClientServer::ClientServer(Backend* backend, const ClientServerOptions& options)
    : backend_(backend),
      loop_(options.loop),
      kv_(std::make_unique<KvService>(backend, options.limits)),
      maintenance_(std::make_unique<MaintenanceService>(backend)),
      cluster_(std::make_unique<ClusterService>(backend)),
      lease_(std::make_unique<LeaseService>(backend)),
      watch_(std::make_unique<WatchService>(backend)),
      auth_(std::make_unique<AuthService>(backend, options.bcrypt_cost)),
      lock_(std::make_unique<LockService>()),
      election_(std::make_unique<ElectionService>()) {}

ClientServer::~ClientServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<ClientServer>> ClientServer::Start(
    Backend* backend, const ClientServerOptions& options) {
  std::unique_ptr<ClientServer> server(new ClientServer(backend, options));
  grpc::ServerBuilder builder;
  server->ports_.assign(options.listen_addresses.size(), 0);
  if (!options.metrics_addresses.empty() && options.loop == nullptr) {
    return absl::InvalidArgumentError("metrics addresses need an event loop");
  }
  // Addresses gRPC listens on itself; the others are shared with HTTP.
  // net::TcpListener binds IPv4 only: gRPC keeps IPv6 addresses.
  auto grpc_only = [&](const ListenAddress& address) {
    return address.tls || options.loop == nullptr || !IsIpv4(address.host_port);
  };
  for (size_t i = 0; i < options.listen_addresses.size(); ++i) {
    const ListenAddress& address = options.listen_addresses[i];
    if (address.tls && !options.tls.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen on ", address.host_port, ": TLS asked for but no key pair"));
    }
    if (!grpc_only(address)) continue;
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
  if (options.metrics != nullptr) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(MetricsInterceptorFactory(&options.metrics->grpc));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.RegisterService(server->lock_.get());
  builder.RegisterService(server->election_.get());
  server->server_ = builder.BuildAndStart();
  for (size_t i = 0; i < options.listen_addresses.size(); ++i) {
    if (!grpc_only(options.listen_addresses[i])) continue;
    if (server->server_ == nullptr || server->ports_[i] == 0) {
      const std::string& address = options.listen_addresses[i].host_port;
      return absl::UnavailableError(
          absl::StrCat("listen on ", address, ": ", WhyCannotBind(address)));
    }
  }
  if (server->server_ == nullptr) {
    return absl::InternalError("the gRPC server did not start");
  }
  // Lock, Election and the HTTP gateway reach the services in-process.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  const std::shared_ptr<grpc::Channel> self =
      server->server_->InProcessChannel(args);
  server->lock_->Connect(self);
  server->election_->Connect(self);
  if (options.loop == nullptr) return server;

  // The HTTP side.
  server->endpoints_ = std::make_unique<HttpEndpoints>(
      backend, self,
      HttpEndpointsOptions{.client_port = true, .metrics = options.metrics});
  net::HttpServerOptions http_options;
  // JSON's base64 makes a request up to 4/3 its size, plus the JSON around.
  http_options.max_body_bytes =
      2 * options.limits.max_request_bytes + kGrpcOverheadBytes;
  HttpEndpoints* endpoints = server->endpoints_.get();
  server->http_ = std::make_unique<net::HttpServer>(
      options.loop, http_options,
      [endpoints](net::HttpRequest request,
                  std::shared_ptr<net::HttpResponder> responder) {
        endpoints->Handle(std::move(request), std::move(responder));
      });
  for (size_t i = 0; i < options.listen_addresses.size(); ++i) {
    if (grpc_only(options.listen_addresses[i])) continue;
    if (absl::Status s = server->ListenShared(options.listen_addresses[i],
                                              &server->ports_[i]);
        !s.ok()) {
      return s;
    }
  }
  server->metrics_ports_.assign(options.metrics_addresses.size(), 0);
  for (size_t i = 0; i < options.metrics_addresses.size(); ++i) {
    if (absl::Status s = server->ListenMetrics(
            options, options.metrics_addresses[i], &server->metrics_ports_[i]);
        !s.ok()) {
      return s;
    }
  }
  return server;
}

absl::Status ClientServer::ListenShared(const ListenAddress& address,
                                        int* port) {
  absl::StatusOr<std::pair<std::string, uint16_t>> where =
      SplitHostPort(address.host_port);
  if (!where.ok()) return where.status();
  absl::StatusOr<std::unique_ptr<net::TcpListener>> listener =
      net::TcpListener::Listen(loop_, where->first, where->second,
                               [this](int fd) { Sniff(fd); });
  if (!listener.ok()) return listener.status();
  *port = (*listener)->port();
  listeners_.push_back(*std::move(listener));
  return absl::OkStatus();
}

absl::Status ClientServer::ListenMetrics(const ClientServerOptions& options,
                                         const ListenAddress& address,
                                         int* port) {
  absl::StatusOr<std::pair<std::string, uint16_t>> where =
      SplitHostPort(address.host_port);
  if (!where.ok()) return where.status();
  std::shared_ptr<net::TlsContext> tls;
  if (address.tls) {
    if (!options.tls.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen on ", address.host_port, ": TLS asked for but no key pair"));
    }
    absl::StatusOr<std::shared_ptr<net::TlsContext>> context =
        net::TlsContext::Create(options.tls->files,
                                options.tls->client_cert_auth);
    if (!context.ok()) return context.status();
    tls = *std::move(context);
  }
  if (metrics_http_ == nullptr) {
    metrics_endpoints_ = std::make_unique<HttpEndpoints>(
        backend_, nullptr,
        HttpEndpointsOptions{.client_port = false, .metrics = options.metrics});
    HttpEndpoints* endpoints = metrics_endpoints_.get();
    metrics_http_ = std::make_unique<net::HttpServer>(
        loop_, net::HttpServerOptions{},
        [endpoints](net::HttpRequest request,
                    std::shared_ptr<net::HttpResponder> responder) {
          endpoints->Handle(std::move(request), std::move(responder));
        });
  }
  absl::StatusOr<uint16_t> bound =
      metrics_http_->Listen(where->first, where->second, std::move(tls));
  if (!bound.ok()) return bound.status();
  *port = *bound;
  return absl::OkStatus();
}

void ClientServer::Sniff(int fd) {
  sniffing_.insert(fd);
  absl::Status watched =
      loop_->Watch(fd, net::kReadable, [this, fd](uint32_t) { Route(fd); });
  if (!watched.ok()) {
    sniffing_.erase(fd);
    close(fd);
    return;
  }
  (void)loop_->AddTimer(kSniffTimeoutMs, 0, [this, alive = Alive(), fd] {
    if (alive.expired() || !sniffing_.contains(fd)) return;
    // Said nothing: neither protocol's client.
    loop_->Unwatch(fd);
    sniffing_.erase(fd);
    close(fd);
  });
}

void ClientServer::Route(int fd) {
  char buf[4];
  const ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    return;
  }
  const std::string_view got(buf, n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0 && got.size() < kPrefacePrefix.size() &&
      kPrefacePrefix.substr(0, got.size()) == got) {
    // Too few bytes to tell yet. Peeking leaves them readable, so wait a
    // moment rather than spin on a level-triggered loop.
    loop_->Unwatch(fd);
    (void)loop_->AddTimer(2, 0, [this, alive = Alive(), fd] {
      if (alive.expired() || !sniffing_.contains(fd)) return;
      (void)loop_->Watch(fd, net::kReadable,
                         [this, fd](uint32_t) { Route(fd); });
    });
    return;
  }
  loop_->Unwatch(fd);
  sniffing_.erase(fd);
  if (n <= 0) {  // closed (or failed) before saying anything
    close(fd);
    return;
  }
  if (got == kPrefacePrefix) {
    // gRPC owns the socket from here.
    grpc::AddInsecureChannelFromFd(server_.get(), fd);
  } else {
    http_->Serve(fd);
  }
}

void ClientServer::CloseSniffing() {
  for (int fd : sniffing_) {
    loop_->Unwatch(fd);
    close(fd);
  }
  sniffing_.clear();
}

void ClientServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  // The HTTP side first: its gateway calls go through the gRPC server.
  listeners_.clear();
  alive_.reset();  // the sniffing timers do nothing from now on
  if (loop_ != nullptr) CloseSniffing();
  http_.reset();
  metrics_http_.reset();
  // gRPC 1.51's in-process transport crashes on a call started during
  // shutdown: the recipes start no more calls from here on.
  lock_->Disconnect();
  election_->Disconnect();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
}

}  // namespace etcdpp::rpc
