// Watchers: simulated watch clients, and the watch service of every member.
//
// Each member's process has a kv::WatchHub over its store, fed with each
// NodeOutput's events and store_replaced through WatchHub::Feed, exactly as
// server/runner does. The hub lives
// and dies with the process: a crash cancels every watcher on it.
//
// A watch client watches one key, the workload's keys ("k" prefix), the
// lease clients' keys ("l" prefix) or every key, from revision 1 (the whole
// history) or 0 (from now: the created response's header revision + 1). It
// connects to a random member; responses reach it over the client network,
// in order, after a random latency. When its stream breaks (the member
// crashed, or refused the connection) it reconnects to another member
// after a short backoff from its last received revision + 1, as etcd's
// clientv3 does. Every event received is recorded, with the session it
// came in, for the watch checker (sim/watch_checker.h).
//
// Deterministic: its own Prng, seeded from the scenario. Not thread-safe.
#ifndef ETCDPP_SIM_WATCHERS_H_
#define ETCDPP_SIM_WATCHERS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "base/prng.h"
#include "kv/watch.h"
#include "sim/history.h"
#include "sim/scenario.h"
#include "sim/trace.h"
#include "sim/world.h"

namespace etcdpp::sim {

struct WatchSession {
  uint64_t node = 0;
  int64_t start_revision = 0;
  int64_t opened_us = 0;
  int64_t closed_us = kNever;
  std::string end;  // why it ended
};

struct WatchEventSeen {
  int64_t at_us = 0;
  int session = 0;
  mvccpb::Event event;
};

// What one watch client saw over all its sessions.
struct WatchLog {
  int client = 0;
  std::string key;
  std::string range_end;
  // The first revision the log covers; 0 until the first created response
  // of a watch from "now" arrived.
  int64_t from_revision = 0;
  std::vector<WatchSession> sessions;
  std::vector<WatchEventSeen> events;
  // Each cancel for compaction: the changes of revisions [first, last]
  // that the client still needed were compacted away (last is the compact
  // revision), and it went on from last + 1.
  struct Lost {
    int64_t first = 0;
    int64_t last = 0;
  };
  std::vector<Lost> lost;
  // At the end of the run: the client has received every change up to
  // here -- its stream is open on an up member whose hub has heard of
  // everything to here, has it synced, and has nothing left to send, and
  // nothing is in flight to the client. 0 when that is not so.
  int64_t complete_through = 0;

  std::string DescribeRange() const;
};

class Watchers final : public World::NodeObserver, public World::Listener {
 public:
  // Registers as an observer of `world`; both must outlive it.
  Watchers(World* world, const Scenario& scenario, Trace* trace);
  ~Watchers() override;

  // Every client connects after a random delay.
  void Start();

  void OnTimer(uint64_t token) override;
  void OnNodeOpened(uint64_t id, const server::Node& node) override;
  void OnNodeEvents(uint64_t id, const server::Node& node, bool store_replaced,
                    std::vector<mvccpb::Event> events) override;
  void OnNodeDown(uint64_t id) override;

  const std::vector<WatchLog>& logs() const { return logs_; }
  // What each client saw, with complete_through filled in as of now.
  std::vector<WatchLog> FinalLogs() const;

 private:
  // A member's watch service.
  struct Service {
    std::unique_ptr<kv::WatchHub> hub;
  };
  // What travels to a client on its stream: a response, or the news that
  // the stream broke.
  struct Delivery {
    int64_t stream = 0;
    std::optional<etcdserverpb::WatchResponse> response;
    std::string broken;
  };
  struct Client {
    int index = 0;
    int64_t next_revision = 0;  // where the next session starts
    int64_t stream = -1;        // hub watch id of the open stream, -1: none
    uint64_t node = 0;
    std::deque<Delivery> inbox;  // in flight, in order
    int64_t last_arrival_us = 0;
  };

  void Connect(Client& client);
  void Arrive(Client& client);
  void Receive(Client& client);
  void Break(Client& client, std::string why);
  // The service of an up member.
  Service& ServiceOf(uint64_t id);
  // Takes every watcher's output of the member's hub to its client and
  // lets unsynced watchers catch up, until nothing is left.
  void Flush(uint64_t id);
  void Send(Client& client, Delivery delivery);
  void Log(const std::string& line) { trace_->Add(world_->now(), line); }

  World* const world_;
  Trace* const trace_;
  kv::WatchHubOptions hub_options_;
  base::Prng prng_;
  std::vector<Client> clients_;
  std::vector<WatchLog> logs_;
  std::map<uint64_t, Service> services_;  // by member id, while up
  std::map<int64_t, int> stream_owner_;   // hub watch id -> client index
  int64_t next_stream_ = 1;
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_WATCHERS_H_
