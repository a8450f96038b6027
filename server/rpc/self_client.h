// SelfClient: the server's own KV, Lease and Watch services, reached
// in-process by services built on top of them, as etcd builds its Lock and
// Election services over an embedded clientv3 (etcd's v3client).
//
// Every call goes through the gRPC services themselves (a channel from
// grpc::Server::InProcessChannel), so validation, auth and the backend
// behave exactly as for a client's direct call. The caller's auth token
// rides along on each outgoing call.
//
// Built on grpc++'s callback client API: no thread waits. Callbacks run on
// gRPC's threads, one at a time per outgoing call; callers must not block
// in them.
#ifndef ETCDPP_SERVER_RPC_SELF_CLIENT_H_
#define ETCDPP_SERVER_RPC_SELF_CLIENT_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace etcdpp::rpc {

// The stubs over one in-process channel, and the gate that lets calls
// start on it. gRPC 1.51's in-process transport crashes when a call starts
// once the server has begun to shut down (it calls the server's
// accept-stream callback, then null, unchecked; later gRPC fails the call
// instead), so the owner closes the gate before grpc::Server::Shutdown.
// Thread-safe.
class SelfChannel {
 public:
  explicit SelfChannel(const std::shared_ptr<grpc::Channel>& channel);

  struct Stubs {
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  };

  // Runs `start`, which starts one call on the stubs, unless the gate is
  // closed; returns whether it ran. `start` may re-enter (a callback run
  // inline may start the next call).
  template <typename Start>
  bool StartCall(Start start) {
    if (!Enter()) return false;
    start(stubs_);
    Leave();
    return true;
  }
  // Closes the gate and waits for calls being started to have started.
  // After it returns no call starts here; calls started before go on.
  void Close();

 private:
  bool Enter();
  void Leave();

  const Stubs stubs_;
  std::mutex mu_;
  std::condition_variable started_;
  bool closed_ = false;  // guarded by mu_
  int starting_ = 0;     // StartCall in progress; guarded by mu_
};

// Where a service finds the server once it runs. Thread-safe.
class SelfConnection {
 public:
  // Called once, right after the server starts.
  void Connect(std::shared_ptr<grpc::Channel> channel);
  // Called before the server shuts down: calls through the connection
  // from then on fail with UNAVAILABLE "etcdserver: server stopped".
  void Disconnect();
  // Null until Connect.
  std::shared_ptr<SelfChannel> channel() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<SelfChannel> channel_;  // guarded by mu_
};

// The token the incoming call carries: its "token" metadata (etcd's
// clientv3), else its "authorization" metadata (etcd's gRPC gateway);
// empty when neither.
std::string IncomingToken(const grpc::ServerContextBase& context);

class SelfWatch;

// The outgoing calls made for one incoming call. Cancel() (the incoming
// call was cancelled) cancels every call in flight and every later one;
// the *Detached calls are exempt, for the clean-up etcd does on its
// client's own context after a cancelled wait.
//
// Thread-safe. Held by shared_ptr: every call in flight keeps it alive.
class SelfSession : public std::enable_shared_from_this<SelfSession> {
 public:
  template <typename Response>
  using Done = std::function<void(grpc::Status, Response)>;

  static std::shared_ptr<SelfSession> Create(
      std::shared_ptr<SelfChannel> channel, std::string token);

  void Range(etcdserverpb::RangeRequest request,
             Done<etcdserverpb::RangeResponse> done);
  void Txn(etcdserverpb::TxnRequest request,
           Done<etcdserverpb::TxnResponse> done);
  void TxnDetached(etcdserverpb::TxnRequest request,
                   Done<etcdserverpb::TxnResponse> done);
  void DeleteRange(etcdserverpb::DeleteRangeRequest request,
                   Done<etcdserverpb::DeleteRangeResponse> done);
  void DeleteRangeDetached(etcdserverpb::DeleteRangeRequest request,
                           Done<etcdserverpb::DeleteRangeResponse> done);
  void LeaseGrant(etcdserverpb::LeaseGrantRequest request,
                  Done<etcdserverpb::LeaseGrantResponse> done);

