#include "server/rpc/cluster_service.h"

#include <string>
#include <utility>
#include <vector>

#include "server/node/errors.h"
#include "server/rpc/errors.h"

namespace etcdpp::rpc {
namespace {

// A MemberReplyFn that fills the header and the member list of `out`.
template <typename Response>
MemberReplyFn Complete(grpc::ServerUnaryReactor* reactor, Response* out) {
  return [reactor, out](MemberReply reply) {
    if (reply.status.ok()) {
      *out->mutable_header() = reply.header;
      for (etcdserverpb::Member& m : reply.members) {
        *out->add_members() = std::move(m);
      }
    }
    reactor->Finish(ToGrpcStatus(reply.status));
  };
}

std::vector<std::string> Urls(
    const google::protobuf::RepeatedPtrField<std::string>& urls) {
  return {urls.begin(), urls.end()};
}

}  // namespace

grpc::ServerUnaryReactor* ClusterService::MemberAdd(
    grpc::CallbackServerContext* context,
    const etcdserverpb::MemberAddRequest* request,
    etcdserverpb::MemberAddResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->peerurls_size() == 0) {
    reactor->Finish(ToGrpcStatus(server::MemberBadUrlsError()));
    return reactor;
  }
  MemberReplyFn fill = Complete(reactor, response);
  backend_->MemberAdd(
      Urls(request->peerurls()), request->islearner(),
      [response, fill = std::move(fill)](MemberReply reply) {
        if (reply.status.ok()) *response->mutable_member() = reply.member;
        fill(std::move(reply));
      });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(
    grpc::CallbackServerContext* context,
    const etcdserverpb::MemberRemoveRequest* request,
    etcdserverpb::MemberRemoveResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  backend_->MemberRemove(request->id(), Complete(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(
    grpc::CallbackServerContext* context,
    const etcdserverpb::MemberUpdateRequest* request,
    etcdserverpb::MemberUpdateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->peerurls_size() == 0) {
    reactor->Finish(ToGrpcStatus(server::MemberBadUrlsError()));
    return reactor;
  }
  backend_->MemberUpdate(request->id(), Urls(request->peerurls()),
                         Complete(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberList(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberListRequest*,
    etcdserverpb::MemberListResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  backend_->MemberList(Complete(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(
    grpc::CallbackServerContext* context,
    const etcdserverpb::MemberPromoteRequest* request,
    etcdserverpb::MemberPromoteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  backend_->MemberPromote(request->id(), Complete(reactor, response));
  return reactor;
}

}  // namespace etcdpp::rpc
