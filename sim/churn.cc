#include "sim/churn.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "server/node/errors.h"
#include "sim/trace.h"

namespace etcdpp::sim {
namespace {

// Timer tokens: the high byte says which kind.
constexpr uint64_t kPlanTimer = uint64_t{1} << 56;
constexpr uint64_t kAttemptTimer = uint64_t{2} << 56;
constexpr uint64_t kTimeoutTimer = uint64_t{3} << 56;
constexpr uint64_t kStopTimer = uint64_t{4} << 56;
constexpr uint64_t kArgMask = (uint64_t{1} << 56) - 1;

// A try with no answer by then counts as unknown and is tried again. Below
// the node's own request timeout (7 s), so a lost reply costs little.
constexpr int64_t kAttemptTimeoutUs = 3000000;
// How long an operator takes to shut a removed member down.
constexpr int64_t kStopDelayMaxUs = 1000000;

bool Is(const absl::Status& status, const absl::Status& error) {
  return status.code() == error.code() && status.message() == error.message();
}

const char* KindName(World::MemberRequest::Kind kind) {
  switch (kind) {
    case World::MemberRequest::kAdd:
      return "add";
    case World::MemberRequest::kPromote:
      return "promote";
    case World::MemberRequest::kRemove:
      return "remove";
    case World::MemberRequest::kUpdate:
      return "update";
  }
  return "?";
}

std::string DescribeMembers(const std::vector<uint64_t>& ids,
                            const World& world) {
  std::string out;
  for (uint64_t id : ids) {
    absl::StrAppend(&out, out.empty() ? "" : " ", "n", id,
                    world.learner(id) ? "(learner)" : "");
  }
  return out;
}

}  // namespace

Churn::Churn(World* world, uint64_t seed, int64_t every_us)
    : world_(world),
      every_us_(every_us),
      prng_(Fnv1a(absl::StrCat(seed, "/churn"))) {
  world_->set_member_sink(this);
}

void Churn::Start() {
  start_voters_ = world_->voter_ids().size();
  if (every_us_ > 0) PlanNext();
}

void Churn::PlanNext() {
  if (every_us_ <= 0 || stopping_) return;
  const uint64_t mean = static_cast<uint64_t>(every_us_);
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(mean / 2, 3 * mean / 2)), this,
      kPlanTimer);
}

bool Churn::Settled() const {
  if (every_us_ <= 0) return true;
  if (!plan_.empty()) return false;
  for (uint64_t id : world_->ids()) {
    if (world_->learner(id)) return false;
    if (world_->failed(id)) continue;
    const server::Node* n = world_->node(id);
    const etcdserverpb::Member* self =
        n == nullptr ? nullptr : n->Members().Find(id);
    if (self == nullptr || self->islearner()) return false;
    // Every update reached every member.
    for (const auto& [moved, url] : updated_urls_) {
      const etcdserverpb::Member* m = n->Members().Find(moved);
      if (m == nullptr || m->peerurls_size() != 1 || m->peerurls(0) != url) {
        return false;
      }
    }
  }
  // And every up member lists the same members, alike in every field.
  std::optional<std::string> list;
  for (uint64_t id : world_->ids()) {
    const server::Node* n = world_->node(id);
    if (n == nullptr) continue;
    std::string mine;
    for (const etcdserverpb::Member& m : n->Members().List()) {
      mine += m.SerializeAsString();
    }
    if (!list.has_value()) list = mine;
    if (mine != *list) return false;
  }
  return true;
}

bool Churn::AwaitSettled(int64_t bound_us) {
  const int64_t deadline = world_->now() + bound_us;
  while (world_->now() < deadline) {
    if (plan_.empty()) {
      // A learner left over from the safety phase becomes a voter.
      for (uint64_t id : world_->ids()) {
        if (!world_->learner(id)) continue;
        plan_.push_back(Step{World::MemberRequest::kPromote, id});
        Attempt();
        break;
      }
    }
    if (Settled()) return true;
    if (!world_->RunUntil(world_->now() + 100000)) return false;
  }
  world_->AddViolation(absl::StrCat(
      "liveness: membership not settled within ", FormatTime(bound_us),
      " of healing: ",
      plan_.empty() ? std::string("a member does not see itself a voter, or "
                                  "a peer URL update has not reached it")
                    : absl::StrCat(Describe(plan_.front()), " not done")));
  return false;
}

