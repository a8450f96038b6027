#include "sim/world.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "server/node/errors.h"
#include "sim/planted_bugs.h"

namespace etcdpp::sim {
namespace {

constexpr uint64_t kClusterId = 0xc1;
// Clients reach nodes over their own network, which the faults spare.
constexpr int64_t kClientLatencyMinUs = 100;
constexpr int64_t kClientLatencyMaxUs = 1000;

std::string DescribeMessage(const raftpb::Message& m) {
  return absl::StrCat("n", m.from(), "->n", m.to(), " ",
                      raftpb::MessageType_Name(m.type()), " t=", m.term(),
                      " lt=", m.log_term(), " i=", m.index(), " c=", m.commit(),
                      " e=", m.entries_size(), m.reject() ? " reject" : "");
}

// The scenario's auto-compaction in ticks (one tick per heartbeat), as
// server/main.cc turns etcd's flags into them; revision mode checks every
// second instead of every 5 minutes, so short runs compact.
server::AutoCompactionOptions AutoCompactionOf(const Scenario& scenario) {
  using Mode = server::AutoCompactionOptions::Mode;
  const auto ticks = [&scenario](int64_t us) {
    return std::max<int64_t>(1, us / scenario.heartbeat_us);
  };
  server::AutoCompactionOptions options;
  if (scenario.compaction_retention_us > 0) {
    options.mode = Mode::kPeriodic;
    options.retention_ticks = ticks(scenario.compaction_retention_us);
    options.interval_cap_ticks = ticks(int64_t{3600} * 1000000);
  } else if (scenario.compaction_revisions > 0) {
    options.mode = Mode::kRevision;
    options.retention_revisions = scenario.compaction_revisions;
    options.revision_check_ticks = ticks(1000000);
  }
  return options;
}

std::string DescribeStatus(const absl::Status& status) {
  return status.ok() ? "ok" : std::string(status.message());
}

}  // namespace

uint64_t KvDigest(const kv::MvccStore& store) {
  etcdserverpb::RangeRequest all;
  all.set_key(std::string(1, '\0'));
  all.set_range_end(std::string(1, '\0'));  // every key >= "\0"
  absl::StatusOr<etcdserverpb::RangeResponse> range = store.Range(all);
  CHECK_OK(range.status());
  uint64_t hash = Fnv1a(absl::StrCat("rev=", store.current_revision()));
  for (const mvccpb::KeyValue& kv : range->kvs()) {
    hash = Fnv1a(absl::StrCat(kv.key().size(), ":", kv.key(), "=",
                              kv.value().size(), ":", kv.value(), " c=",
                              kv.create_revision(), " m=", kv.mod_revision(),
                              " v=", kv.version(), " l=", kv.lease(), ";"),
                 hash);
  }
  return hash;
}

// Node log lines join the trace, stamped with virtual time.
class World::MemberLog final : public base::LogSink {
 public:
  MemberLog(World* world, uint64_t id) : world_(world), id_(id) {}
  void Write(base::LogLevel level, std::string_view message) override {
    world_->OnOpenLog(id_, message);
    world_->Log(absl::StrCat("n", id_, " log ", base::LogLevelName(level), " ",
                             std::string(message)));
  }

