// What etcd serves over HTTP/1.1 beside gRPC: /health, /version, /metrics
// and the JSON gateway (grpc-gateway's /v3/... routes, etcd's
// api/v3rpc gateway registration).
//
// The gateway is a client of the server's own gRPC services, through an
// in-process channel, as etcd's gateway dials its own gRPC port: every
// request takes the same path as from a gRPC client (validation, auth,
// forwarding to the leader). JSON is protobuf's JSON mapping with the proto
// field names (grpc-gateway's OrigName): 64-bit integers as strings, bytes
// as base64, enums by name, defaults left out. An HTTP Authorization header
// is the auth token.
//
// /health answers as etcd 3.5 does: {"health":"true","reason":""} with 200,
// or "false" with the reason and 503: an active alarm (unless named by an
// `exclude` query parameter), no leader (unless `serializable=true`), or a
// failed read of the store.
#ifndef ETCDPP_SERVER_RPC_HTTP_ENDPOINTS_H_
#define ETCDPP_SERVER_RPC_HTTP_ENDPOINTS_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "net/http.h"
#include "server/rpc/backend.h"
#include "server/rpc/metrics.h"

namespace etcdpp::rpc {

struct HttpEndpointsOptions {
  // Client URLs serve everything; etcd's --listen-metrics-urls only
  // /metrics and /health.
  bool client_port = true;
  // Shown by /metrics beside the node's status (may be null).
  const ServerMetrics* metrics = nullptr;
};

class HttpEndpoints {
 public:
  // `channel` reaches the server's own gRPC services (for the gateway; may
  // be null when !client_port). `backend` must outlive this.
  HttpEndpoints(Backend* backend, std::shared_ptr<grpc::Channel> channel,
                HttpEndpointsOptions options);
  ~HttpEndpoints();

  // A net::HttpHandler.
  void Handle(net::HttpRequest request,
              std::shared_ptr<net::HttpResponder> responder);

 private:
  void Health(const net::HttpRequest& request,
              std::shared_ptr<net::HttpResponder> responder);
  void Metrics(std::shared_ptr<net::HttpResponder> responder);
  void Unary(const std::string& method, const net::HttpRequest& request,
             std::shared_ptr<net::HttpResponder> responder);
  void Stream(const std::string& method, const net::HttpRequest& request,
              std::shared_ptr<net::HttpResponder> responder);

  Backend* const backend_;
  const std::shared_ptr<grpc::Channel> channel_;
  const HttpEndpointsOptions options_;
};

// grpc-gateway's HTTP status for a gRPC code (HTTPStatusFromCode).
int HttpStatusFromGrpc(grpc::StatusCode code);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_HTTP_ENDPOINTS_H_
