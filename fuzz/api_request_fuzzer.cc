// api_request_fuzzer: arbitrary serialized etcd requests through the client
// API's gRPC services (server/rpc) without a network.
//
// One gRPC server is built once, with the KV, Maintenance, Cluster, Lease
// and Watch services over a Backend, and reached through an in-process
// channel, so each request
// takes the whole path a client's does after the socket: gRPC's framing and
// deserialization, the service's validation and size limits, the backend,
// the applier, and the response back. The backend is a fresh
// rpc::LocalBackend (a kv::Applier without raft) for every input, so one
// input always gives one result.
//
// The input is a sequence of calls, each framed as
//   [method: 1 byte][length: 2 bytes, little endian][request bytes]
// where method picks one RPC modulo the table below and the request bytes
// are parsed as that RPC's request message (a chunk that does not parse is
// skipped). A short tail is ignored.
//
// What is asserted for every call:
//   - no crash, hang or sanitizer report (every call has a deadline);
//   - the status code is one etcd gives for a request (never UNKNOWN,
//     INTERNAL or DEADLINE_EXCEEDED) and an error message names the problem
//     in etcd's words ("etcdserver: ..."; UNIMPLEMENTED excepted: the
//     test backend has no leases, members or watches, so those RPCs reach
//     the service's validation and then the backend's refusal);
//   - a successful response's header names this cluster and member, and its
//     revision never goes down;
//   - a request larger than --max-request-bytes is refused;
//   - a successful Put is visible: a serializable Range of its key returns
//     the value and the Put's revision.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "base/check.h"
#include "grpcpp/grpcpp.h"
#include "server/rpc/backend.h"
#include "server/rpc/cluster_service.h"
#include "server/rpc/kv_service.h"
#include "server/rpc/lease_service.h"
#include "server/rpc/watch_service.h"
#include "server/rpc/local_backend.h"

namespace etcdpp::rpc {
namespace {

constexpr uint64_t kClusterId = 0x1000;
constexpr uint64_t kMemberId = 0x2000;
// Small limits, so inputs reach the size and txn-ops refusals.
constexpr Limits kLimits = {.max_request_bytes = 4096, .max_txn_ops = 8};
constexpr int kMaxCalls = 32;
// The RPCs, numbered as Call's switch.
constexpr int kMethods = 18;

// Forwards to a LocalBackend that is replaced for every input.
class FreshBackend final : public Backend {
 public:
  void Reset() {
    backend_ = std::make_unique<LocalBackend>(kClusterId, kMemberId);
  }
  void Write(kvpb::InternalRequest request, ReplyFn done) override {
    backend_->Write(std::move(request), std::move(done));
  }
  void Read(etcdserverpb::RangeRequest request, ReplyFn done) override {
    backend_->Read(std::move(request), std::move(done));
  }
  void Status(std::function<void(absl::StatusOr<etcdserverpb::StatusResponse>)>
                  done) override {
    backend_->Status(std::move(done));
  }
  void HashKV(int64_t revision,
              std::function<void(absl::StatusOr<etcdserverpb::HashKVResponse>)>
                  done) override {
    backend_->HashKV(revision, std::move(done));
  }

 private:
  std::unique_ptr<LocalBackend> backend_;
};

struct Harness {
  Harness()
      : kv(&backend, kLimits),
        maintenance(&backend),
        cluster(&backend),
        lease(&backend),
        watch(&backend) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&kv);
    builder.RegisterService(&maintenance);
    builder.RegisterService(&cluster);
    builder.RegisterService(&lease);
    builder.RegisterService(&watch);
    server = builder.BuildAndStart();
    CHECK(server != nullptr) << "in-process gRPC server did not start";
    std::shared_ptr<grpc::Channel> channel =
        server->InProcessChannel(grpc::ChannelArguments());
    kv_stub = etcdserverpb::KV::NewStub(channel);
    maintenance_stub = etcdserverpb::Maintenance::NewStub(channel);
    cluster_stub = etcdserverpb::Cluster::NewStub(channel);
    lease_stub = etcdserverpb::Lease::NewStub(channel);
    watch_stub = etcdserverpb::Watch::NewStub(channel);
  }

  FreshBackend backend;
  KvService kv;
  MaintenanceService maintenance;
  ClusterService cluster;
  LeaseService lease;
  WatchService watch;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_stub;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance_stub;
  std::unique_ptr<etcdserverpb::Cluster::Stub> cluster_stub;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_stub;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_stub;
};

Harness& TheHarness() {
  static Harness* harness = new Harness();
  return *harness;
}

// Per-input state: what the earlier calls of this input established.
struct Session {
  int64_t revision = 0;  // the highest header revision seen
};

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(20));
}

bool IsEtcdRequestCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    default:
      return false;
  }
}

