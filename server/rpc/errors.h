// etcd's server-side errors, in etcd's words, and their mapping to gRPC.
//
// Errors travel as absl::Status whose code is the gRPC code etcd answers
// with (absl and gRPC number their codes alike). ToGrpcStatus adds the
// "etcdserver: " prefix etcd puts before its mvcc errors.
#ifndef ETCDPP_SERVER_RPC_ERRORS_H_
#define ETCDPP_SERVER_RPC_ERRORS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace etcdpp::rpc {

inline absl::Status NoLeaderError() {
  return absl::UnavailableError("etcdserver: no leader");
}
inline absl::Status TimeoutError() {
  return absl::UnavailableError("etcdserver: request timed out");
}
inline absl::Status LeaderChangedError() {
  return absl::UnavailableError(
      "etcdserver: leader changed");
}
inline absl::Status StoppingError() {
  return absl::UnavailableError("etcdserver: server stopped");
}
inline absl::Status RequestTooLargeError() {
  return absl::InvalidArgumentError("etcdserver: request is too large");
}
inline absl::Status TooManyRequestsError() {
  return absl::ResourceExhaustedError("etcdserver: too many requests");
}

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_ERRORS_H_
