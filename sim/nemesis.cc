#include "sim/nemesis.h"

#include <algorithm>
#include <utility>

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
      if (arg == partition_generation_) {
        Record(ScheduledFault::kHeal, 1);
        world_->HealPartitions();
      }
      return;
    case kRestart:
      Record(ScheduledFault::kRestart, arg);
      world_->Restart(arg);
      return;
    case kResume:
      Record(ScheduledFault::kResume, arg);
      world_->Resume(arg);
      return;
    case kSpace:
      Record(ScheduledFault::kSpace, arg);
      world_->SetNoSpace(arg, false);
      return;
    default:
      break;
  }
  if (kind == kScripted && arg < schedule_.size()) {
    const ScheduledFault& f = schedule_[arg];
    const bool heal = f.kind == ScheduledFault::kHeal ||
                      f.kind == ScheduledFault::kRestart ||
                      f.kind == ScheduledFault::kResume ||
                      f.kind == ScheduledFault::kSpace;
    if (!stopped_ || heal) ApplyScripted(f);
    return;
  }
  if (stopped_ || kind == kScripted) return;
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
    if (uint64_t id = PickUp(); id != 0) {
      Record(ScheduledFault::kSyncFailure, id);
      world_->ArmSyncFailure(id);
    }
  }
  if (kind == kCorrupt) {
    const uint64_t id = PickUp();
    if (id != 0) Record(ScheduledFault::kCorrupt, id);
    if (id != 0 && world_->CorruptDisk(id)) {
      world_->ScheduleTimer(
          static_cast<int64_t>(prng_.InRange(1000, rates_.down_max_us)), this,
          Token(kRestart, id));
    }
  }
  if (kind == kNoSpace) {
    if (uint64_t id = PickUp(); id != 0) {
      Record(ScheduledFault::kNoSpace, id);
      world_->SetNoSpace(id, true);
      world_->ScheduleTimer(
          static_cast<int64_t>(prng_.InRange(1, rates_.no_space_max_us)), this,
          Token(kSpace, id));
    }
  }
  ScheduleNext(kind);
}

namespace {
constexpr const char* kKindNames[ScheduledFault::kKinds] = {
    "partition", "heal", "crash",  "crash-torn", "restart", "pause",
    "resume",    "eio",  "enospc", "space",      "corrupt", "network"};
}  // namespace

const char* ScheduledFaultKindName(ScheduledFault::Kind kind) {
  return kind < ScheduledFault::kKinds ? kKindNames[kind] : "?";
}

std::optional<ScheduledFault::Kind> ScheduledFaultKindFromName(
    std::string_view name) {
  for (int k = 0; k < ScheduledFault::kKinds; ++k) {
    if (name == kKindNames[k]) return static_cast<ScheduledFault::Kind>(k);
  }
  return std::nullopt;
}

std::string ScheduledFault::Describe() const {
  std::string out = absl::StrCat(FormatTime(at_us), " ",
                                 ScheduledFaultKindName(kind), " n", node,
                                 " arg=", arg);
  for (const auto& [from, to] : links) absl::StrAppend(&out, " ", from, ">", to);
  return out;
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

void Nemesis::Record(ScheduledFault::Kind kind, uint64_t node,
                     std::vector<std::pair<uint64_t, uint64_t>> links) {
  ScheduledFault f;
  f.at_us = world_->now();
  f.kind = kind;
  // Cluster-wide kinds name no member (files leave it out): always n1.
  const bool clusterwide = kind == ScheduledFault::kPartition ||
                           kind == ScheduledFault::kHeal ||
                           kind == ScheduledFault::kNetwork;
  f.node = clusterwide ? 1 : node;
  f.links = std::move(links);
  recorded_.push_back(std::move(f));
}

void Nemesis::Block(uint64_t from, uint64_t to) {
  links_.emplace_back(from, to);
  world_->Block(from, to);
}

// A recorded partition: exactly its links, healed only by the schedule.
void Nemesis::PartitionLinks(const ScheduledFault& f) {
  world_->HealPartitions();
  ++partition_generation_;
  for (const auto& [from, to] : f.links) Block(from, to);
  Record(ScheduledFault::kPartition, f.node, std::exchange(links_, {}));
}

void Nemesis::ApplyScripted(const ScheduledFault& f) {
  const uint64_t id = f.node;
  // Kinds that need no resolving are recorded as they come.
  if (f.kind != ScheduledFault::kPartition &&
      f.kind != ScheduledFault::kNetwork) {
    Record(f.kind, id);
  }
  switch (f.kind) {
    case ScheduledFault::kPartition:
      if (!f.links.empty()) return PartitionLinks(f);
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
      Record(f.kind, id);
      recorded_.back().arg = f.arg;
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
  links_.clear();
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
  // Recorded as what it did: the links it blocked, or (none) a heal.
  if (links_.empty()) {
    Record(ScheduledFault::kHeal, 1);
  } else {
    Record(ScheduledFault::kPartition, 1, std::exchange(links_, {}));
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
      Block(ids[i], ids[j]);
      Block(ids[j], ids[i]);
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
    Block(leader, id);
    Block(id, leader);
  }
}

// Some ordered pairs lose their messages in one direction only.
void Nemesis::OneWay() {
  const std::vector<uint64_t>& ids = world_->ids();
  for (uint64_t from : ids) {
    for (uint64_t to : ids) {
      if (from != to && prng_.OneIn(3)) Block(from, to);
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
  links_.clear();
  for (uint64_t other : world_->ids()) {
    if (other == id) continue;
    Block(id, other);
    Block(other, id);
  }
  Record(ScheduledFault::kPartition, 1, std::exchange(links_, {}));
  // Cut off until the next new leader is (which heals this), or long enough
  // for the rest to elect one (an election timeout is 1..2 s) and then some.
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(kNewLeaderCutMinUs, kNewLeaderCutMaxUs)),
      this, Token(kHealPartition, partition_generation_));
}

void Nemesis::CrashOne() {
  const uint64_t id = PickUp();
  if (id == 0) return;
  const bool torn = prng_.Chance(rates_.crash_torn_permille, 1000);
  Record(torn ? ScheduledFault::kCrashTorn : ScheduledFault::kCrash, id);
  world_->Crash(id, torn);
  world_->ScheduleTimer(
      static_cast<int64_t>(prng_.InRange(1000, rates_.down_max_us)), this,
      Token(kRestart, id));
}

void Nemesis::PauseOne() {
  const uint64_t id = PickUp();
  if (id == 0 || world_->paused(id)) return;
  Record(ScheduledFault::kPause, id);
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
