// Completing a unary call from a Backend reply: shared by the services.
#ifndef ETCDPP_SERVER_RPC_COMPLETE_H_
#define ETCDPP_SERVER_RPC_COMPLETE_H_

#include "grpcpp/grpcpp.h"
#include "kv/request.pb.h"
#include "server/rpc/backend.h"
#include "server/rpc/errors.h"

namespace etcdpp::rpc {

// A ReplyFn that copies the matching response case into `out`, with the
// reply's header, and finishes the call with the reply's status.
template <typename Response>
ReplyFn Complete(grpc::ServerUnaryReactor* reactor, Response* out,
                 const Response& (kvpb::InternalResponse::*field)() const) {
  return [reactor, out, field](Reply reply) {
    if (reply.status.ok()) {
      *out = (reply.response.*field)();
      *out->mutable_header() = reply.header;
    }
    reactor->Finish(ToGrpcStatus(reply.status));
  };
}

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_COMPLETE_H_
