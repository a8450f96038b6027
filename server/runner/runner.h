// Runner: the production driver of one server::Node.
//
// It owns the node thread, which is the event loop's thread: the node, its
// Disk, the peer transport and every callback run there, one at a time, so
// the node needs no locks. gRPC threads hand requests over through
// EventLoop::Post (the input queue); a timerfd ticks the node once per
// heartbeat interval; after every input the runner drains the disk's
// completions back into the node and the node's outputs to the peers and
// to the waiting gRPC calls.
//
// The simulator (sim/) is the node's other driver; it does the same with
// simulated time, network and disk.
#ifndef ETCDPP_SERVER_RUNNER_RUNNER_H_
#define ETCDPP_SERVER_RUNNER_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/log.h"
#include "kv/watch.h"
#include "net/event_loop.h"
#include "server/node/node.h"
#include "server/peer/transport.h"
#include "server/rpc/backend.h"
#include "server/rpc/metrics.h"
#include "server/storage/disk.h"

namespace etcdpp::runner {

struct PeerAddress {
  uint64_t id = 0;
  std::string host;
  uint16_t port = 0;
};

struct RunnerOptions {
  uint64_t tick_ms = 100;
  // A member the cluster removed stops this long after it learns so, the
  // loop still writing what raft sent (see Drain).
  uint64_t removed_stop_delay_ms = 1000;
  peer::TransportOptions transport;
  // The other members as the flags name them; the node's replicated
  // member list wins where it knows a member's peer URLs.
  std::vector<PeerAddress> peers;
  // --initial-cluster-token: MemberAdd derives the new member's id from
  // its peer URLs and this, as the joining member does from its flags.
  std::string cluster_token;
  // The node's data dir: snapshot file names are relative to it (and
  // transport.snapshot_dir, where received snapshots land, is it too).
  std::string data_dir;
  // How long a graceful stop waits for leadership to move away.
  uint64_t transfer_wait_ms = 2000;
  // Watch streams: how often progress_notify watchers that got no events
  // hear the revision (etcd's 10 minutes), and how many responses a
  // stream may have unwritten before its watchers' events wait in the hub.
  uint64_t watch_progress_notify_ms = 10 * 60 * 1000;
  size_t watch_stream_backlog = 16;
  kv::WatchHubOptions watch_hub;
  // Counts leader changes (may be null; must outlive the runner).
  rpc::ServerMetrics* metrics = nullptr;
  // The election timeout in ticks: watch streams that require a leader end
  // after three of them without one (etcd's monitorLeader).
  uint64_t election_ticks = 10;
};

class Runner final : public rpc::Backend {
 public:
  // Called on the loop thread when the node halts (a failed fsync,
  // corruption): the process must stop.
  using HaltFn = std::function<void(const absl::Status&)>;

  // Starts the transport and the ticks. Call on the loop thread, or before
  // the loop runs.
  static absl::StatusOr<std::unique_ptr<Runner>> Start(
      net::EventLoop* loop, std::unique_ptr<storage::Disk> disk,
      std::unique_ptr<server::Node> node, RunnerOptions options,
      base::LogSink* log, HaltFn on_halt);
  ~Runner() override;

  // rpc::Backend: any thread.
  void Write(kvpb::InternalRequest request, rpc::ReplyFn done) override;
  void Read(etcdserverpb::RangeRequest request, rpc::ReplyFn done) override;
  void Status(std::function<void(absl::StatusOr<etcdserverpb::StatusResponse>)>
                  done) override;
  void HashKV(int64_t revision,
              std::function<void(absl::StatusOr<etcdserverpb::HashKVResponse>)>
                  done) override;

  // rpc::Backend's auth: any thread. Authorize answers at once while auth
  // is disabled (as last seen by the loop thread); otherwise the token is
  // resolved and the check run on the loop thread.
  void Authorize(std::string token, rpc::AuthCheck check,
                 rpc::AuthInfoFn done) override;
  void PasswordOf(std::string name, rpc::PasswordFn done) override;

  // rpc::Backend's Cluster service: any thread.
  void MemberAdd(std::vector<std::string> peer_urls, bool is_learner,
                 rpc::MemberReplyFn done) override;
  void MemberRemove(uint64_t id, rpc::MemberReplyFn done) override;
  void MemberUpdate(uint64_t id, std::vector<std::string> peer_urls,
                    rpc::MemberReplyFn done) override;
  void MemberPromote(uint64_t id, rpc::MemberReplyFn done) override;
  void MemberList(rpc::MemberReplyFn done) override;

  // rpc::Backend's leases beyond grant and revoke: any thread.
  void LeaseKeepAlive(int64_t id, rpc::ReplyFn done) override;
  void LeaseTimeToLive(etcdserverpb::LeaseTimeToLiveRequest request,
                       rpc::ReplyFn done) override;
  void LeaseLeases(rpc::ReplyFn done) override;
  void MoveLeader(uint64_t transferee, rpc::ReplyFn done) override;
  void Snapshot(SnapshotFn done) override;
  // rpc::Backend's Watch service: any thread. The watchers live in a
  // kv::WatchHub on the loop thread, fed with the node's applied events
  // after every drain; a slow stream's watchers fall behind into the hub's
  // unsynced group and catch up from the store, never holding the node.
  absl::Status WatchOpen(uint64_t stream, std::shared_ptr<rpc::WatchSink> sink,
                         std::string token, bool require_leader) override;
  void WatchRequest(uint64_t stream,
                    etcdserverpb::WatchRequest request) override;
  void WatchWritable(uint64_t stream) override;
  void WatchClose(uint64_t stream) override;

