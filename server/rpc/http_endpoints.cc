#include "server/rpc/http_endpoints.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "server/rpc/errors.h"

namespace etcdpp::rpc {
namespace {

using google::protobuf::Message;
using net::HttpRequest;
using net::HttpResponder;
using net::HttpResponse;

using MessageStub = grpc::TemplatedGenericStub<Message, Message>;

// The etcd API version this server speaks (also in Maintenance.Status).
constexpr char kServerVersion[] = "3.5.0";
constexpr char kClusterVersion[] = "3.5.0";

// grpc-gateway's routes for etcd's services (the google.api.http options of
// etcd 3.5's rpc.proto, v3lock.proto and v3election.proto), by path after
// the /v3/ prefix. Watch and lease keepalive are bidirectional streams; the
// rest are unary. (Election's Observe, a server stream, is not served.)
struct Route {
  absl::string_view path;
  absl::string_view method;  // full protobuf name
  bool stream = false;
};
constexpr Route kRoutes[] = {
    {"kv/range", "etcdserverpb.KV.Range"},
    {"kv/put", "etcdserverpb.KV.Put"},
    {"kv/deleterange", "etcdserverpb.KV.DeleteRange"},
    {"kv/txn", "etcdserverpb.KV.Txn"},
    {"kv/compaction", "etcdserverpb.KV.Compact"},
    {"watch", "etcdserverpb.Watch.Watch", true},
    {"lease/grant", "etcdserverpb.Lease.LeaseGrant"},
    {"lease/revoke", "etcdserverpb.Lease.LeaseRevoke"},
    {"kv/lease/revoke", "etcdserverpb.Lease.LeaseRevoke"},
    {"lease/keepalive", "etcdserverpb.Lease.LeaseKeepAlive", true},
    {"lease/timetolive", "etcdserverpb.Lease.LeaseTimeToLive"},
    {"kv/lease/timetolive", "etcdserverpb.Lease.LeaseTimeToLive"},
    {"lease/leases", "etcdserverpb.Lease.LeaseLeases"},
    {"kv/lease/leases", "etcdserverpb.Lease.LeaseLeases"},
    {"cluster/member/add", "etcdserverpb.Cluster.MemberAdd"},
    {"cluster/member/remove", "etcdserverpb.Cluster.MemberRemove"},
    {"cluster/member/update", "etcdserverpb.Cluster.MemberUpdate"},
    {"cluster/member/list", "etcdserverpb.Cluster.MemberList"},
    {"cluster/member/promote", "etcdserverpb.Cluster.MemberPromote"},
    {"maintenance/alarm", "etcdserverpb.Maintenance.Alarm"},
    {"maintenance/status", "etcdserverpb.Maintenance.Status"},
    {"maintenance/defragment", "etcdserverpb.Maintenance.Defragment"},
    // etcd gives Hash and HashKV the same path; Hash, registered first,
    // is the one served.
    {"maintenance/hash", "etcdserverpb.Maintenance.Hash"},
    {"maintenance/transfer-leadership", "etcdserverpb.Maintenance.MoveLeader"},
    {"auth/enable", "etcdserverpb.Auth.AuthEnable"},
    {"auth/disable", "etcdserverpb.Auth.AuthDisable"},
    {"auth/status", "etcdserverpb.Auth.AuthStatus"},
    {"auth/authenticate", "etcdserverpb.Auth.Authenticate"},
    {"auth/user/add", "etcdserverpb.Auth.UserAdd"},
    {"auth/user/get", "etcdserverpb.Auth.UserGet"},
    {"auth/user/list", "etcdserverpb.Auth.UserList"},
    {"auth/user/delete", "etcdserverpb.Auth.UserDelete"},
    {"auth/user/changepw", "etcdserverpb.Auth.UserChangePassword"},
    {"auth/user/grant", "etcdserverpb.Auth.UserGrantRole"},
    {"auth/user/revoke", "etcdserverpb.Auth.UserRevokeRole"},
    {"auth/role/add", "etcdserverpb.Auth.RoleAdd"},
    {"auth/role/get", "etcdserverpb.Auth.RoleGet"},
    {"auth/role/list", "etcdserverpb.Auth.RoleList"},
    {"auth/role/delete", "etcdserverpb.Auth.RoleDelete"},
    {"auth/role/grant", "etcdserverpb.Auth.RoleGrantPermission"},
    {"auth/role/revoke", "etcdserverpb.Auth.RoleRevokePermission"},
    {"lock/lock", "v3lockpb.Lock.Lock"},
    {"lock/unlock", "v3lockpb.Lock.Unlock"},
    {"election/campaign", "v3electionpb.Election.Campaign"},
    {"election/proclaim", "v3electionpb.Election.Proclaim"},
    {"election/leader", "v3electionpb.Election.Leader"},
    {"election/resign", "v3electionpb.Election.Resign"},
};

const Route* FindRoute(absl::string_view path) {
  // etcd 3.4 still answers the deprecated /v3beta/ prefix too.
  for (absl::string_view prefix : {"/v3/", "/v3beta/"}) {
    if (!absl::ConsumePrefix(&path, prefix)) continue;
    for (const Route& route : kRoutes) {
      if (route.path == path) return &route;
    }
    return nullptr;
  }
  return nullptr;
}

const google::protobuf::MethodDescriptor* FindMethod(absl::string_view name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
      std::string(name));
}

std::unique_ptr<Message> NewMessage(
    const google::protobuf::Descriptor* descriptor) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(descriptor)
          ->New());
}

