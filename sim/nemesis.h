// Nemesis: injects the scenario's faults into a World during the safety
// phase -- partitions of every shape, crashes (clean or torn), pauses, fsync
// EIO and ENOSPC -- each kind at random gaps around its mean, each healed
// after a random while -- and corruption of synced data, one member at a
// time and never so many that a majority's copies are touched. Only faults
// Raft claims to survive are injected, so any lost acknowledged write is a
// bug.
//
// Deterministic: its own Prng, forked from the world's. Not thread-safe.
#ifndef ETCDPP_SIM_NEMESIS_H_
#define ETCDPP_SIM_NEMESIS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/prng.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace etcdpp::sim {

// One fault of an explicit schedule: the same faults the seeded nemesis
// draws, at given times, so that a fuzzer's bytes (or a shrinker) can choose
// them.
struct ScheduledFault {
  enum Kind : uint8_t {
    // With `links`: heals, then blocks exactly those links, in that order
    // (a recorded partition) and heals only by a later kHeal. Without:
    // arg % 4 picks split in two, isolate leader, one-way or bridge, drawn
    // by the nemesis, which also heals it after a drawn while.
    kPartition,
    kHeal,       // heal partitions
    kCrash,
    kCrashTorn,
    kRestart,
    kPause,
    kResume,
    kSyncFailure,  // next fsync of node fails with EIO
    kNoSpace,
    kSpace,
    kCorrupt,  // World::CorruptDisk
    kNetwork,  // arg: drop, duplicate, reorder levels
    kKinds,
  };
  int64_t at_us = 0;
  Kind kind = kHeal;
  uint64_t node = 1;  // a member id
  uint8_t arg = 0;
  // kPartition only: the (from, to) links blocked, in order.
  std::vector<std::pair<uint64_t, uint64_t>> links;

  std::string Describe() const;
  bool operator==(const ScheduledFault& other) const = default;
};

// The name of a kind in schedules and scenario files ("crash-torn"), and
// back; nullopt for an unknown name.
const char* ScheduledFaultKindName(ScheduledFault::Kind kind);
std::optional<ScheduledFault::Kind> ScheduledFaultKindFromName(
    std::string_view name);

// Decodes bytes into a schedule over [0, span_us) of a cluster of `nodes`:
// three bytes per fault (gap, kind, node and argument); what does not fill
// a fault is ignored. Every byte string is a valid schedule.
std::vector<ScheduledFault> DecodeSchedule(const uint8_t* data, size_t size,
                                           int nodes, int64_t span_us);

class Nemesis final : public World::Listener {
 public:
  // `world` must outlive the nemesis.
  Nemesis(World* world, const FaultRates& rates);

  // Schedules the first injection of each enabled fault kind.
  void Start();
  // Plays an explicit schedule instead of (or besides) the drawn faults.
  // Its heals (kHeal, kRestart, kResume, kSpace) still run after Stop(),
  // as the drawn faults' heals do; new faults do not.
  void Play(std::vector<ScheduledFault> schedule);
  // Every fault this nemesis injected, drawn or scripted, resolved to what
  // it did (which node; a partition's links; each heal when it happened),
  // in order: played back with the rates at 0 it injects the same faults
  // at the same times, so a failing seed becomes an explicit schedule that
  // a shrinker can cut down. A drawn heal that found nothing to heal is
  // recorded too (harmless, and it keeps the trace the same).
  const std::vector<ScheduledFault>& recorded() const { return recorded_; }
  // No new faults from now on; World::HealAll ends those in force.
  void Stop() { stopped_ = true; }
  void OnTimer(uint64_t token) override;

 private:
  enum Kind : uint64_t {
    kPartition = 1,
    kHealPartition,
    kCrash,
    kRestart,
    kPause,
    kResume,
    kSyncFailure,
    kNoSpace,
    kSpace,
    kCorrupt,
    kScripted,
    kWatchLeaders,
    kIsolateNewLeader,
  };
  static uint64_t Token(Kind kind, uint64_t arg) { return kind << 56 | arg; }
  void ScheduleNext(Kind kind);
  int64_t Every(Kind kind) const;
  // shape (mod 4) picks the partition's shape; nullopt draws it.
  void Partition(std::optional<uint64_t> shape = std::nullopt);
  void ApplyScripted(const ScheduledFault& fault);
  void PartitionLinks(const ScheduledFault& fault);
  // world_->Block, noted in the partition being recorded.
  void Block(uint64_t from, uint64_t to);
  void Record(ScheduledFault::Kind kind, uint64_t node,
              std::vector<std::pair<uint64_t, uint64_t>> links = {});
  void SplitInTwo(std::vector<uint64_t> ids);
  void IsolateLeader();
  void OneWay();
  void Bridge(std::vector<uint64_t> ids);
  // Polls for a newly elected leader and maybe cuts it off
  // (FaultRates::isolate_new_leader_permille).
  void WatchLeaders();
  void IsolateNewLeader(uint64_t id);
  void CrashOne();
  void PauseOne();
  // A random up node, or 0.
  uint64_t PickUp();

  World* const world_;
  const FaultRates rates_;
  base::Prng prng_;
  bool stopped_ = false;
  // Heals only the partition it was scheduled for, not a newer one.
  uint64_t partition_generation_ = 0;
  // The highest term of a leader WatchLeaders has seen.
  uint64_t leader_term_seen_ = 0;
  std::vector<ScheduledFault> schedule_;
  std::vector<ScheduledFault> recorded_;
  std::vector<std::pair<uint64_t, uint64_t>> links_;  // being blocked now
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_NEMESIS_H_
