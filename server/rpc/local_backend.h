// LocalBackend: a Backend over one kv::Applier, without raft: every write
// applies at once under a lock. For tests of the gRPC layer against real
// clients (etcdctl) before and beside the replicated node; never used by
// the etcdpp server.
#ifndef ETCDPP_SERVER_RPC_LOCAL_BACKEND_H_
#define ETCDPP_SERVER_RPC_LOCAL_BACKEND_H_

#include <cstdint>
#include <mutex>

#include "kv/applier.h"
#include "server/rpc/backend.h"

namespace etcdpp::rpc {

class LocalBackend final : public Backend {
 public:
  LocalBackend(uint64_t cluster_id, uint64_t member_id)
      : cluster_id_(cluster_id), member_id_(member_id) {}

  void Write(kvpb::InternalRequest request, ReplyFn done) override;
  void Read(etcdserverpb::RangeRequest request, ReplyFn done) override;
  void Status(std::function<void(absl::StatusOr<etcdserverpb::StatusResponse>)>
                  done) override;
  void HashKV(int64_t revision,
              std::function<void(absl::StatusOr<etcdserverpb::HashKVResponse>)>
                  done) override;
  void Authorize(std::string token, AuthCheck check,
                 AuthInfoFn done) override;
  void PasswordOf(std::string name, PasswordFn done) override;

 private:
  etcdserverpb::ResponseHeader Header() const;

  const uint64_t cluster_id_;
  const uint64_t member_id_;
  std::mutex mu_;
  kv::Applier applier_;  // guarded by mu_
  uint64_t applied_ = 0;  // guarded by mu_: a stand-in for the raft index
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_LOCAL_BACKEND_H_