// Checks what holds for every call; returns whether it succeeded.
bool CheckCall(const char* method, const grpc::Status& status,
               const etcdserverpb::ResponseHeader* header, Session* session) {
  CHECK(IsEtcdRequestCode(status.error_code()))
      << "api: " << method << " answered gRPC code "
      << static_cast<int>(status.error_code()) << " (" << status.error_message()
      << "), not one etcd gives for a request";
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) return false;
    CHECK(absl::StartsWith(status.error_message(), "etcdserver: "))
        << "api: " << method << " error does not use etcd's words: "
        << status.error_message();
    return false;
  }
  if (header != nullptr) {
    CHECK_EQ(header->cluster_id(), kClusterId)
        << "api: " << method << " header names another cluster";
    CHECK_EQ(header->member_id(), kMemberId)
        << "api: " << method << " header names another member";
    CHECK_GE(header->revision(), session->revision)
        << "api: " << method << " header revision went down";
    session->revision = header->revision();
  }
  return true;
}

template <typename Request>
bool Parse(const std::string& bytes, Request* request) {
  return request->ParseFromString(bytes);
}

void CheckTooLarge(const char* method, const google::protobuf::Message& request,
                   bool ok) {
  CHECK(!ok || request.ByteSizeLong() <= kLimits.max_request_bytes)
      << "api: " << method << " accepted a request of "
      << request.ByteSizeLong() << " bytes, over --max-request-bytes";
}

// One unary call of a service without extra checks of its own.
template <typename Request, typename Response, typename Invoke>
void Unary(const char* method, const std::string& bytes, Session* session,
           Invoke invoke) {
  Request request;
  if (!Parse(bytes, &request)) return;
  Response response;
  grpc::Status s = invoke(&request, &response);
  CheckCall(method, s, response.has_header() ? &response.header() : nullptr,
            session);
}

