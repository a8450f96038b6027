// Shrinking a failing run to a minimal fault schedule, with RapidCheck.
//
// A failing seed's nemesis records every fault it injected, resolved
// (Nemesis::recorded()); with the scenario's fault rates at 0 that schedule
// replays the same faults at the same times (ExplicitFaultsOnly). The
// shrinker then runs RapidCheck's property "the run passes" over a
// Shrinkable rooted at that schedule, whose shrinks remove chunks of
// faults, then simplify one fault at a time (a torn crash becomes a clean
// one, a partition loses links, a time moves earlier to a round value).
// RapidCheck keeps the first shrink that still fails the same property
// and shrinks from there, until no shrink fails or the run budget is
// spent: what is left is a small schedule that still shows the bug, which
// FormatScenarioFile prints for `sim --scenario=FILE`.
//
// Runs go through a caller's function, so the CLI can run each candidate in
// a forked child (a failed CHECK is then a failing candidate, not the end of
// the shrinker) and a test can run them in-process.
#ifndef ETCDPP_SIM_SHRINK_H_
#define ETCDPP_SIM_SHRINK_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/swarm.h"

namespace etcdpp::sim {

// The property a violation line breaks: its text before the first ':'
// ("election safety", "linearizability", "liveness", "assertion", ...).
std::string PropertyOf(const std::string& violation);

// The property the run's first violation breaks; empty when it has none
// (an UNKNOWN linearizability verdict is not a failure to shrink).
std::string ViolatedProperty(const SeedResult& result);

// The scenario with every drawn fault kind off, so that only an explicit
// schedule injects faults.
Scenario ExplicitFaultsOnly(Scenario scenario);

// Runs a scenario with an explicit schedule; returns its violations (the
// SeedResult's, or one "assertion: ..." line if the run died).
using ScheduleRunner = std::function<std::vector<std::string>(
    const Scenario& scenario, const std::vector<ScheduledFault>& schedule)>;

// A runner that calls RunScenario in this process.
ScheduleRunner InProcessRunner(const RunOptions& options);

struct ShrinkOptions {
  // Runs of candidates at most (the starting schedule's run included).
  int max_runs = 300;
  // When set, one line per accepted shrink.
  std::ostream* progress = nullptr;
};

struct ShrinkResult {
  // False if the starting schedule did not fail `property`: nothing shrunk.
  bool reproduced = false;
  std::string property;
  std::vector<ScheduledFault> schedule;  // the smallest failing one found
  std::string violation;                 // its first violation of property
  int runs = 0;
  int accepted = 0;  // shrinks that still failed
  bool budget_spent = false;
};

// Shrinks `start`, a schedule under which `scenario` (its rates at 0) fails
// `property` -- empty: whatever property the start fails first.
ShrinkResult ShrinkSchedule(const Scenario& scenario,
                            std::vector<ScheduledFault> start,
                            const std::string& property,
                            const ScheduleRunner& run,
                            const ShrinkOptions& options);

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_SHRINK_H_
