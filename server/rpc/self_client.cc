#include "server/rpc/self_client.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "server/rpc/auth_context.h"

namespace etcdpp::rpc {
namespace {

// etcd's rpctypes.TokenFieldNameSwagger: the gRPC gateway's header.
constexpr char kGatewayTokenMetadataKey[] = "authorization";

// A watch the server cancelled, as etcd's clientv3 reports it
// (WatchResponse.Err): a compaction by its gRPC error, any other reason in
// its own words with the code etcd gives those words.
grpc::Status CancelStatus(const etcdserverpb::WatchResponse& response) {
  const std::string& reason = response.cancel_reason();
  if (response.compact_revision() != 0 ||
      absl::StrContains(reason, "required revision has been compacted")) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        "etcdserver: mvcc: required revision has been "
                        "compacted");
  }
  if (reason == "etcdserver: permission denied") {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, reason);
  }
  if (reason == "etcdserver: invalid auth token") {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, reason);
  }
  return grpc::Status(grpc::StatusCode::UNKNOWN,
                      reason.empty() ? "watch canceled" : reason);
}

}  // namespace

SelfChannel::SelfChannel(const std::shared_ptr<grpc::Channel>& channel)
    : stubs_{etcdserverpb::KV::NewStub(channel),
             etcdserverpb::Lease::NewStub(channel),
             etcdserverpb::Watch::NewStub(channel)} {}

bool SelfChannel::Enter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  ++starting_;
  return true;
}

void SelfChannel::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--starting_ == 0 && closed_) started_.notify_all();
}

void SelfChannel::Close() {
  std::unique_lock<std::mutex> lock(mu_);
  closed_ = true;
  started_.wait(lock, [this] { return starting_ == 0; });
}

void SelfConnection::Connect(std::shared_ptr<grpc::Channel> channel) {
  auto self_channel = std::make_shared<SelfChannel>(channel);
  std::lock_guard<std::mutex> lock(mu_);
  channel_ = std::move(self_channel);
}

void SelfConnection::Disconnect() {
  std::shared_ptr<SelfChannel> channel = this->channel();
  if (channel != nullptr) channel->Close();
}

std::shared_ptr<SelfChannel> SelfConnection::channel() const {
  std::lock_guard<std::mutex> lock(mu_);
  return channel_;
}

std::string IncomingToken(const grpc::ServerContextBase& context) {
  std::string token = TokenOf(context);
  if (!token.empty()) return token;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kGatewayTokenMetadataKey);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

grpc::Status NotStartedError() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: not started");
}

grpc::Status StoppedError() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "etcdserver: server stopped");
}

std::shared_ptr<SelfSession> StartSession(
    const SelfConnection& connection, const grpc::ServerContextBase& context) {
  std::shared_ptr<SelfChannel> channel = connection.channel();
  if (channel == nullptr) return nullptr;
  return SelfSession::Create(std::move(channel), IncomingToken(context));
}

std::shared_ptr<SelfSession> SelfSession::Create(
    std::shared_ptr<SelfChannel> channel, std::string token) {
  return std::shared_ptr<SelfSession>(
      new SelfSession(std::move(channel), std::move(token)));
}

template <typename Request, typename Response, typename Start>
void SelfSession::Unary(bool cancellable, Request request, Start start,
                        Done<Response> done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  Prepare(&call->context);
  // A context cancelled before its call starts cancels the call at once.
  if (cancellable &&
      !Track(std::shared_ptr<grpc::ClientContext>(call, &call->context))) {
    call->context.TryCancel();
  }
  std::function<void(grpc::Status)> on_done = [self = shared_from_this(), call,
                                               cancellable,
                                               done](grpc::Status status) {
    if (cancellable) self->Untrack(&call->context);
    done(std::move(status), std::move(call->response));
  };
  const bool started =
      channel_->StartCall([&](const SelfChannel::Stubs& stubs) {
        start(stubs, &call->context, &call->request, &call->response,
              std::move(on_done));
      });
  if (started) return;
  if (cancellable) Untrack(&call->context);
  done(StoppedError(), Response());
}