// gRPC's path for a method: /package.Service/Method.
std::string GrpcPath(const google::protobuf::MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

std::string ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  // Printing a valid message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

absl::Status FromJson(absl::string_view json, Message* message) {
  // An empty body is the empty request, as a body of "{}".
  if (absl::StripAsciiWhitespace(json).empty()) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // grpc-gateway ignores them too
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message,
      options);
  if (status.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(status.message()));
}

// `text` as a JSON string literal, escaped by protobuf's JSON printer.
std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  return ToJson(value);
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

// grpc-gateway's error body for a failed unary call.
HttpResponse ErrorResponse(const grpc::Status& status) {
  const std::string message = JsonString(status.error_message());
  return JsonResponse(
      HttpStatusFromGrpc(status.error_code()),
      absl::StrCat("{\"error\":", message, ",\"message\":", message,
                   ",\"code\":", static_cast<int>(status.error_code()), "}"));
}

HttpResponse TextResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The JSON values of a streaming call's body, one request each: grpc-gateway
// decodes a sequence of objects. Splits at the end of each top-level
// object; the parser judges each piece.
std::vector<absl::string_view> SplitJsonObjects(absl::string_view body) {
  std::vector<absl::string_view> out;
  int depth = 0;
  bool in_string = false, escaped = false;
  size_t start = absl::string_view::npos;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      if (depth++ == 0) start = i;
    } else if (c == '}' && depth > 0 && --depth == 0) {
      out.push_back(body.substr(start, i + 1 - start));
      start = absl::string_view::npos;
    } else if (depth == 0 &&
               !absl::ascii_isspace(static_cast<unsigned char>(c))) {
      // Not an object: let the parser name the fault.
      out.push_back(body.substr(i));
      return out;
    }
  }
  if (start != absl::string_view::npos) out.push_back(body.substr(start));
  return out;
}

void SetToken(const HttpRequest& request, grpc::ClientContext* context) {
  const std::string token(request.Header("authorization"));
  if (!token.empty()) context->AddMetadata("authorization", token);
}