void Churn::OnTimer(uint64_t token) {
  const uint64_t arg = token & kArgMask;
  switch (token & ~kArgMask) {
    case kPlanTimer:
      if (stopping_ || !plan_.empty()) return;
      if (Plan()) {
        Attempt();
      } else {
        PlanNext();
      }
      return;
    case kAttemptTimer:
      if (arg == step_generation_ && pending_request_ == 0) Attempt();
      return;
    case kTimeoutTimer:
      if (pending_request_ != 0 && (pending_request_ & kArgMask) == arg) {
        // No answer: the change may be in the log. Try again.
        world_->Note(absl::StrCat("churn: ", Describe(plan_.front()),
                                  " no answer; trying again"));
        maybe_proposed_ = true;
        pending_request_ = 0;
        Attempt();
      }
      return;
    case kStopTimer:
      world_->StopForgotten(arg);
      return;
    default:
      CHECK(false) << "churn timers are plan, attempt, timeout or stop";
  }
}

bool Churn::Plan() {
  const std::vector<uint64_t> voters = world_->voter_ids();
  std::vector<uint64_t> learners;
  for (uint64_t id : world_->ids()) {
    if (world_->learner(id)) learners.push_back(id);
  }
  using Kind = World::MemberRequest::Kind;
  // Now and then a member moves: new peer URLs (etcdctl member update).
  if (prng_.OneIn(5)) {
    const std::vector<uint64_t>& ids = world_->ids();
    const uint64_t id = ids[prng_.Uniform(ids.size())];
    plan_.push_back(Step(
        Kind::kUpdate, id, /*replace=*/false, /*learner=*/false,
        absl::StrCat("http://n", id, "-", ++url_versions_[id], ":2380")));
    return true;
  }
  if (!learners.empty()) {
    // Promote it (most of the time), or take it out again.
    const Kind kind = prng_.OneIn(4) ? Kind::kRemove : Kind::kPromote;
    plan_.push_back(Step{kind, learners[0]});
    return true;
  }
  // The voters left after the removal run a quorum of the configuration
  // before it (CanRemove), which is also the quorum once a fresh voter
  // is back: a voter that still has everything to catch up.
  auto replace = [this](uint64_t id) {
    const uint64_t fresh = world_->NewMemberId();
    plan_.push_back(Step{Kind::kRemove, id});
    if (prng_.OneIn(3)) {
      plan_.push_back(
          Step{Kind::kAdd, fresh, /*replace=*/true, /*learner=*/false});
      return;
    }
    plan_.push_back(Step{Kind::kAdd, fresh});
    plan_.push_back(Step{Kind::kPromote, fresh, /*replace=*/true});
  };
  // A failed member (its disk refused to start) is replaced first.
  for (uint64_t id : voters) {
    if (world_->failed(id) && CanRemove(id)) {
      replace(id);
      return true;
    }
  }
  uint64_t victim = 0;
  const uint64_t leader = Leader();
  if (leader != 0 && prng_.OneIn(3)) {
    victim = leader;
  } else {
    victim = voters[prng_.Uniform(voters.size())];
  }
  const bool can_add = voters.size() < 7;
  const bool can_remove = CanRemove(victim);
  if (can_remove && prng_.OneIn(3)) {
    replace(victim);
    return true;
  }
  // Grow or shrink, drifting back towards the starting size so that a
  // long run does not end as a two-member cluster.
  const bool shrink = voters.size() > start_voters_   ? !prng_.OneIn(4)
                      : voters.size() < start_voters_ ? prng_.OneIn(4)
                                                      : prng_.OneIn(2);
  if (can_remove && (shrink || !can_add)) {
    plan_.push_back(Step{Kind::kRemove, victim});
    return true;
  }
  if (!can_add) return false;
  plan_.push_back(Step{Kind::kAdd, world_->NewMemberId()});
  return true;
}

