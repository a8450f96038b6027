#include "sim/watchers.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "sim/planted_bugs.h"

namespace etcdpp::sim {
namespace {

// Timer tokens: the high byte says which kind, the rest the client.
constexpr uint64_t kConnectTimer = uint64_t{1} << 56;  // backoff over: dial
constexpr uint64_t kArriveTimer = uint64_t{2} << 56;   // the create arrives
constexpr uint64_t kReceiveTimer = uint64_t{3} << 56;  // inbox front arrives
constexpr uint64_t kArgMask = (uint64_t{1} << 56) - 1;

// The client network, as the world's (faults spare it).
constexpr int64_t kLatencyMinUs = 100;
constexpr int64_t kLatencyMaxUs = 1000;
// A paused member takes the create when it resumes: poll for that.
constexpr int64_t kPausedPollUs = 20000;

std::string Printable(const std::string& s) {
  return s == std::string(1, '\0') ? "\\0" : s;
}

}  // namespace

std::string WatchLog::DescribeRange() const {
  if (range_end.empty()) return key;
  return absl::StrCat("[", Printable(key), ", ", Printable(range_end), ")");
}

Watchers::Watchers(World* world, const Scenario& scenario, Trace* trace)
    : world_(world),
      trace_(trace),
      prng_(Fnv1a(absl::StrCat("watchers/", scenario.seed))) {
  // The hub's planted bug is set where every other one is: on the node's
  // options (applier.bugs), which the watch service of the member reads.
  if (!scenario.planted_bug.empty()) {
    const PlantedBug* bug = FindPlantedBug(scenario.planted_bug);
    CHECK(bug != nullptr) << "the CLI admits only known planted bugs";
    server::NodeOptions options;
    bug->plant(options);
    hub_options_.bugs = options.applier.bugs;
  }
  for (int i = 0; i < scenario.workload.watchers; ++i) {
    Client c;
    c.index = i;
    WatchLog log;
    log.client = i;
    switch (prng_.Uniform(4)) {
      case 0:
        log.key = absl::StrCat(
            "k", prng_.Uniform(static_cast<uint64_t>(scenario.workload.keys)));
        break;
      case 1:
        log.key = "k";
        log.range_end = "l";
        break;
      case 2:
        log.key = "l";
        log.range_end = "m";
        break;
      default:
        log.key = std::string(1, '\0');
        log.range_end = std::string(1, '\0');
        break;
    }
    // From the start (a replay) or from now.
    c.next_revision = prng_.OneIn(2) ? 1 : 0;
    log.from_revision = c.next_revision;
    clients_.push_back(std::move(c));
    logs_.push_back(std::move(log));
  }
  world_->add_node_observer(this);
}

Watchers::~Watchers() = default;

void Watchers::Start() {
  for (Client& c : clients_) {
    world_->ScheduleTimer(static_cast<int64_t>(prng_.InRange(0, 2000000)), this,
                          kConnectTimer | c.index);
  }
}

std::vector<WatchLog> Watchers::FinalLogs() const {
  std::vector<WatchLog> logs = logs_;
  for (const Client& c : clients_) {
    auto service = services_.find(c.node);
    if (c.stream < 0 || !c.inbox.empty() || !stream_owner_.contains(c.stream) ||
        service == services_.end() || world_->paused(c.node) ||
        !service->second.hub->IsSynced(c.stream)) {
      continue;
    }
    const std::vector<int64_t> pending =
        service->second.hub->WatchersWithOutput();
    if (std::find(pending.begin(), pending.end(), c.stream) != pending.end()) {
      continue;
    }
    logs[c.index].complete_through = service->second.hub->heard_revision();
  }
  return logs;
}

void Watchers::OnTimer(uint64_t token) {
  Client& c = clients_[token & kArgMask];
  switch (token & ~kArgMask) {
    case kConnectTimer:
      return Connect(c);
    case kArriveTimer:
      return Arrive(c);
    case kReceiveTimer:
      return Receive(c);
  }
  CHECK(false) << "watch timers are of the three kinds above";
}

void Watchers::Connect(Client& c) {
  const std::vector<uint64_t> live = world_->live_ids();
  c.node = live[prng_.Uniform(live.size())];
  c.stream = next_stream_++;
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(kLatencyMinUs, kLatencyMaxUs)), this,
      kArriveTimer | c.index);
}

void Watchers::Arrive(Client& c) {
  if (world_->paused(c.node)) {
    world_->ScheduleTimer(kPausedPollUs, this, kArriveTimer | c.index);
    return;
  }
  const server::Node* node = world_->node(c.node);
  if (node == nullptr) {
    Send(c, Delivery{c.stream, std::nullopt, "connection refused"});
    return;
  }
  WatchLog& log = logs_[c.index];
  etcdserverpb::WatchCreateRequest request;
  request.set_key(log.key);
  request.set_range_end(log.range_end);
  request.set_start_revision(c.next_revision);
  Service& service = ServiceOf(c.node);
  const absl::Status status = service.hub->Watch(c.stream, request);
  Log(absl::StrCat("n", c.node, " watch w", c.index, " s", c.stream, " ",
                   log.DescribeRange(), " from=", c.next_revision, " ",
                   status.ok() ? "ok" : status.ToString()));
  if (!status.ok()) {
    Send(c, Delivery{c.stream, std::nullopt, status.ToString()});
    return;
  }
  stream_owner_[c.stream] = c.index;
  log.sessions.push_back(
      WatchSession{c.node, c.next_revision, world_->now(), kNever, ""});
  Flush(c.node);
}

