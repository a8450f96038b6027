// LeaseClients: simulated clients of etcd's leases, recording what they
// asked and were told for the lease checker (sim/lease_checker.h).
//
// Each client loops: grant a lease (TTL 2..5 s, at least the lessor's
// minimum of ceil(1.5 election timeouts)), put one or two keys with it,
// then follow a plan drawn per lease -- keep it alive every TTL/3 for a
// while and then revoke it or let it expire, revoke it soon, or let it
// expire at once -- and finally read its keys back (linearizably). A
// keepalive goes to a random member; "not leader" is retried at the leader
// that member names, as the runner forwards it. Every request has the
// workload's timeout; a write that timed out or failed after it was taken
// has an unknown outcome.
//
// The keys ("l<client>.<lease>.<n>") are a key space of their own, outside
// the linearizability history: a lease expiry deletes keys with no client
// operation the linearizability model could account for. The lease checker
// and the watch checker (against the final store) check them instead.
//
// The clients also observe every member's applied changes: the first time
// any member applies the deletion of a lease's key is when the lease's
// revoke (a client's or the leader's expiry) committed at the latest.
//
// Deterministic: its own Prng, seeded from the scenario. Not thread-safe.
#ifndef ETCDPP_SIM_LEASE_CLIENTS_H_
#define ETCDPP_SIM_LEASE_CLIENTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/prng.h"
#include "sim/history.h"
#include "sim/scenario.h"
#include "sim/trace.h"
#include "sim/world.h"

namespace etcdpp::sim {

struct LeaseRecord {
  enum class Plan {
    kKeepAliveThenRevoke,
    kKeepAliveThenExpire,
    kRevoke,
    kExpire
  };
  int client = 0;
  Plan plan = Plan::kExpire;
  int64_t id = 0;           // 0 until a grant returned OK
  int64_t ttl_seconds = 0;  // as granted
  int64_t grant_invoke_us = 0;
  int64_t grant_return_us = kNever;
  // Keys put with the lease (any outcome: an unknown put may have landed).
  std::vector<std::string> keys;
  // When the leader last (re)started the lease's clock, at the earliest:
  // the invocation of the grant or of the last keepalive that returned OK
  // (the leader renewed between that invocation and its return).
  int64_t last_refresh_invoke_us = 0;
  int keepalives_ok = 0;
  int64_t revoke_invoke_us = kNever;
  int64_t revoke_ok_us = kNever;
  int64_t revoke_revision = 0;
  // The first time a member applied the deletion of one of its keys.
  int64_t deleted_applied_us = kNever;
  std::string deleted_on;  // "n2 rev=17"

  std::string Describe() const;
};

// A linearizable read of a lease's key.
struct LeaseRead {
  int lease = 0;  // index in LeaseHistory::leases
  std::string key;
  int64_t invoke_us = 0;
  int64_t return_us = kNever;
  bool ok = false;
  bool found = false;
  int64_t found_lease = 0;
  int64_t revision = 0;
};

struct LeaseHistory {
  std::vector<LeaseRecord> leases;
  std::vector<LeaseRead> reads;
};

class LeaseClients final : public World::Listener,
                           public World::ClientSink,
                           public World::NodeObserver {
 public:
  // Registers as a client sink and node observer of `world`; both must
  // outlive it.
  LeaseClients(World* world, const Scenario& scenario, Trace* trace);

  void Start();
  // Clients finish their current step and start nothing new.
  void Stop() { running_ = false; }

  void OnTimer(uint64_t token) override;
  void OnReply(uint64_t node, const server::ClientReply& reply,
               bool immediate) override;
  void OnNodeOpened(uint64_t, const server::Node&) override {}
  void OnNodeEvents(uint64_t id, const server::Node& node, bool store_replaced,
                    std::vector<mvccpb::Event> events) override;
  void OnNodeDown(uint64_t) override {}

  const LeaseHistory& history() const { return history_; }

 private:
  enum class Step { kIdle, kGrant, kPut, kKeepAlive, kRevoke, kRead };
  struct Client {
    int index = 0;
    Step step = Step::kIdle;
    int lease = -1;        // index in history_.leases
    uint64_t request = 0;  // the request in flight, 0: none
    int64_t keepalive_until_us = 0;
    int puts_left = 0;
    size_t reads_done = 0;
    int hops = 0;  // "not leader" forwards of the current keepalive
    int64_t keepalive_invoke_us = 0;  // of its first attempt
    int read = -1;                    // index in history_.reads
  };

  void Next(Client& c);
  void Grant(Client& c);
  void Put(Client& c);
  void KeepAlive(Client& c, uint64_t node);
  void Revoke(Client& c);
  void Read(Client& c);
  // After the puts (or a keepalive): what the plan does next.
  void FollowPlan(Client& c);
  void Later(Client& c, int64_t delay_us);
  uint64_t NewRequest(Client& c);
  uint64_t RandomNode();
  // `reply` is null on a timeout; `node` answered it.
  void Finish(Client& c, const server::ClientReply* reply, uint64_t node);
  void Log(const std::string& line) { trace_->Add(world_->now(), line); }

  World* const world_;
  Trace* const trace_;
  base::Prng prng_;
  const int64_t timeout_us_;
  bool running_ = true;
  std::vector<Client> clients_;
  LeaseHistory history_;
  std::map<uint64_t, int> client_by_request_;
  std::map<std::string, int> lease_by_key_;
  uint64_t next_request_ = 0;
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_LEASE_CLIENTS_H_