  // Loop thread: hands leadership away if this member leads, waits for it
  // to move (at most transfer_wait_ms), then calls `done`. New requests are
  // refused from now on.
  void GracefulStop(std::function<void()> done);

  uint16_t peer_port() const { return transport_->port(); }

  // Loop thread: feeds the disk's completions to the node and drains its
  // output. Call when the disk signals completions (see ThreadedDisk).
  void Poke() { Submit([](server::Node&) {}); }

 private:
  Runner(net::EventLoop* loop, std::unique_ptr<storage::Disk> disk,
         std::unique_ptr<server::Node> node, RunnerOptions options,
         base::LogSink* log, HaltFn on_halt);
  absl::Status StartTransport();
  // Runs `input` against the node on the loop thread, then drains.
  void Submit(std::function<void(server::Node&)> input);
  void Drain();
  void Deliver(std::vector<server::ClientReply> replies);
  // Counts `leader` in options_.metrics if it is a new one.
  void CountLeaderChange(uint64_t leader);
  // Each tick: ends the streams that require a leader once the member has
  // had none for three election timeouts.
  void CheckLeader();
  // Connects to, reconnects to or drops a peer as the membership changed.
  void ApplyPeerChange(const server::PeerChange& change);
  // Runs a membership input on the loop thread; its reply goes to `done`.
  void SubmitMember(std::function<void(server::Node&, uint64_t)> input,
                    rpc::MemberReplyFn done);
  // Loop thread: the leader's client endpoint (host:port) when another
  // member leads and its client URL is known, else empty.
  std::string LeaderEndpoint() const;
  // Runs an input that only the leader can answer on the loop thread: on a
  // follower that knows the leader, answers NotLeader with the leader's
  // endpoint for the caller to forward to. The leader first applies what it
  // has committed (etcd's waitAppliedIndex), so a lease granted through
  // any member is known here. While no member can answer (no leader known,
  // or a new leader whose lessor is not primary yet) it retries, as etcd's
  // LeaseRenew waits; all this for at most kLeaderWaitMs.
  void SubmitLeaderOnly(std::function<void(server::Node&, uint64_t)> input,
                        rpc::ReplyFn done);
  void TryLeaderOnly(std::function<void(server::Node&, uint64_t)> input,
                     rpc::ReplyFn done, uint64_t retries,
                     uint64_t wait_index);
  // Loop thread: runs `task` after kLeaderRetryMs, or answers `done` with
  // StoppingError if the runner is gone by then.
  bool RetryLater(std::function<void()> task, rpc::ReplyFn done);
  void Log(base::LogLevel level, const std::string& message);

  // Watches, loop thread only.
  struct WatchStream {
    std::shared_ptr<rpc::WatchSink> sink;
    std::string token;  // the client's auth token, empty when none
    std::map<int64_t, int64_t> hub_ids;  // by the client's watch id
    int64_t next_auto_id = 0;            // etcd's watchStream.nextID
    bool progress_wanted = false;        // a progress request is owed
    bool require_leader = false;         // see rpc::Backend::WatchOpen
  };
  // Catches up unsynced watchers and hands queued output to the streams
  // that can take it.
  void FlushWatches();
  // Loop thread: whether the stream's token may watch the request's range.
  absl::Status WatchPermitted(const std::string& token,
                              const etcdserverpb::WatchCreateRequest& request);
  void WatchCreate(uint64_t stream, WatchStream& s,
                   const etcdserverpb::WatchCreateRequest& request);

  net::EventLoop* const loop_;
  std::unique_ptr<storage::Disk> disk_;
  std::unique_ptr<server::Node> node_;
  const RunnerOptions options_;
  base::LogSink* const log_;
  HaltFn on_halt_;
  std::unique_ptr<peer::PeerTransport> transport_;
  net::TimerId tick_timer_ = 0;
  bool halted_ = false;
  uint64_t seen_leader_ = 0;  // for metrics->leader_changes
  bool stopping_ = false;

  // Loop thread only.
  uint64_t next_request_id_ = 1;
  std::map<uint64_t, rpc::ReplyFn> waiting_;
  std::map<uint64_t, rpc::MemberReplyFn> waiting_members_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  std::unique_ptr<kv::WatchHub> watch_hub_;
  int64_t next_hub_id_ = 1;
  std::map<uint64_t, WatchStream> watch_streams_;
  // hub id -> (stream, client watch id)
  std::map<int64_t, std::pair<uint64_t, int64_t>> watch_owners_;
  net::TimerId progress_timer_ = 0;
  // Whether auth is enabled, as of the last drain: written on the loop
  // thread, read by Authorize on any thread. A request that races with
  // enabling auth still meets the applier's check of its header.
  std::atomic<bool> auth_enabled_{false};
  // Whether the node knows a leader (after the last drain), for gRPC
  // threads; and for how many ticks it has known none.
  std::atomic<bool> has_leader_{false};
  uint64_t leaderless_ticks_ = 0;
};

}  // namespace etcdpp::runner

#endif  // ETCDPP_SERVER_RUNNER_RUNNER_H_