Watchers::Service& Watchers::ServiceOf(uint64_t id) {
  auto it = services_.find(id);
  CHECK(it != services_.end()) << "an up member has a watch service";
  return it->second;
}

void Watchers::OnNodeOpened(uint64_t id, const server::Node& node) {
  Service s;
  s.hub = std::make_unique<kv::WatchHub>(&node.applier().store(), hub_options_);
  services_[id] = std::move(s);
}

void Watchers::OnNodeEvents(uint64_t id, const server::Node& node,
                            bool store_replaced,
                            std::vector<mvccpb::Event> events) {
  auto it = services_.find(id);
  if (it == services_.end()) return;
  it->second.hub->Feed(&node.applier().store(), store_replaced,
                       std::move(events));
  Flush(id);
}

void Watchers::OnNodeDown(uint64_t id) {
  auto it = services_.find(id);
  if (it == services_.end()) return;
  // The hub dies with the process; each stream on it breaks, after what
  // was already sent.
  for (Client& c : clients_) {
    if (c.node != id || c.stream < 0 || !stream_owner_.contains(c.stream)) {
      continue;
    }
    stream_owner_.erase(c.stream);
    Send(c, Delivery{c.stream, std::nullopt, "member crashed"});
  }
  services_.erase(it);
}

void Watchers::Flush(uint64_t id) {
  Service& s = services_.at(id);
  // Each round either drains a hub's queued output or lets an unsynced
  // watcher replay up to its buffer; a watcher always progresses, so this
  // ends. The bound only turns a hub bug into a CHECK instead of a hang.
  for (int round = 0; round < 100000; ++round) {
    for (int64_t stream : s.hub->WatchersWithOutput()) {
      auto owner = stream_owner_.find(stream);
      std::vector<etcdserverpb::WatchResponse> out = s.hub->Take(stream);
      if (owner == stream_owner_.end()) continue;
      Client& c = clients_[owner->second];
      for (etcdserverpb::WatchResponse& r : out) {
        const bool canceled = r.canceled();
        Send(c, Delivery{stream, std::move(r), ""});
        if (canceled) {
          stream_owner_.erase(stream);
          break;
        }
      }
    }
    if (s.hub->unsynced_count() == 0) return;
    s.hub->SyncUnsynced();
  }
  CHECK(false) << "a watch hub's unsynced watchers catch up";
}

void Watchers::Send(Client& c, Delivery delivery) {
  // The stream is ordered (TCP): nothing overtakes what was sent before.
  const int64_t at = std::max(
      c.last_arrival_us, world_->now() + static_cast<int64_t>(prng_.InRange(
                                             kLatencyMinUs, kLatencyMaxUs)));
  c.last_arrival_us = at;
  c.inbox.push_back(std::move(delivery));
  world_->ScheduleTimer(at - world_->now(), this, kReceiveTimer | c.index);
}

void Watchers::Receive(Client& c) {
  CHECK(!c.inbox.empty()) << "one receive timer per delivery";
  Delivery d = std::move(c.inbox.front());
  c.inbox.pop_front();
  if (d.stream != c.stream) return;  // of a stream the client left
  WatchLog& log = logs_[c.index];
  if (!d.response.has_value()) return Break(c, d.broken);
  const etcdserverpb::WatchResponse& r = *d.response;
  if (r.created() && c.next_revision == 0) {
    // A watch from "now" covers what follows the revision it was made at.
    c.next_revision = r.header().revision() + 1;
    if (log.from_revision == 0) log.from_revision = c.next_revision;
  }
  std::string revisions;
  for (const mvccpb::Event& e : r.events()) {
    log.events.push_back(WatchEventSeen{
        world_->now(), static_cast<int>(log.sessions.size()) - 1, e});
    c.next_revision = e.kv().mod_revision() + 1;
    absl::StrAppend(&revisions, " ", e.kv().mod_revision());
  }
  if (r.events_size() > 0) {
    Log(absl::StrCat("w", c.index, " s", c.stream, " events", revisions));
  }
  if (r.canceled()) {
    if (r.compact_revision() > 0) {
      log.lost.push_back(WatchLog::Lost{std::max<int64_t>(c.next_revision, 1),
                                        r.compact_revision()});
      c.next_revision = r.compact_revision() + 1;
    }
    Break(c, absl::StrCat("canceled: ", r.cancel_reason(),
                          " compact_revision=", r.compact_revision()));
  }
}

void Watchers::Break(Client& c, std::string why) {
  WatchLog& log = logs_[c.index];
  Log(absl::StrCat("w", c.index, " s", c.stream, " broken: ", why));
  stream_owner_.erase(c.stream);
  if (!log.sessions.empty() && log.sessions.back().closed_us == kNever) {
    log.sessions.back().closed_us = world_->now();
    log.sessions.back().end = why;
  }
  c.stream = -1;
  world_->ScheduleTimer(static_cast<int64_t>(prng_.InRange(100000, 500000)),
                        this, kConnectTimer | c.index);
}

}  // namespace etcdpp::sim