void Call(Harness& h, uint8_t method, const std::string& bytes,
          Session* session) {
  grpc::ClientContext context;
  SetDeadline(&context);
  switch (method % kMethods) {
    case 0: {
      etcdserverpb::RangeRequest request;
      if (!Parse(bytes, &request)) return;
      etcdserverpb::RangeResponse response;
      grpc::Status s = h.kv_stub->Range(&context, request, &response);
      CheckCall("Range", s, &response.header(), session);
      return;
    }
    case 1: {
      etcdserverpb::PutRequest request;
      if (!Parse(bytes, &request)) return;
      etcdserverpb::PutResponse response;
      grpc::Status s = h.kv_stub->Put(&context, request, &response);
      bool ok = CheckCall("Put", s, &response.header(), session);
      CheckTooLarge("Put", request, ok);
      if (!ok || request.ignore_value()) return;
      // The write is visible to a read that follows it.
      grpc::ClientContext read_context;
      SetDeadline(&read_context);
      etcdserverpb::RangeRequest read;
      read.set_key(request.key());
      read.set_serializable(true);
      etcdserverpb::RangeResponse got;
      grpc::Status rs = h.kv_stub->Range(&read_context, read, &got);
      CHECK(rs.ok()) << "api: Range after a successful Put failed: "
                     << rs.error_message();
      CHECK_EQ(got.kvs_size(), 1) << "api: a successful Put is not visible";
      CHECK(got.kvs(0).value() == request.value())
          << "api: Range returned another value than the Put wrote";
      CHECK_EQ(got.kvs(0).mod_revision(), response.header().revision())
          << "api: the Put's key does not carry the Put's revision";
      return;
    }
    case 2: {
      etcdserverpb::DeleteRangeRequest request;
      if (!Parse(bytes, &request)) return;
      etcdserverpb::DeleteRangeResponse response;
      grpc::Status s = h.kv_stub->DeleteRange(&context, request, &response);
      bool ok = CheckCall("DeleteRange", s, &response.header(), session);
      CheckTooLarge("DeleteRange", request, ok);
      if (ok && request.prev_kv()) {
        CHECK_EQ(response.prev_kvs_size(), response.deleted())
            << "api: DeleteRange prev_kvs do not match the deleted count";
      }
      return;
    }
    case 3: {
      etcdserverpb::TxnRequest request;
      if (!Parse(bytes, &request)) return;
      etcdserverpb::TxnResponse response;
      grpc::Status s = h.kv_stub->Txn(&context, request, &response);
      bool ok = CheckCall("Txn", s, &response.header(), session);
      CheckTooLarge("Txn", request, ok);
      if (ok) {
        const int branch_ops = response.succeeded() ? request.success_size()
                                                    : request.failure_size();
        CHECK_EQ(response.responses_size(), branch_ops)
            << "api: Txn answered another number of ops than its branch has";
      }
      return;
    }
    case 4: {
      etcdserverpb::CompactionRequest request;
      if (!Parse(bytes, &request)) return;
      etcdserverpb::CompactionResponse response;
      grpc::Status s = h.kv_stub->Compact(&context, request, &response);
      bool ok = CheckCall("Compact", s, &response.header(), session);
      CHECK(!ok || request.revision() <= session->revision)
          << "api: Compact accepted a future revision " << request.revision();
      return;
    }
    case 5: {
      etcdserverpb::StatusRequest request;
      if (!Parse(bytes, &request)) return;
      etcdserverpb::StatusResponse response;
      grpc::Status s = h.maintenance_stub->Status(&context, request, &response);
      CheckCall("Status", s, &response.header(), session);
      return;
    }
    case 6: {
      etcdserverpb::HashKVRequest request;
      if (!Parse(bytes, &request)) return;
      etcdserverpb::HashKVResponse response;
      grpc::Status s = h.maintenance_stub->HashKV(&context, request, &response);
      CheckCall("HashKV", s, &response.header(), session);
      return;
    }
    case 7:
      return Unary<etcdserverpb::LeaseGrantRequest,
                   etcdserverpb::LeaseGrantResponse>(
          "LeaseGrant", bytes, session, [&](auto* req, auto* resp) {
            return h.lease_stub->LeaseGrant(&context, *req, resp);
          });
    case 8:
      return Unary<etcdserverpb::LeaseRevokeRequest,
                   etcdserverpb::LeaseRevokeResponse>(
          "LeaseRevoke", bytes, session, [&](auto* req, auto* resp) {
            return h.lease_stub->LeaseRevoke(&context, *req, resp);
          });
    case 9:
      return Unary<etcdserverpb::LeaseTimeToLiveRequest,
                   etcdserverpb::LeaseTimeToLiveResponse>(
          "LeaseTimeToLive", bytes, session, [&](auto* req, auto* resp) {
            return h.lease_stub->LeaseTimeToLive(&context, *req, resp);
          });
    case 10:
      return Unary<etcdserverpb::LeaseLeasesRequest,
                   etcdserverpb::LeaseLeasesResponse>(
          "LeaseLeases", bytes, session, [&](auto* req, auto* resp) {
            return h.lease_stub->LeaseLeases(&context, *req, resp);
          });
    case 11:
      return Unary<etcdserverpb::MemberAddRequest,
                   etcdserverpb::MemberAddResponse>(
          "MemberAdd", bytes, session, [&](auto* req, auto* resp) {
            return h.cluster_stub->MemberAdd(&context, *req, resp);
          });
    case 12:
      return Unary<etcdserverpb::MemberRemoveRequest,
                   etcdserverpb::MemberRemoveResponse>(
          "MemberRemove", bytes, session, [&](auto* req, auto* resp) {
            return h.cluster_stub->MemberRemove(&context, *req, resp);
          });
    case 13:
      return Unary<etcdserverpb::MemberUpdateRequest,
                   etcdserverpb::MemberUpdateResponse>(
          "MemberUpdate", bytes, session, [&](auto* req, auto* resp) {
            return h.cluster_stub->MemberUpdate(&context, *req, resp);
          });
    case 14:
      return Unary<etcdserverpb::MemberListRequest,
                   etcdserverpb::MemberListResponse>(
          "MemberList", bytes, session, [&](auto* req, auto* resp) {
            return h.cluster_stub->MemberList(&context, *req, resp);
          });
    case 15:
      return Unary<etcdserverpb::MemberPromoteRequest,
                   etcdserverpb::MemberPromoteResponse>(
          "MemberPromote", bytes, session, [&](auto* req, auto* resp) {
            return h.cluster_stub->MemberPromote(&context, *req, resp);
          });
    case 16: {
      etcdserverpb::LeaseKeepAliveRequest request;
      if (!Parse(bytes, &request)) return;
      auto stream = h.lease_stub->LeaseKeepAlive(&context);
      stream->Write(request);
      stream->WritesDone();
      for (etcdserverpb::LeaseKeepAliveResponse r; stream->Read(&r);) {
        CheckCall("LeaseKeepAlive", grpc::Status::OK, &r.header(), session);
      }
      CheckCall("LeaseKeepAlive", stream->Finish(), nullptr, session);
      return;
    }
    case 17: {
      etcdserverpb::WatchRequest request;
      if (!Parse(bytes, &request)) return;
      auto stream = h.watch_stub->Watch(&context);
      stream->Write(request);
      stream->WritesDone();
      for (etcdserverpb::WatchResponse r; stream->Read(&r);) {
        CheckCall("Watch", grpc::Status::OK, &r.header(), session);
      }
      CheckCall("Watch", stream->Finish(), nullptr, session);
      return;
    }
  }
}

}  // namespace
}  // namespace etcdpp::rpc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace etcdpp::rpc;
  Harness& h = TheHarness();
  h.backend.Reset();
  Session session;
  size_t pos = 0;
  for (int calls = 0; calls < kMaxCalls && pos + 3 <= size; ++calls) {
    const uint8_t method = data[pos];
    const size_t length = data[pos + 1] | (size_t{data[pos + 2]} << 8);
    pos += 3;
    const size_t take = std::min(length, size - pos);
    const std::string bytes(reinterpret_cast<const char*>(data + pos), take);
    pos += take;
    Call(h, method, bytes, &session);
  }
  return 0;
}
