// Swarm: one seed, start to verdict. The seed draws the scenario; a safety
// phase runs the workload under the nemesis's faults; then every fault is
// healed and the liveness phase demands that a leader is agreed on within
// a bound, that every new client operation succeeds within a bound, and
// that the replicas catch up with each other. Then the checkers read the
// history.
#ifndef ETCDPP_SIM_SWARM_H_
#define ETCDPP_SIM_SWARM_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sim/churn.h"
#include "sim/linearizability.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace etcdpp::sim {

// Overrides of what the seed draws.
struct RunOptions {
  std::optional<int> nodes;
  std::optional<int64_t> safety_us;
  // How long clients run in the liveness phase (--liveness-seconds).
  std::optional<int64_t> liveness_us;
  // Client count and longest think time (heavier load: more clients,
  // shorter thinks).
  std::optional<int> clients;
  std::optional<int64_t> think_max_us;
  // Crashes at this mean gap, every one torn (--torn-crash-every-ms).
  std::optional<int64_t> torn_crash_every_us;
  // FaultRates::isolate_new_leader_permille (--isolate-new-leaders).
  std::optional<uint32_t> isolate_new_leader_permille;
  // FaultRates::new_leader_delay_max_us (--new-leader-delay-ms).
  std::optional<int64_t> new_leader_delay_max_us;
  // NodeOptions.max_size_per_msg (--max-msg-bytes; 1 = one entry per
  // MsgApp).
  std::optional<uint64_t> max_msg_bytes;
  // Membership churn at this mean gap, whatever the seed drew
  // (--churn-every-ms).
  std::optional<int64_t> churn_every_us;
  // Auto-compaction: periodic with this retention, or revision mode
  // keeping this many revisions (Scenario.compaction_*); 0 turns it off.
  std::optional<int64_t> compaction_retention_us;
  std::optional<int64_t> compaction_revisions;
  // Lets the network duplicate forwarded proposals (a known node bug).
  bool duplicate_proposals = false;
  // A planted bug to turn on (sim/planted_bugs.h); empty for none.
  std::string bug;
  // Receives every trace line when set.
  std::ostream* trace_out = nullptr;
  uint64_t linearizability_budget = 2000000;
  // Liveness bounds, in virtual time.
  int64_t leader_bound_us = 10000000;
  int64_t operation_bound_us = 5000000;
  // The membership change under way when faults end (and the promotion of
  // a learner left over) must be done within this.
  int64_t churn_bound_us = 20000000;
  // When set, a CHECK fails at this virtual time: proves that a failed
  // assertion inside the world is reported as a finding (--check-fail-at).
  std::optional<int64_t> check_fail_at_us;
  // The scenario file being run (--scenario): reproducing commands name it
  // instead of a seed.
  std::string scenario_file;
  // When >= 0 and the run dies of a fatal signal, the crash report also
  // writes the faults injected so far to this descriptor, one scenario-file
  // line each ("fault 1.200000s crash n2"): --shrink records a seed whose
  // run dies (a CHECK) this way.
  int dying_faults_fd = -1;
};

struct SeedResult {
  uint64_t seed = 0;
  Scenario scenario;
  uint64_t trace_hash = 0;
  uint64_t trace_events = 0;
  int64_t end_us = 0;
  World::Stats stats;
  ChurnStats churn;
  // "n1 n2 n4": the members when the run ended.
  std::string final_members;
  size_t ops = 0;
  size_t ops_ok = 0;
  size_t ops_fail = 0;
  size_t ops_unknown = 0;
  // Watch and lease clients (sim/watchers.h, sim/lease_clients.h): events
  // received, watch sessions, leases granted, keepalives answered OK,
  // leases a client revoked, leases whose keys an expiry deleted.
  uint64_t watch_events = 0;
  uint64_t watch_sessions = 0;
  uint64_t leases = 0;
  uint64_t lease_keepalives = 0;
  uint64_t lease_revokes = 0;
  uint64_t lease_expiries = 0;
  // Auto-compaction: the final store's compact revision (-1: never
  // compacted), watches canceled by compaction, and whether the client
  // checkers had the change log's whole history (sim/change_log.h) rather
  // than a member's compacted store.
  int64_t compact_revision = -1;
  uint64_t watch_compaction_cancels = 0;
  bool whole_history = false;
  // Writes with an unknown outcome that the whole history shows never took
  // effect: the linearizability search leaves them out.
  uint64_t unapplied_unknown_writes = 0;
  LinearizabilityResult linearizability;
  // Safety and liveness violations, each one line.
  std::vector<std::string> violations;
  std::vector<std::string> trace_tail;
  // Every fault the nemesis injected, resolved (Nemesis::recorded()).
  std::vector<ScheduledFault> faults;

  // No violation and a linearizability verdict of OK.
  bool passed() const {
    return violations.empty() && linearizability.verdict == Verdict::kOk;
  }
};

SeedResult RunSeed(uint64_t seed, const RunOptions& options = {});

// The scenario RunSeed runs: the seed's draw with the options' overrides.
Scenario ScenarioOf(uint64_t seed, const RunOptions& options);

// Runs a scenario as given (no draw, no overrides from options but the
// checkers' bounds, the bug and the trace), with the scripted faults of
// `schedule` besides those the scenario's rates draw.
SeedResult RunScenario(const Scenario& scenario, const RunOptions& options,
                       std::vector<ScheduledFault> schedule);

// What a sweep adds up over its seeds. Plain data: a forked child sends it
// to the sweeping parent through a pipe as bytes.
struct SweepTotals {
  uint64_t seeds = 0;
  uint64_t failed = 0;
  uint64_t unknown = 0;
  uint64_t ops = 0;
  uint64_t events = 0;
  int64_t sim_us = 0;
  uint64_t recovery[World::kRecoveryPaths] = {};
  uint64_t corruptions = 0;
  uint64_t torn_crashes = 0;
  uint64_t snapshots_delivered = 0;
  uint64_t watch_events = 0;
  uint64_t leases = 0;
  uint64_t lease_expiries = 0;
  uint64_t compacted = 0;  // seeds whose final store was compacted
  uint64_t watch_compaction_cancels = 0;
  uint64_t partial_history = 0;  // seeds checked without the whole history
  ChurnStats churn;

  void Add(const SeedResult& result);
  void Merge(const SweepTotals& other);
  // "N seeds: F failed, U unknown; ..." without the wall-clock part.
  std::string Describe() const;
};

// "bootstrap=N replay_wal=N ..." for reports.
std::string RecoveryPaths(const uint64_t (&recovery)[World::kRecoveryPaths]);

// The command line that reruns this seed with these overrides.
std::string ReproduceCommand(uint64_t seed, const RunOptions& options);

// Makes a failed CHECK (or another fatal signal) inside RunSeed a
// reported finding: installs handlers for SIGABRT, SIGSEGV, SIGBUS, SIGFPE
// and SIGILL that print, to stdout, the seed being run, the end of its
// trace and the command that reproduces it, then let the signal kill the
// process as before. The CHECK's own message is on stderr just above.
// Idempotent. The CLI runs each seed of a sweep in a forked child, so the
// sweep goes on to the next seed.
void InstallCrashReport();

// A multi-line report: scenario, counts, verdicts, trace hash; on failure
// the violations, the end of the trace and the reproducing command.
std::string FormatResult(const SeedResult& result, const RunOptions& options);

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_SWARM_H_
