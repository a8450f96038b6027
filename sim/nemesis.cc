#include "sim/nemesis.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::sim {
namespace {

// How often the nemesis looks for a new leader to cut off: well under a
// network round trip's worst case, so most cuts land before the new
// leader's first appends arrive.
constexpr int64_t kLeaderPollUs = 2000;
constexpr int64_t kNewLeaderCutMinUs = 2500000;
constexpr int64_t kNewLeaderCutMaxUs = 6000000;

}  // namespace

Nemesis::Nemesis(World* world, const FaultRates& rates)
    : world_(world), rates_(rates), prng_(world->ForkPrng()) {}

void Nemesis::Start() {
  for (Kind kind : {kPartition, kCrash, kPause, kSyncFailure, kNoSpace}) {
    if (Every(kind) > 0) ScheduleNext(kind);
  }
  if (rates_.isolate_new_leader_permille > 0) {
    world_->ScheduleTimer(kLeaderPollUs, this, Token(kWatchLeaders, 0));
  }
  // A corrupted member may stay down for good, which ends corruption in a
  // small cluster: not before one mean gap, so that there are snapshot
  // files and released segments to corrupt.
  if (const int64_t mean = Every(kCorrupt); mean > 0) {
    world_->ScheduleTimer(mean + static_cast<int64_t>(prng_.InRange(
                                     1, static_cast<uint64_t>(mean))),
                          this, Token(kCorrupt, 0));
  }
}

int64_t Nemesis::Every(Kind kind) const {
  switch (kind) {
    case kPartition:
      return rates_.partition_every_us;
    case kCrash:
      return rates_.crash_every_us;
    case kPause:
      return rates_.pause_every_us;
    case kSyncFailure:
      return rates_.sync_failure_every_us;
    case kNoSpace:
      return rates_.no_space_every_us;
    case kCorrupt:
      return rates_.corrupt_every_us;
    default:
      return 0;
  }
}

void Nemesis::ScheduleNext(Kind kind) {
  const uint64_t mean = static_cast<uint64_t>(Every(kind));
  world_->ScheduleTimer(static_cast<int64_t>(prng_.InRange(1, 2 * mean)), this,
                        Token(kind, 0));
}

void Nemesis::OnTimer(uint64_t token) {
  const Kind kind = static_cast<Kind>(token >> 56);
  const uint64_t arg = token & ((uint64_t{1} << 56) - 1);
  // Heals always run; new faults only while the safety phase lasts.
  switch (kind) {
    case kHealPartition:
      if (arg == partition_generation_) world_->HealPartitions();
      return;
    case kRestart:
      world_->Restart(arg);
      return;
    case kResume:
      world_->Resume(arg);
      return;
    case kSpace:
      world_->SetNoSpace(arg, false);
      return;
    default:
      break;
  }
  if (stopped_) return;
  if (kind == kScripted) {
    if (arg < schedule_.size()) ApplyScripted(schedule_[arg]);
    return;
  }
  if (kind == kWatchLeaders) {
    WatchLeaders();
    world_->ScheduleTimer(kLeaderPollUs, this, Token(kWatchLeaders, 0));
    return;
  }
  if (kind == kIsolateNewLeader) return IsolateNewLeader(arg);
  if (kind == kPartition) Partition();
  if (kind == kCrash) CrashOne();
  if (kind == kPause) PauseOne();
  if (kind == kSyncFailure) {
    if (uint64_t id = PickUp(); id != 0) world_->ArmSyncFailure(id);
  }
  if (kind == kCorrupt) {
    if (uint64_t id = PickUp(); id != 0 && world_->CorruptDisk(id)) {
      world_->ScheduleTimer(
          static_cast<int64_t>(prng_.InRange(1000, rates_.down_max_us)), this,
          Token(kRestart, id));
    }
  }
  if (kind == kNoSpace) {
    if (uint64_t id = PickUp(); id != 0) {
      world_->SetNoSpace(id, true);
      world_->ScheduleTimer(
          static_cast<int64_t>(prng_.InRange(1, rates_.no_space_max_us)), this,
          Token(kSpace, id));
    }
  }
  ScheduleNext(kind);
}

std::string ScheduledFault::Describe() const {
  static const char* const names[kKinds] = {
      "partition", "heal", "crash",  "crash-torn", "restart", "pause",
      "resume",    "eio",  "enospc", "space",      "corrupt", "network"};
  return absl::StrCat(FormatTime(at_us), " ", names[kind], " n", node,
                      " arg=", arg);
}

std::vector<ScheduledFault> DecodeSchedule(const uint8_t* data, size_t size,
                                           int nodes, int64_t span_us) {
  std::vector<ScheduledFault> schedule;
  int64_t at = 0;
  for (size_t i = 0; i + 3 <= size; i += 3) {
    at += (int64_t{data[i]} + 1) * 10000;  // 10 ms .. 2.56 s later
    if (at >= span_us) break;
    ScheduledFault f;
    f.at_us = at;
    f.kind =
        static_cast<ScheduledFault::Kind>(data[i + 1] % ScheduledFault::kKinds);
    f.node = 1 + data[i + 2] % static_cast<uint8_t>(nodes);
    f.arg = data[i + 2];
    schedule.push_back(f);
  }
  return schedule;
}

void Nemesis::Play(std::vector<ScheduledFault> schedule) {
  schedule_ = std::move(schedule);
  for (size_t i = 0; i < schedule_.size(); ++i) {
    world_->ScheduleTimer(schedule_[i].at_us - world_->now(), this,
                          Token(kScripted, i));
  }
}

