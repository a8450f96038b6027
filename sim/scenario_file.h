// Scenario files: a Scenario and an explicit fault schedule as text that a
// person can read, edit and hand to `sim --scenario=FILE`, and that the
// shrinker prints (sim/shrink.h).
//
// Grammar (one item per line; '#' starts a comment; blank lines ignored):
//
//   file    = "etcdpp-sim-scenario 1" NL { line }
//   line    = key SP value            (a Scenario field, see kFields)
//           | "fault" SP time SP kind { SP fault-arg }
//   key     = field path as in C++: "nodes", "network.drop_permille",
//             "faults.crash_every_us", "workload.put", ...
//   value   = integer | "true" | "false" | text (planted_bug; "none" = off)
//             fields ending in _us also take a time
//   time    = number ("s" | "ms" | "us")     e.g. 1.25s, 1250ms, 1250000us
//   kind    = partition | heal | crash | crash-torn | restart | pause
//           | resume | eio | enospc | space | corrupt | network
//   fault-arg = "n" member-id | "arg=" 0..255 | from ">" to (a blocked link)
//
// A field not in the file keeps Scenario's default; a field named twice or
// unknown, a malformed value, a value out of its range, a fault naming a
// member the cluster does not have: each is an error naming the line.
// Faults are played in file order (at equal times, the earlier line first).
#ifndef ETCDPP_SIM_SCENARIO_FILE_H_
#define ETCDPP_SIM_SCENARIO_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"

namespace etcdpp::sim {

inline constexpr absl::string_view kScenarioFileHeader = "etcdpp-sim-scenario 1";

struct ScenarioFile {
  Scenario scenario;
  std::vector<ScheduledFault> schedule;
};

// The file text. `comment` (any number of lines) is written first, each
// line as a '#' comment.
std::string FormatScenarioFile(const Scenario& scenario,
                               const std::vector<ScheduledFault>& schedule,
                               absl::string_view comment = "");

// Parses a file; never crashes on bad input: an InvalidArgument names the
// line and what is wrong with it.
absl::StatusOr<ScenarioFile> ParseScenarioFile(absl::string_view text);

// The keys of every Scenario field, in file order.
std::vector<std::string> ScenarioFileKeys();

// One fault as a file line without the "fault " prefix ("1.250000s crash
// n2"); ParseScenarioFile reads it back.
std::string FormatFault(const ScheduledFault& fault);

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_SCENARIO_FILE_H_