 private:
  World* world_;
  uint64_t id_;
};

struct World::Member {
  uint64_t id = 0;
  std::unique_ptr<SimDisk> disk;
  std::unique_ptr<MemberLog> log;
  std::unique_ptr<server::Node> node;  // null while down
  uint64_t incarnation = 0;
  bool paused = false;
  int64_t tick_period_us = 0;
  // The highest disk op id given a completion event; ids only grow.
  uint64_t scheduled_ops = 0;
  bool fail_next_sync = false;
  // SetNoSpace is on: a received snapshot cannot be written.
  bool no_space = false;
  // Synced data was corrupted since the node last opened.
  bool corrupted = false;
  // It refused to start on that corruption: down for good.
  bool failed = false;
  // Node::Open is running: its log lines name the recovery path.
  bool opening = false;
  // Removed from the cluster: never restarted.
  bool removed = false;
  // A member that joined a running cluster: the configuration it starts
  // from (read only while its data dir holds no WAL yet).
  std::vector<uint64_t> join_voters;
  std::vector<uint64_t> join_learners;
  std::vector<etcdserverpb::Member> join_members;
  // Events that arrived while paused, in arrival order.
  std::vector<Payload> held;
  uint64_t last_digested_applied = UINT64_MAX;
  int64_t next_invariant_check_us = 0;
};

World::World(const Scenario& scenario, Trace* trace)
    : scenario_(scenario),
      trace_(trace),
      prng_(scenario.seed),
      disk_prng_(prng_.Fork()),
      network_(scenario.network) {
  for (int i = 1; i <= scenario.nodes; ++i) {
    const uint64_t id = static_cast<uint64_t>(i);
    ids_.push_back(id);
    AddMemberProcess(id);
  }
  initial_ids_ = ids_;
  next_member_id_ = static_cast<uint64_t>(scenario.nodes) + 1;
}

void World::AddMemberProcess(uint64_t id) {
  auto m = std::make_unique<Member>();
  m->id = id;
  m->disk = std::make_unique<SimDisk>(absl::StrCat("sim-disk-", id));
  m->log = std::make_unique<MemberLog>(this, id);
  // Drift: this node's clock runs up to drift_permille_max fast or slow.
  const int64_t drift =
      static_cast<int64_t>(prng_.InRange(0, 2 * scenario_.drift_permille_max));
  m->tick_period_us = scenario_.heartbeat_us *
                      (1000 + drift - scenario_.drift_permille_max) / 1000;
  members_[id] = std::move(m);
}

World::~World() = default;

void World::Start() {
  Log(absl::StrCat("world start seed=", scenario_.seed,
                   " nodes=", scenario_.nodes));
  for (uint64_t id : std::vector<uint64_t>(ids_)) Restart(id);
}

bool World::RunUntil(int64_t until_us) {
  while (!queue_.empty() && violations_.empty() &&
         convergence_.violations().empty() &&
         raft_checker_.violations().empty()) {
    auto it = queue_.begin();
    if (it->first.first > until_us) break;
    now_ = it->first.first;
    Payload payload = std::move(it->second);
    queue_.erase(it);
    ++stats_.events;
    if (!HeldByPause(payload)) Dispatch(std::move(payload));
  }
  if (Violations().empty()) now_ = std::max(now_, until_us);
  return Violations().empty();
}

void World::Schedule(int64_t at_us, Payload payload) {
  CHECK_GE(at_us, now_) << "events are never scheduled in the past";
  queue_.emplace(std::make_pair(at_us, next_sequence_++), std::move(payload));
}

void World::ScheduleTimer(int64_t delay_us, Listener* listener,
                          uint64_t token) {
  Schedule(now_ + delay_us, TimerEvent{listener, token});
}

void World::Dispatch(Payload payload) {
  std::visit(
      [this](auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, TickEvent>) OnTick(e);
        if constexpr (std::is_same_v<T, DiskEvent>) OnDisk(e);
        if constexpr (std::is_same_v<T, MessageEvent>) OnMessage(e);
        if constexpr (std::is_same_v<T, SnapshotEvent>) OnSnapshot(e);
        if constexpr (std::is_same_v<T, SnapshotReportEvent>) {
          OnSnapshotReport(e);
        }
        if constexpr (std::is_same_v<T, ProposeEvent>) OnPropose(e);
        if constexpr (std::is_same_v<T, ReadEvent>) OnRead(e);
        if constexpr (std::is_same_v<T, ReplyEvent>) OnReply(e);
        if constexpr (std::is_same_v<T, TimerEvent>) {
          e.listener->OnTimer(e.token);
        }
        if constexpr (std::is_same_v<T, KeepAliveEvent>) OnKeepAlive(e);
        if constexpr (std::is_same_v<T, RestartEvent>) {
          if (!up(e.node)) Restart(e.node);
        }
        if constexpr (std::is_same_v<T, MemberEvent>) OnMemberRequest(e);
      },
      payload);
}

// A paused process runs nothing: what arrives for it waits (the kernel
// keeps its sockets and finishes its disk writes), and its ticks are
// simply lost, as a stopped process's timers coalesce.
bool World::HeldByPause(const Payload& payload) {
  uint64_t target = 0;
  if (const auto* e = std::get_if<DiskEvent>(&payload)) target = e->node;
  if (const auto* e = std::get_if<MessageEvent>(&payload)) {
    target = e->message.to();
  }
  if (const auto* e = std::get_if<SnapshotEvent>(&payload)) {
    target = e->message.to();
  }
  if (const auto* e = std::get_if<SnapshotReportEvent>(&payload)) {
    target = e->node;
  }
  if (const auto* e = std::get_if<ProposeEvent>(&payload)) target = e->node;
  if (const auto* e = std::get_if<ReadEvent>(&payload)) target = e->node;
  if (const auto* e = std::get_if<KeepAliveEvent>(&payload)) target = e->node;
  if (const auto* e = std::get_if<MemberEvent>(&payload)) target = e->node;
  if (target == 0) return false;
  Member* m = members_.contains(target) ? members_[target].get() : nullptr;
  if (m == nullptr || !m->paused) return false;
  m->held.push_back(payload);
  return true;
}

void World::OnTick(const TickEvent& e) {
  Member& m = member(e.node);
  if (m.node == nullptr || m.incarnation != e.incarnation) return;
  ScheduleTick(m);
  if (m.paused) return;
  Log(absl::StrCat("n", m.id, " tick"));
  m.node->Tick();
  AfterInput(m, std::nullopt);
}

void World::ScheduleTick(Member& m) {
  Schedule(now_ + m.tick_period_us, TickEvent{m.id, m.incarnation});
}

