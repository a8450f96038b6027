// etcd's Lock service (etcd 3.5 server/etcdserver/api/v3lock), built as
// etcd builds it: a client of the server's own KV, Lease and Watch
// services (reached in-process, see self_client.h) running etcd's
// clientv3/concurrency Mutex recipe.
//
// Lock(name, lease): the lock key is "<name>/<lease id in hex>", put with
// the lease by a txn that asks for it not to exist (a second Lock with the
// same lease finds its key again). The lock is held once every key under
// "<name>/" created before it is gone: the call waits, watching the last
// such key until it is deleted, and again. Then the key is read once more
// (a lease that expired meanwhile: "mutex: session is expired") and
// returned with the header of that read. Lease 0 makes the server grant a
// lease of 60 s for the lock, as etcd's session does; nothing keeps it
// alive.
// Unlock(key): deletes the key.
//
// Cancelled waits (the client went away, or its deadline passed) cancel
// the calls in flight. As etcd's Mutex.Lock does, the waiter's key is then
// deleted on the server's own account (not cancelled with the call), so no
// stale waiter holds up the queue; if that delete fails, the key goes when
// its lease does. A call cancelled before its txn was answered may leave
// the key it created to its lease, as in etcd.
//
// Errors: "mutex: session is expired" is UNKNOWN, as etcd answers its
// plain Go errors; errors of the calls made (a lease not found, auth)
// carry the code and words they came with, where etcd turns them into
// UNKNOWN with the same words.
#ifndef ETCDPP_SERVER_RPC_LOCK_SERVICE_H_
#define ETCDPP_SERVER_RPC_LOCK_SERVICE_H_

#include <memory>

#include "api/v3lockpb/v3lock.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/rpc/self_client.h"

namespace etcdpp::rpc {

class LockService final : public v3lockpb::Lock::CallbackService {
 public:
  LockService() = default;

  // The server's own gRPC services, reached in-process. Called once,
  // right after the server starts; calls before it answer UNAVAILABLE
  // "etcdserver: not started". Thread-safe.
  void Connect(std::shared_ptr<grpc::Channel> channel) {
    connection_.Connect(std::move(channel));
  }
  // Called before the server shuts down (grpc::Server::Shutdown): no call
  // starts through the channel from then on, and calls that would answer
  // UNAVAILABLE "etcdserver: server stopped". Required: gRPC 1.51's
  // in-process transport crashes when a call starts on a shutting-down
  // server. Thread-safe; waits only for calls being started right now.
  void Disconnect() { connection_.Disconnect(); }

  grpc::ServerUnaryReactor* Lock(grpc::CallbackServerContext* context,
                                 const v3lockpb::LockRequest* request,
                                 v3lockpb::LockResponse* response) override;
  grpc::ServerUnaryReactor* Unlock(grpc::CallbackServerContext* context,
                                   const v3lockpb::UnlockRequest* request,
                                   v3lockpb::UnlockResponse* response) override;

 private:
  SelfConnection connection_;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_LOCK_SERVICE_H_
