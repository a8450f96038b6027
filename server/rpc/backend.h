// Backend: what the gRPC services need from the server behind them. The
// production runner implements it over server::Node; tests may implement it
// over a bare kv::Applier.
//
// Threading: every method may be called from any gRPC thread and must not
// block; `done` is called exactly once, on any thread, possibly before the
// method returns.
#ifndef ETCDPP_SERVER_RPC_BACKEND_H_
#define ETCDPP_SERVER_RPC_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "kv/auth.h"
#include "kv/request.pb.h"

namespace etcdpp::rpc {

// The outcome of one request. On success `response` holds the case matching
// the request and `header` is filled as etcd fills it (cluster_id,
// member_id, revision, raft_term). On failure `status` carries etcd's gRPC
// code and words (kv/errors.h, server/rpc/errors.h).
struct Reply {
  absl::Status status;
  kvpb::InternalResponse response;
  etcdserverpb::ResponseHeader header;
  // Set with a NotLeader status when only the leader can answer (a lease
  // keepalive or time-to-live): the leader's client endpoint, host:port.
  std::string leader_endpoint{};
};

using ReplyFn = std::function<void(Reply)>;

// A check of what the caller may do, run against the auth store on the
// backend's own thread (e.g. IsRangePermitted for a serializable read).
using AuthCheck =
    std::function<absl::Status(const kv::AuthStore&, const kv::AuthInfo&)>;
using AuthInfoFn = std::function<void(absl::StatusOr<kv::AuthInfo>)>;
using PasswordFn = std::function<void(absl::StatusOr<kv::StoredPassword>)>;

// The outcome of a Cluster request: the member concerned (for MemberAdd,
// the new one) and the member list after the change.
struct MemberReply {
  absl::Status status;
  etcdserverpb::Member member;
  std::vector<etcdserverpb::Member> members;
  etcdserverpb::ResponseHeader header;
  // Set with a NotLeader status when only the leader can answer (a
  // promotion): the leader's client endpoint, host:port, to forward to.
  std::string leader_endpoint{};
};
using MemberReplyFn = std::function<void(MemberReply)>;

// One Watch stream's way back to its client (server/rpc/watch_service.cc).
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Queues responses for the client, in order; any thread, never blocks.
  // After the stream ended it drops them.
  virtual void Send(std::vector<etcdserverpb::WatchResponse> responses) = 0;
  // Responses queued and not yet written to the client. The backend hands
  // over no more while it is high, so a slow client's events wait in the
  // backend's bounded buffers, not here; when it falls to zero the stream
  // calls WatchWritable.
  virtual size_t Backlog() const = 0;
  // Ends the stream with `status`: responses not yet written are dropped,
  // as are later Sends. Any thread.
  virtual void End(absl::Status status) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // A request that goes through the raft log (put, delete, txn, compact).
  virtual void Write(kvpb::InternalRequest request, ReplyFn done) = 0;
  // A range: linearizable unless request.serializable().
  virtual void Read(etcdserverpb::RangeRequest request, ReplyFn done) = 0;
  virtual void Status(
      std::function<void(absl::StatusOr<etcdserverpb::StatusResponse>)>
          done) = 0;
  virtual void HashKV(
      int64_t revision,
      std::function<void(absl::StatusOr<etcdserverpb::HashKVResponse>)>
          done) = 0;

  // Auth. Who the caller sending `token` (gRPC metadata "token", empty when
  // none) is, after `check` (may be null) passed. While auth is disabled:
  // an empty AuthInfo at once, with no check and no look-up, so requests
  // behave exactly as without auth. While enabled: an unknown or expired
  // token fails with "etcdserver: invalid auth token"; no token is an empty
  // AuthInfo, which the checks refuse ("user name is empty"). The caller
  // puts the AuthInfo in the header of what it proposes, so the applier
  // checks it again at apply time against the same auth revision.
  virtual void Authorize(std::string token, AuthCheck check, AuthInfoFn done) {
    (void)token;
    (void)check;
    done(kv::AuthInfo{});
  }
  // The stored hash of `name`'s password (kv::AuthStore::PasswordOf), for
  // the server to verify a password against off the backend's thread.
  virtual void PasswordOf(std::string name, PasswordFn done) {
    (void)name;
    done(absl::UnimplementedError("no auth"));
  }

