// etcd's Watch gRPC service: one bidirectional stream per client watch
// session, as etcd 3.5's api/v3rpc/watch.go serves it.
//
// The stream reads WatchRequests (create, cancel, progress) and hands each
// to the Backend under the stream's id; the backend, which owns the watchers
// (a kv::WatchHub in the runner), answers through the stream's WatchSink.
// Writes go out one at a time, in the order handed over. When the client
// half-closes, the stream finishes once its queued responses are written;
// when it cancels, at once. Either way the backend is told to drop the
// stream's watchers.
#ifndef ETCDPP_SERVER_RPC_WATCH_SERVICE_H_
#define ETCDPP_SERVER_RPC_WATCH_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "server/rpc/backend.h"

namespace etcdpp::rpc {

class WatchService final : public etcdserverpb::Watch::CallbackService {
 public:
  explicit WatchService(Backend* backend) : backend_(backend) {}

  grpc::ServerBidiReactor<etcdserverpb::WatchRequest,
                          etcdserverpb::WatchResponse>*
  Watch(grpc::CallbackServerContext* context) override;

 private:
  Backend* const backend_;
  std::atomic<uint64_t> next_stream_{1};
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_WATCH_SERVICE_H_