// The voters left must hold a quorum of the OLD configuration, not just
// of the new one: the change commits in the old one, and the node applies
// a configuration when it applies the entry (as etcd, not on append as
// the Raft thesis). A removed leader stops once it applied its removal;
// if its last messages are lost, the others still run the old
// configuration and must elect a leader in it to commit the removal
// again. Removing the leader of two voters could wedge the survivor for
// good (seen with seed 9, --churn-every-ms=600 --sim-seconds=8: n2 left,
// n3 never learnt of the commit and could not win n2's vote).
bool Churn::CanRemove(uint64_t id) {
  const std::vector<uint64_t> voters = world_->voter_ids();
  // Voters removed earlier that some member may still count on: voters of
  // the configuration it runs, never running.
  const size_t lingering = world_->LingeringVoters().size();
  size_t running = 0;
  for (uint64_t v : voters) {
    if (v == id) continue;
    if (world_->up(v) && !world_->paused(v) && !world_->failed(v)) ++running;
  }
  return running >= (voters.size() + lingering) / 2 + 1;
}

uint64_t Churn::Leader() const {
  uint64_t leader = 0;
  uint64_t term = 0;
  for (uint64_t id : world_->ids()) {
    const server::Node* n = world_->node(id);
    if (n == nullptr) continue;
    const server::NodeStatus s = n->GetStatus();
    if (s.is_leader && s.term >= term) {
      leader = id;
      term = s.term;
    }
  }
  return leader;
}

uint64_t Churn::PickTarget() {
  std::vector<uint64_t> candidates;
  for (uint64_t id : world_->live_ids()) {
    // Not the member being removed: it may stop before it answers.
    const bool removing = plan_.front().kind == World::MemberRequest::kRemove &&
                          plan_.front().id == id;
    if (!removing) candidates.push_back(id);
  }
  if (candidates.empty()) candidates = world_->live_ids();
  return candidates[prng_.Uniform(candidates.size())];
}

std::string Churn::Describe(const Step& step) const {
  return absl::StrCat(KindName(step.kind), " n", step.id,
                      step.kind != World::MemberRequest::kAdd ? ""
                      : step.learner                          ? " learner"
                                                              : " voter");
}

void Churn::Attempt() {
  if (plan_.empty()) return;
  const Step& step = plan_.front();
  World::MemberRequest request;
  request.kind = step.kind;
  request.member.set_id(step.id);
  if (step.kind == World::MemberRequest::kAdd) {
    request.member.add_peerurls(absl::StrCat("http://n", step.id, ":2380"));
    request.member.set_islearner(step.learner);
  }
  if (step.kind == World::MemberRequest::kUpdate) {
    request.member.add_peerurls(step.peer_url);
  }
  if (step.kind == World::MemberRequest::kRemove && step_requests_.empty()) {
    if (!world_->learner(step.id)) world_->set_removing(step.id);
    removing_leader_ = step.id == Leader();
  }
  uint64_t target = next_target_;
  next_target_ = 0;
  if (target == 0 || !world_->up(target) ||
      std::find(world_->ids().begin(), world_->ids().end(), target) ==
          world_->ids().end()) {
    target = PickTarget();
  }
  const uint64_t request_id = World::kMemberRequestBit | next_request_++;
  step_requests_.insert(request_id);
  pending_request_ = request_id;
  ++stats_.requests;
  world_->SendMemberRequest(target, request_id, std::move(request));
  world_->ScheduleTimer(kAttemptTimeoutUs, this,
                        kTimeoutTimer | (request_id & kArgMask));
}

void Churn::ScheduleAttempt(int64_t delay_us) {
  world_->ScheduleTimer(delay_us, this, kAttemptTimer | step_generation_);
}