void World::OnDisk(const DiskEvent& e) {
  Member& m = member(e.node);
  if (m.node == nullptr || m.incarnation != e.incarnation) return;
  const bool fail = m.fail_next_sync && m.disk->IsSync(e.op_id);
  if (fail) {
    m.fail_next_sync = false;
    ++stats_.sync_failures;
  }
  m.disk->CompleteOp(e.op_id, fail);
  for (const storage::DiskCompletion& c : m.disk->TakeCompletions()) {
    Log(absl::StrCat("n", m.id, " disk done op=", c.op_id, " ",
                     DescribeStatus(c.status)));
    m.node->DiskDone(c.op_id, c.status);
  }
  AfterInput(m, std::nullopt);
}

void World::OnMessage(const MessageEvent& e) {
  const Member* target = find(e.message.to());
  if (target == nullptr || target->node == nullptr) {
    Log(absl::StrCat("lost (down) ", DescribeMessage(e.message)));
    return;
  }
  // A partition also loses what was in flight on the link when it began, as
  // a broken TCP connection loses what it had not delivered (the transport
  // never resends it on the next connection).
  if (Blocked(e.message.from(), e.message.to())) {
    ++stats_.messages_dropped;
    Log(absl::StrCat("drop (partition, in flight) ",
                     DescribeMessage(e.message)));
    return;
  }
  Member& m = member(e.message.to());
  Log(absl::StrCat("deliver ", DescribeMessage(e.message)));
  m.node->Step(e.message);
  AfterInput(m, std::nullopt);
}

void World::OnSnapshot(SnapshotEvent& e) {
  const raftpb::Message& message = e.message;
  const Member* target = find(message.to());
  if (target == nullptr || target->node == nullptr) {
    ++stats_.snapshots_dropped;
    Log(absl::StrCat("snapshot lost (down) ", DescribeMessage(message)));
    ReportSnapshotLater(message, e.sender_incarnation, false);
    return;
  }
  Member& m = member(message.to());
  if (Blocked(message.from(), message.to())) {
    ++stats_.snapshots_dropped;
    Log(absl::StrCat("snapshot drop (partition, in flight) ",
                     DescribeMessage(message)));
    ReportSnapshotLater(message, e.sender_incarnation, false);
    return;
  }
  if (m.no_space) {
    // The transport could not write the file: the stream fails. (Writing
    // it anyway would make the disk's failure sticky for the node's own
    // ops, which a separate transport file would not.)
    ++stats_.snapshots_dropped;
    Log(absl::StrCat("snapshot refused (no space) ", DescribeMessage(message)));
    ReportSnapshotLater(message, e.sender_incarnation, false);
    return;
  }
  const std::string temp = absl::StrCat("peer-", message.from(), "-",
                                        ++snapshot_temp_files_, ".snap.tmp");
  const uint64_t create = m.disk->Submit(storage::CreateOp{temp});
  const uint64_t write =
      m.disk->Submit(storage::WriteOp{temp, 0, std::move(e.bytes)});
  // Completes the create first (same key), and any of the node's own ops
  // these must follow: those completions go to the node as usual.
  m.disk->CompleteOp(write, /*fail_sync=*/false);
  bool written = true;
  for (const storage::DiskCompletion& c : m.disk->TakeCompletions()) {
    if (c.op_id == create || c.op_id == write) {
      written = written && c.status.ok();
      continue;
    }
    Log(absl::StrCat("n", m.id, " disk done op=", c.op_id, " ",
                     DescribeStatus(c.status)));
    m.node->DiskDone(c.op_id, c.status);
  }
  if (!written) {
    ++stats_.snapshots_dropped;
    Log(absl::StrCat("snapshot not written ", DescribeMessage(message)));
    AfterInput(m, std::nullopt);
    ReportSnapshotLater(message, e.sender_incarnation, false);
    return;
  }
  ++stats_.snapshots_delivered;
  Log(absl::StrCat("snapshot deliver ", DescribeMessage(message),
                   " snap_i=", message.snapshot().metadata().index(),
                   " snap_t=", message.snapshot().metadata().term(),
                   " file=", temp));
  m.node->SnapshotReceived(message, temp);
  AfterInput(m, std::nullopt);
  ReportSnapshotLater(message, e.sender_incarnation, true);
}

void World::OnSnapshotReport(const SnapshotReportEvent& e) {
  Member& m = member(e.node);
  if (m.node == nullptr || m.incarnation != e.incarnation) return;
  Log(absl::StrCat("n", m.id, " snapshot report to=n", e.peer,
                   e.ok ? " ok" : " failed"));
  m.node->ReportSnapshot(e.peer, e.ok);
  AfterInput(m, std::nullopt);
}