  // Events of a watch, in order, one WatchResponse with events at a time.
  // The receiver asks for the next with watch.Next() or ends the watch
  // with watch.Stop(), now or later (watch.shared_from_this() keeps it).
  using WatchEventsFn =
      std::function<void(SelfWatch& watch, etcdserverpb::WatchResponse)>;
  // The watch ended by itself: the server cancelled it (the reason as a
  // status in etcd's words: a compaction, a permission), the stream broke
  // or the server ended it (OK), or the session was cancelled. Never
  // called after Stop().
  using WatchEndFn = std::function<void(grpc::Status)>;
  // Opens a watch stream with one create request. Both callbacks run on
  // gRPC threads, never both at once, and never after the end.
  std::shared_ptr<SelfWatch> Watch(etcdserverpb::WatchCreateRequest create,
                                   WatchEventsFn on_events, WatchEndFn on_end);

  // Cancels every call in flight and makes every later call (but the
  // detached ones) fail with CANCELLED at once.
  void Cancel();
  bool cancelled() const;

 private:
  friend class SelfWatch;

  SelfSession(std::shared_ptr<SelfChannel> channel, std::string token)
      : channel_(std::move(channel)), token_(std::move(token)) {}

  // Starts one unary call through `start` (the stub method); `done` gets
  // its outcome.
  template <typename Request, typename Response, typename Start>
  void Unary(bool cancellable, Request request, Start start,
             Done<Response> done);
  // Puts the token on an outgoing call's context.
  void Prepare(grpc::ClientContext* context) const;
  // Tracks a call in flight so Cancel() reaches it; false (and nothing
  // tracked) once cancelled.
  bool Track(std::shared_ptr<grpc::ClientContext> context);
  void Untrack(grpc::ClientContext* context);

  const std::shared_ptr<SelfChannel> channel_;
  const std::string token_;

  mutable std::mutex mu_;
  bool cancelled_ = false;  // guarded by mu_
  // The cancellable calls in flight; guarded by mu_. Owning, so Cancel()
  // never reaches a freed context.
  std::map<grpc::ClientContext*, std::shared_ptr<grpc::ClientContext>>
      in_flight_;
};

// One watch stream of a SelfSession (see SelfSession::Watch).
class SelfWatch final
    : public grpc::ClientBidiReactor<etcdserverpb::WatchRequest,
                                     etcdserverpb::WatchResponse>,
      public std::enable_shared_from_this<SelfWatch> {
 public:
  // Reads the next response with events. Call once per on_events.
  void Next();
  // Ends the watch; no callback runs after it returns (but one already
  // running may finish).
  void Stop();

  // grpc::ClientBidiReactor.
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  friend class SelfSession;

  SelfWatch(std::shared_ptr<SelfSession> session,
            SelfSession::WatchEventsFn on_events,
            SelfSession::WatchEndFn on_end);
  void Start(std::shared_ptr<SelfWatch> self,
             etcdserverpb::WatchCreateRequest create);
  // Ends the watch with `status` told to on_end, unless stopped.
  void End(const grpc::Status& status);
  // Whether the caller must release the hold that keeps the call from
  // finishing while no read is outstanding: true once.
  bool TakeHoldLocked();

  const std::shared_ptr<SelfSession> session_;
  const SelfSession::WatchEventsFn on_events_;
  const SelfSession::WatchEndFn on_end_;
  // gRPC's: the stream's context, the create request written, the read.
  grpc::ClientContext context_;
  etcdserverpb::WatchRequest request_;
  etcdserverpb::WatchResponse response_;
  // Keeps this alive until OnDone.
  std::shared_ptr<SelfWatch> self_;

  std::mutex mu_;
  bool reading_ = true;         // a read is outstanding; guarded by mu_
  bool stopped_ = false;        // Stop() ran; guarded by mu_
  bool ended_ = false;          // on_end ran or will not; guarded by mu_
  bool hold_released_ = false;  // guarded by mu_
};

// A unary call served through a SelfSession: a cancelled call cancels the
// session's calls. Deletes itself when gRPC is done with it, so Finish
// must be the last thing done with it.
class SelfSessionReactor : public grpc::ServerUnaryReactor {
 public:
  explicit SelfSessionReactor(std::shared_ptr<SelfSession> session)
      : session_(std::move(session)) {}

  void OnCancel() override { session_->Cancel(); }
  void OnDone() override { delete this; }

 protected:
  const std::shared_ptr<SelfSession> session_;
};

// UNAVAILABLE "etcdserver: not started": the answer before Connect.
grpc::Status NotStartedError();
// UNAVAILABLE "etcdserver: server stopped": calls after Disconnect.
grpc::Status StoppedError();

// A session for the incoming call behind `context`, with its token; null
// (the call is to be answered NotStartedError()) before Connect.
std::shared_ptr<SelfSession> StartSession(
    const SelfConnection& connection, const grpc::ServerContextBase& context);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_SELF_CLIENT_H_
