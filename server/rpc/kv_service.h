// The etcd KV gRPC service (Range, Put, DeleteRange, Txn, Compact) and the
// Maintenance service's Status and HashKV, over a Backend.
//
// Requests are validated here, as etcd's api/v3rpc does, so that a bad
// request is refused without a raft round trip; then handed to the backend,
// which completes the call later. Built on grpc++'s callback API: no thread
// waits while a request is in the log.
#ifndef ETCDPP_SERVER_RPC_KV_SERVICE_H_
#define ETCDPP_SERVER_RPC_KV_SERVICE_H_

#include <cstdint>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "server/rpc/backend.h"

namespace etcdpp::rpc {

struct Limits {
  uint64_t max_request_bytes = 1572864;  // etcd's --max-request-bytes
  int64_t max_txn_ops = 128;             // etcd's --max-txn-ops
};

class KvService final : public etcdserverpb::KV::CallbackService {
 public:
  KvService(Backend* backend, Limits limits)
      : backend_(backend), limits_(limits) {}

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context,
                                  const etcdserverpb::RangeRequest* request,
                                  etcdserverpb::RangeResponse* response) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const etcdserverpb::PutRequest* request,
                                etcdserverpb::PutResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRange(
      grpc::CallbackServerContext* context,
      const etcdserverpb::DeleteRangeRequest* request,
      etcdserverpb::DeleteRangeResponse* response) override;
  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* context,
                                const etcdserverpb::TxnRequest* request,
                                etcdserverpb::TxnResponse* response) override;
  grpc::ServerUnaryReactor* Compact(
      grpc::CallbackServerContext* context,
      const etcdserverpb::CompactionRequest* request,
      etcdserverpb::CompactionResponse* response) override;

 private:
  Backend* const backend_;
  const Limits limits_;
};

class MaintenanceService final
    : public etcdserverpb::Maintenance::CallbackService {
 public:
  explicit MaintenanceService(Backend* backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* Status(
      grpc::CallbackServerContext* context,
      const etcdserverpb::StatusRequest* request,
      etcdserverpb::StatusResponse* response) override;
  grpc::ServerUnaryReactor* HashKV(
      grpc::CallbackServerContext* context,
      const etcdserverpb::HashKVRequest* request,
      etcdserverpb::HashKVResponse* response) override;
  // Lists, raises or disarms alarms (etcdctl alarm list / disarm), through
  // the log as etcd does.
  grpc::ServerUnaryReactor* Alarm(
      grpc::CallbackServerContext* context,
      const etcdserverpb::AlarmRequest* request,
      etcdserverpb::AlarmResponse* response) override;
  // etcdctl defrag: etcd rewrites its bbolt file; this store lives in
  // memory and compaction already frees what it removes, so there is
  // nothing to rewrite. Answered as etcd answers, to admins.
  // etcdctl snapshot save: the member's state now (its snapshot body,
  // server::Node::EncodedSnapshotBody) as a backup file (backup.h) in 32 KiB
  // blobs, as etcd sends them; admins only.
  grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* Snapshot(
      grpc::CallbackServerContext* context,
      const etcdserverpb::SnapshotRequest* request) override;
  // etcdctl move-leader: asked of the leader, which hands leadership to
  // the target voter.
  grpc::ServerUnaryReactor* MoveLeader(
      grpc::CallbackServerContext* context,
      const etcdserverpb::MoveLeaderRequest* request,
      etcdserverpb::MoveLeaderResponse* response) override;
  grpc::ServerUnaryReactor* Defragment(
      grpc::CallbackServerContext* context,
      const etcdserverpb::DefragmentRequest* request,
      etcdserverpb::DefragmentResponse* response) override;

 private:
  Backend* const backend_;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_KV_SERVICE_H_