// One bidirectional gateway stream: writes the body's requests, then sends
// each response as a {"result": ...} line of a chunked HTTP response until
// the call ends or the HTTP client leaves. Watch streams stay open after the
// body's requests, as etcd's do after grpc-gateway half-closes them; a
// keepalive stream is half-closed, so it ends after its answers.
class GatewayStream : public grpc::ClientBidiReactor<Message, Message> {
 public:
  static void Begin(const std::shared_ptr<grpc::Channel>& channel,
                    const google::protobuf::MethodDescriptor& method,
                    const HttpRequest& http,
                    std::vector<std::unique_ptr<Message>> requests,
                    std::shared_ptr<HttpResponder> responder) {
    auto stream = std::shared_ptr<GatewayStream>(
        new GatewayStream(method, std::move(requests), std::move(responder)));
    stream->self_ = stream;
    SetToken(http, &stream->context_);
    stream->half_close_ = method.name() != "Watch";
    std::weak_ptr<GatewayStream> weak = stream;
    HttpResponse head;
    head.content_type = "application/json";
    stream->responder_->OnClose([weak] {
      if (auto s = weak.lock()) s->context_.TryCancel();
    });
    stream->responder_->Start(std::move(head));
    MessageStub stub(channel);
    stub.PrepareBidiStreamingCall(&stream->context_, GrpcPath(method),
                                  grpc::StubOptions(), stream.get());
    stream->StartRead(stream->response_.get());
    stream->WriteNext();
    stream->StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    responder_->Write(absl::StrCat("{\"result\":", ToJson(*response_), "}\n"));
    response_->Clear();
    StartRead(response_.get());
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      const int code = static_cast<int>(status.error_code());
      const int http = HttpStatusFromGrpc(status.error_code());
      responder_->Write(absl::StrCat(
          "{\"error\":{\"grpc_code\":", code, ",\"http_code\":", http,
          ",\"message\":", JsonString(status.error_message()),
          ",\"http_status\":", JsonString(std::string(net::HttpReason(http))),
          "}}\n"));
    }
    responder_->Finish();
    self_.reset();  // may destroy this
  }

 private:
  GatewayStream(const google::protobuf::MethodDescriptor& method,
                std::vector<std::unique_ptr<Message>> requests,
                std::shared_ptr<HttpResponder> responder)
      : requests_(std::move(requests)),
        response_(NewMessage(method.output_type())),
        responder_(std::move(responder)) {}

  void WriteNext() {
    if (next_ < requests_.size()) {
      StartWrite(requests_[next_++].get());
    } else if (half_close_ && !half_closed_) {
      half_closed_ = true;
      StartWritesDone();
    }
  }

  grpc::ClientContext context_;
  std::vector<std::unique_ptr<Message>> requests_;
  size_t next_ = 0;
  bool half_close_ = true;
  bool half_closed_ = false;
  std::unique_ptr<Message> response_;
  std::shared_ptr<HttpResponder> responder_;
  std::shared_ptr<GatewayStream> self_;  // until OnDone
};

// Adds etcd's CORS headers to every response of another responder.
class CorsResponder final : public HttpResponder {
 public:
  explicit CorsResponder(std::shared_ptr<HttpResponder> inner)
      : inner_(std::move(inner)) {}
  void Respond(HttpResponse response) override {
    inner_->Respond(WithCors(std::move(response)));
  }
  void Start(HttpResponse head) override {
    inner_->Start(WithCors(std::move(head)));
  }
  void Write(std::string chunk) override { inner_->Write(std::move(chunk)); }
  void Finish() override { inner_->Finish(); }
  bool Open() const override { return inner_->Open(); }
  void OnClose(std::function<void()> on_close) override {
    inner_->OnClose(std::move(on_close));
  }

 private:
  static HttpResponse WithCors(HttpResponse response) {
    response.headers.emplace_back("Access-Control-Allow-Origin", "*");
    response.headers.emplace_back("Access-Control-Allow-Methods",
                                  "POST, GET, OPTIONS, PUT, DELETE");
    response.headers.emplace_back("Access-Control-Allow-Headers",
                                  "accept, content-type, authorization");
    return response;
  }

  const std::shared_ptr<HttpResponder> inner_;
};

// --- /metrics: the node's status, then what ServerMetrics counted.