// The sender learns the outcome when its stream ends: after a network
// delay, whether the snapshot arrived or not.
void World::ReportSnapshotLater(const raftpb::Message& message,
                                uint64_t sender_incarnation, bool ok) {
  const Member* sender = find(message.from());
  if (sender == nullptr || sender->node == nullptr ||
      sender->incarnation != sender_incarnation) {
    return;
  }
  Schedule(now_ + LinkLatency(message.to(), message.from()),
           SnapshotReportEvent{sender->id, sender_incarnation, message.to(),
                               ok});
}

// A client request to a member that is down: the connection is refused, so
// the request never reached a process (an immediate, definite failure).
bool World::RefusedWhileDown(const Member& m, uint64_t request_id) {
  if (m.node != nullptr) return false;
  server::ClientReply reply;
  reply.request_id = request_id;
  reply.status = absl::UnavailableError("connection refused");
  Schedule(now_ + RandomLatency(kClientLatencyMinUs, kClientLatencyMaxUs),
           ReplyEvent{m.id, std::move(reply), /*immediate=*/true});
  return true;
}

void World::OnPropose(ProposeEvent& e) {
  Member& m = member(e.node);
  Log(absl::StrCat("n", m.id, " propose req=", e.request_id, " ",
                   e.request.ShortDebugString()));
  if (RefusedWhileDown(m, e.request_id)) return;
  m.node->Propose(e.request_id, std::move(e.request));
  AfterInput(m, e.request_id);
}

void World::OnRead(ReadEvent& e) {
  Member& m = member(e.node);
  Log(absl::StrCat("n", m.id, " read req=", e.request_id, " ",
                   e.request.ShortDebugString()));
  if (RefusedWhileDown(m, e.request_id)) return;
  m.node->Read(e.request_id, std::move(e.request));
  AfterInput(m, e.request_id);
}

void World::OnReply(const ReplyEvent& e) {
  Log(absl::StrCat("n", e.node, " reply req=", e.reply.request_id, " ",
                   DescribeStatus(e.reply.status), " rev=",
                   e.reply.header.revision(), e.immediate ? " immediate" : ""));
  if ((e.reply.request_id & kMemberRequestBit) != 0) {
    if (member_sink_ != nullptr) {
      member_sink_->OnReply(e.node, e.reply, e.immediate);
    }
    return;
  }
  if (client_sink_ != nullptr) {
    client_sink_->OnReply(e.node, e.reply, e.immediate);
  }
  for (ClientSink* sink : more_sinks_) {
    sink->OnReply(e.node, e.reply, e.immediate);
  }
}

void World::OnKeepAlive(const KeepAliveEvent& e) {
  Member& m = member(e.node);
  Log(absl::StrCat("n", m.id, " keepalive req=", e.request_id,
                   " lease=", e.lease_id));
  if (RefusedWhileDown(m, e.request_id)) return;
  m.node->LeaseKeepAlive(e.request_id, e.lease_id);
  AfterInput(m, e.request_id);
}

void World::SendLeaseKeepAlive(uint64_t node, uint64_t request_id,
                               int64_t lease_id) {
  Schedule(now_ + RandomLatency(kClientLatencyMinUs, kClientLatencyMaxUs),
           KeepAliveEvent{node, request_id, lease_id});
}

void World::SendMemberRequest(uint64_t node, uint64_t request_id,
                              MemberRequest request) {
  CHECK_NE(request_id & kMemberRequestBit, 0u)
      << "membership request ids carry kMemberRequestBit";
  Schedule(now_ + RandomLatency(kClientLatencyMinUs, kClientLatencyMaxUs),
           MemberEvent{node, request_id, std::move(request)});
}

void World::OnMemberRequest(MemberEvent& e) {
  Member& m = member(e.node);
  static const char* const kinds[] = {"add", "promote", "remove", "update"};
  const etcdserverpb::Member& target = e.request.member;
  Log(absl::StrCat("n", m.id, " member ", kinds[e.request.kind], " n",
                   target.id(),
                   e.request.kind == MemberRequest::kAdd
                       ? (target.islearner() ? " learner" : " voter")
                       : "",
                   " req=", e.request_id & ~kMemberRequestBit));
  if (RefusedWhileDown(m, e.request_id)) return;
  switch (e.request.kind) {
    case MemberRequest::kAdd:
      m.node->AddMember(e.request_id, target);
      break;
    case MemberRequest::kPromote:
      m.node->PromoteMember(e.request_id, target.id());
      break;
    case MemberRequest::kRemove:
      m.node->RemoveMember(e.request_id, target.id());
      break;
    case MemberRequest::kUpdate:
      m.node->UpdateMember(
          e.request_id, target.id(),
          std::vector<std::string>(target.peerurls().begin(),
                                   target.peerurls().end()));
      break;
  }
  AfterInput(m, e.request_id);
}

