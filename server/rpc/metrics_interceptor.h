// The gRPC server interceptor behind grpc_server_started_total and
// grpc_server_handled_total (server/rpc/metrics.h): every call, whichever
// service, counted when it starts and when its status is sent.
#ifndef ETCDPP_SERVER_RPC_METRICS_INTERCEPTOR_H_
#define ETCDPP_SERVER_RPC_METRICS_INTERCEPTOR_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "server/rpc/metrics.h"

namespace etcdpp::rpc {

// `counters` must outlive the server the factory is given to.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MetricsInterceptorFactory(GrpcCallCounters* counters);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_METRICS_INTERCEPTOR_H_
