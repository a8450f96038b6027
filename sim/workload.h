// Workload: simulated clients issuing put, get (linearizable and
// serializable), delete, compare-and-swap txns and two-key txns over a
// small key set, each to a random node, recording a History.
//
// Each client runs one operation at a time: think, issue, wait for the
// reply or give up after its timeout, then think again; a retry is a new
// operation. Outcomes: an OK reply is kOk; an error the node gave within
// the call that took a write (it never proposed it), or a refused
// connection, is kFail; any other error or a timeout leaves a write kUnknown
// (it may still commit), and a read that failed took no effect (kFail).
//
// In the liveness phase every operation must succeed within a bound; those
// that do not are reported as liveness violations.
//
// Deterministic: its own Prng. Not thread-safe.
#ifndef ETCDPP_SIM_WORKLOAD_H_
#define ETCDPP_SIM_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/prng.h"
#include "sim/history.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace etcdpp::sim {

class Workload final : public World::Listener, public World::ClientSink {
 public:
  // `world` must outlive the workload; the workload registers as its
  // client sink.
  Workload(World* world, const WorkloadMix& mix);

  // Every client starts thinking.
  void Start();
  // Clients finish their current operation and issue no more.
  void Stop() { issuing_ = false; }
  // Clients issue again; from now on every operation must succeed within
  // bound_us (their timeout becomes the bound).
  void StartLiveness(int64_t bound_us);

  void OnTimer(uint64_t token) override;
  void OnReply(uint64_t node, const server::ClientReply& reply,
               bool immediate) override;

  const History& history() const { return history_; }
  // Operations that did not complete in the liveness phase.
  const std::vector<std::string>& liveness_violations() const {
    return liveness_violations_;
  }
  // Operations still waiting for an answer.
  int in_flight() const;

 private:
  struct Client {
    int index = 0;
    int64_t current = -1;  // index in history_, or -1 while thinking
    uint64_t sequence = 0;
    // The last value seen per key: what a CAS expects.
    std::map<std::string, std::string> seen;
  };
  void Think(Client& client);
  void Issue(Client& client);
  Operation Draw(Client& client);
  void Send(const Operation& op, uint64_t request_id);
  void Finish(Operation& op, Outcome outcome, std::string error);
  void RecordOk(Operation& op, const server::ClientReply& reply);
  void OnTimeout(uint64_t op_index);
  std::string Key();

  World* const world_;
  const WorkloadMix mix_;
  base::Prng prng_;
  std::vector<Client> clients_;
  History history_;
  std::map<uint64_t, uint64_t> op_by_request_;  // request id -> index
  uint64_t next_request_id_ = 1;
  bool issuing_ = true;
  int64_t timeout_us_;
  // History indexes from here on were issued in the liveness phase.
  int64_t liveness_from_ = -1;
  std::vector<std::string> liveness_violations_;
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_WORKLOAD_H_