std::string MetricsText(const etcdserverpb::StatusResponse& status) {
  std::string out;
  const bool has_leader = status.leader() != 0;
  WriteGauge(&out, "etcd_server_has_leader",
             "Whether or not a leader exists. 1 is existence, 0 is not.",
             "gauge", has_leader ? 1 : 0);
  WriteGauge(&out, "etcd_server_is_leader",
             "Whether or not this member is a leader. 1 if is, 0 otherwise.",
             "gauge",
             has_leader && status.leader() == status.header().member_id());
  WriteGauge(&out, "etcd_server_is_learner",
             "Whether or not this member is a learner. 1 if is, 0 otherwise.",
             "gauge", status.islearner() ? 1 : 0);
  WriteGauge(&out, "etcd_server_proposals_committed_total",
             "The total number of consensus proposals committed.", "gauge",
             static_cast<double>(status.raftindex()));
  WriteGauge(&out, "etcd_server_proposals_applied_total",
             "The total number of consensus proposals applied.", "gauge",
             static_cast<double>(status.raftappliedindex()));
  WriteGauge(
      &out, "etcd_server_proposals_pending",
      "The current number of pending proposals to commit.", "gauge",
      static_cast<double>(status.raftindex() - status.raftappliedindex()));
  WriteGauge(&out, "etcd_server_term", "The current raft term.", "gauge",
             static_cast<double>(status.raftterm()));
  WriteGauge(&out, "etcd_mvcc_db_total_size_in_bytes",
             "Total size of the underlying database physically allocated in "
             "bytes.",
             "gauge", static_cast<double>(status.dbsize()));
  WriteGauge(&out, "etcd_mvcc_db_total_size_in_use_in_bytes",
             "Total size of the underlying database logically in use in bytes.",
             "gauge", static_cast<double>(status.dbsizeinuse()));
  WriteGauge(
      &out, "etcd_server_version",
      "Which version is running. 1 for 'server_version' label with current "
      "version.",
      "gauge", 1, absl::StrCat("{server_version=\"", kServerVersion, "\"}"));
  WriteGauge(
      &out, "etcd_cluster_version",
      "Which version is running. 1 for 'cluster_version' label with current "
      "cluster version",
      "gauge", 1, absl::StrCat("{cluster_version=\"", kClusterVersion, "\"}"));
  WriteProcessMetrics(&out);
  return out;
}

}  // namespace

int HttpStatusFromGrpc(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 408;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 412;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

HttpEndpoints::HttpEndpoints(Backend* backend,
                             std::shared_ptr<grpc::Channel> channel,
                             HttpEndpointsOptions options)
    : backend_(backend), channel_(std::move(channel)), options_(options) {}

HttpEndpoints::~HttpEndpoints() = default;

void HttpEndpoints::Handle(HttpRequest request,
                           std::shared_ptr<HttpResponder> responder) {
  if (options_.client_port) {
    // etcd's client port answers browsers' cross-origin requests (its
    // --cors default, "*"); a preflight needs nothing more.
    responder = std::make_shared<CorsResponder>(std::move(responder));
    if (request.method == "OPTIONS") return responder->Respond(HttpResponse{});
  }
  const bool version = options_.client_port && request.path == "/version";
  if (request.path == "/health" || request.path == "/metrics" || version) {
    if (request.method != "GET" && request.method != "HEAD") {
      return responder->Respond(TextResponse(405, "Method Not Allowed"));
    }
    if (request.path == "/health") return Health(request, std::move(responder));
    if (request.path == "/metrics") return Metrics(std::move(responder));
    return responder->Respond(JsonResponse(
        200, absl::StrCat("{\"etcdserver\":\"", kServerVersion,
                          "\",\"etcdcluster\":\"", kClusterVersion, "\"}")));
  }
  const Route* route = options_.client_port && channel_ != nullptr
                           ? FindRoute(request.path)
                           : nullptr;
  if (route == nullptr) {
    return responder->Respond(TextResponse(404, "404 page not found\n"));
  }
  if (request.method != "POST") {
    return responder->Respond(TextResponse(405, "Method Not Allowed\n"));
  }
  if (route->stream)
    return Stream(std::string(route->method), request, std::move(responder));
  Unary(std::string(route->method), request, std::move(responder));
}

void HttpEndpoints::Unary(const std::string& name, const HttpRequest& request,
                          std::shared_ptr<HttpResponder> responder) {
  const google::protobuf::MethodDescriptor* method = FindMethod(name);
  if (method == nullptr) {
    return responder->Respond(
        ErrorResponse(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                   absl::StrCat("unknown method ", name))));
  }
  struct Call {
    grpc::ClientContext context;
    std::unique_ptr<Message> request;
    std::unique_ptr<Message> response;
  };
  auto call = std::make_shared<Call>();
  call->request = NewMessage(method->input_type());
  call->response = NewMessage(method->output_type());
  if (absl::Status s = FromJson(request.body, call->request.get()); !s.ok()) {
    return responder->Respond(ErrorResponse(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()))));
  }
  SetToken(request, &call->context);
  MessageStub stub(channel_);
  Message* req = call->request.get();
  Message* resp = call->response.get();
  stub.UnaryCall(
      &call->context, GrpcPath(*method), grpc::StubOptions(), req, resp,
      [call, responder](grpc::Status status) {
        if (!status.ok()) {
          return responder->Respond(ErrorResponse(status));
        }
        responder->Respond(JsonResponse(200, ToJson(*call->response)));
      });
}

