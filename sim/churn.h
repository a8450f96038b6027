// Churn: membership changes during a run, through the Cluster service's
// requests as a client (etcdctl member ...) would send them: add a learner,
// later promote it, remove a voter (the leader too, sometimes), replace a
// member (remove it, add a fresh learner, promote that one), update a
// member's peer URLs (every member must end up listing the new ones). A failed
// member (a disk that refused to start) is the first to be replaced, as an
// operator would.
//
// One change at a time, at drawn gaps, each sent to a random member (a
// follower forwards it, or answers "not leader": the next try goes to the
// leader it names). An answer that leaves the outcome unknown (timeout,
// leader changed, no answer) is retried with the same change until an
// answer is definite -- "member already exists" after an add, "not found"
// after a remove where the member list shows it removed -- so the world's
// view (World::ids, learners) always follows the cluster's.
//
// Bounds: at most 7 voters and one learner; a voter is removed only when
// the voters left, minus those down, paused or failed, form a quorum of
// the OLD configuration (see CanRemove), so never down to one voter;
// World::CorruptDisk counts with a removal in flight the same way.
//
// Deterministic: its own Prng, derived from the seed (so that creating it
// takes no draw from the world's). Not thread-safe.
#ifndef ETCDPP_SIM_CHURN_H_
#define ETCDPP_SIM_CHURN_H_

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/prng.h"
#include "sim/world.h"

namespace etcdpp::sim {

struct ChurnStats {
  uint64_t adds = 0;
  uint64_t promotions = 0;
  uint64_t removals = 0;
  uint64_t leader_removals = 0;  // of the member leading when asked
  uint64_t replaces = 0;         // remove + add + promote, all done
  uint64_t updates = 0;          // peer URLs changed
  uint64_t requests = 0;         // every request sent, retries included
};

class Churn final : public World::Listener, public World::ClientSink {
 public:
  // `world` must outlive the churn; it registers as its member sink.
  // every_us: the mean gap between changes (0: Start does nothing).
  Churn(World* world, uint64_t seed, int64_t every_us);

  void Start();
  // No new changes from now on; the one under way still completes, and a
  // learner left over is promoted, so the cluster ends with voters only.
  void Stop() { stopping_ = true; }
  // Nothing under way, no learner left, and every member up and listing
  // itself as a voter (a member refuses clients as a learner until it
  // applies its own promotion): the final membership is settled.
  bool Settled() const;
  // Runs the world until Settled(), or adds a liveness violation after
  // bound_us. False on a violation.
  bool AwaitSettled(int64_t bound_us);

  void OnTimer(uint64_t token) override;
  void OnReply(uint64_t node, const server::ClientReply& reply,
               bool immediate) override;

  const ChurnStats& stats() const { return stats_; }

 private:
  struct Step {
    Step(World::MemberRequest::Kind kind, uint64_t id, bool replace = false,
         bool learner = true, std::string peer_url = "")
        : kind(kind),
          id(id),
          replace(replace),
          learner(learner),
          peer_url(std::move(peer_url)) {}
    World::MemberRequest::Kind kind;
    uint64_t id = 0;
    bool replace = false;  // the last step of a replacement counts it
    bool learner = true;   // kAdd: as a learner, or straight as a voter
    std::string peer_url;  // kUpdate: the member's new (only) peer URL
  };
  void PlanNext();
  // Steps of a plan run in order; false if none could be planned now.
  bool Plan();
  // Whether removing voter `id` keeps a quorum (see the file comment).
  bool CanRemove(uint64_t id);
  void Attempt();
  void ScheduleAttempt(int64_t delay_us);
  // The current step is done (definitely): update the world, go on.
  void Done(uint64_t node, const std::vector<etcdserverpb::Member>& members);
  // The current step definitely failed: drop the rest of the plan.
  void GiveUp(const std::string& why);
  uint64_t PickTarget();
  uint64_t Leader() const;
  std::string Describe(const Step& step) const;

  World* const world_;
  const int64_t every_us_;
  base::Prng prng_;
  bool stopping_ = false;
  // The cluster's size at the start: changes drift back towards it.
  size_t start_voters_ = 0;
  std::deque<Step> plan_;
  // Bumped per step: replies and timers of older steps are stale.
  uint64_t step_generation_ = 0;
  // Request ids sent for the current step (any OK among them is definite).
  std::set<uint64_t> step_requests_;
  // The latest try, while it waits for an answer; 0: none waits.
  uint64_t pending_request_ = 0;
  // A try of this step may have reached the log (no answer, or an answer
  // after the call): a refusal now does not prove it never happens.
  bool maybe_proposed_ = false;
  uint64_t next_request_ = 1;
  // Where the next attempt goes (a leader named by a "not leader"); 0:
  // a random member.
  uint64_t next_target_ = 0;
  // The leader when the current removal was first asked.
  bool removing_leader_ = false;
  // Updates: how many each member had, and the URL each one updated last
  // must end up with on every member.
  std::map<uint64_t, int> url_versions_;
  std::map<uint64_t, std::string> updated_urls_;
  ChurnStats stats_;
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_CHURN_H_
