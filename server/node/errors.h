// The server's own errors, in etcd's words (etcd's rpctypes), as
// absl::Status with the gRPC code etcd answers with. No gRPC here: the node
// is part of the deterministic core.
#ifndef ETCDPP_SERVER_NODE_ERRORS_H_
#define ETCDPP_SERVER_NODE_ERRORS_H_

#include "absl/status/status.h"

namespace etcdpp::server {

inline absl::Status NoLeaderError() {
  return absl::UnavailableError("etcdserver: no leader");
}
inline absl::Status TimeoutError() {
  return absl::UnavailableError("etcdserver: request timed out");
}
inline absl::Status LeaderChangedError() {
  return absl::UnavailableError("etcdserver: leader changed");
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

}  // namespace etcdpp::server

#endif  // ETCDPP_SERVER_NODE_ERRORS_H_