void World::Join(uint64_t id,
                 const std::vector<etcdserverpb::Member>& members) {
  CHECK(!members_.contains(id)) << "a joining member has a new id";
  AddMemberProcess(id);
  Member& m = member(id);
  for (const etcdserverpb::Member& member : members) {
    (member.islearner() ? m.join_learners : m.join_voters)
        .push_back(member.id());
    if (member.id() == id && member.islearner()) learners_.insert(id);
  }
  m.join_members = members;
  ids_.push_back(id);
  std::sort(ids_.begin(), ids_.end());
  Log(absl::StrCat("n", id, " joins the cluster",
                   learner(id) ? " as a learner" : ""));
  Restart(id);
}

void World::Promoted(uint64_t id) { learners_.erase(id); }

void World::Forget(uint64_t id) {
  Member& m = member(id);
  if (removing_ == id) removing_ = 0;
  if (m.removed) return;
  m.removed = true;
  if (!learner(id)) lingering_.insert(id);
  learners_.erase(id);
  ids_.erase(std::remove(ids_.begin(), ids_.end(), id), ids_.end());
  Log(absl::StrCat("n", id, " removed from the cluster: never restarted"));
}

void World::StopForgotten(uint64_t id) {
  Member& m = member(id);
  CHECK(m.removed) << "only a removed member is stopped for good";
  if (m.node == nullptr) return;
  Log(absl::StrCat("n", id, " stopped (removed member)"));
  Crash(id, /*torn=*/false);
}

const std::set<uint64_t>& World::LingeringVoters() {
  for (auto it = lingering_.begin(); it != lingering_.end();) {
    bool applied_everywhere = true;
    for (uint64_t id : ids_) {
      if (failed(id)) continue;
      const server::Node* n = node(id);
      if (n == nullptr || n->Members().Find(*it) != nullptr) {
        applied_everywhere = false;
        break;
      }
    }
    it = applied_everywhere ? lingering_.erase(it) : std::next(it);
  }
  return lingering_;
}

std::vector<uint64_t> World::voter_ids() const {
  std::vector<uint64_t> voters;
  for (uint64_t id : ids_) {
    if (!learner(id)) voters.push_back(id);
  }
  return voters;
}

void World::SendPropose(uint64_t node, uint64_t request_id,
                        kvpb::InternalRequest request) {
  Schedule(now_ + RandomLatency(kClientLatencyMinUs, kClientLatencyMaxUs),
           ProposeEvent{node, request_id, std::move(request)});
}

void World::SendRead(uint64_t node, uint64_t request_id,
                     etcdserverpb::RangeRequest request) {
  Schedule(now_ + RandomLatency(kClientLatencyMinUs, kClientLatencyMaxUs),
           ReadEvent{node, request_id, std::move(request)});
}

void World::AfterInput(Member& m, std::optional<uint64_t> request_id) {
  server::NodeOutput out = m.node->TakeOutput();
  for (server::ClientReply& reply : out.replies) {
    const bool immediate = request_id == reply.request_id;
    Schedule(now_ + RandomLatency(kClientLatencyMinUs, kClientLatencyMaxUs),
             ReplyEvent{m.id, std::move(reply), immediate});
  }
  for (const raftpb::Message& message : out.messages) Send(message);
  for (const server::SnapshotToSend& s : out.snapshots) SendSnapshot(m, s);
  if (!out.events.empty() || out.store_replaced) {
    for (NodeObserver* o : observers_) {
      o->OnNodeEvents(m.id, *m.node, out.store_replaced, out.events);
    }
  }
  ScheduleDiskOps(m);
  Observe(m);
  if (out.halt.has_value()) HandleHalt(m, *out.halt);
}

void World::ScheduleDiskOps(Member& m) {
  for (uint64_t op : m.disk->mem().PendingOps()) {
    if (op <= m.scheduled_ops) continue;
    m.scheduled_ops = op;
    const int64_t latency = RandomLatency(scenario_.disk_latency_min_us,
                                          scenario_.disk_latency_max_us);
    Schedule(now_ + latency, DiskEvent{m.id, m.incarnation, op});
  }
}

void World::Send(const raftpb::Message& message) {
  ++stats_.messages_sent;
  if (Blocked(message.from(), message.to())) {
    ++stats_.messages_dropped;
    Log(absl::StrCat("drop (partition) ", DescribeMessage(message)));
    return;
  }
  if (prng_.Chance(network_.drop_permille, 1000)) {
    ++stats_.messages_dropped;
    Log(absl::StrCat("drop ", DescribeMessage(message)));
    return;
  }
  int copies = prng_.Chance(network_.duplicate_permille, 1000) ? 2 : 1;
  if (message.type() == raftpb::MsgProp && !network_.duplicate_proposals) {
    copies = 1;
  }
  if (copies == 2) ++stats_.messages_duplicated;
  for (int i = 0; i < copies; ++i) {
    int64_t latency = LinkLatency(message.from(), message.to());
    if (prng_.Chance(network_.reorder_permille, 1000)) {
      latency += RandomLatency(0, network_.reorder_delay_max_us);
    }
    Schedule(now_ + latency, MessageEvent{message});
  }
}

