#include "server/runner/runner.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "server/node/errors.h"

namespace etcdpp::runner {
namespace {

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
      [raw] { raw->Submit([](server::Node& node) { node.Tick(); }); });
  if (!timer.ok()) return timer.status();
  runner->tick_timer_ = *timer;
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
  std::map<uint64_t, rpc::ReplyFn> waiting = std::move(waiting_);
  for (auto& [id, done] : waiting) done(ErrorReply(server::StoppingError()));
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
  absl::StatusOr<std::unique_ptr<peer::PeerTransport>> transport =
      peer::PeerTransport::Start(loop_, options_.transport,
                                 std::move(callbacks));
  if (!transport.ok()) return transport.status();
  transport_ = *std::move(transport);
  for (const PeerAddress& p : options_.peers) {
    transport_->AddPeer(p.id, p.host, p.port);
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
    const bool quiet = done.empty() && out.messages.empty() &&
                       out.replies.empty() && out.snapshots.empty();
    for (const raftpb::Message& m : out.messages) transport_->Send(m);
    for (const server::SnapshotToSend& s : out.snapshots) {
      transport_->SendSnapshot(s.message,
                               options_.data_dir + "/" + s.file_name);
    }
    Deliver(std::move(out.replies));
    if (out.halt.has_value()) {
      halted_ = true;
      Log(base::LogLevel::kError,
          absl::StrCat("msg=\"node halted\" error=\"", out.halt->ToString(),
                       "\""));
      if (on_halt_) on_halt_(*out.halt);
      return;
    }
    if (quiet) return;
  }
}

void Runner::Deliver(std::vector<server::ClientReply> replies) {
  for (server::ClientReply& r : replies) {
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
    if (s.leader == 0) response.add_errors("etcdserver: no leader");
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

void Runner::Log(base::LogLevel level, const std::string& message) {
  if (log_ != nullptr) log_->Write(level, message);
}

}  // namespace etcdpp::runner
