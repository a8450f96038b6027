// Who a gRPC call acts for: the token a client sends (etcd's clientv3 puts
// it in the metadata key "token" after Authenticate) and the helpers the
// services use to resolve it through the Backend before they propose or
// read, as etcd's AuthInfoFromCtx does.
#ifndef ETCDPP_SERVER_RPC_AUTH_CONTEXT_H_
#define ETCDPP_SERVER_RPC_AUTH_CONTEXT_H_

#include <functional>
#include <string>

#include "grpcpp/grpcpp.h"
#include "kv/auth.h"
#include "kv/request.pb.h"
#include "server/rpc/backend.h"

namespace etcdpp::rpc {

// etcd's rpctypes.TokenFieldNameGRPC.
inline constexpr char kTokenMetadataKey[] = "token";

// The token the client sent; empty when none.
std::string TokenOf(const grpc::ServerContextBase& context);

// Puts the caller in the header of a request to propose, so the applier
// checks its permissions against the auth revision it was resolved at.
void SetAuthHeader(const kv::AuthInfo& info, kvpb::InternalRequest* request);

// Resolves `token`, then proposes `request` as that user. An auth error
// (invalid token) goes to `done` as the reply's status.
void WriteAs(Backend* backend, std::string token,
             kvpb::InternalRequest request, ReplyFn done);

// Resolves `token` and runs `check` (may be null), then `next`; on an auth
// error finishes `reactor` with it instead.
void AuthorizeThen(Backend* backend, std::string token, AuthCheck check,
                   grpc::ServerUnaryReactor* reactor,
                   std::function<void()> next);

// Checks for AuthorizeThen.
AuthCheck RangeCheck(std::string key, std::string range_end);
AuthCheck AdminCheck();

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_AUTH_CONTEXT_H_
