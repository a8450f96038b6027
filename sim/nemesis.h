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

#include <cstdint>
#include <vector>

#include "base/prng.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace etcdpp::sim {

class Nemesis final : public World::Listener {
 public:
  // `world` must outlive the nemesis.
  Nemesis(World* world, const FaultRates& rates);

  // Schedules the first injection of each enabled fault kind.
  void Start();
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
  };
  static uint64_t Token(Kind kind, uint64_t arg) { return kind << 56 | arg; }
  void ScheduleNext(Kind kind);
  int64_t Every(Kind kind) const;
  void Partition();
  void SplitInTwo(std::vector<uint64_t> ids);
  void IsolateLeader();
  void OneWay();
  void Bridge(std::vector<uint64_t> ids);
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
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_NEMESIS_H_
