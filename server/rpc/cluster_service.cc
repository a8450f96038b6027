#include "server/rpc/cluster_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "server/node/errors.h"
#include "server/rpc/auth_context.h"
#include "server/rpc/errors.h"
#include "server/rpc/forward.h"

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

// etcd's followers forward a promotion to the leader, the only member that
// knows whether the learner is in sync. Here the hop is the leader's
// client endpoint; the state lives until the call completes.
void ForwardPromote(const std::string& endpoint, uint64_t id,
                    const std::string& token,
                    grpc::ServerUnaryReactor* reactor,
                    etcdserverpb::MemberPromoteResponse* response) {
  struct Call {
    std::unique_ptr<etcdserverpb::Cluster::Stub> stub;
    grpc::ClientContext context;
    etcdserverpb::MemberPromoteRequest request;
    etcdserverpb::MemberPromoteResponse response;
  };
  auto call = std::make_shared<Call>();
  call->stub = etcdserverpb::Cluster::NewStub(ForwardChannel(endpoint));
  PrepareForwarded(&call->context);
  // The leader checks the caller's role again: the token goes along (every
  // member knows every token, assigned when an Authenticate applies).
  if (!token.empty()) call->context.AddMetadata(kTokenMetadataKey, token);
  call->request.set_id(id);
  Call* raw = call.get();
  raw->stub->async()->MemberPromote(
      &raw->context, &raw->request, &raw->response,
      [call = std::move(call), reactor, response](grpc::Status status) mutable {
        if (status.ok()) *response = call->response;
        reactor->Finish(status);
      });
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
  // etcd 3.5's checkMembershipOperationPermission: the root role.
  AuthorizeThen(
      backend_, TokenOf(*context), AdminCheck(), reactor,
      [this, request, response, fill = std::move(fill)] {
        backend_->MemberAdd(
            Urls(request->peerurls()), request->islearner(),
            [response, fill](MemberReply reply) {
              if (reply.status.ok()) *response->mutable_member() = reply.member;
              fill(std::move(reply));
            });
      });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(
    grpc::CallbackServerContext* context,
    const etcdserverpb::MemberRemoveRequest* request,
    etcdserverpb::MemberRemoveResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuthorizeThen(backend_, TokenOf(*context), AdminCheck(), reactor,
                [this, reactor, request, response] {
                  backend_->MemberRemove(request->id(),
                                         Complete(reactor, response));
                });
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
  AuthorizeThen(backend_, TokenOf(*context), AdminCheck(), reactor,
                [this, reactor, request, response] {
                  backend_->MemberUpdate(request->id(),
                                         Urls(request->peerurls()),
                                         Complete(reactor, response));
                });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberList(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberListRequest*,
    etcdserverpb::MemberListResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuthorizeThen(backend_, TokenOf(*context), nullptr, reactor,
                [this, reactor, response] {
                  backend_->MemberList(Complete(reactor, response));
                });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(
    grpc::CallbackServerContext* context,
    const etcdserverpb::MemberPromoteRequest* request,
    etcdserverpb::MemberPromoteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A request this server forwarded is answered where it lands: no loops.
  const bool forwarded = IsForwarded(*context);
  MemberReplyFn complete = Complete(reactor, response);
  std::string token = TokenOf(*context);
  AuthorizeThen(
      backend_, token, AdminCheck(), reactor,
      [this, reactor, response, id = request->id(), forwarded, token,
       complete = std::move(complete)] {
        backend_->MemberPromote(
            id, [reactor, response, id, forwarded, token,
                 complete](MemberReply reply) {
              if (!reply.status.ok() && !reply.leader_endpoint.empty() &&
                  !forwarded) {
                return ForwardPromote(reply.leader_endpoint, id, token,
                                      reactor, response);
              }
              complete(std::move(reply));
            });
      });
  return reactor;
}

}  // namespace etcdpp::rpc
