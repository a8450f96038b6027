// AutoCompactor: etcd's --auto-compaction-mode / --auto-compaction-retention,
// decided from ticks.
//
// It only decides; the node proposes the compaction through raft while it
// leads (as etcd's compactor runs only on the leader). Both modes follow
// etcd's v3compactor:
//
//   periodic, retention P: the current revision is sampled every
//     min(P, 1 hour) / 10; the first compaction comes P after start, to the
//     revision sampled P ago, and then one every min(P, 1 hour), each to the
//     oldest sample still inside the window.
//   revision, retention N: every 5 minutes, compact to current - N when
//     that is positive and moved since the last compaction.
//
// Durations arrive already converted to ticks (the driver knows the tick
// length), so this class is pure arithmetic on the tick count.
#ifndef ETCDPP_SERVER_NODE_AUTO_COMPACTOR_H_
#define ETCDPP_SERVER_NODE_AUTO_COMPACTOR_H_

#include <cstdint>
#include <deque>
#include <optional>

namespace etcdpp::server {

struct AutoCompactionOptions {
  enum class Mode { kOff, kPeriodic, kRevision };
  Mode mode = Mode::kOff;
  // periodic: the retention window, in ticks (> 0).
  int64_t retention_ticks = 0;
  // periodic: compactions are at most this many ticks apart (1 hour).
  int64_t interval_cap_ticks = 0;
  // revision: how many revisions to keep (> 0).
  int64_t retention_revisions = 0;
  // revision: ticks between checks (5 minutes).
  int64_t revision_check_ticks = 0;
};

class AutoCompactor {
 public:
  explicit AutoCompactor(AutoCompactionOptions options);

  // One tick passed; `revision` is the store's current revision. Returns the
  // revision to compact to when a compaction is due and `leader` holds; a
  // follower keeps sampling but never compacts.
  std::optional<int64_t> Tick(int64_t revision, bool leader);

 private:
  std::optional<int64_t> TickPeriodic(int64_t revision, bool leader);
  std::optional<int64_t> TickRevision(int64_t revision, bool leader);

  const AutoCompactionOptions options_;
  int64_t now_ = 0;  // ticks since start
  // periodic
  int64_t sample_every_ = 1;
  size_t samples_kept_ = 1;
  std::deque<int64_t> samples_;  // samples_.front() is the oldest
  int64_t last_success_ = 0;
  int64_t wait_ = 0;  // P before the first compaction, then the interval
  // revision
  int64_t last_revision_ = 0;
};

}  // namespace etcdpp::server

#endif  // ETCDPP_SERVER_NODE_AUTO_COMPACTOR_H_