void World::SendSnapshot(Member& sender,
                         const server::SnapshotToSend& snapshot) {
  const raftpb::Message& message = snapshot.message;
  ++stats_.snapshots_sent;
  Log(absl::StrCat("snapshot send ", DescribeMessage(message),
                   " snap_i=", message.snapshot().metadata().index(),
                   " snap_t=", message.snapshot().metadata().term(),
                   " file=", snapshot.file_name));
  // The transport reads the file as it streams it; reading it up front is
  // the same, as the node never rewrites a snapshot file.
  absl::StatusOr<std::string> bytes = sender.disk->ReadFile(snapshot.file_name);
  if (!bytes.ok()) {
    AddViolation(absl::StrCat(
        "snapshot: n", sender.id, " asked to send unreadable file ",
        snapshot.file_name, ": ", bytes.status().ToString()));
    ReportSnapshotLater(message, sender.incarnation, false);
    return;
  }
  if (Blocked(message.from(), message.to())) {
    ++stats_.snapshots_dropped;
    Log(absl::StrCat("snapshot drop (partition) ", DescribeMessage(message)));
    ReportSnapshotLater(message, sender.incarnation, false);
    return;
  }
  if (prng_.Chance(network_.drop_permille, 1000)) {
    ++stats_.snapshots_dropped;
    Log(absl::StrCat("snapshot drop ", DescribeMessage(message)));
    ReportSnapshotLater(message, sender.incarnation, false);
    return;
  }
  int64_t latency = LinkLatency(message.from(), message.to());
  if (prng_.Chance(network_.reorder_permille, 1000)) {
    latency += RandomLatency(0, network_.reorder_delay_max_us);
  }
  Schedule(now_ + latency,
           SnapshotEvent{message, *std::move(bytes), sender.incarnation});
}

void World::Observe(Member& m) {
  const server::Node& node = *m.node;
  const raft::RaftLog& log = node.raft().raft().log();
  const server::NodeStatus status = node.GetStatus();
  RaftView view;
  view.id = m.id;
  view.term = status.term;
  view.is_leader = status.is_leader;
  view.commit = status.commit_index;
  view.applied = status.applied_index;
  view.compacted = log.FirstIndex() - 1;
  view.compacted_term = log.Term(view.compacted).value_or(0);
  view.entry = [&log](uint64_t index, EntryDigest* entry) {
    if (index < log.FirstIndex() || index > log.LastIndex()) return false;
    absl::StatusOr<std::vector<raftpb::Entry>> e =
        log.Slice(index, index + 1, UINT64_MAX);
    if (!e.ok() || e->size() != 1) return false;
    entry->term = (*e)[0].term();
    entry->data_hash = Fnv1a((*e)[0].data());
    return true;
  };
  raft_checker_.Observe(view);
  if (status.applied_index != m.last_digested_applied) {
    m.last_digested_applied = status.applied_index;
    convergence_.Observe(m.id, status.applied_index,
                         KvDigest(node.applier().store()));
  }
  // The full invariant walk costs O(kv history): once a virtual second.
  if (now_ >= m.next_invariant_check_us) {
    m.next_invariant_check_us = now_ + 1000000;
    node.CheckInvariants();
  }
}

void World::HandleHalt(Member& m, const absl::Status& status) {
  ++stats_.halts;
  Log(absl::StrCat("n", m.id, " halt: ", status.ToString()));
  Crash(m.id, /*torn=*/false);
  if (server::IsMemberRemoved(status)) {
    // It applied its own removal: a clean stop, for good.
    Forget(m.id);
    return;
  }
  // The operator (or systemd) restarts it after a while.
  Schedule(now_ + RandomLatency(100000, scenario_.faults.down_max_us),
           RestartEvent{m.id});
}

void World::Crash(uint64_t id, bool torn) {
  Member& m = member(id);
  if (m.node == nullptr) return;
  ++stats_.crashes;
  if (torn) ++stats_.torn_crashes;
  Log(absl::StrCat("n", id, " crash", torn ? " torn" : ""));
  m.node.reset();
  for (NodeObserver* o : observers_) o->OnNodeDown(id);
  m.disk->Crash(torn, disk_prng_);
  m.paused = false;
  m.held.clear();
  m.fail_next_sync = false;
  raft_checker_.OnCrash(id);
  m.last_digested_applied = UINT64_MAX;
}

void World::OnOpenLog(uint64_t id, std::string_view message) {
  if (!member(id).opening) return;
  auto has = [message](std::string_view s) {
    return message.find(s) != std::string_view::npos;
  };
  int path = -1;
  if (has("msg=\"bootstrapping member\"")) path = kBootstrap;
  if (has("msg=\"repaired torn WAL tail\"")) path = kTornTailRepaired;
  if (has("msg=\"skipping corrupt snapshot\"")) path = kCorruptSnapshotSkipped;
  if (has("msg=\"restored snapshot\"")) path = kRestoreSnapshot;
  if (has("msg=\"recovered\"")) path = kReplayWal;
  if (path >= 0) ++stats_.recovery[path];
}

