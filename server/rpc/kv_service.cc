#include "server/rpc/kv_service.h"

#include <algorithm>
#include <utility>

#include "kv/validate.h"
#include "server/rpc/auth_context.h"
#include "server/rpc/backup.h"
#include "server/rpc/complete.h"
#include "server/rpc/errors.h"

namespace etcdpp::rpc {
namespace {

// Finishes `reactor` with `status` at once.
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::Status CheckSize(const google::protobuf::Message& request,
                       uint64_t max_bytes) {
  if (request.ByteSizeLong() > max_bytes) return RequestTooLargeError();
  return absl::OkStatus();
}

// Streams one snapshot: SnapshotData's body as a backup file (backup.h) in
// kSnapshotBlobBytes pieces. Deletes itself when gRPC is done with it.
class SnapshotReactor final
    : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  // etcd's snapshot chunk size.
  static constexpr size_t kSnapshotBlobBytes = 32 * 1024;

  SnapshotReactor(Backend* backend, std::string token) {
    // etcd's authMaintenanceServer: a snapshot needs the root role.
    backend->Authorize(
        std::move(token), AdminCheck(),
        [this, backend](absl::StatusOr<kv::AuthInfo> info) {
          if (!info.ok()) return Finish(ToGrpcStatus(info.status()));
          backend->Snapshot(
              [this](absl::StatusOr<Backend::SnapshotData> data) {
                Begin(std::move(data));
              });
        });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                        "snapshot stream broken"));
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void Begin(absl::StatusOr<Backend::SnapshotData> data) {
    if (!data.ok()) return Finish(ToGrpcStatus(data.status()));
    header_ = data->header;
    blob_ = EncodeBackup(std::move(data->body));
    WriteNext();
  }

  void WriteNext() {
    if (offset_ == blob_.size()) return Finish(grpc::Status::OK);
    const size_t n = std::min(kSnapshotBlobBytes, blob_.size() - offset_);
    response_.Clear();
    if (offset_ == 0) *response_.mutable_header() = header_;
    response_.set_blob(blob_.substr(offset_, n));
    offset_ += n;
    response_.set_remaining_bytes(blob_.size() - offset_);
    StartWrite(&response_);
  }

  etcdserverpb::ResponseHeader header_;
  std::string blob_;  // the backup file (backup.h)
  size_t offset_ = 0;
  etcdserverpb::SnapshotResponse response_;
};

}  // namespace

grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>*
MaintenanceService::Snapshot(grpc::CallbackServerContext* context,
                             const etcdserverpb::SnapshotRequest*) {
  return new SnapshotReactor(backend_, TokenOf(*context));
}

