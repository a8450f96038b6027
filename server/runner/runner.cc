#include "server/runner/runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/check.h"
#include "kv/lease.h"
#include "server/config/flags.h"
#include "server/config/ids.h"
#include "server/node/errors.h"

namespace etcdpp::runner {
namespace {

// How long a lease keepalive or time-to-live waits for a member that can
// answer it (etcd's request timeout).
constexpr uint64_t kLeaderWaitMs = 5000;
constexpr uint64_t kLeaderRetryMs = 10;

rpc::Reply ErrorReply(absl::Status status) {
  rpc::Reply reply;
  reply.status = std::move(status);
  return reply;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Runner>> Runner::Start(
    net::EventLoop* loop, std::unique_ptr<storage::Disk> disk,
    std::unique_ptr<server::Node> node, RunnerOptions options,
    base::LogSink* log, HaltFn on_halt) {
  std::unique_ptr<Runner> runner(new Runner(loop, std::move(disk),
                                            std::move(node), std::move(options),
                                            log, std::move(on_halt)));
  if (absl::Status s = runner->StartTransport(); !s.ok()) return s;
  Runner* raw = runner.get();
  absl::StatusOr<net::TimerId> timer = loop->AddTimer(
      runner->options_.tick_ms, runner->options_.tick_ms,
      [raw] {
        raw->Submit([](server::Node& node) { node.Tick(); });
        raw->CheckLeader();
      });
  if (!timer.ok()) return timer.status();
  runner->tick_timer_ = *timer;
  runner->watch_hub_ = std::make_unique<kv::WatchHub>(
      &runner->node_->applier().store(), runner->options_.watch_hub);
  absl::StatusOr<net::TimerId> progress = loop->AddTimer(
      runner->options_.watch_progress_notify_ms,
      runner->options_.watch_progress_notify_ms, [raw] {
        raw->watch_hub_->ProgressNotify();
        raw->FlushWatches();
      });
  if (!progress.ok()) return progress.status();
  runner->progress_timer_ = *progress;
  // The bootstrap or recovery may have left disk work and output behind.
  runner->Drain();
  return runner;
}

Runner::Runner(net::EventLoop* loop, std::unique_ptr<storage::Disk> disk,
               std::unique_ptr<server::Node> node, RunnerOptions options,
               base::LogSink* log, HaltFn on_halt)
    : loop_(loop),
      disk_(std::move(disk)),
      node_(std::move(node)),
      options_(std::move(options)),
      log_(log),
      on_halt_(std::move(on_halt)) {}

Runner::~Runner() {
  *alive_ = false;
  if (tick_timer_ != 0) loop_->CancelTimer(tick_timer_);
  if (progress_timer_ != 0) loop_->CancelTimer(progress_timer_);
  std::map<uint64_t, rpc::ReplyFn> waiting = std::move(waiting_);
  for (auto& [id, done] : waiting) done(ErrorReply(server::StoppingError()));
  std::map<uint64_t, rpc::MemberReplyFn> members = std::move(waiting_members_);
  for (auto& [id, done] : members) {
    done(rpc::MemberReply{server::StoppingError(), {}, {}, {}});
  }
}

absl::Status Runner::StartTransport() {
  peer::TransportCallbacks callbacks;
  callbacks.on_message = [this](raftpb::Message m) {
    Submit([m = std::move(m)](server::Node& node) { node.Step(m); });
  };
  callbacks.on_unreachable = [this](uint64_t peer) {
    Submit([peer](server::Node& node) { node.ReportUnreachable(peer); });
  };
  callbacks.on_snapshot_status = [this](uint64_t peer, bool ok) {
    Submit([peer, ok](server::Node& node) { node.ReportSnapshot(peer, ok); });
  };
  callbacks.on_snapshot = [this](raftpb::Message m, std::string path) {
    // The node takes names inside the data dir.
    const std::string prefix = options_.data_dir + "/";
    if (options_.data_dir.empty() || !absl::StartsWith(path, prefix)) {
      Log(base::LogLevel::kWarn,
          absl::StrCat("msg=\"dropping received snapshot outside the data "
                       "dir\" path=",
                       path));
      return;
    }
    std::string name = path.substr(prefix.size());
    Submit([m = std::move(m), name = std::move(name)](server::Node& node) {
      node.SnapshotReceived(m, name);
    });
  };
  callbacks.on_connection_error = [this](uint64_t peer,
                                        const absl::Status& status) {
    Log(base::LogLevel::kWarn,
        absl::StrCat("msg=\"peer connection failed\" peer=", absl::Hex(peer),
                     " error=\"", status.message(), "\""));
  };
  callbacks.is_removed = [this](uint64_t id) {
    return node_->Members().removed().contains(id);
  };
  // Removed while it was down (or cut off), this member never applied its
  // own removal: a peer tells it, as etcd's peers answer 410 Gone.
  callbacks.on_removed = [this] {
    if (halted_) return;
    halted_ = true;
    Log(base::LogLevel::kWarn,
        "msg=\"a peer says this member was removed from the cluster; "
        "stopping\"");
    if (on_halt_) on_halt_(server::MemberRemovedError());
  };
  // A joining member's discovery gets the replicated member list.
  callbacks.member_list = [this] { return node_->Members().Encode(); };
  absl::StatusOr<std::unique_ptr<peer::PeerTransport>> transport =
      peer::PeerTransport::Start(loop_, options_.transport,
                                 std::move(callbacks));
  if (!transport.ok()) return transport.status();
  transport_ = *std::move(transport);
  // The replicated member list first: it knows members added since the
  // cluster began and URLs updated since; the flags fill in the rest.
  for (const server::PeerChange& p : node_->Peers()) ApplyPeerChange(p);
  for (const PeerAddress& p : options_.peers) {
    if (node_->Members().Find(p.id) != nullptr) {
      transport_->AddPeer(p.id, p.host, p.port);
    }
  }
  return absl::OkStatus();
}

void Runner::Submit(std::function<void(server::Node&)> input) {
  if (halted_) return;
  input(*node_);
  Drain();
}

void Runner::Drain() {
  while (!halted_) {
    std::vector<storage::DiskCompletion> done = disk_->TakeCompletions();
    for (const storage::DiskCompletion& c : done) {
      node_->DiskDone(c.op_id, c.status);
    }
    server::NodeOutput out = node_->TakeOutput();
    const uint64_t leader = node_->GetStatus().leader;
    has_leader_.store(leader != 0, std::memory_order_relaxed);
    if (options_.metrics != nullptr) CountLeaderChange(leader);
    auth_enabled_.store(node_->applier().auth().enabled(),
                        std::memory_order_relaxed);
    if (watch_hub_ != nullptr) {  // null until Start has made it
      watch_hub_->Feed(&node_->applier().store(), out.store_replaced,
                       std::move(out.events));
    }
    const bool quiet = done.empty() && out.messages.empty() &&
                       out.replies.empty() && out.snapshots.empty() &&
                       out.peer_changes.empty();
    for (const raftpb::Message& m : out.messages) transport_->Send(m);
    for (const server::SnapshotToSend& s : out.snapshots) {
      transport_->SendSnapshot(s.message,
                               options_.data_dir + "/" + s.file_name);
    }
    for (const server::PeerChange& p : out.peer_changes) ApplyPeerChange(p);
    Deliver(std::move(out.replies));
    if (out.halt.has_value()) {
      halted_ = true;
      Log(base::LogLevel::kError,
          absl::StrCat("msg=\"node halted\" error=\"", out.halt->ToString(),
                       "\""));
      if (server::IsMemberRemoved(*out.halt)) {
        // A planned stop: what raft already sent (the commit index that
        // tells the others of the removal, a leadership hand-off) leaves
        // first, and the loop runs on a moment to write it out.
        transport_->FlushNow();
        absl::Status status = *out.halt;
        (void)loop_->AddTimer(
            options_.removed_stop_delay_ms, 0,
            [this, alive = alive_, status] {
              if (*alive && on_halt_) on_halt_(status);
            });
        return;
      }
      if (on_halt_) on_halt_(*out.halt);
      return;
    }
    if (quiet) return FlushWatches();
  }
}

void Runner::CountLeaderChange(uint64_t leader) {
  if (leader != 0 && leader != seen_leader_) {
    options_.metrics->leader_changes.fetch_add(1, std::memory_order_relaxed);
  }
  if (leader != 0) seen_leader_ = leader;
}

void Runner::CheckLeader() {
  if (has_leader_.load(std::memory_order_relaxed)) {
    leaderless_ticks_ = 0;
    return;
  }
  if (++leaderless_ticks_ < 3 * options_.election_ticks) return;
  // etcd's monitorLeader: reconnecting costs a client more than a refused
  // request, so open streams wait three election timeouts, then end.
  leaderless_ticks_ = 0;
  for (auto& [id, s] : watch_streams_) {
    if (!s.require_leader) continue;
    s.require_leader = false;  // ended once
    s.sink->End(server::NoLeaderError());
  }
}

void Runner::Deliver(std::vector<server::ClientReply> replies) {
  for (server::ClientReply& r : replies) {
    if (auto m = waiting_members_.find(r.request_id);
        m != waiting_members_.end()) {
      rpc::MemberReplyFn done = std::move(m->second);
      waiting_members_.erase(m);
      done(rpc::MemberReply{std::move(r.status), std::move(r.member),
                            std::move(r.members), std::move(r.header)});
      continue;
    }
    auto it = waiting_.find(r.request_id);
    if (it == waiting_.end()) continue;
    rpc::ReplyFn done = std::move(it->second);
    waiting_.erase(it);
    done(rpc::Reply{std::move(r.status), std::move(r.response),
                    std::move(r.header)});
  }
}

void Runner::Write(kvpb::InternalRequest request, rpc::ReplyFn done) {
  loop_->Post([this, alive = alive_, request = std::move(request),
               done = std::move(done)]() mutable {
    if (!*alive || halted_ || stopping_) {
      return done(ErrorReply(server::StoppingError()));
    }
    const uint64_t id = next_request_id_++;
    waiting_[id] = std::move(done);
    Submit([id, &request](server::Node& node) {
      node.Propose(id, std::move(request));
    });
  });
}

void Runner::Read(etcdserverpb::RangeRequest request, rpc::ReplyFn done) {
  loop_->Post([this, alive = alive_, request = std::move(request),
               done = std::move(done)]() mutable {
    if (!*alive || halted_ || stopping_) {
      return done(ErrorReply(server::StoppingError()));
    }
    const uint64_t id = next_request_id_++;
    waiting_[id] = std::move(done);
    Submit([id, &request](server::Node& node) {
      node.Read(id, std::move(request));
    });
  });
}

void Runner::Authorize(std::string token, rpc::AuthCheck check,
                       rpc::AuthInfoFn done) {
  if (!auth_enabled_.load(std::memory_order_relaxed)) {
    return done(kv::AuthInfo{});
  }
  loop_->Post([this, alive = alive_, token = std::move(token),
               check = std::move(check), done = std::move(done)] {
    if (!*alive || halted_) return done(server::StoppingError());
    const kv::AuthStore& auth = node_->applier().auth();
    // Disabled since: requests behave as without auth.
    if (!auth.enabled()) return done(kv::AuthInfo{});
    kv::AuthInfo info;
    if (!token.empty()) {
      absl::StatusOr<kv::AuthInfo> resolved = node_->AuthInfoFromToken(token);
      if (!resolved.ok()) return done(resolved.status());
      info = *std::move(resolved);
    }
    if (check) {
      if (absl::Status s = check(auth, info); !s.ok()) return done(s);
    }
    done(std::move(info));
  });
}

void Runner::PasswordOf(std::string name, rpc::PasswordFn done) {
  loop_->Post([this, alive = alive_, name = std::move(name),
               done = std::move(done)] {
    if (!*alive || halted_) return done(server::StoppingError());
    done(node_->applier().auth().PasswordOf(name));
  });
}

void Runner::Status(
    std::function<void(absl::StatusOr<etcdserverpb::StatusResponse>)> done) {
  loop_->Post([this, alive = alive_, done = std::move(done)] {
    if (!*alive) return done(server::StoppingError());
    const server::NodeStatus s = node_->GetStatus();
    etcdserverpb::StatusResponse response;
    *response.mutable_header() = node_->Header();
    // The etcd API version this server speaks; clients gate features on it.
    response.set_version("3.5.0");
    response.set_leader(s.leader);
    response.set_raftindex(s.commit_index);
    response.set_raftterm(s.term);
    response.set_raftappliedindex(s.applied_index);
    response.set_islearner(s.is_learner);
    // etcd's figures for the backend file; ours is the store's own
    // deterministic size estimate (the one the space quota counts).
    const int64_t size =
        static_cast<int64_t>(node_->applier().store().size_bytes());
    response.set_dbsize(size);
    response.set_dbsizeinuse(size);
    if (s.leader == 0) response.add_errors("etcdserver: no leader");
    // As etcd: each active alarm, as its text form.
    for (const etcdserverpb::AlarmMember& alarm :
         node_->applier().alarms().Get(etcdserverpb::NONE)) {
      response.add_errors(alarm.ShortDebugString());
    }
    done(std::move(response));
  });
}

void Runner::HashKV(
    int64_t revision,
    std::function<void(absl::StatusOr<etcdserverpb::HashKVResponse>)> done) {
  loop_->Post([this, alive = alive_, revision, done = std::move(done)] {
    if (!*alive) return done(server::StoppingError());
    // Served from the local state, as etcd's HashKV is: comparing members
    // is the point, so it must not go through the leader.
    absl::StatusOr<kv::KeyValueHash> hash =
        node_->applier().store().HashKV(revision);
    if (!hash.ok()) return done(hash.status());
    etcdserverpb::HashKVResponse response;
    *response.mutable_header() = node_->Header();
    response.set_hash(hash->hash);
    response.set_compact_revision(hash->compact_revision);
    done(std::move(response));
  });
}

void Runner::ApplyPeerChange(const server::PeerChange& change) {
  transport_->RemovePeer(change.id);
  if (change.removed) {
    Log(base::LogLevel::kInfo,
        absl::StrCat("msg=\"peer removed\" peer=", absl::Hex(change.id)));
    return;
  }
  for (const std::string& url : change.peer_urls) {
    absl::StatusOr<config::Url> parsed = config::ParseUrl(url);
    if (!parsed.ok()) continue;
    const std::string host =
        parsed->host == "localhost" ? "127.0.0.1" : parsed->host;
    transport_->AddPeer(change.id, host, parsed->port);
    Log(base::LogLevel::kInfo,
        absl::StrCat("msg=\"peer added\" peer=", absl::Hex(change.id),
                     " url=", url));
    return;
  }
  // No usable URL in the member list: the flags may know the member.
  for (const PeerAddress& p : options_.peers) {
    if (p.id == change.id) transport_->AddPeer(p.id, p.host, p.port);
  }
}

void Runner::SubmitMember(std::function<void(server::Node&, uint64_t)> input,
                          rpc::MemberReplyFn done) {
  loop_->Post([this, alive = alive_, input = std::move(input),
               done = std::move(done)]() mutable {
    if (!*alive || halted_ || stopping_) {
      return done(rpc::MemberReply{server::StoppingError(), {}, {}, {}});
    }
    const uint64_t id = next_request_id_++;
    waiting_members_[id] = std::move(done);
    Submit([id, &input](server::Node& node) { input(node, id); });
  });
}

void Runner::MemberAdd(std::vector<std::string> peer_urls, bool is_learner,
                       rpc::MemberReplyFn done) {
  // Normalized as the flags are, so the joining member's own computation
  // of its id from --initial-cluster agrees.
  for (std::string& u : peer_urls) {
    absl::StatusOr<config::Url> parsed = config::ParseUrl(u);
    if (!parsed.ok()) {
      return done(rpc::MemberReply{server::MemberBadUrlsError(), {}, {}, {}});
    }
    u = parsed->ToString();
  }
  etcdserverpb::Member member;
  // As etcd, the time is mixed in, so a removed member's URLs can be added
  // again under a new id; the joining member finds its id in the member
  // list a peer sends it (Discover), by its peer URLs.
  member.set_id(config::ComputeMemberId(
      peer_urls, options_.cluster_token,
      static_cast<int64_t>(absl::ToUnixSeconds(absl::Now()))));
  for (const std::string& u : peer_urls) member.add_peerurls(u);
  member.set_islearner(is_learner);
  SubmitMember(
      [member = std::move(member)](server::Node& node, uint64_t id) {
        node.AddMember(id, member);
      },
      std::move(done));
}

void Runner::MemberRemove(uint64_t member, rpc::MemberReplyFn done) {
  SubmitMember([member](server::Node& node,
                        uint64_t id) { node.RemoveMember(id, member); },
               std::move(done));
}

void Runner::MemberUpdate(uint64_t member, std::vector<std::string> peer_urls,
                          rpc::MemberReplyFn done) {
  SubmitMember(
      [member, peer_urls = std::move(peer_urls)](server::Node& node,
                                                 uint64_t id) {
        node.UpdateMember(id, member, peer_urls);
      },
      std::move(done));
}

void Runner::MemberPromote(uint64_t member, rpc::MemberReplyFn done) {
  loop_->Post([this, alive = alive_, member,
               done = std::move(done)]() mutable {
    if (!*alive || halted_ || stopping_) {
      return done(rpc::MemberReply{server::StoppingError(), {}, {}, {}});
    }
    // Only the leader knows whether the learner is in sync: as etcd, a
    // follower hands the request to it (through its client URL).
    if (std::string leader = LeaderEndpoint(); !leader.empty()) {
      rpc::MemberReply reply;
      reply.status = server::NotLeaderError();
      reply.leader_endpoint = std::move(leader);
      return done(std::move(reply));
    }
    const uint64_t id = next_request_id_++;
    waiting_members_[id] = std::move(done);
    Submit([id, member](server::Node& node) { node.PromoteMember(id, member); });
  });
}

std::string Runner::LeaderEndpoint() const {
  const server::NodeStatus status = node_->GetStatus();
  const etcdserverpb::Member* leader =
      status.is_leader ? nullptr : node_->Members().Find(status.leader);
  if (leader == nullptr || leader->clienturls_size() == 0) return "";
  absl::StatusOr<config::Url> url = config::ParseUrl(leader->clienturls(0));
  if (!url.ok()) return "";
  return absl::StrCat(url->host == "localhost" ? "127.0.0.1" : url->host, ":",
                      url->port);
}

void Runner::SubmitLeaderOnly(
    std::function<void(server::Node&, uint64_t)> input, rpc::ReplyFn done) {
  loop_->Post([this, alive = alive_, input = std::move(input),
               done = std::move(done)]() mutable {
    if (!*alive) return done(ErrorReply(server::StoppingError()));
    TryLeaderOnly(std::move(input), std::move(done),
                  kLeaderWaitMs / kLeaderRetryMs, 0);
  });
}

bool Runner::RetryLater(std::function<void()> task, rpc::ReplyFn done) {
  absl::StatusOr<net::TimerId> timer = loop_->AddTimer(
      kLeaderRetryMs, 0,
      [alive = alive_, task = std::move(task), done = std::move(done)] {
        if (!*alive) return done(ErrorReply(server::StoppingError()));
        task();
      });
  return timer.ok();
}

void Runner::TryLeaderOnly(std::function<void(server::Node&, uint64_t)> input,
                           rpc::ReplyFn done, uint64_t retries,
                           uint64_t wait_index) {
  if (halted_ || stopping_) return done(ErrorReply(server::StoppingError()));
  // As etcd's followers do, hand the request to the leader.
  if (std::string leader = LeaderEndpoint(); !leader.empty()) {
    rpc::Reply reply = ErrorReply(server::NotLeaderError());
    reply.leader_endpoint = std::move(leader);
    return done(std::move(reply));
  }
  const server::NodeStatus status = node_->GetStatus();
  if (status.is_leader) {
    if (wait_index == 0) wait_index = status.commit_index;
    if (status.applied_index < wait_index) {
      if (retries == 0) return done(ErrorReply(server::TimeoutError()));
      if (RetryLater(
              [this, input, done, retries, wait_index] {
                TryLeaderOnly(input, done, retries - 1, wait_index);
              },
              done)) {
        return;
      }
    }
  }
  const uint64_t id = next_request_id_++;
  waiting_[id] = [this, input, done, retries,
                  wait_index](rpc::Reply reply) mutable {
    if (retries > 0 && reply.status == kv::NotPrimaryError() &&
        RetryLater(
            [this, input, done, retries, wait_index] {
              TryLeaderOnly(input, done, retries - 1, wait_index);
            },
            done)) {
      return;
    }
    done(std::move(reply));
  };
  Submit([id, &input](server::Node& node) { input(node, id); });
}

void Runner::LeaseKeepAlive(int64_t lease, rpc::ReplyFn done) {
  SubmitLeaderOnly([lease](server::Node& node,
                           uint64_t id) { node.LeaseKeepAlive(id, lease); },
                   std::move(done));
}

void Runner::LeaseTimeToLive(etcdserverpb::LeaseTimeToLiveRequest request,
                             rpc::ReplyFn done) {
  SubmitLeaderOnly(
      [request = std::move(request)](server::Node& node, uint64_t id) {
        node.LeaseTimeToLive(id, request);
      },
      std::move(done));
}

void Runner::LeaseLeases(rpc::ReplyFn done) {
  loop_->Post([this, alive = alive_, done = std::move(done)]() mutable {
    if (!*alive || halted_ || stopping_) {
      return done(ErrorReply(server::StoppingError()));
    }
    // The local state, as etcd's LeaseLeases.
    const uint64_t id = next_request_id_++;
    waiting_[id] = std::move(done);
    Submit([id](server::Node& node) { node.LeaseLeases(id); });
  });
}

void Runner::MoveLeader(uint64_t transferee, rpc::ReplyFn done) {
  loop_->Post([this, alive = alive_, transferee,
               done = std::move(done)]() mutable {
    if (!*alive || halted_ || stopping_) {
      return done(ErrorReply(server::StoppingError()));
    }
    const uint64_t id = next_request_id_++;
    waiting_[id] = std::move(done);
    Submit([id, transferee](server::Node& node) {
      node.MoveLeader(id, transferee);
    });
  });
}

void Runner::Snapshot(SnapshotFn done) {
  loop_->Post([this, alive = alive_, done = std::move(done)] {
    if (!*alive || halted_ || stopping_) return done(server::StoppingError());
    // On the node's thread, between inputs: one consistent state.
    done(SnapshotData{node_->Header(), node_->EncodedSnapshotBody()});
  });
}

void Runner::MemberList(rpc::MemberReplyFn done) {
  loop_->Post([this, alive = alive_, done = std::move(done)] {
    if (!*alive) return done(rpc::MemberReply{server::StoppingError(), {}, {}, {}});
    // Served from the local list, as etcd's serializable MemberList.
    done(rpc::MemberReply{absl::OkStatus(), {}, node_->Members().List(),
                          node_->Header()});
  });
}

void Runner::GracefulStop(std::function<void()> done) {
  stopping_ = true;
  if (halted_) return done();
  bool transferring = false;
  Submit([&transferring](server::Node& node) {
    transferring = node.TransferLeadershipAway();
  });
  if (!transferring) return done();
  // Poll for the leadership to move; give up after transfer_wait_ms.
  auto waited = std::make_shared<uint64_t>(0);
  auto timer_id = std::make_shared<net::TimerId>(0);
  absl::StatusOr<net::TimerId> timer = loop_->AddTimer(
      10, 10, [this, waited, timer_id, done] {
        *waited += 10;
        if (node_->GetStatus().is_leader &&
            *waited < options_.transfer_wait_ms) {
          return;
        }
        loop_->CancelTimer(*timer_id);
        Log(base::LogLevel::kInfo,
            absl::StrCat("msg=\"stopping\" still_leader=",
                         node_->GetStatus().is_leader ? "true" : "false"));
        done();
      });
  if (!timer.ok()) return done();
  *timer_id = *timer;
}

void Runner::FlushWatches() {
  if (watch_hub_ == nullptr) return;
  const etcdserverpb::ResponseHeader header = node_->Header();
  std::map<uint64_t, std::vector<etcdserverpb::WatchResponse>> batches;
  auto take = [&] {
    for (int64_t hub_id : watch_hub_->WatchersWithOutput()) {
      auto owner = watch_owners_.find(hub_id);
      if (owner == watch_owners_.end()) {  // its stream is gone
        watch_hub_->Take(hub_id);
        continue;
      }
      const auto [stream_id, client_id] = owner->second;
      WatchStream& s = watch_streams_.at(stream_id);
      std::vector<etcdserverpb::WatchResponse>& batch = batches[stream_id];
      if (s.sink->Backlog() + batch.size() >= options_.watch_stream_backlog) {
        continue;  // a slow client: the hub holds (and bounds) the rest
      }
      bool canceled = false;
      for (etcdserverpb::WatchResponse& r : watch_hub_->Take(hub_id)) {
        r.set_watch_id(client_id);
        const int64_t revision = r.header().revision();
        *r.mutable_header() = header;
        r.mutable_header()->set_revision(revision);
        canceled = canceled || r.canceled();
        batch.push_back(std::move(r));
      }
      if (canceled) {  // the hub forgot it
        auto it = s.hub_ids.find(client_id);
        if (it != s.hub_ids.end() && it->second == hub_id) s.hub_ids.erase(it);
        watch_owners_.erase(owner);
      }
    }
  };
  take();
  // Catching up reads the store's history, so only when some watcher
  // behind can move: its stream has room.
  bool can_catch_up = false;
  if (watch_hub_->unsynced_count() > 0) {
    for (const auto& [hub_id, owner] : watch_owners_) {
      if (!watch_hub_->IsSynced(hub_id) &&
          watch_streams_.at(owner.first).sink->Backlog() <
              options_.watch_stream_backlog) {
        can_catch_up = true;
        break;
      }
    }
  }
  if (can_catch_up) {
    watch_hub_->SyncUnsynced();
    take();
  }
  // etcd 3.5 answers a progress request with one response for the whole
  // stream (watch id -1): it must not overtake an event it vouches for, so
  // it waits until every watcher of the stream is synced and drained.
  const std::vector<int64_t> pending = watch_hub_->WatchersWithOutput();
  for (auto& [stream_id, s] : watch_streams_) {
    if (!s.progress_wanted) continue;
    bool ready = true;
    for (const auto& [client_id, hub_id] : s.hub_ids) {
      if (!watch_hub_->IsSynced(hub_id) ||
          std::find(pending.begin(), pending.end(), hub_id) != pending.end()) {
        ready = false;
      }
    }
    if (!ready) continue;
    s.progress_wanted = false;
    etcdserverpb::WatchResponse r;
    *r.mutable_header() = header;
    r.set_watch_id(-1);
    batches[stream_id].push_back(std::move(r));
  }
  for (auto& [stream_id, batch] : batches) {
    if (!batch.empty()) watch_streams_.at(stream_id).sink->Send(std::move(batch));
  }
}

absl::Status Runner::WatchPermitted(
    const std::string& token, const etcdserverpb::WatchCreateRequest& request) {
  // etcd's isWatchPermitted: read permission on the watched range.
  if (!node_->applier().auth().enabled()) return absl::OkStatus();
  kv::AuthInfo info;
  if (!token.empty()) {
    absl::StatusOr<kv::AuthInfo> resolved = node_->AuthInfoFromToken(token);
    if (!resolved.ok()) return resolved.status();
    info = *std::move(resolved);
  }
  return node_->applier().auth().IsRangePermitted(info, request.key(),
                                                 request.range_end());
}

void Runner::WatchCreate(uint64_t stream, WatchStream& s,
                         const etcdserverpb::WatchCreateRequest& request) {
  // etcd's watchStream.Watch: id 0 asks for the next free one.
  int64_t id = request.watch_id();
  absl::Status status;
  if (id == 0) {
    while (s.hub_ids.contains(s.next_auto_id)) ++s.next_auto_id;
    id = s.next_auto_id++;
  } else if (s.hub_ids.contains(id)) {
    status = absl::AlreadyExistsError(
        "mvcc: duplicate watch ID provided on the WatchStream");
  }
  if (status.ok()) status = WatchPermitted(s.token, request);
  const int64_t hub_id = next_hub_id_++;
  if (status.ok()) status = watch_hub_->Watch(hub_id, request);
  if (!status.ok()) {
    // etcd: created and canceled at once, under id -1, with the reason.
    etcdserverpb::WatchResponse r;
    *r.mutable_header() = node_->Header();
    r.set_watch_id(-1);
    r.set_created(true);
    r.set_canceled(true);
    r.set_cancel_reason(std::string(status.message()));
    s.sink->Send({std::move(r)});
    return;
  }
  s.hub_ids[id] = hub_id;
  watch_owners_[hub_id] = {stream, id};
}

absl::Status Runner::WatchOpen(uint64_t stream,
                               std::shared_ptr<rpc::WatchSink> sink,
                               std::string token, bool require_leader) {
  if (require_leader && !has_leader_.load(std::memory_order_relaxed)) {
    return server::NoLeaderError();
  }
  loop_->Post([this, alive = alive_, stream, sink = std::move(sink),
               token = std::move(token), require_leader] {
    if (!*alive) return;
    WatchStream& s = watch_streams_[stream];
    s.sink = sink;
    s.token = token;
    s.require_leader = require_leader;
  });
  return absl::OkStatus();
}

void Runner::WatchRequest(uint64_t stream, etcdserverpb::WatchRequest request) {
  loop_->Post([this, alive = alive_, stream, request = std::move(request)] {
    if (!*alive) return;
    auto it = watch_streams_.find(stream);
    if (it == watch_streams_.end()) return;
    WatchStream& s = it->second;
    switch (request.request_union_case()) {
      case etcdserverpb::WatchRequest::kCreateRequest:
        WatchCreate(stream, s, request.create_request());
        break;
      case etcdserverpb::WatchRequest::kCancelRequest: {
        // etcd answers only a cancel of a watcher it has. The hub drops the
        // watcher's untaken events and queues the canceled response; the
        // client id is free again at once, as in etcd.
        auto w = s.hub_ids.find(request.cancel_request().watch_id());
        if (w == s.hub_ids.end()) break;
        if (watch_hub_->Cancel(w->second).ok()) s.hub_ids.erase(w);
        break;
      }
      case etcdserverpb::WatchRequest::kProgressRequest:
        s.progress_wanted = true;
        break;
      default:
        break;
    }
    FlushWatches();
  });
}

void Runner::WatchWritable(uint64_t stream) {
  loop_->Post([this, alive = alive_, stream] {
    if (!*alive || !watch_streams_.contains(stream)) return;
    FlushWatches();
  });
}

void Runner::WatchClose(uint64_t stream) {
  loop_->Post([this, alive = alive_, stream] {
    if (!*alive) return;
    for (auto it = watch_owners_.begin(); it != watch_owners_.end();) {
      if (it->second.first != stream) {
        ++it;
        continue;
      }
      (void)watch_hub_->Cancel(it->first);  // NotFound: canceled already
      watch_hub_->Take(it->first);          // forgets it
      it = watch_owners_.erase(it);
    }
    watch_streams_.erase(stream);
  });
}

void Runner::Log(base::LogLevel level, const std::string& message) {
  if (log_ != nullptr) log_->Write(level, message);
}

}  // namespace etcdpp::runner
