#include "server/rpc/auth_context.h"

#include <utility>

#include "server/rpc/errors.h"

namespace etcdpp::rpc {

std::string TokenOf(const grpc::ServerContextBase& context) {
  // etcd's AuthInfoFromCtx: "token", else "authorization" (what the JSON
  // gateway forwards an HTTP Authorization header as).
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kTokenMetadataKey);
  if (it == metadata.end()) it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

void SetAuthHeader(const kv::AuthInfo& info, kvpb::InternalRequest* request) {
  if (info.username.empty()) return;
  request->mutable_header()->set_username(info.username);
  request->mutable_header()->set_auth_revision(info.revision);
}

void WriteAs(Backend* backend, std::string token,
             kvpb::InternalRequest request, ReplyFn done) {
  backend->Authorize(
      std::move(token), nullptr,
      [backend, request = std::move(request),
       done = std::move(done)](absl::StatusOr<kv::AuthInfo> info) mutable {
        if (!info.ok()) return done(Reply{info.status(), {}, {}});
        SetAuthHeader(*info, &request);
        backend->Write(std::move(request), std::move(done));
      });
}

void AuthorizeThen(Backend* backend, std::string token, AuthCheck check,
                   grpc::ServerUnaryReactor* reactor,
                   std::function<void()> next) {
  backend->Authorize(
      std::move(token), std::move(check),
      [reactor, next = std::move(next)](absl::StatusOr<kv::AuthInfo> info) {
        if (!info.ok()) return reactor->Finish(ToGrpcStatus(info.status()));
        next();
      });
}

AuthCheck RangeCheck(std::string key, std::string range_end) {
  return [key = std::move(key), range_end = std::move(range_end)](
             const kv::AuthStore& auth, const kv::AuthInfo& info) {
    return auth.IsRangePermitted(info, key, range_end);
  };
}

AuthCheck AdminCheck() {
  return [](const kv::AuthStore& auth, const kv::AuthInfo& info) {
    return auth.IsAdminPermitted(info);
  };
}

}  // namespace etcdpp::rpc
