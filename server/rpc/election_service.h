// etcd's Election service (etcd 3.5 server/etcdserver/api/v3election),
// built as etcd builds it: a client of the server's own KV, Lease and
// Watch services (reached in-process, see self_client.h) running etcd's
// clientv3/concurrency Election recipe.
//
// Campaign(name, lease, value): the candidate's key "<name>/<lease id in
// hex>" is put with the value and the lease unless the lease has it
// already (then a different value is proclaimed); the call returns once
// every key under "<name>/" created before it is gone, with the leader
// key {name, key, create revision, lease} and the header of the txn that
// put it. Lease 0 makes the server grant a lease of 60 s, as etcd's
// session does; nothing keeps it alive. A campaign cancelled while it
// waits resigns (deletes its key on the server's own account), as etcd's
// does.
// Proclaim(leader, value): puts the value if the leader key still exists
// with the same create revision, else "election: not leader".
// Leader(name): the key under "<name>/" created first, else "election: no
// leader".
// Observe(name): streams the leader's key-value each time the leader or
// its value changes: the current one (or the first put when there is
// none), then every put of that key until it is deleted, then the next
// leader.
// Resign(leader): deletes the leader key if its create revision is still
// the leader's.
//
// The recipes' own errors are UNKNOWN, as etcd answers its plain Go
// errors; errors of the calls made carry the code and words they came
// with (etcd turns them into UNKNOWN with the same words). Two more
// departures from etcd: an Observe stream whose read or watch fails ends
// with that error where etcd ends it with OK, and Resign with lease 0
// grants no lease (etcd's session grants one it never uses).
#ifndef ETCDPP_SERVER_RPC_ELECTION_SERVICE_H_
#define ETCDPP_SERVER_RPC_ELECTION_SERVICE_H_

#include <memory>

#include "api/v3electionpb/v3election.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/rpc/self_client.h"

namespace etcdpp::rpc {

class ElectionService final : public v3electionpb::Election::CallbackService {
 public:
  ElectionService() = default;

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

  grpc::ServerUnaryReactor* Campaign(
      grpc::CallbackServerContext* context,
      const v3electionpb::CampaignRequest* request,
      v3electionpb::CampaignResponse* response) override;
  grpc::ServerUnaryReactor* Proclaim(
      grpc::CallbackServerContext* context,
      const v3electionpb::ProclaimRequest* request,
      v3electionpb::ProclaimResponse* response) override;
  grpc::ServerUnaryReactor* Leader(
      grpc::CallbackServerContext* context,
      const v3electionpb::LeaderRequest* request,
      v3electionpb::LeaderResponse* response) override;
  grpc::ServerWriteReactor<v3electionpb::LeaderResponse>* Observe(
      grpc::CallbackServerContext* context,
      const v3electionpb::LeaderRequest* request) override;
  grpc::ServerUnaryReactor* Resign(
      grpc::CallbackServerContext* context,
      const v3electionpb::ResignRequest* request,
      v3electionpb::ResignResponse* response) override;

 private:
  SelfConnection connection_;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_ELECTION_SERVICE_H_