const char* World::RecoveryPathName(int path) {
  static const char* const names[kRecoveryPaths] = {"bootstrap",
                                                    "replay_wal",
                                                    "restore_snapshot",
                                                    "torn_tail_repaired",
                                                    "corrupt_snapshot_skipped",
                                                    "corruption_refused",
                                                    "corruption_unread"};
  return path >= 0 && path < kRecoveryPaths ? names[path] : "?";
}

bool World::CorruptDisk(uint64_t id) {
  Member& m = member(id);
  // A voter being removed counts as lost already: the others must hold a
  // quorum of the old configuration to finish the change (sim/churn.h).
  // Learners hold no quorum: never corrupted, so they never fail.
  if (m.failed || m.corrupted || m.removed || learner(id) || id == removing_) {
    return false;
  }
  // Voters removed that a member may still count on are lost voters of
  // the configuration that member runs (seed 69 with --churn-every-ms=1000
  // lost its quorum so: n5 left, n4's disk failed, and n1 and n6 still ran
  // {1,4,5,6}).
  const int lingering = static_cast<int>(LingeringVoters().size());
  int voters = lingering;
  int lost = 1 + lingering;
  for (uint64_t v : voter_ids()) {
    ++voters;
    const Member& vm = member(v);
    if (vm.failed || vm.corrupted || v == removing_) ++lost;
  }
  if (voters < 3 || 2 * lost >= voters) return false;
  Crash(id, /*torn=*/false);
  const std::optional<std::string> what = m.disk->CorruptSynced(disk_prng_);
  if (!what.has_value()) {
    Log(absl::StrCat("n", id, " corrupt: no synced data to corrupt"));
    return true;
  }
  ++stats_.corruptions;
  m.corrupted = true;
  Log(absl::StrCat("n", id, " corrupt ", *what));
  return true;
}

void World::Restart(uint64_t id) {
  Member& m = member(id);
  if (m.node != nullptr || m.failed || m.removed) return;
  ++m.incarnation;
  if (m.incarnation > 1) ++stats_.restarts;
  server::NodeOptions options;
  options.member_id = id;
  options.cluster_id = kClusterId;
  if (m.join_voters.empty() && m.join_learners.empty()) {
    options.initial_voters = initial_ids_;
  } else {
    options.initial_voters = m.join_voters;
    options.initial_learners = m.join_learners;
    options.initial_members = m.join_members;
  }
  options.seed =
      Fnv1a(absl::StrCat(scenario_.seed, "/", id, "/", m.incarnation));
  options.wal.segment_size_bytes = storage::wal::kMinSegmentSizeBytes;
  options.snapshot_count = scenario_.snapshot_count;
  options.snapshot_catchup_entries = scenario_.snapshot_catchup_entries;
  options.snapshots_to_keep = scenario_.snapshots_to_keep;
  options.max_size_per_msg = scenario_.max_msg_bytes;
  options.auto_compaction = AutoCompactionOf(scenario_);
  options.log = m.log.get();
  if (!scenario_.planted_bug.empty()) {
    const PlantedBug* bug = FindPlantedBug(scenario_.planted_bug);
    CHECK(bug != nullptr) << "the CLI admits only known planted bugs";
    bug->plant(options);
  }
  Log(absl::StrCat("n", id, " open incarnation=", m.incarnation));
  m.opening = true;
  absl::StatusOr<std::unique_ptr<server::Node>> node =
      server::Node::Open(options, m.disk.get());
  m.opening = false;
  if (!node.ok() && m.corrupted) {
    // etcd has no automatic repair: the operator finds a member that will
    // not start. It stays down; the rest must stay safe and live.
    ++stats_.recovery[kCorruptionRefused];
    m.failed = true;
    m.disk->mem().Crash();  // drops what the failed open submitted
    Log(absl::StrCat("n", id,
                     " refused to start on corrupt disk (stays "
                     "down): ",
                     node.status().ToString()));
    return;
  }
  if (node.ok() && m.corrupted) ++stats_.recovery[kCorruptionUnread];
  m.corrupted = false;
  if (!node.ok()) {
    AddViolation(absl::StrCat("recovery: n", id,
                              " refused to start: ", node.status().ToString()));
    return;
  }
  m.node = *std::move(node);
  m.scheduled_ops = 0;
  m.next_invariant_check_us = now_;
  for (NodeObserver* o : observers_) o->OnNodeOpened(id, *m.node);
  ScheduleTick(m);
  AfterInput(m, std::nullopt);
}

void World::Pause(uint64_t id) {
  Member& m = member(id);
  if (m.node == nullptr || m.paused) return;
  ++stats_.pauses;
  Log(absl::StrCat("n", id, " pause"));
  m.paused = true;
}