void HttpEndpoints::Stream(const std::string& name, const HttpRequest& request,
                           std::shared_ptr<HttpResponder> responder) {
  const google::protobuf::MethodDescriptor* method = FindMethod(name);
  if (method == nullptr) {
    return responder->Respond(
        ErrorResponse(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                   absl::StrCat("unknown method ", name))));
  }
  std::vector<std::unique_ptr<Message>> requests;
  for (absl::string_view json : SplitJsonObjects(request.body)) {
    std::unique_ptr<Message> m = NewMessage(method->input_type());
    if (absl::Status s = FromJson(json, m.get()); !s.ok()) {
      return responder->Respond(ErrorResponse(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()))));
    }
    requests.push_back(std::move(m));
  }
  GatewayStream::Begin(channel_, *method, request, std::move(requests),
                       std::move(responder));
}

void HttpEndpoints::Health(const HttpRequest& request,
                           std::shared_ptr<HttpResponder> responder) {
  bool serializable = false;
  if (request.QueryParam("serializable") == "true") serializable = true;
  std::vector<std::string> excluded;
  for (absl::string_view pair : absl::StrSplit(request.query, '&')) {
    if (absl::ConsumePrefix(&pair, "exclude=")) excluded.emplace_back(pair);
  }
  auto answer = [responder](bool healthy, std::string reason) {
    responder->Respond(
        JsonResponse(healthy ? 200 : 503,
                     absl::StrCat("{\"health\":\"", healthy ? "true" : "false",
                                  "\",\"reason\":", JsonString(reason), "}")));
  };
  Backend* backend = backend_;
  backend_->Status([=](absl::StatusOr<etcdserverpb::StatusResponse> status) {
    if (!status.ok()) {
      return answer(false,
                    absl::StrCat("STATUS ERROR:", status.status().message()));
    }
    // etcd's checkHealth: alarms first (those not excluded), then the
    // leader, then a read of the store.
    for (const std::string& error : status->errors()) {
      for (absl::string_view alarm : {"NOSPACE", "CORRUPT"}) {
        if (!absl::StrContains(error, absl::StrCat("alarm: ", alarm)) &&
            !absl::StrContains(error, absl::StrCat("alarm:", alarm))) {
          continue;
        }
        if (std::find(excluded.begin(), excluded.end(), alarm) !=
            excluded.end()) {
          continue;
        }
        return answer(false, absl::StrCat("ALARM ", alarm));
      }
    }
    if (!serializable && status->leader() == 0) {
      return answer(false, "RAFT NO LEADER");
    }
    etcdserverpb::RangeRequest read;
    read.set_key("health");
    read.set_keys_only(true);
    read.set_limit(1);
    read.set_serializable(serializable);
    // The backend answers every read, at the latest with its request
    // timeout. Not through the auth checks: the question is whether the
    // member serves, not who asks (etcd counts auth refusals as healthy).
    backend->Read(std::move(read), [answer](Reply reply) {
      if (!reply.status.ok()) {
        return answer(false,
                      absl::StrCat("QGET ERROR:", reply.status.message()));
      }
      answer(true, "");
    });
  });
}

void HttpEndpoints::Metrics(std::shared_ptr<HttpResponder> responder) {
  backend_->Status([responder, metrics = options_.metrics](
                       absl::StatusOr<etcdserverpb::StatusResponse> status) {
    if (!status.ok()) {
      return responder->Respond(
          TextResponse(503, std::string(status.status().message())));
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = MetricsText(*status);
    if (metrics != nullptr) metrics->WriteText(&r.body);
    responder->Respond(std::move(r));
  });
}

}  // namespace etcdpp::rpc