namespace {

// The stub calls a session makes, as SelfSession::Unary starts them.
// `kStub` picks the stub, `kMethod` its callback-API call.
template <auto kStub, auto kMethod>
constexpr auto kStart = [](const SelfChannel::Stubs& stubs,
                           grpc::ClientContext* context, const auto* request,
                           auto* response,
                           std::function<void(grpc::Status)> on_done) {
  ((stubs.*kStub)->async()->*kMethod)(context, request, response,
                                      std::move(on_done));
};

using KvAsync = etcdserverpb::KV::Stub::async_interface;
using LeaseAsync = etcdserverpb::Lease::Stub::async_interface;

// Each callback-API method is overloaded (with and without a reactor):
// these name the one taking a std::function.
template <typename Async, typename Request, typename Response>
using AsyncCall = void (Async::*)(grpc::ClientContext*, const Request*,
                                  Response*, std::function<void(grpc::Status)>);

constexpr AsyncCall<KvAsync, etcdserverpb::RangeRequest,
                    etcdserverpb::RangeResponse>
    kRangeCall = &KvAsync::Range;
constexpr AsyncCall<KvAsync, etcdserverpb::TxnRequest,
                    etcdserverpb::TxnResponse>
    kTxnCall = &KvAsync::Txn;
constexpr AsyncCall<KvAsync, etcdserverpb::DeleteRangeRequest,
                    etcdserverpb::DeleteRangeResponse>
    kDeleteRangeCall = &KvAsync::DeleteRange;
constexpr AsyncCall<LeaseAsync, etcdserverpb::LeaseGrantRequest,
                    etcdserverpb::LeaseGrantResponse>
    kLeaseGrantCall = &LeaseAsync::LeaseGrant;

constexpr auto kRangeStart = kStart<&SelfChannel::Stubs::kv, kRangeCall>;
constexpr auto kTxnStart = kStart<&SelfChannel::Stubs::kv, kTxnCall>;
constexpr auto kDeleteRangeStart =
    kStart<&SelfChannel::Stubs::kv, kDeleteRangeCall>;
constexpr auto kLeaseGrantStart =
    kStart<&SelfChannel::Stubs::lease, kLeaseGrantCall>;

}  // namespace

void SelfSession::Range(etcdserverpb::RangeRequest request,
                        Done<etcdserverpb::RangeResponse> done) {
  Unary(true, std::move(request), kRangeStart, std::move(done));
}

void SelfSession::Txn(etcdserverpb::TxnRequest request,
                      Done<etcdserverpb::TxnResponse> done) {
  Unary(true, std::move(request), kTxnStart, std::move(done));
}

void SelfSession::TxnDetached(etcdserverpb::TxnRequest request,
                              Done<etcdserverpb::TxnResponse> done) {
  Unary(false, std::move(request), kTxnStart, std::move(done));
}

void SelfSession::DeleteRange(etcdserverpb::DeleteRangeRequest request,
                              Done<etcdserverpb::DeleteRangeResponse> done) {
  Unary(true, std::move(request), kDeleteRangeStart, std::move(done));
}

void SelfSession::DeleteRangeDetached(
    etcdserverpb::DeleteRangeRequest request,
    Done<etcdserverpb::DeleteRangeResponse> done) {
  Unary(false, std::move(request), kDeleteRangeStart, std::move(done));
}

void SelfSession::LeaseGrant(etcdserverpb::LeaseGrantRequest request,
                             Done<etcdserverpb::LeaseGrantResponse> done) {
  Unary(true, std::move(request), kLeaseGrantStart, std::move(done));
}

std::shared_ptr<SelfWatch> SelfSession::Watch(
    etcdserverpb::WatchCreateRequest create, WatchEventsFn on_events,
    WatchEndFn on_end) {
  std::shared_ptr<SelfWatch> watch(new SelfWatch(
      shared_from_this(), std::move(on_events), std::move(on_end)));
  watch->Start(watch, std::move(create));
  return watch;
}