grpc::ServerUnaryReactor* KvService::Range(
    grpc::CallbackServerContext* context,
    const etcdserverpb::RangeRequest* request,
    etcdserverpb::RangeResponse* response) {
  if (absl::Status s = kv::ValidateRangeRequest(*request); !s.ok()) {
    return FinishNow(context, s);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // etcd checks every range in the server (doSerialize), linearizable ones
  // after the read index; here the check comes first, before the read.
  AuthorizeThen(backend_, TokenOf(*context),
                RangeCheck(request->key(), request->range_end()), reactor,
                [this, reactor, request, response] {
                  backend_->Read(*request,
                                 Complete(reactor, response,
                                          &kvpb::InternalResponse::range));
                });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Put(
    grpc::CallbackServerContext* context,
    const etcdserverpb::PutRequest* request,
    etcdserverpb::PutResponse* response) {
  absl::Status s = kv::ValidatePutRequest(*request);
  if (s.ok()) s = CheckSize(*request, limits_.max_request_bytes);
  if (!s.ok()) return FinishNow(context, s);
  kvpb::InternalRequest internal;
  *internal.mutable_put() = *request;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  WriteAs(backend_, TokenOf(*context), std::move(internal),
          Complete(reactor, response, &kvpb::InternalResponse::put));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::DeleteRange(
    grpc::CallbackServerContext* context,
    const etcdserverpb::DeleteRangeRequest* request,
    etcdserverpb::DeleteRangeResponse* response) {
  absl::Status s = kv::ValidateDeleteRangeRequest(*request);
  if (s.ok()) s = CheckSize(*request, limits_.max_request_bytes);
  if (!s.ok()) return FinishNow(context, s);
  kvpb::InternalRequest internal;
  *internal.mutable_delete_range() = *request;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  WriteAs(backend_, TokenOf(*context), std::move(internal),
          Complete(reactor, response, &kvpb::InternalResponse::delete_range));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Txn(
    grpc::CallbackServerContext* context,
    const etcdserverpb::TxnRequest* request,
    etcdserverpb::TxnResponse* response) {
  absl::Status s = kv::ValidateTxnRequest(*request, limits_.max_txn_ops);
  if (s.ok()) s = CheckSize(*request, limits_.max_request_bytes);
  if (!s.ok()) return FinishNow(context, s);
  kvpb::InternalRequest internal;
  *internal.mutable_txn() = *request;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  WriteAs(backend_, TokenOf(*context), std::move(internal),
          Complete(reactor, response, &kvpb::InternalResponse::txn));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Compact(
    grpc::CallbackServerContext* context,
    const etcdserverpb::CompactionRequest* request,
    etcdserverpb::CompactionResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_compaction() = *request;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // etcd checks no permission for a compaction (neither in the server nor
  // at apply); the caller's token must still be valid.
  WriteAs(backend_, TokenOf(*context), std::move(internal),
          Complete(reactor, response, &kvpb::InternalResponse::compaction));
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Status(
    grpc::CallbackServerContext* context, const etcdserverpb::StatusRequest*,
    etcdserverpb::StatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // etcd's Status needs no role; a token sent must still be valid.
  AuthorizeThen(backend_, TokenOf(*context), nullptr, reactor,
                [this, reactor, response] {
                  backend_->Status(
                      [reactor, response](
                          absl::StatusOr<etcdserverpb::StatusResponse> r) {
                        if (r.ok()) *response = *std::move(r);
                        reactor->Finish(ToGrpcStatus(r.status()));
                      });
                });
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::HashKV(
    grpc::CallbackServerContext* context,
    const etcdserverpb::HashKVRequest* request,
    etcdserverpb::HashKVResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // etcd's authMaintenanceServer: HashKV needs the root role.
  AuthorizeThen(
      backend_, TokenOf(*context), AdminCheck(), reactor,
      [this, reactor, response, revision = request->revision()] {
        backend_->HashKV(
            revision, [reactor, response](
                          absl::StatusOr<etcdserverpb::HashKVResponse> r) {
              if (r.ok()) *response = *std::move(r);
              reactor->Finish(ToGrpcStatus(r.status()));
            });
      });
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Alarm(
    grpc::CallbackServerContext* context,
    const etcdserverpb::AlarmRequest* request,
    etcdserverpb::AlarmResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_alarm() = *request;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  WriteAs(backend_, TokenOf(*context), std::move(internal),
          Complete(reactor, response, &kvpb::InternalResponse::alarm));
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::MoveLeader(
    grpc::CallbackServerContext* context,
    const etcdserverpb::MoveLeaderRequest* request,
    etcdserverpb::MoveLeaderResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // etcd's authMaintenanceServer: MoveLeader needs the root role.
  AuthorizeThen(backend_, TokenOf(*context), AdminCheck(), reactor,
                [this, reactor, response, target = request->targetid()] {
                  backend_->MoveLeader(target, [reactor, response](Reply r) {
                    *response->mutable_header() = r.header;
                    reactor->Finish(ToGrpcStatus(r.status));
                  });
                });
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(
    grpc::CallbackServerContext* context, const etcdserverpb::DefragmentRequest*,
    etcdserverpb::DefragmentResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // etcd's authMaintenanceServer: Defragment needs the root role.
  AuthorizeThen(backend_, TokenOf(*context), AdminCheck(), reactor,
                [this, reactor, response] {
                  // The header, as etcd's: from a Status round.
                  backend_->Status(
                      [reactor, response](
                          absl::StatusOr<etcdserverpb::StatusResponse> r) {
                        if (r.ok()) *response->mutable_header() = r->header();
                        reactor->Finish(ToGrpcStatus(r.status()));
                      });
                });
  return reactor;
}

}  // namespace etcdpp::rpc