void Churn::OnReply(uint64_t node, const server::ClientReply& reply,
                    bool immediate) {
  if (!step_requests_.contains(reply.request_id) || plan_.empty()) return;
  const Step step = plan_.front();
  const server::Node* n = world_->node(node);
  const server::MemberSet* members = n == nullptr ? nullptr : &n->Members();
  if (reply.status.ok()) return Done(node, reply.members);
  if (reply.request_id != pending_request_) {
    // An older try's failure: a newer one is out.
    if (!immediate) maybe_proposed_ = true;
    return;
  }
  pending_request_ = 0;
  const absl::Status& s = reply.status;
  using Kind = World::MemberRequest::Kind;
  // Answers that show the change already applied (an earlier try's).
  if (members != nullptr) {
    const etcdserverpb::Member* m = members->Find(step.id);
    if ((step.kind == Kind::kAdd && Is(s, server::MemberExistError()) &&
         m != nullptr) ||
        (step.kind == Kind::kPromote &&
         Is(s, server::MemberNotLearnerError()) && m != nullptr &&
         !m->islearner()) ||
        (step.kind == Kind::kRemove && Is(s, server::MemberNotFoundError()) &&
         members->removed().contains(step.id))) {
      return Done(node, members->List());
    }
  }
  if (!immediate) maybe_proposed_ = true;
  int64_t delay = static_cast<int64_t>(prng_.InRange(100000, 500000));
  if (Is(s, server::NotLeaderError()) || Is(s, server::NoLeaderError())) {
    if (n != nullptr) next_target_ = n->GetStatus().leader;
    delay = static_cast<int64_t>(prng_.InRange(10000, 200000));
  } else if (Is(s, server::LearnerNotReadyError())) {
    delay = static_cast<int64_t>(prng_.InRange(300000, 1000000));
  } else if (Is(s, server::NotEnoughStartedMembersError()) ||
             Is(s, server::TooManyLearnersError()) ||
             Is(s, server::PeerUrlExistError()) ||
             Is(s, server::MemberBadUrlsError())) {
    // Refused for good -- unless an earlier try may still be in the log:
    // then only a later answer can tell.
    if (!maybe_proposed_) {
      return GiveUp(
          absl::StrCat(std::string(s.message()), " (from n", node, ")"));
    }
  }
  world_->Note(absl::StrCat("churn: ", Describe(step), " via n", node, ": ",
                            s.message(), "; trying again"));
  ScheduleAttempt(delay);
}

void Churn::Done(uint64_t node,
                 const std::vector<etcdserverpb::Member>& members) {
  const Step step = plan_.front();
  plan_.pop_front();
  ++step_generation_;
  step_requests_.clear();
  pending_request_ = 0;
  next_target_ = 0;
  maybe_proposed_ = false;
  using Kind = World::MemberRequest::Kind;
  switch (step.kind) {
    case Kind::kAdd:
      ++stats_.adds;
      if (step.replace) ++stats_.replaces;
      world_->Join(step.id, members);
      break;
    case Kind::kPromote:
      ++stats_.promotions;
      if (step.replace) ++stats_.replaces;
      world_->Promoted(step.id);
      break;
    case Kind::kRemove:
      ++stats_.removals;
      if (removing_leader_) ++stats_.leader_removals;
      removing_leader_ = false;
      updated_urls_.erase(step.id);
      world_->Forget(step.id);
      world_->ScheduleTimer(
          static_cast<int64_t>(prng_.InRange(0, kStopDelayMaxUs)), this,
          kStopTimer | step.id);
      break;
    case Kind::kUpdate:
      ++stats_.updates;
      updated_urls_[step.id] = step.peer_url;
      break;
  }
  world_->Note(absl::StrCat("churn: ", Describe(step), " applied (via n", node,
                            "); members ",
                            DescribeMembers(world_->ids(), *world_)));
  if (!plan_.empty()) {
    ScheduleAttempt(static_cast<int64_t>(prng_.InRange(10000, 300000)));
  } else {
    PlanNext();
  }
}

void Churn::GiveUp(const std::string& why) {
  world_->Note(
      absl::StrCat("churn: ", Describe(plan_.front()), " given up: ", why));
  plan_.clear();
  ++step_generation_;
  step_requests_.clear();
  pending_request_ = 0;
  next_target_ = 0;
  maybe_proposed_ = false;
  removing_leader_ = false;
  world_->set_removing(0);
  PlanNext();
}

}  // namespace etcdpp::sim
