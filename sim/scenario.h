// Scenario: everything a seed decides about one simulated run.
//
// Swarm testing (TigerBeetle, Groce et al.): instead of one fixed fault mix,
// each seed draws its own cluster size, fault kinds and rates, workload mix
// and durations, so a sweep over seeds explores many combinations, some
// with a fault turned off entirely (which is how rare interleavings of the
// others get reached). Draw() is a pure function of the seed; flags may
// then override fields before the run.
#ifndef ETCDPP_SIM_SCENARIO_H_
#define ETCDPP_SIM_SCENARIO_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace etcdpp::sim {

// Network behaviour while faults are on; the liveness phase uses none.
struct NetworkFaults {
  int64_t latency_min_us = 200;
  int64_t latency_max_us = 2000;
  uint32_t drop_permille = 0;
  uint32_t duplicate_permille = 0;
  // Whether forwarded proposals (MsgProp) may be duplicated too. The
  // production transport (TCP) never duplicates them, but the applier
  // skips a request id it applied already (it once applied a duplicate
  // twice: known_bugs_test.cc, seed 132); drawn on for half the seeds that
  // duplicate messages.
  bool duplicate_proposals = false;
  // A reordered message is held back by up to reorder_delay_max_us more.
  uint32_t reorder_permille = 0;
  int64_t reorder_delay_max_us = 50000;
};

// Mean gaps between fault injections; 0 turns a fault kind off.
struct FaultRates {
  int64_t partition_every_us = 0;
  int64_t partition_max_us = 3000000;  // how long before it heals
  int64_t crash_every_us = 0;
  uint32_t crash_torn_permille = 0;  // crashes that tear unsynced writes
  int64_t down_max_us = 3000000;     // how long a crashed node stays down
  int64_t pause_every_us = 0;
  int64_t pause_max_us = 2000000;
  // EIO on an fsync (the node must halt) and ENOSPC on writes.
  int64_t sync_failure_every_us = 0;
  int64_t no_space_every_us = 0;
  int64_t no_space_max_us = 1000000;
  // Corruption of a node's synced data (World::CorruptDisk), then a
  // restart: refused starts leave members down for good, never a majority.
  int64_t corrupt_every_us = 0;
  // Each leader the nemesis sees newly elected is cut off from everyone
  // with this chance, up to new_leader_delay_max_us later: leaders lose
  // office before their entries spread, again and again -- the schedules of
  // the Raft paper's Figure 8, which independent partitions reach rarely.
  uint32_t isolate_new_leader_permille = 0;
  int64_t new_leader_delay_max_us = 200000;
};

// Relative weights of client operations.
struct WorkloadMix {
  int clients = 4;
  int64_t think_max_us = 200000;
  // A client gives up on an operation after this long; the outcome of a
  // write it gave up on is unknown.
  int64_t client_timeout_us = 4000000;
  int keys = 5;
  uint32_t put = 30;
  uint32_t get_linearizable = 25;
  uint32_t get_serializable = 10;
  uint32_t del = 10;
  uint32_t cas = 15;
  // Reads one key and writes another in one txn: joins two key groups.
  uint32_t multi_key = 10;
  // A linearizable range read of [k0, k2): joins those keys' groups, so
  // drawn only where multi_key already joins them.
  uint32_t range = 0;
  // Watch clients (sim/watchers.h) and lease clients (sim/lease_clients.h);
  // their operations are outside the linearizability history.
  int watchers = 0;
  int lease_clients = 0;
};

struct Scenario {
  uint64_t seed = 0;
  int nodes = 3;
  int64_t heartbeat_us = 100000;  // one Tick
  // Per-node tick-rate drift is drawn within +-drift_permille_max.
  uint32_t drift_permille_max = 0;
  int64_t disk_latency_min_us = 50;
  int64_t disk_latency_max_us = 5000;
  int64_t safety_us = 10000000;
  int64_t liveness_us = 6000000;
  NetworkFaults network;
  FaultRates faults;
  WorkloadMix workload;
  // The node's snapshot settings (NodeOptions). The defaults are
  // production's (no snapshot within a run); Draw picks small values for
  // about half the seeds, so snapshots, log compaction, WAL release and
  // catch-up by snapshot happen under faults.
  uint64_t snapshot_count = 100000;
  uint64_t snapshot_catchup_entries = 5000;
  size_t snapshots_to_keep = 5;
  // The byte budget of one raft MsgApp's entries (NodeOptions
  // max_size_per_msg; at least one entry always goes). Production's 1 MiB
  // sends a new leader's whole tail in one message; a tiny budget (Draw
  // picks 1 byte for some seeds) sends one entry per message, so a follower
  // can hold an old term's entry without the new leader's own -- the state
  // of the Raft paper's Figure 8.
  uint64_t max_msg_bytes = 1 << 20;
  // Membership churn (sim/churn.h): the mean gap between changes; 0 for
  // none. Drawn on for about one seed in three.
  int64_t churn_every_us = 0;
  // Auto-compaction of the kv history (NodeOptions.auto_compaction, etcd's
  // --auto-compaction-mode and -retention), proposed by the leader:
  // periodic with this retention window when compaction_retention_us > 0,
  // else revision mode keeping compaction_revisions when that is > 0
  // (checked every second here, not every 5 minutes as etcd); both 0: off,
  // production's default. Drawn on for about one seed in three, so watchers
  // are canceled by compaction, and snapshots and catch-up carry compacted
  // stores.
  int64_t compaction_retention_us = 0;
  int64_t compaction_revisions = 0;
  // The planted bug (sim/planted_bugs.h) turned on in every node; empty
  // for none. Never drawn: only --bug sets it.
  std::string planted_bug;

  // Draws the scenario of `seed` (a pure function of it).
  static Scenario Draw(uint64_t seed);
  // One line: "nodes=3 safety=10s drop=12‰ ..." for reports.
  std::string Describe() const;
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_SCENARIO_H_
