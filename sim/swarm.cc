#include "sim/swarm.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "sim/change_log.h"
#include "sim/lease_checker.h"
#include "sim/lease_clients.h"
#include "sim/nemesis.h"
#include "sim/scenario_file.h"
#include "sim/watch_checker.h"
#include "sim/watchers.h"
#include "sim/workload.h"

namespace etcdpp::sim {
namespace {

// The seed RunSeed is running, for the crash report; null between seeds.
struct CurrentRun {
  uint64_t seed;
  const RunOptions* options;
  const Trace* trace;
  const Nemesis* nemesis;  // null until it exists
};
const CurrentRun* current_run = nullptr;

// Runs on a fatal signal. A CHECK fails in ordinary code, not inside the
// allocator, so formatting here is safe enough for a process about to die;
// the report is written with one fwrite and flushed.
void ReportCrash(int signal_number) {
  if (const CurrentRun* run = current_run; run != nullptr) {
    current_run = nullptr;  // a second fault while reporting just dies
    std::string out =
        absl::StrCat("seed ", run->seed,
                     ": FAIL\n  VIOLATION assertion: the process died "
                     "of signal ",
                     signal_number, " (", strsignal(signal_number),
                     ") inside the world (the CHECK message is on stderr)\n"
                     "  end of trace:");
    for (const std::string& line : run->trace->Tail()) {
      absl::StrAppend(&out, "\n    ", line);
    }
    absl::StrAppend(&out, "\n  reproduce: ",
                    ReproduceCommand(run->seed, *run->options), " --trace\n");
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
    if (run->options->dying_faults_fd >= 0 && run->nemesis != nullptr) {
      std::string faults;
      for (const ScheduledFault& f : run->nemesis->recorded()) {
        absl::StrAppend(&faults, "fault ", FormatFault(f), "\n");
      }
      // Best effort: the process is about to die either way.
      (void)!write(run->options->dying_faults_fd, faults.data(), faults.size());
    }
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

// The --check-fail-at timer.
class FailCheck final : public World::Listener {
 public:
  void OnTimer(uint64_t) override {
    CHECK(false) << "a CHECK failure asked for by --check-fail-at";
  }
};

// How often the liveness phase looks at the cluster.
constexpr int64_t kPollUs = 100000;

// Runs until the cluster agrees on a leader, or the bound passes. False on
// a violation.
bool AwaitLeader(World& world, int64_t bound_us) {
  const int64_t deadline = world.now() + bound_us;
  while (world.now() < deadline) {
    if (!world.RunUntil(world.now() + kPollUs)) return false;
    if (world.AgreedLeader() != 0) return true;
  }
  world.AddViolation(absl::StrCat("liveness: no leader agreed on within ",
                                  FormatTime(bound_us), " of healing"));
  return false;
}

// Why the live members have not all applied the same index; empty when
// they have.
std::string Lag(World& world) {
  std::optional<uint64_t> applied;
  for (uint64_t id : world.live_ids()) {
    const server::Node* n = world.node(id);
    CHECK(n != nullptr) << "Lag looks at up members only";
    n->CheckInvariants();
    const uint64_t a = n->GetStatus().applied_index;
    if (!applied.has_value()) applied = a;
    if (a != *applied) {
      return absl::StrCat("replicas did not catch up: n", world.live_ids()[0],
                          " applied ", *applied, ", n", id, " applied ", a);
    }
  }
  return "";
}

// Once clients stop and faults are gone, every live member must reach the
// same applied index (and, by the convergence checker, the same state) at
// some moment within `bound_us`: the leader's own proposals
// (auto-compactions, lease revokes) keep coming after the clients stopped,
// so one instant may catch an entry on its way.
void CheckCaughtUp(World& world, int64_t bound_us) {
  const int64_t deadline = world.now() + bound_us;
  for (;;) {
    for (uint64_t id : world.live_ids()) {
      if (world.node(id) == nullptr) {
        world.AddViolation(absl::StrCat("liveness: n", id, " is down at end"));
        return;
      }
    }
    std::string lag = Lag(world);
    if (lag.empty()) return;
    if (world.now() >= deadline) {
      world.AddViolation(absl::StrCat("liveness: ", lag));
      return;
    }
    if (!world.RunUntil(world.now() + 50000)) return;
  }
}

void RunPhases(World& world, Nemesis& nemesis, Workload& workload,
               Watchers& watchers, LeaseClients& lease_clients, Churn& churn,
               const Scenario& scenario, const RunOptions& options) {
  world.Start();
  nemesis.Start();
  workload.Start();
  watchers.Start();
  lease_clients.Start();
  churn.Start();
  if (!world.RunUntil(scenario.safety_us)) return;
  // Liveness: heal everything; a leader must follow, then every new
  // operation must succeed within the bound.
  nemesis.Stop();
  workload.Stop();
  lease_clients.Stop();
  churn.Stop();
  world.HealAll();
  if (!AwaitLeader(world, options.leader_bound_us)) return;
  // The membership settles (the change under way done, a learner left
  // promoted); the leader may have been removed meanwhile.
  if (!churn.Settled()) {
    if (!churn.AwaitSettled(options.churn_bound_us)) return;
    if (!AwaitLeader(world, options.leader_bound_us)) return;
  }
  workload.StartLiveness(options.operation_bound_us);
  if (!world.RunUntil(world.now() + scenario.liveness_us)) return;
  workload.Stop();
  // Let the last operations finish and followers learn the final commit.
  if (!world.RunUntil(world.now() + options.operation_bound_us + 1000000)) {
    return;
  }
  for (const std::string& v : workload.liveness_violations()) {
    world.AddViolation(v);
  }
  CheckCaughtUp(world, 2000000);
}

// Every (key, value) the store's history put.
AppliedPuts AppliedValues(const kv::MvccStore& store) {
  AppliedPuts applied;
  kv::Revision after{0, 0};
  while (auto change = store.NextChange(after)) {
    after = change->first;
    const mvccpb::KeyValue& kv = *change->second;
    if (kv.create_revision() != 0) applied.emplace(kv.key(), kv.value());
  }
  return applied;
}

// A member that stands for every member: only a run without violations
// (so it converged) has one; nullptr otherwise.
const server::Node* FinalNode(const World& world) {
  if (!world.Violations().empty()) return nullptr;
  for (uint64_t id : world.live_ids()) {
    if (world.node(id) != nullptr) return world.node(id);
  }
  return nullptr;
}

// The watch and lease checkers read `history`, the whole history the
// change log rebuilt up to the final member's revision (members compact
// theirs), or that member's own store when the log lacks a revision, and
// its lessor.
std::vector<std::string> CheckClients(const server::Node* final_node,
                                      const kv::MvccStore* history,
                                      const Workload& workload,
                                      const Watchers& watchers,
                                      const LeaseClients& lease_clients,
                                      const Scenario& scenario,
                                      SeedResult& result) {
  if (final_node == nullptr) return {};
  const kv::MvccStore& store =
      history != nullptr ? *history : final_node->applier().store();
  result.compact_revision = final_node->applier().store().compact_revision();
  result.whole_history = history != nullptr;
  std::vector<std::string> violations =
      CheckWatches(watchers.FinalLogs(), store);
  for (std::string& v : CheckWritesInStore(workload.history(), store)) {
    violations.push_back(std::move(v));
  }
  for (std::string& v : CheckReadsAtRevision(workload.history(), store)) {
    violations.push_back(std::move(v));
  }
  for (std::string& v :
       CheckLeases(lease_clients.history(), store,
                   final_node->applier().lessor(), scenario)) {
    violations.push_back(std::move(v));
  }
  return violations;
}

void SummarizeClients(const Watchers& watchers,
                      const LeaseClients& lease_clients, SeedResult& result) {
  for (const WatchLog& log : watchers.logs()) {
    result.watch_events += log.events.size();
    result.watch_sessions += log.sessions.size();
    result.watch_compaction_cancels += log.lost.size();
  }
  for (const LeaseRecord& lease : lease_clients.history().leases) {
    if (lease.id == 0) continue;
    ++result.leases;
    result.lease_keepalives += static_cast<uint64_t>(lease.keepalives_ok);
    if (lease.revoke_ok_us != kNever) ++result.lease_revokes;
    if (lease.deleted_applied_us < lease.revoke_invoke_us) {
      ++result.lease_expiries;
    }
  }
}

void Summarize(const World& world, const Workload& workload,
               SeedResult& result) {
  for (const Operation& op : workload.history()) {
    ++result.ops;
    if (op.outcome == Outcome::kOk) ++result.ops_ok;
    if (op.outcome == Outcome::kFail) ++result.ops_fail;
    if (op.outcome == Outcome::kUnknown || op.outcome == Outcome::kPending) {
      ++result.ops_unknown;
    }
  }
  result.stats = world.stats();
  result.end_us = world.now();
}

}  // namespace

SeedResult RunSeed(uint64_t seed, const RunOptions& options) {
  return RunScenario(ScenarioOf(seed, options), options, {});
}

Scenario ScenarioOf(uint64_t seed, const RunOptions& options) {
  Scenario scenario = Scenario::Draw(seed);
  if (options.nodes.has_value()) scenario.nodes = *options.nodes;
  if (options.safety_us.has_value()) scenario.safety_us = *options.safety_us;
  if (options.liveness_us.has_value()) {
    scenario.liveness_us = *options.liveness_us;
  }
  if (options.clients.has_value()) scenario.workload.clients = *options.clients;
  if (options.think_max_us.has_value()) {
    scenario.workload.think_max_us = *options.think_max_us;
  }
  if (options.torn_crash_every_us.has_value()) {
    scenario.faults.crash_every_us = *options.torn_crash_every_us;
    scenario.faults.crash_torn_permille = 1000;
  }
  if (options.max_msg_bytes.has_value()) {
    scenario.max_msg_bytes = *options.max_msg_bytes;
  }
  if (options.isolate_new_leader_permille.has_value()) {
    scenario.faults.isolate_new_leader_permille =
        *options.isolate_new_leader_permille;
  }
  if (options.new_leader_delay_max_us.has_value()) {
    scenario.faults.new_leader_delay_max_us = *options.new_leader_delay_max_us;
  }
  if (options.churn_every_us.has_value()) {
    scenario.churn_every_us = *options.churn_every_us;
  }
  if (options.compaction_retention_us.has_value()) {
    scenario.compaction_retention_us = *options.compaction_retention_us;
    scenario.compaction_revisions = 0;
  }
  if (options.compaction_revisions.has_value()) {
    scenario.compaction_revisions = *options.compaction_revisions;
    scenario.compaction_retention_us = 0;
  }
  scenario.network.duplicate_proposals = options.duplicate_proposals;
  scenario.planted_bug = options.bug;
  return scenario;
}

SeedResult RunScenario(const Scenario& scenario, const RunOptions& options,
                       std::vector<ScheduledFault> schedule) {
  const uint64_t seed = scenario.seed;
  SeedResult result;
  result.seed = seed;
  result.scenario = scenario;

  Trace trace(options.trace_out);
  CurrentRun run{seed, &options, &trace, nullptr};
  current_run = &run;
  World world(scenario, &trace);
  Nemesis nemesis(&world, scenario.faults);
  run.nemesis = &nemesis;
  if (!schedule.empty()) nemesis.Play(std::move(schedule));
  Workload workload(&world, scenario.workload);
  ChangeLog change_log(&world);
  Watchers watchers(&world, scenario, &trace);
  LeaseClients lease_clients(&world, scenario, &trace);
  Churn churn(&world, seed, scenario.churn_every_us);
  FailCheck fail_check;
  if (options.check_fail_at_us.has_value()) {
    world.ScheduleTimer(*options.check_fail_at_us, &fail_check, 0);
  }
  RunPhases(world, nemesis, workload, watchers, lease_clients, churn,
            scenario, options);
  Summarize(world, workload, result);
  SummarizeClients(watchers, lease_clients, result);
  result.faults = nemesis.recorded();
  result.churn = churn.stats();
  for (uint64_t id : world.ids()) {
    absl::StrAppend(&result.final_members,
                    result.final_members.empty() ? "" : " ", "n", id,
                    world.learner(id) ? "(learner)" : "");
  }
  result.violations = world.Violations();
  const server::Node* final_node = FinalNode(world);
  const std::unique_ptr<kv::MvccStore> history =
      final_node == nullptr
          ? nullptr
          : change_log.Store(final_node->applier().store().current_revision());
  for (std::string& v :
       CheckClients(final_node, history.get(), workload, watchers,
                    lease_clients, scenario, result)) {
    result.violations.push_back(std::move(v));
  }
  // A write whose outcome the client never learned either took effect --
  // then the whole history holds its unique value -- or it never did, and
  // the search need not place it.
  History checked = workload.history();
  if (history != nullptr) {
    result.unapplied_unknown_writes =
        FailUnappliedWrites(AppliedValues(*history), &checked);
  }
  // The history is checked even after a safety violation: it may show
  // what the violation did to clients.
  result.linearizability =
      CheckLinearizability(checked, options.linearizability_budget);
  if (result.linearizability.verdict == Verdict::kViolation) {
    result.violations.push_back(
        absl::StrCat("linearizability: ", result.linearizability.detail));
  }
  for (const std::string& v : CheckSerializableReads(workload.history())) {
    result.violations.push_back(v);
  }
  result.trace_hash = trace.hash();
  result.trace_events = trace.events();
  result.trace_tail = trace.Tail();
  current_run = nullptr;
  return result;
}

namespace {

void AddChurn(ChurnStats& to, const ChurnStats& from) {
  to.adds += from.adds;
  to.promotions += from.promotions;
  to.removals += from.removals;
  to.leader_removals += from.leader_removals;
  to.replaces += from.replaces;
  to.updates += from.updates;
  to.requests += from.requests;
}

std::string DescribeChurn(const ChurnStats& c) {
  return absl::StrCat("adds ", c.adds, ", promotions ", c.promotions,
                      ", removals ", c.removals, " (leader ", c.leader_removals,
                      "), replaces ", c.replaces, ", updates ", c.updates,
                      " (", c.requests, " requests)");
}

}  // namespace

void SweepTotals::Add(const SeedResult& r) {
  ++seeds;
  if (!r.violations.empty()) ++failed;
  if (r.violations.empty() && !r.passed()) ++unknown;
  ops += r.ops;
  events += r.trace_events;
  sim_us += r.end_us;
  for (int i = 0; i < World::kRecoveryPaths; ++i) {
    recovery[i] += r.stats.recovery[i];
  }
  corruptions += r.stats.corruptions;
  torn_crashes += r.stats.torn_crashes;
  snapshots_delivered += r.stats.snapshots_delivered;
  watch_events += r.watch_events;
  leases += r.leases;
  lease_expiries += r.lease_expiries;
  if (r.compact_revision > 0) ++compacted;
  watch_compaction_cancels += r.watch_compaction_cancels;
  if (!r.whole_history) ++partial_history;
  AddChurn(churn, r.churn);
}

void SweepTotals::Merge(const SweepTotals& o) {
  seeds += o.seeds;
  failed += o.failed;
  unknown += o.unknown;
  ops += o.ops;
  events += o.events;
  sim_us += o.sim_us;
  for (int i = 0; i < World::kRecoveryPaths; ++i) recovery[i] += o.recovery[i];
  corruptions += o.corruptions;
  torn_crashes += o.torn_crashes;
  snapshots_delivered += o.snapshots_delivered;
  watch_events += o.watch_events;
  leases += o.leases;
  lease_expiries += o.lease_expiries;
  compacted += o.compacted;
  watch_compaction_cancels += o.watch_compaction_cancels;
  partial_history += o.partial_history;
  AddChurn(churn, o.churn);
}

std::string RecoveryPaths(const uint64_t (&recovery)[World::kRecoveryPaths]) {
  std::string out;
  for (int i = 0; i < World::kRecoveryPaths; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : " ", World::RecoveryPathName(i), "=",
                    recovery[i]);
  }
  return out;
}

std::string SweepTotals::Describe() const {
  return absl::StrCat(
      seeds, " seeds: ", failed, " failed, ", unknown, " unknown; ", ops,
      " ops, ", events, " events, ", sim_us / 1000000,
      " simulated s\n  recovery paths: ", RecoveryPaths(recovery),
      "; torn crashes ", torn_crashes, ", corruptions ", corruptions,
      ", snapshots delivered ", snapshots_delivered, "; watch events ",
      watch_events, ", leases ", leases, " (expired ", lease_expiries, ")",
      "\n  compaction: ", compacted, " seeds compacted, ",
      watch_compaction_cancels, " watches canceled by it; ", partial_history,
      " seeds checked without the whole history",
      "\n  membership churn: ", DescribeChurn(churn));
}

void InstallCrashReport() {
  for (int s : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
    std::signal(s, ReportCrash);
  }
}

std::string ReproduceCommand(uint64_t seed, const RunOptions& options) {
  if (!options.scenario_file.empty()) {
    // The file holds the whole scenario; only the CLI's overrides follow.
    std::string command =
        absl::StrCat("bazel-bin/sim/sim --scenario=", options.scenario_file);
    if (!options.bug.empty()) absl::StrAppend(&command, " --bug=", options.bug);
    if (options.check_fail_at_us.has_value()) {
      absl::StrAppend(&command,
                      " --check-fail-at=", *options.check_fail_at_us / 1000);
    }
    return command;
  }
  std::string command = absl::StrCat("bazel-bin/sim/sim --seed=", seed);
  if (options.nodes.has_value()) {
    absl::StrAppend(&command, " --nodes=", *options.nodes);
  }
  if (options.safety_us.has_value()) {
    absl::StrAppend(&command, " --sim-seconds=", *options.safety_us / 1000000);
  }
  if (options.duplicate_proposals) {
    absl::StrAppend(&command, " --duplicate-proposals");
  }
  if (options.churn_every_us.has_value()) {
    absl::StrAppend(&command,
                    " --churn-every-ms=", *options.churn_every_us / 1000);
  }
  if (options.compaction_retention_us.has_value()) {
    absl::StrAppend(&command, " --compaction-retention-ms=",
                    *options.compaction_retention_us / 1000);
  }
  if (options.compaction_revisions.has_value()) {
    absl::StrAppend(&command, " --compaction-revisions=",
                    *options.compaction_revisions);
  }
  if (options.liveness_us.has_value()) {
    absl::StrAppend(&command,
                    " --liveness-seconds=", *options.liveness_us / 1000000);
  }
  if (options.clients.has_value()) {
    absl::StrAppend(&command, " --clients=", *options.clients);
  }
  if (options.think_max_us.has_value()) {
    absl::StrAppend(&command, " --think-ms=", *options.think_max_us / 1000);
  }
  if (options.torn_crash_every_us.has_value()) {
    absl::StrAppend(&command, " --torn-crash-every-ms=",
                    *options.torn_crash_every_us / 1000);
  }
  if (options.max_msg_bytes.has_value()) {
    absl::StrAppend(&command, " --max-msg-bytes=", *options.max_msg_bytes);
  }
  if (options.isolate_new_leader_permille.has_value()) {
    absl::StrAppend(&command, " --isolate-new-leaders=",
                    *options.isolate_new_leader_permille);
  }
  if (options.new_leader_delay_max_us.has_value()) {
    absl::StrAppend(&command, " --new-leader-delay-ms=",
                    *options.new_leader_delay_max_us / 1000);
  }
  if (!options.bug.empty()) absl::StrAppend(&command, " --bug=", options.bug);
  if (options.check_fail_at_us.has_value()) {
    absl::StrAppend(&command,
                    " --check-fail-at=", *options.check_fail_at_us / 1000);
  }
  return command;
}

std::string FormatResult(const SeedResult& r, const RunOptions& options) {
  std::string out = absl::StrCat(
      "seed ", r.seed, ": ", r.passed() ? "PASS" : "FAIL",
      "\n  scenario: ", r.scenario.Describe(), "\n  ops: ", r.ops, " (ok ",
      r.ops_ok, ", fail ", r.ops_fail, ", unknown ", r.ops_unknown, " of which ",
      r.unapplied_unknown_writes, " never applied) over ",
      FormatTime(r.end_us), "; msgs ", r.stats.messages_sent, " (dropped ",
      r.stats.messages_dropped, ", duplicated ", r.stats.messages_duplicated,
      "); crashes ", r.stats.crashes, " (torn ", r.stats.torn_crashes,
      ", halts ", r.stats.halts, "), restarts ", r.stats.restarts, ", pauses ",
      r.stats.pauses, ", fsync EIO ", r.stats.sync_failures, "; snapshots ",
      r.stats.snapshots_sent, " (delivered ", r.stats.snapshots_delivered,
      ", failed ", r.stats.snapshots_dropped, ")", "; corruptions ",
      r.stats.corruptions,
      "\n  recovery paths: ", RecoveryPaths(r.stats.recovery),
      "\n  watch: ", r.watch_events, " events in ", r.watch_sessions,
      " sessions; leases: ", r.leases, " granted, ", r.lease_keepalives,
      " keepalives ok, ", r.lease_revokes, " revoked, ", r.lease_expiries,
      " expired",
      "\n  compaction: compact revision ", r.compact_revision, ", ",
      r.watch_compaction_cancels, " watches canceled by it; ",
      r.whole_history ? "checked against the whole history"
                      : "checked without the whole history",
      r.scenario.churn_every_us > 0
          ? absl::StrCat("\n  membership churn: ", DescribeChurn(r.churn),
                         "; members at end ", r.final_members)
          : "",
      "\n  checkers: safety and liveness ",
      r.violations.empty() ? "ok" : "VIOLATED", ", linearizability ",
      VerdictName(r.linearizability.verdict), " (",
      r.linearizability.operations, " ops in ", r.linearizability.groups,
      " groups, ", r.linearizability.steps, " steps)");
  if (r.linearizability.verdict == Verdict::kUnknown) {
    absl::StrAppend(&out, ": ", r.linearizability.detail);
  }
  for (const std::string& v : r.violations) {
    absl::StrAppend(&out, "\n  VIOLATION ", v);
  }
  if (!r.passed()) {
    absl::StrAppend(&out, "\n  end of trace:");
    for (const std::string& line : r.trace_tail) {
      absl::StrAppend(&out, "\n    ", line);
    }
    absl::StrAppend(&out, "\n  reproduce: ", ReproduceCommand(r.seed, options),
                    " --trace");
  }
  absl::StrAppend(&out, absl::StrFormat("\n  trace hash %016x (%d events)",
                                        r.trace_hash, r.trace_events));
  return out;
}

}  // namespace etcdpp::sim