void Nemesis::ApplyScripted(const ScheduledFault& f) {
  const uint64_t id = f.node;
  switch (f.kind) {
    case ScheduledFault::kPartition:
      return Partition(f.arg);
    case ScheduledFault::kHeal:
      return world_->HealPartitions();
    case ScheduledFault::kCrash:
    case ScheduledFault::kCrashTorn:
      return world_->Crash(id, f.kind == ScheduledFault::kCrashTorn);
    case ScheduledFault::kRestart:
      return world_->Restart(id);
    case ScheduledFault::kPause:
      return world_->Pause(id);
    case ScheduledFault::kResume:
      return world_->Resume(id);
    case ScheduledFault::kSyncFailure:
      return world_->ArmSyncFailure(id);
    case ScheduledFault::kNoSpace:
      if (world_->up(id)) world_->SetNoSpace(id, true);
      return;
    case ScheduledFault::kSpace:
      return world_->SetNoSpace(id, false);
    case ScheduledFault::kCorrupt:
      (void)world_->CorruptDisk(id);
      return;
    case ScheduledFault::kNetwork: {
      NetworkFaults n = world_->network();
      n.drop_permille = (f.arg & 3) * 50;
      n.duplicate_permille = (f.arg >> 2 & 3) * 30;
      n.reorder_permille = (f.arg >> 4 & 3) * 60;
      world_->set_network(n);
      return;
    }
    case ScheduledFault::kKinds:
      return;
  }
}

void Nemesis::Partition(std::optional<uint64_t> shape) {
  std::vector<uint64_t> ids = world_->ids();
  if (ids.size() < 2) return;
  world_->HealPartitions();
  ++partition_generation_;
  // Fisher-Yates with our own prng: std::shuffle's use of the generator
  // is not specified, so it could differ between standard libraries.
  for (size_t i = ids.size() - 1; i > 0; --i) {
    std::swap(ids[i], ids[prng_.Uniform(i + 1)]);
  }
  switch (shape.has_value() ? *shape % 4 : prng_.Uniform(4)) {
    case 0:
      SplitInTwo(ids);
      break;
    case 1:
      IsolateLeader();
      break;
    case 2:
      OneWay();
      break;
    default:
      Bridge(ids);
      break;
  }
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(1, rates_.partition_max_us)), this,
      Token(kHealPartition, partition_generation_));
}

// Majority/minority (or halves): no message crosses the cut.
void Nemesis::SplitInTwo(std::vector<uint64_t> ids) {
  const size_t cut = prng_.InRange(1, ids.size() - 1);
  for (size_t i = 0; i < cut; ++i) {
    for (size_t j = cut; j < ids.size(); ++j) {
      world_->Block(ids[i], ids[j]);
      world_->Block(ids[j], ids[i]);
    }
  }
}

void Nemesis::IsolateLeader() {
  uint64_t leader = 0;
  for (uint64_t id : world_->ids()) {
    const server::Node* n = world_->node(id);
    if (n != nullptr && n->GetStatus().is_leader) leader = id;
  }
  if (leader == 0) leader = world_->ids()[prng_.Uniform(world_->ids().size())];
  for (uint64_t id : world_->ids()) {
    if (id == leader) continue;
    world_->Block(leader, id);
    world_->Block(id, leader);
  }
}

// Some ordered pairs lose their messages in one direction only.
void Nemesis::OneWay() {
  const std::vector<uint64_t>& ids = world_->ids();
  for (uint64_t from : ids) {
    for (uint64_t to : ids) {
      if (from != to && prng_.OneIn(3)) world_->Block(from, to);
    }
  }
}

// Two sides that cannot talk, and one node that talks to both.
void Nemesis::Bridge(std::vector<uint64_t> ids) {
  if (ids.size() < 3) return SplitInTwo(ids);
  ids.pop_back();  // the bridge
  SplitInTwo(std::move(ids));
}

void Nemesis::WatchLeaders() {
  for (uint64_t id : world_->ids()) {
    const server::Node* n = world_->node(id);
    if (n == nullptr || world_->paused(id)) continue;
    const server::NodeStatus s = n->GetStatus();
    if (!s.is_leader || s.term <= leader_term_seen_) continue;
    leader_term_seen_ = s.term;
    if (!prng_.Chance(rates_.isolate_new_leader_permille, 1000)) continue;
    world_->ScheduleTimer(static_cast<int64_t>(prng_.InRange(
                              0, rates_.new_leader_delay_max_us)),
                          this, Token(kIsolateNewLeader, id));
  }
}

void Nemesis::IsolateNewLeader(uint64_t id) {
  const server::Node* n = world_->node(id);
  if (n == nullptr || !n->GetStatus().is_leader) return;
  world_->HealPartitions();
  ++partition_generation_;
  for (uint64_t other : world_->ids()) {
    if (other == id) continue;
    world_->Block(id, other);
    world_->Block(other, id);
  }
  // Cut off until the next new leader is (which heals this), or long enough
  // for the rest to elect one (an election timeout is 1..2 s) and then some.
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(kNewLeaderCutMinUs, kNewLeaderCutMaxUs)),
      this, Token(kHealPartition, partition_generation_));
}

void Nemesis::CrashOne() {
  const uint64_t id = PickUp();
  if (id == 0) return;
  world_->Crash(id, prng_.Chance(rates_.crash_torn_permille, 1000));
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(1000, rates_.down_max_us)), this,
      Token(kRestart, id));
}

void Nemesis::PauseOne() {
  const uint64_t id = PickUp();
  if (id == 0 || world_->paused(id)) return;
  world_->Pause(id);
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(1000, rates_.pause_max_us)), this,
      Token(kResume, id));
}

uint64_t Nemesis::PickUp() {
  std::vector<uint64_t> up;
  for (uint64_t id : world_->ids()) {
    if (world_->up(id)) up.push_back(id);
  }
  return up.empty() ? 0 : up[prng_.Uniform(up.size())];
}

}  // namespace etcdpp::sim
