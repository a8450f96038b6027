// Mapping etcd's errors to gRPC.
//
// Errors travel as absl::Status whose code is the gRPC code etcd answers
// with (absl and gRPC number their codes alike): kv/errors.h for the state
// machine's, server/node/errors.h for the server's. ToGrpcStatus adds the
// "etcdserver: " prefix etcd puts before its mvcc errors.
#ifndef ETCDPP_SERVER_RPC_ERRORS_H_
#define ETCDPP_SERVER_RPC_ERRORS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "server/node/errors.h"

namespace etcdpp::rpc {

using server::NoLeaderError;
using server::RequestTooLargeError;
using server::TimeoutError;

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_ERRORS_H_
