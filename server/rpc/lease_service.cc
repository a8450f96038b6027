#include "server/rpc/lease_service.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "grpcpp/grpcpp.h"
#include "server/rpc/auth_context.h"
#include "server/rpc/complete.h"
#include "server/rpc/errors.h"
#include "server/rpc/forward.h"

namespace etcdpp::rpc {
namespace {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::LeaseKeepAliveResponse;

// Forwards a time-to-live to the leader; the state lives until the call
// completes.
void ForwardTimeToLive(const std::string& endpoint,
                       const etcdserverpb::LeaseTimeToLiveRequest& request,
                       grpc::ServerUnaryReactor* reactor,
                       etcdserverpb::LeaseTimeToLiveResponse* response) {
  struct Call {
    std::unique_ptr<etcdserverpb::Lease::Stub> stub;
    grpc::ClientContext context;
    etcdserverpb::LeaseTimeToLiveRequest request;
    etcdserverpb::LeaseTimeToLiveResponse response;
  };
  auto call = std::make_shared<Call>();
  call->stub = etcdserverpb::Lease::NewStub(ForwardChannel(endpoint));
  PrepareForwarded(&call->context);
  call->request = request;
  Call* raw = call.get();
  raw->stub->async()->LeaseTimeToLive(
      &raw->context, &raw->request, &raw->response,
      [call = std::move(call), reactor, response](grpc::Status status) mutable {
        if (status.ok()) *response = call->response;
        reactor->Finish(status);
      });
}

using KeepAliveDone =
    std::function<void(grpc::Status, LeaseKeepAliveResponse)>;

// One keepalive forwarded to the leader on a stream of its own: write the
// request, half-close, read the one answer. Deletes itself when done.
class ForwardedKeepAlive final
    : public grpc::ClientBidiReactor<LeaseKeepAliveRequest,
                                     LeaseKeepAliveResponse> {
 public:
  static void Start(const std::string& endpoint, int64_t id,
                    KeepAliveDone done) {
    auto* self = new ForwardedKeepAlive(endpoint, id, std::move(done));
    self->stub_->async()->LeaseKeepAlive(&self->context_, self);
    self->StartWrite(&self->request_);
    self->StartRead(&self->response_);
    self->StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) StartWritesDone();
  }
  void OnReadDone(bool ok) override { answered_ = ok; }
  void OnDone(const grpc::Status& status) override {
    if (status.ok() && !answered_) {
      done_(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                         "etcdserver: leader did not answer the keepalive"),
            {});
    } else {
      done_(status, std::move(response_));
    }
    delete this;
  }

 private:
  ForwardedKeepAlive(const std::string& endpoint, int64_t id,
                     KeepAliveDone done)
      : stub_(etcdserverpb::Lease::NewStub(ForwardChannel(endpoint))),
        done_(std::move(done)) {
    PrepareForwarded(&context_);
    request_.set_id(id);
  }

  std::unique_ptr<etcdserverpb::Lease::Stub> stub_;
  grpc::ClientContext context_;
  LeaseKeepAliveRequest request_;
  LeaseKeepAliveResponse response_;
  KeepAliveDone done_;
  bool answered_ = false;
};

// The server side of one keepalive stream. Requests are answered one at a
// time: the next read starts once the previous answer is written, so at
// most one backend call is pending and Finish is never racing it.
class KeepAliveReactor final
    : public grpc::ServerBidiReactor<LeaseKeepAliveRequest,
                                     LeaseKeepAliveResponse> {
 public:
  KeepAliveReactor(Backend* backend, bool forwarded)
      : backend_(backend), forwarded_(forwarded) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client half-closed
    const int64_t id = request_.id();
    backend_->LeaseKeepAlive(id, [this, id](Reply reply) {
      if (!reply.status.ok() && !reply.leader_endpoint.empty() &&
          !forwarded_) {
        return ForwardedKeepAlive::Start(
            reply.leader_endpoint, id,
            [this](grpc::Status status, LeaseKeepAliveResponse response) {
              Answer(status, std::move(response));
            });
      }
      LeaseKeepAliveResponse response;
      if (reply.status.code() == absl::StatusCode::kNotFound) {
        // etcd: an unknown or expired lease is answered with TTL 0.
        response.set_id(id);
        response.set_ttl(0);
        *response.mutable_header() = reply.header;
        return Answer(grpc::Status::OK, std::move(response));
      }
      if (reply.status.ok()) {
        response = reply.response.lease_keep_alive();
        *response.mutable_header() = reply.header;
      }
      Answer(ToGrpcStatus(reply.status), std::move(response));
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      return Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                 "keepalive stream closed"));
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  void Answer(const grpc::Status& status, LeaseKeepAliveResponse response) {
    if (!status.ok()) return Finish(status);
    response_ = std::move(response);
    StartWrite(&response_);
  }

  Backend* const backend_;
  const bool forwarded_;
  LeaseKeepAliveRequest request_;
  LeaseKeepAliveResponse response_;
};

}  // namespace

grpc::ServerUnaryReactor* LeaseService::LeaseGrant(
    grpc::CallbackServerContext* context,
    const etcdserverpb::LeaseGrantRequest* request,
    etcdserverpb::LeaseGrantResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  kvpb::InternalRequest internal;
  *internal.mutable_lease_grant() = *request;
  WriteAs(backend_, TokenOf(*context), std::move(internal),
          Complete(reactor, response, &kvpb::InternalResponse::lease_grant));
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseRevoke(
    grpc::CallbackServerContext* context,
    const etcdserverpb::LeaseRevokeRequest* request,
    etcdserverpb::LeaseRevokeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  kvpb::InternalRequest internal;
  *internal.mutable_lease_revoke() = *request;
  // The applier checks write permission on the lease's keys.
  WriteAs(backend_, TokenOf(*context), std::move(internal),
          Complete(reactor, response, &kvpb::InternalResponse::lease_revoke));
  return reactor;
}

grpc::ServerBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext* context) {
  return new KeepAliveReactor(backend_, IsForwarded(*context));
}

grpc::ServerUnaryReactor* LeaseService::LeaseTimeToLive(
    grpc::CallbackServerContext* context,
    const etcdserverpb::LeaseTimeToLiveRequest* request,
    etcdserverpb::LeaseTimeToLiveResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool forwarded = IsForwarded(*context);
  ReplyFn complete = Complete(reactor, response,
                              &kvpb::InternalResponse::lease_time_to_live);
  backend_->LeaseTimeToLive(
      *request, [reactor, response, request = *request, forwarded,
                 complete = std::move(complete)](Reply reply) {
        if (!reply.status.ok() && !reply.leader_endpoint.empty() &&
            !forwarded) {
          return ForwardTimeToLive(reply.leader_endpoint, request, reactor,
                                   response);
        }
        complete(std::move(reply));
      });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseLeases(
    grpc::CallbackServerContext* context,
    const etcdserverpb::LeaseLeasesRequest*,
    etcdserverpb::LeaseLeasesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuthorizeThen(backend_, TokenOf(*context), nullptr, reactor,
                [this, reactor, response] {
                  backend_->LeaseLeases(Complete(
                      reactor, response, &kvpb::InternalResponse::lease_leases));
                });
  return reactor;
}

}  // namespace etcdpp::rpc