void SelfSession::Cancel() {
  std::vector<std::shared_ptr<grpc::ClientContext>> contexts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    for (const auto& [raw, context] : in_flight_) contexts.push_back(context);
  }
  // Outside the lock: a cancelled call's callback may run on this thread.
  for (const auto& context : contexts) context->TryCancel();
}

bool SelfSession::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void SelfSession::Prepare(grpc::ClientContext* context) const {
  if (!token_.empty()) context->AddMetadata(kTokenMetadataKey, token_);
}

bool SelfSession::Track(std::shared_ptr<grpc::ClientContext> context) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  grpc::ClientContext* raw = context.get();
  in_flight_.emplace(raw, std::move(context));
  return true;
}

void SelfSession::Untrack(grpc::ClientContext* context) {
  std::shared_ptr<grpc::ClientContext> released;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_flight_.find(context);
    if (it == in_flight_.end()) return;
    released = std::move(it->second);
    in_flight_.erase(it);
  }
  // `released` may be the last owner of the call: it goes outside the lock.
}

SelfWatch::SelfWatch(std::shared_ptr<SelfSession> session,
                     SelfSession::WatchEventsFn on_events,
                     SelfSession::WatchEndFn on_end)
    : session_(std::move(session)),
      on_events_(std::move(on_events)),
      on_end_(std::move(on_end)) {}

void SelfWatch::Start(std::shared_ptr<SelfWatch> self,
                      etcdserverpb::WatchCreateRequest create) {
  self_ = self;
  session_->Prepare(&context_);
  if (!session_->Track(
          std::shared_ptr<grpc::ClientContext>(std::move(self), &context_))) {
    context_.TryCancel();
  }
  *request_.mutable_create_request() = std::move(create);
  const bool started =
      session_->channel_->StartCall([this](const SelfChannel::Stubs& stubs) {
        stubs.watch->async()->Watch(&context_, this);
        // Never half-closed: etcd's watch stream ends once the client
        // half-closes, and this one ends by cancellation instead.
        StartWrite(&request_);
        StartRead(&response_);
        // Held while no read is outstanding, so Next() never races the
        // end.
        AddHold();
        StartCall();
      });
  if (started) return;
  // No call, so no OnDone: end here.
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    ended_ = true;
    stopped_ = true;
    hold_released_ = true;
  }
  session_->Untrack(&context_);
  on_end_(StoppedError());
  self_.reset();  // the caller still holds this
}

bool SelfWatch::TakeHoldLocked() {
  if (hold_released_) return false;
  hold_released_ = true;
  return true;
}

void SelfWatch::Next() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || hold_released_) return;
    reading_ = true;
  }
  StartRead(&response_);
}

void SelfWatch::Stop() {
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    ended_ = true;
    // With a read outstanding, its completion releases the hold.
    if (!reading_) release = TakeHoldLocked();
  }
  context_.TryCancel();
  if (release) RemoveHold();
}

void SelfWatch::End(const grpc::Status& status) {
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    ended_ = true;
    stopped_ = true;
    release = TakeHoldLocked();
  }
  context_.TryCancel();
  if (release) RemoveHold();
  // Still inside a reaction (OnReadDone), so OnDone cannot free this yet.
  on_end_(status);
}

void SelfWatch::OnReadDone(bool ok) {
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    // Broken stream (OnDone reports its status) or stopped: no more reads.
    if (!ok || stopped_) release = TakeHoldLocked();
  }
  if (release) return RemoveHold();
  if (response_.canceled()) return End(CancelStatus(response_));
  if (response_.events_size() == 0) return Next();  // created, progress
  etcdserverpb::WatchResponse response = std::move(response_);
  response_.Clear();
  on_events_(*this, std::move(response));
}

void SelfWatch::OnDone(const grpc::Status& status) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    notify = !ended_;
    ended_ = true;
  }
  if (notify) on_end_(status);
  session_->Untrack(&context_);
  self_.reset();  // may delete this
}

}  // namespace etcdpp::rpc