  // The Cluster service. A backend without membership (a bare applier)
  // answers Unimplemented.
  virtual void MemberAdd(std::vector<std::string> peer_urls, bool is_learner,
                         MemberReplyFn done) {
    (void)peer_urls;
    (void)is_learner;
    done(MemberReply{absl::UnimplementedError("no membership"), {}, {}, {}});
  }
  virtual void MemberRemove(uint64_t id, MemberReplyFn done) {
    (void)id;
    done(MemberReply{absl::UnimplementedError("no membership"), {}, {}, {}});
  }
  virtual void MemberUpdate(uint64_t id, std::vector<std::string> peer_urls,
                            MemberReplyFn done) {
    (void)id;
    (void)peer_urls;
    done(MemberReply{absl::UnimplementedError("no membership"), {}, {}, {}});
  }
  virtual void MemberPromote(uint64_t id, MemberReplyFn done) {
    (void)id;
    done(MemberReply{absl::UnimplementedError("no membership"), {}, {}, {}});
  }
  virtual void MemberList(MemberReplyFn done) {
    done(MemberReply{absl::UnimplementedError("no membership"), {}, {}, {}});
  }

  // The Lease service beyond grant and revoke (those are Writes of
  // lease_grant / lease_revoke). Keepalive and time-to-live need the
  // leader's expiries: elsewhere they answer NotLeader with
  // leader_endpoint set, and the service forwards. The reply's response is
  // lease_keep_alive / lease_time_to_live / lease_leases. A backend without
  // a lessor answers Unimplemented.
  virtual void LeaseKeepAlive(int64_t id, ReplyFn done) {
    (void)id;
    done(Reply{absl::UnimplementedError("no leases"), {}, {}});
  }
  virtual void LeaseTimeToLive(etcdserverpb::LeaseTimeToLiveRequest request,
                               ReplyFn done) {
    (void)request;
    done(Reply{absl::UnimplementedError("no leases"), {}, {}});
  }
  virtual void LeaseLeases(ReplyFn done) {
    done(Reply{absl::UnimplementedError("no leases"), {}, {}});
  }
  // etcd's Maintenance.Snapshot: the member's state now, as one body
  // (server::Node::EncodedSnapshotBody), with the header of that moment.
  struct SnapshotData {
    etcdserverpb::ResponseHeader header;
    std::string body;
  };
  using SnapshotFn = std::function<void(absl::StatusOr<SnapshotData>)>;
  virtual void Snapshot(SnapshotFn done) {
    done(absl::UnimplementedError("no snapshots"));
  }
  // etcd's MoveLeader, on the leader: the reply's status says whether
  // `transferee` took over.
  virtual void MoveLeader(uint64_t transferee, ReplyFn done) {
    (void)transferee;
    done(Reply{absl::UnimplementedError("no raft"), {}, {}});
  }
  // The Watch service, one bidirectional stream at a time, each under an id
  // the service chose. WatchOpen fails at once if the backend has no
  // watches; the others are for an open stream and return at once. Every
  // response the stream gets goes to its sink (create, cancel and progress
  // answers, events, cancels by compaction), watch ids as the client sees
  // them.
  // `token` is the stream's auth token (empty: none); every create request
  // on the stream is checked with it (read permission on the watched range)
  // while auth is enabled, and refused as a created-and-canceled response.
  // `require_leader` (etcd's "hasleader" metadata, clientv3's
  // WithRequireLeader, which Kubernetes sets on its watches): the stream is
  // refused while the member has no leader, and ended (sink->End with
  // etcd's "no leader") once it has had none for three election timeouts,
  // so the client moves to a member that has one.
  virtual absl::Status WatchOpen(uint64_t stream,
                                 std::shared_ptr<WatchSink> sink,
                                 std::string token, bool require_leader) {
    (void)stream;
    (void)sink;
    (void)token;
    (void)require_leader;
    return absl::UnimplementedError("no watches");
  }
  // A create, cancel or progress request from the client.
  virtual void WatchRequest(uint64_t stream,
                            etcdserverpb::WatchRequest request) {
    (void)stream;
    (void)request;
  }
  // The sink's backlog drained: more may be sent.
  virtual void WatchWritable(uint64_t stream) { (void)stream; }
  // The stream ended: its watchers go.
  virtual void WatchClose(uint64_t stream) { (void)stream; }
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_BACKEND_H_
