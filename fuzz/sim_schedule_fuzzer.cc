// sim_schedule_fuzzer: the input bytes choose the simulator's fault
// schedule; every sim checker runs; a violation aborts.
//
// Byte 0 picks the cluster size (1, 3 or 5) and byte 1 the workload's
// seed; the rest is decoded by sim::DecodeSchedule, three bytes per fault
// (gap, kind, node and argument): partitions of each shape, heals, clean
// and torn crashes, restarts, pauses, resumes, fsync EIO, ENOSPC,
// corruption of synced data and network drop/duplicate/reorder levels.
// The scenario's own random faults are off, so the bytes alone decide
// them. After a 4 s safety phase everything heals, and the liveness phase
// and the checkers (raft safety and convergence after every step,
// linearizability, serializable reads, liveness) must pass; an UNKNOWN
// linearizability verdict (search budget) is not a finding.
//
// A violation prints the run's report (violations, end of the trace) and
// the schedule, then aborts, so libFuzzer saves the input; replay it with
// the fuzzer binary or //fuzz:sim_schedule_replay_test. The report ends
// with the run as a scenario file (its faults as the nemesis resolved
// them): saved, `sim --scenario=FILE` runs it and `--shrink` shrinks it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/scenario_file.h"
#include "sim/swarm.h"

namespace etcdpp::sim {
namespace {

constexpr size_t kMaxInput = 600;  // 200 faults
constexpr int64_t kSafetyUs = 4000000;

Scenario FuzzScenario(const uint8_t* data, size_t size) {
  Scenario s;
  const int sizes[] = {1, 3, 5};
  s.nodes = size > 0 ? sizes[data[0] % 3] : 3;
  s.seed = size > 1 ? data[1] : 0;
  s.safety_us = kSafetyUs;
  s.liveness_us = 3000000;
  s.network = NetworkFaults{};
  s.faults = FaultRates{};  // the bytes choose every fault
  s.workload.clients = 3;
  s.workload.think_max_us = 100000;
  s.workload.client_timeout_us = 2000000;
  // Small snapshot settings, so compaction and catch-up by snapshot run.
  s.snapshot_count = 30;
  s.snapshot_catchup_entries = 10;
  s.snapshots_to_keep = 2;
  return s;
}

}  // namespace
}  // namespace etcdpp::sim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace etcdpp::sim;
  if (size > kMaxInput) return 0;
  const Scenario scenario = FuzzScenario(data, size);
  std::vector<ScheduledFault> schedule =
      size > 2 ? DecodeSchedule(data + 2, size - 2, scenario.nodes, kSafetyUs)
               : std::vector<ScheduledFault>{};
  std::string described;
  for (const ScheduledFault& f : schedule) {
    absl::StrAppend(&described, "\n    ", f.Describe());
  }
  RunOptions options;
  options.linearizability_budget = 200000;
  const SeedResult r = RunScenario(scenario, options, std::move(schedule));
  if (!r.violations.empty()) {
    const std::string report = absl::StrCat(
        FormatResult(r, options), "\n  fault schedule:", described,
        "\n  as a scenario file:\n", FormatScenarioFile(scenario, r.faults));
    std::fwrite(report.data(), 1, report.size(), stderr);
    std::abort();
  }
  return 0;
}
