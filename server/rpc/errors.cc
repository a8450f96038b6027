#include "server/rpc/errors.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace etcdpp::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  if (absl::StartsWith(message, "mvcc: ")) {
    message = absl::StrCat("etcdserver: ", message);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

}  // namespace etcdpp::rpc
