#include "server/rpc/metrics_interceptor.h"

#include <string>

#include "grpcpp/support/interceptor.h"
#include "grpcpp/support/status.h"

namespace etcdpp::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// gRPC's code names as grpc-go spells them (grpc_prometheus' labels).
const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "Canceled",
                                           "Unknown",
                                           "InvalidArgument",
                                           "DeadlineExceeded",
                                           "NotFound",
                                           "AlreadyExists",
                                           "PermissionDenied",
                                           "ResourceExhausted",
                                           "FailedPrecondition",
                                           "Aborted",
                                           "OutOfRange",
                                           "Unimplemented",
                                           "Internal",
                                           "Unavailable",
                                           "DataLoss",
                                           "Unauthenticated"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(std::size(kNames)) ? kNames[i]
                                                           : "Unknown";
}

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcCallCounters* counters, const ServerRpcInfo& info)
      : counters_(counters),
        method_(info.method() != nullptr ? info.method() : ""),
        type_(TypeName(info.type())) {
    counters_->Started(method_, type_);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      counters_->Handled(method_, type_,
                         CodeName(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  GrpcCallCounters* const counters_;
  const std::string method_;
  const char* const type_;
};

class Factory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(GrpcCallCounters* counters) : counters_(counters) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      ServerRpcInfo* info) override {
    return new MetricsInterceptor(counters_, *info);
  }

 private:
  GrpcCallCounters* const counters_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MetricsInterceptorFactory(GrpcCallCounters* counters) {
  return std::make_unique<Factory>(counters);
}

}  // namespace etcdpp::rpc