void World::Resume(uint64_t id) {
  Member& m = member(id);
  if (!m.paused) return;
  Log(absl::StrCat("n", id, " resume held=", m.held.size()));
  m.paused = false;
  // What waited is handled now, in the order it arrived.
  for (Payload& p : m.held) Schedule(now_, std::move(p));
  m.held.clear();
}

void World::Block(uint64_t from, uint64_t to) {
  Log(absl::StrCat("block n", from, "->n", to));
  blocked_[{from, to}] = true;
}

bool World::Blocked(uint64_t from, uint64_t to) const {
  auto it = blocked_.find({from, to});
  return it != blocked_.end() && it->second;
}

void World::HealPartitions() {
  if (blocked_.empty()) return;
  Log("heal partitions");
  blocked_.clear();
}

void World::ArmSyncFailure(uint64_t id) {
  Member& m = member(id);
  if (m.node == nullptr) return;
  Log(absl::StrCat("n", id, " arm fsync EIO"));
  m.fail_next_sync = true;
}

void World::SetNoSpace(uint64_t id, bool no_space) {
  Log(absl::StrCat("n", id, no_space ? " disk full" : " disk has space"));
  member(id).disk->mem().SetNoSpace(no_space);
  member(id).no_space = no_space;
}

void World::HealAll() {
  Log("heal all");
  NetworkFaults clean;
  clean.latency_min_us = scenario_.network.latency_min_us;
  clean.latency_max_us = scenario_.network.latency_max_us;
  network_ = clean;
  HealPartitions();
  for (uint64_t id : std::vector<uint64_t>(ids_)) {
    Member& m = member(id);
    m.fail_next_sync = false;
    m.disk->mem().SetNoSpace(false);
    m.no_space = false;
    Resume(id);
    if (m.node == nullptr) Restart(id);
  }
}

bool World::up(uint64_t id) const {
  const Member* m = find(id);
  return m != nullptr && m->node != nullptr;
}

bool World::failed(uint64_t id) const {
  const Member* m = find(id);
  return m != nullptr && m->failed;
}

std::vector<uint64_t> World::live_ids() const {
  std::vector<uint64_t> live;
  for (uint64_t id : ids_) {
    if (!failed(id)) live.push_back(id);
  }
  return live;
}

bool World::paused(uint64_t id) const {
  const Member* m = find(id);
  return m != nullptr && m->paused;
}

const server::Node* World::node(uint64_t id) const {
  const Member* m = find(id);
  return m == nullptr ? nullptr : m->node.get();
}

uint64_t World::AgreedLeader() const {
  uint64_t leader = 0;
  uint64_t term = 0;
  for (uint64_t id : ids_) {
    if (failed(id)) continue;
    const server::Node* n = node(id);
    if (n == nullptr || paused(id)) return 0;
    const server::NodeStatus s = n->GetStatus();
    if (s.leader == 0) return 0;
    if (leader == 0) {
      leader = s.leader;
      term = s.term;
    }
    if (s.leader != leader || s.term != term) return 0;
  }
  const server::Node* l = node(leader);
  return l != nullptr && l->GetStatus().is_leader ? leader : 0;
}

std::vector<std::string> World::Violations() const {
  std::vector<std::string> all = raft_checker_.violations();
  for (const std::string& v : convergence_.violations()) all.push_back(v);
  for (const std::string& v : violations_) all.push_back(v);
  return all;
}

void World::AddViolation(std::string violation) {
  Log(absl::StrCat("VIOLATION ", violation));
  violations_.push_back(std::move(violation));
}

int64_t World::LinkLatency(uint64_t from, uint64_t to) {
  const uint64_t lo = static_cast<uint64_t>(network_.latency_min_us);
  const uint64_t hi =
      std::max(lo, static_cast<uint64_t>(network_.latency_max_us));
  auto [it, inserted] = link_hashes_.try_emplace({from, to}, 0);
  if (inserted) {
    it->second = Fnv1a(absl::StrCat(scenario_.seed, "/link/", from, "/", to));
  }
  const uint64_t h = it->second;
  // The link's floor in the lower half of the network's range, its ceiling
  // anywhere above that: fast steady links, slow ones, jittery ones.
  const uint64_t floor = lo + (h & 0xffffffff) % ((hi - lo) / 2 + 1);
  const uint64_t ceiling = floor + (h >> 32) % (hi - floor + 1);
  return RandomLatency(static_cast<int64_t>(floor),
                       static_cast<int64_t>(ceiling));
}

int64_t World::RandomLatency(int64_t lo_us, int64_t hi_us) {
  return static_cast<int64_t>(prng_.InRange(static_cast<uint64_t>(lo_us),
                                            static_cast<uint64_t>(hi_us)));
}

World::Member& World::member(uint64_t id) {
  auto it = members_.find(id);
  CHECK(it != members_.end()) << "events name members of the cluster";
  return *it->second;
}

const World::Member* World::find(uint64_t id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : it->second.get();
}

}  // namespace etcdpp::sim
