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


// Membership errors (etcd's rpctypes ErrGRPCMember* and friends).
inline absl::Status MemberExistError() {
  return absl::FailedPreconditionError("etcdserver: member ID already exist");
}
inline absl::Status PeerUrlExistError() {
  return absl::FailedPreconditionError("etcdserver: Peer URLs already exists");
}
inline absl::Status MemberNotFoundError() {
  return absl::NotFoundError("etcdserver: member not found");
}
inline absl::Status MemberBadUrlsError() {
  return absl::InvalidArgumentError(
      "etcdserver: given member URLs are invalid");
}
inline absl::Status MemberNotLearnerError() {
  return absl::FailedPreconditionError(
      "etcdserver: can only promote a learner member");
}
inline absl::Status LearnerNotReadyError() {
  return absl::FailedPreconditionError(
      "etcdserver: can only promote a learner member which is in sync with "
      "leader");
}
inline absl::Status TooManyLearnersError() {
  return absl::FailedPreconditionError(
      "etcdserver: too many learner members in cluster");
}
inline absl::Status NotEnoughStartedMembersError() {
  return absl::FailedPreconditionError(
      "etcdserver: re-configuration failed due to not enough started "
      "members");
}
inline absl::Status UnhealthyError() {
  return absl::UnavailableError("etcdserver: unhealthy cluster");
}
// etcd's ErrGRPCNotSupportedForLearner: a learner serves serializable
// reads only.
inline absl::Status NotSupportedForLearnerError() {
  return absl::UnavailableError("etcdserver: rpc not supported for learner");
}

inline absl::Status BadLeaderTransfereeError() {
  return absl::FailedPreconditionError("etcdserver: bad leader transferee");
}
inline absl::Status LeaderTransferTimeoutError() {
  return absl::UnavailableError(
      "etcdserver: request timed out, leader transfer took too long");
}
inline absl::Status NotLeaderError() {
  return absl::UnavailableError("etcdserver: not leader");
}
// The halt status of a member that applied its own removal: a clean stop,
// not a failure.
inline absl::Status MemberRemovedError() {
  return absl::FailedPreconditionError(
      "etcdserver: the member has been permanently removed from the cluster");
}
inline bool IsMemberRemoved(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         status.message() == MemberRemovedError().message();
}

}  // namespace etcdpp::server

#endif  // ETCDPP_SERVER_NODE_ERRORS_H_
