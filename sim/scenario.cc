#include "sim/scenario.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/prng.h"
#include "sim/trace.h"

namespace etcdpp::sim {
namespace {

// A fault kind is on with probability 2/3, at a mean gap in [lo, hi]: swarm
// testing wants some seeds without each fault.
int64_t MaybeEvery(base::Prng& prng, int64_t lo_us, int64_t hi_us) {
  if (prng.OneIn(3)) return 0;
  return static_cast<int64_t>(prng.InRange(lo_us, hi_us));
}

uint32_t MaybePermille(base::Prng& prng, uint32_t max) {
  if (prng.OneIn(3)) return 0;
  return static_cast<uint32_t>(prng.InRange(1, max));
}

NetworkFaults DrawNetwork(base::Prng& prng) {
  NetworkFaults n;
  n.latency_min_us = static_cast<int64_t>(prng.InRange(100, 2000));
  n.latency_max_us =
      n.latency_min_us + static_cast<int64_t>(prng.InRange(0, 30000));
  n.drop_permille = MaybePermille(prng, 150);
  n.duplicate_permille = MaybePermille(prng, 100);
  n.reorder_permille = MaybePermille(prng, 200);
  return n;
}

FaultRates DrawFaults(base::Prng& prng) {
  FaultRates f;
  f.partition_every_us = MaybeEvery(prng, 1000000, 6000000);
  f.crash_every_us = MaybeEvery(prng, 1500000, 8000000);
  f.crash_torn_permille = static_cast<uint32_t>(prng.InRange(0, 1000));
  f.pause_every_us = MaybeEvery(prng, 2000000, 10000000);
  // Disk faults halt a node: rarer, and off more often.
  f.sync_failure_every_us =
      prng.OneIn(2) ? 0 : MaybeEvery(prng, 3000000, 15000000);
  f.no_space_every_us = prng.OneIn(2) ? 0 : MaybeEvery(prng, 3000000, 15000000);
  return f;
}

WorkloadMix DrawWorkload(base::Prng& prng) {
  WorkloadMix w;
  w.clients = static_cast<int>(prng.InRange(1, 8));
  w.think_max_us = static_cast<int64_t>(prng.InRange(1000, 400000));
  w.client_timeout_us = static_cast<int64_t>(prng.InRange(1000000, 6000000));
  w.keys = static_cast<int>(prng.InRange(2, 5));
  w.put = static_cast<uint32_t>(prng.InRange(5, 40));
  w.get_linearizable = static_cast<uint32_t>(prng.InRange(5, 40));
  w.get_serializable = static_cast<uint32_t>(prng.InRange(0, 20));
  w.del = static_cast<uint32_t>(prng.InRange(0, 15));
  w.cas = static_cast<uint32_t>(prng.InRange(0, 25));
  w.multi_key = static_cast<uint32_t>(prng.InRange(0, 15));
  return w;
}

}  // namespace

Scenario Scenario::Draw(uint64_t seed) {
  base::Prng prng(seed ^ 0x5ce7a110ULL);
  Scenario s;
  s.seed = seed;
  const int sizes[] = {1, 3, 3, 5, 5};
  s.nodes = sizes[prng.Uniform(5)];
  s.drift_permille_max = MaybePermille(prng, 80);
  s.disk_latency_min_us = static_cast<int64_t>(prng.InRange(10, 2000));
  s.disk_latency_max_us =
      s.disk_latency_min_us + static_cast<int64_t>(prng.InRange(0, 20000));
  s.safety_us = static_cast<int64_t>(prng.InRange(4, 15)) * 1000000;
  s.network = DrawNetwork(prng);
  s.faults = DrawFaults(prng);
  s.workload = DrawWorkload(prng);
  // Drawn last, so the draws above (and the scenarios of older seeds) stay
  // as they were.
  if (!prng.OneIn(2)) {
    // The smallest of three draws: skewed low, so that a follower down or cut
    // off for a few seconds falls behind the compacted log often enough.
    s.snapshot_count = std::min(
        {prng.InRange(20, 200), prng.InRange(20, 200), prng.InRange(20, 200)});
    s.snapshot_catchup_entries = std::min(
        {prng.InRange(5, 50), prng.InRange(5, 50), prng.InRange(5, 50)});
    s.snapshots_to_keep = static_cast<size_t>(prng.InRange(1, 5));
  }
  // Seven members for one seed in eight (drawn here, after everything
  // older seeds drew, so their other draws stay as they were).
  if (prng.OneIn(8)) s.nodes = 7;
  // Heavy client load for one seed in four: many clients, short think
  // times, so logs grow past snapshot_count, get compacted, and followers
  // that fall behind catch up by snapshot.
  // Over more keys and without two-key txns, so the linearizability
  // search has many small independent groups, not one it cannot finish.
  if (prng.OneIn(4)) {
    s.workload.clients = static_cast<int>(prng.InRange(6, 12));
    s.workload.think_max_us = static_cast<int64_t>(prng.InRange(2000, 30000));
    s.workload.keys = static_cast<int>(prng.InRange(6, 12));
    s.workload.multi_key = 0;
  }
  s.faults.corrupt_every_us =
      s.nodes >= 3 && prng.OneIn(3) ? MaybeEvery(prng, 2000000, 10000000) : 0;
  // Leaders cut off soon after election for one seed in six.
  if (prng.OneIn(6)) {
    s.faults.isolate_new_leader_permille =
        static_cast<uint32_t>(prng.InRange(200, 1000));
    s.faults.new_leader_delay_max_us =
        static_cast<int64_t>(prng.InRange(1000, 300000));
  }
  // Small appends for one seed in four, one entry per message for half of
  // those: Figure 8's states (see max_msg_bytes).
  if (prng.OneIn(4)) {
    s.max_msg_bytes = prng.OneIn(2) ? 1 : prng.InRange(64, 4096);
  }
  // Watch and lease clients, 0..3 each (drawn after everything older seeds
  // drew).
  s.workload.watchers = static_cast<int>(prng.InRange(0, 3));
  s.workload.lease_clients = static_cast<int>(prng.InRange(0, 3));
  // Membership churn for one seed in three (after every older draw).
  if (prng.OneIn(3)) {
    s.churn_every_us = static_cast<int64_t>(prng.InRange(1000000, 5000000));
  }
  // Range reads over [k0, k2) where two-key txns already join those keys.
  if (s.workload.multi_key > 0 && !prng.OneIn(3)) {
    s.workload.range = static_cast<uint32_t>(prng.InRange(1, 15));
  }
  // Duplicated forwarded proposals for half the seeds that duplicate.
  if (s.network.duplicate_permille > 0 && prng.OneIn(2)) {
    s.network.duplicate_proposals = true;
  }
  // Auto-compaction for one seed in three, either mode.
  if (prng.OneIn(3)) {
    if (prng.OneIn(2)) {
      s.compaction_retention_us =
          static_cast<int64_t>(prng.InRange(500, 4000)) * 1000;
    } else {
      s.compaction_revisions = static_cast<int64_t>(prng.InRange(5, 200));
    }
  }
  return s;
}

std::string Scenario::Describe() const {
  const FaultRates& f = faults;
  const NetworkFaults& n = network;
  auto every = [](int64_t us) {
    return us == 0 ? std::string("off") : FormatTime(us);
  };
  return absl::StrCat(
      "nodes=", nodes, " safety=", FormatTime(safety_us),
      " liveness=", FormatTime(liveness_us), " drift=", drift_permille_max,
      "/1000 disk=", disk_latency_min_us, "..", disk_latency_max_us,
      "us net=", n.latency_min_us, "..", n.latency_max_us,
      "us drop=", n.drop_permille, " dup=", n.duplicate_permille,
      n.duplicate_proposals ? "(+proposals)" : "",
      " reorder=", n.reorder_permille,
      " partition=", every(f.partition_every_us),
      " crash=", every(f.crash_every_us), "(torn ", f.crash_torn_permille,
      "/1000) pause=", every(f.pause_every_us),
      " eio=", every(f.sync_failure_every_us),
      " enospc=", every(f.no_space_every_us),
      " corrupt=", every(f.corrupt_every_us),
      " isolate_new_leader=", f.isolate_new_leader_permille, "/1000(<",
      FormatTime(f.new_leader_delay_max_us), ")",
      " churn=", every(churn_every_us), " clients=", workload.clients,
      " keys=", workload.keys, " mix=put:", workload.put,
      ",lin:", workload.get_linearizable, ",ser:", workload.get_serializable,
      ",del:", workload.del, ",cas:", workload.cas,
      ",multi:", workload.multi_key, ",range:", workload.range,
      " watchers=", workload.watchers,
      " lease_clients=", workload.lease_clients, " snap=", snapshot_count,
      "/catchup ", snapshot_catchup_entries, "/keep ", snapshots_to_keep,
      " msg=", max_msg_bytes, "B",
      compaction_retention_us > 0
          ? absl::StrCat(" compact=periodic ",
                         FormatTime(compaction_retention_us))
          : compaction_revisions > 0
                ? absl::StrCat(" compact=revision ", compaction_revisions)
                : "",
      planted_bug.empty() ? "" : " BUG=", planted_bug);
}

}  // namespace etcdpp::sim
