// etcd's errors, in etcd's own words, as absl::Status.
//
// The codes are the gRPC codes etcd answers with, so server/rpc maps them
// one to one. The mvcc errors carry etcd's mvcc package words without the
// "etcdserver: " prefix, which etcd's server layer adds when it answers
// ("etcdserver: mvcc: required revision has been compacted"); the others are
// etcd's rpctypes errors and carry the prefix already.
#ifndef ETCDPP_KV_ERRORS_H_
#define ETCDPP_KV_ERRORS_H_

#include "absl/status/status.h"

namespace etcdpp::kv {

inline absl::Status CompactedError() {
  return absl::OutOfRangeError("mvcc: required revision has been compacted");
}
inline absl::Status FutureRevisionError() {
  return absl::OutOfRangeError("mvcc: required revision is a future revision");
}
inline absl::Status KeyNotFoundError() {
  return absl::InvalidArgumentError("etcdserver: key not found");
}
inline absl::Status EmptyKeyError() {
  return absl::InvalidArgumentError("etcdserver: key is not provided");
}
inline absl::Status ValueProvidedError() {
  return absl::InvalidArgumentError("etcdserver: value is provided");
}
inline absl::Status LeaseProvidedError() {
  return absl::InvalidArgumentError("etcdserver: lease is provided");
}
inline absl::Status InvalidSortOptionError() {
  return absl::InvalidArgumentError("etcdserver: invalid sort option");
}
inline absl::Status TooManyOpsError() {
  return absl::InvalidArgumentError(
      "etcdserver: too many operations in txn request");
}
inline absl::Status DuplicateKeyError() {
  return absl::InvalidArgumentError(
      "etcdserver: duplicate key given in txn request");
}

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_ERRORS_H_
