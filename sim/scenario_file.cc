#include "sim/scenario_file.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <type_traits>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sim/planted_bugs.h"
#include "sim/trace.h"

namespace etcdpp::sim {
namespace {

static_assert(std::is_same_v<size_t, uint64_t>,
              "FieldRef holds size_t fields as uint64_t");

using FieldRef = std::variant<int*, int64_t*, uint32_t*, uint64_t*, bool*,
                              std::string*>;

// One Scenario field: its key in files and where it lives. The bounds keep
// a hand-edited file from reaching a precondition of the world (a latency
// range drawn from, a node count); bools and strings ignore them.
struct Field {
  const char* key;
  FieldRef (*get)(Scenario& s);
  int64_t min;
  int64_t max;  // -1: no upper bound (the seed)
};

constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The key is the field's path, spelled as in C++.
#define ETCDPP_FIELD(path, lo, hi) \
  Field { #path, [](Scenario& s) -> FieldRef { return &s.path; }, lo, hi }

// Every Scenario field, once: writing and parsing both walk this table.
// A field added to Scenario is one line here (scenario_file_test fails
// until it is).
const Field kFields[] = {
    ETCDPP_FIELD(seed, 0, -1),
    ETCDPP_FIELD(nodes, 1, 7),
    ETCDPP_FIELD(heartbeat_us, 1000, 10000000),
    ETCDPP_FIELD(drift_permille_max, 0, 500),
    ETCDPP_FIELD(disk_latency_min_us, 0, 10000000),
    ETCDPP_FIELD(disk_latency_max_us, 0, 10000000),
    ETCDPP_FIELD(safety_us, 0, kHour),
    ETCDPP_FIELD(liveness_us, 1, kHour),
    ETCDPP_FIELD(network.latency_min_us, 0, 10000000),
    ETCDPP_FIELD(network.latency_max_us, 0, 10000000),
    ETCDPP_FIELD(network.drop_permille, 0, 1000),
    ETCDPP_FIELD(network.duplicate_permille, 0, 1000),
    ETCDPP_FIELD(network.duplicate_proposals, 0, 1),
    ETCDPP_FIELD(network.reorder_permille, 0, 1000),
    ETCDPP_FIELD(network.reorder_delay_max_us, 0, 10000000),
    ETCDPP_FIELD(faults.partition_every_us, 0, kHour),
    ETCDPP_FIELD(faults.partition_max_us, 1, kHour),
    ETCDPP_FIELD(faults.crash_every_us, 0, kHour),
    ETCDPP_FIELD(faults.crash_torn_permille, 0, 1000),
    // The world restarts a halted node 100 ms .. down_max_us later.
    ETCDPP_FIELD(faults.down_max_us, 100000, kHour),
    ETCDPP_FIELD(faults.pause_every_us, 0, kHour),
    ETCDPP_FIELD(faults.pause_max_us, 1000, kHour),
    ETCDPP_FIELD(faults.sync_failure_every_us, 0, kHour),
    ETCDPP_FIELD(faults.no_space_every_us, 0, kHour),
    ETCDPP_FIELD(faults.no_space_max_us, 1, kHour),
    ETCDPP_FIELD(faults.corrupt_every_us, 0, kHour),
    ETCDPP_FIELD(faults.isolate_new_leader_permille, 0, 1000),
    ETCDPP_FIELD(faults.new_leader_delay_max_us, 0, kHour),
    ETCDPP_FIELD(workload.clients, 1, 64),
    ETCDPP_FIELD(workload.think_max_us, 0, kHour),
    ETCDPP_FIELD(workload.client_timeout_us, 1000, kHour),
    ETCDPP_FIELD(workload.keys, 1, 1000),
    ETCDPP_FIELD(workload.put, 0, 1000),
    ETCDPP_FIELD(workload.get_linearizable, 0, 1000),
    ETCDPP_FIELD(workload.get_serializable, 0, 1000),
    ETCDPP_FIELD(workload.del, 0, 1000),
    ETCDPP_FIELD(workload.cas, 0, 1000),
    ETCDPP_FIELD(workload.multi_key, 0, 1000),
    ETCDPP_FIELD(workload.range, 0, 1000),
    ETCDPP_FIELD(workload.watchers, 0, 64),
    ETCDPP_FIELD(workload.lease_clients, 0, 64),
    ETCDPP_FIELD(snapshot_count, 1, kMax),
    ETCDPP_FIELD(snapshot_catchup_entries, 1, kMax),
    ETCDPP_FIELD(snapshots_to_keep, 1, 1000),
    ETCDPP_FIELD(max_msg_bytes, 1, kMax),
    ETCDPP_FIELD(churn_every_us, 0, kHour),
    ETCDPP_FIELD(compaction_retention_us, 0, kHour),
    ETCDPP_FIELD(compaction_revisions, 0, kMax),
    ETCDPP_FIELD(planted_bug, 0, 0),
};

#undef ETCDPP_FIELD

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("scenario file line ", line, ": ", what));
}

// "1.25s", "1250ms", "1250000us" -> microseconds.
std::optional<int64_t> ParseTime(absl::string_view text) {
  int64_t scale = 0;
  if (absl::ConsumeSuffix(&text, "us")) {
    scale = 1;
  } else if (absl::ConsumeSuffix(&text, "ms")) {
    scale = 1000;
  } else if (absl::ConsumeSuffix(&text, "s")) {
    scale = 1000000;
  } else {
    return std::nullopt;
  }
  // Whole and fractional parts apart, so no float rounds a microsecond.
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  int64_t whole = 0;
  if (parts.size() > 2 || parts[0].empty() ||
      !absl::SimpleAtoi(parts[0], &whole) || whole < 0 ||
      whole > kHour * 24 / scale) {
    return std::nullopt;
  }
  int64_t us = whole * scale;
  if (parts.size() == 2) {
    int64_t place = scale;
    for (char c : parts[1]) {
      place /= 10;
      if (!absl::ascii_isdigit(c) || place == 0) return std::nullopt;
      us += (c - '0') * place;
    }
  }
  return us;
}

std::string FormatValue(const FieldRef& ref) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) {
          return *p ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return p->empty() ? "none" : *p;
        } else {
          return absl::StrCat(*p);
        }
      },
      ref);
}

absl::Status SetValue(const Field& field, FieldRef ref, absl::string_view value,
                      int line) {
  auto bad = [&](absl::string_view why) {
    return LineError(line, absl::StrCat(field.key, ": ", why, " \"", value,
                                        "\""));
  };
  if (auto* b = std::get_if<bool*>(&ref)) {
    if (value != "true" && value != "false") return bad("want true or false");
    **b = value == "true";
    return absl::OkStatus();
  }
  if (auto* s = std::get_if<std::string*>(&ref)) {
    // The one text field is the planted bug.
    if (value != "none" && FindPlantedBug(value) == nullptr) {
      return bad("no such planted bug (sim --bug=list) in");
    }
    **s = value == "none" ? "" : std::string(value);
    return absl::OkStatus();
  }
  // An integer; fields in microseconds also take a time.
  std::optional<int64_t> parsed;
  if (absl::EndsWith(field.key, "_us")) parsed = ParseTime(value);
  if (!parsed.has_value()) {
    if (uint64_t u = 0; std::holds_alternative<uint64_t*>(ref) &&
                        field.max < 0 && absl::SimpleAtoi(value, &u)) {
      *std::get<uint64_t*>(ref) = u;  // the seed: every uint64 is fine
      return absl::OkStatus();
    }
    if (int64_t i = 0; absl::SimpleAtoi(value, &i)) parsed = i;
  }
  if (!parsed.has_value()) return bad("not a number");
  if (*parsed < field.min || (field.max >= 0 && *parsed > field.max)) {
    return bad(absl::StrCat("out of range ", field.min, "..",
                            field.max < 0 ? std::string("")
                                          : absl::StrCat(field.max),
                            ":"));
  }
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          *p = static_cast<T>(*parsed);
        }
      },
      ref);
  return absl::OkStatus();
}

absl::StatusOr<ScheduledFault> ParseFault(
    const std::vector<absl::string_view>& words, int line) {
  ScheduledFault f;
  if (words.size() < 3) return LineError(line, "want: fault TIME KIND ...");
  const std::optional<int64_t> at = ParseTime(words[1]);
  if (!at.has_value()) {
    return LineError(line, absl::StrCat("bad fault time \"", words[1],
                                        "\" (want e.g. 1.25s, 300ms)"));
  }
  f.at_us = *at;
  const auto kind = ScheduledFaultKindFromName(std::string_view(words[2].data(), words[2].size()));
  if (!kind.has_value()) {
    return LineError(line, absl::StrCat("unknown fault kind \"", words[2],
                                        "\""));
  }
  f.kind = *kind;
  bool named_node = false;
  for (size_t i = 3; i < words.size(); ++i) {
    const absl::string_view w = words[i];
    uint64_t a = 0, b = 0;
    std::vector<absl::string_view> link = absl::StrSplit(w, '>');
    if (w.size() > 1 && w[0] == 'n' && absl::SimpleAtoi(w.substr(1), &a) &&
        a >= 1) {
      f.node = a;
      named_node = true;
    } else if (absl::StartsWith(w, "arg=") &&
               absl::SimpleAtoi(w.substr(4), &a) && a <= 255) {
      f.arg = static_cast<uint8_t>(a);
    } else if (f.kind == ScheduledFault::kPartition && link.size() == 2 &&
               absl::SimpleAtoi(link[0], &a) && absl::SimpleAtoi(link[1], &b) &&
               a >= 1 && b >= 1 && a != b) {
      f.links.emplace_back(a, b);
    } else {
      return LineError(line, absl::StrCat("bad fault argument \"", w,
                                          "\" (want nID, arg=N, or for a "
                                          "partition FROM>TO)"));
    }
  }
  const bool needs_node =
      f.kind != ScheduledFault::kPartition &&
      f.kind != ScheduledFault::kHeal && f.kind != ScheduledFault::kNetwork;
  if (needs_node && !named_node) {
    return LineError(line, absl::StrCat("a ", words[2],
                                        " fault names its member: nID"));
  }
  return f;
}

// What only the whole file can tell: members within the cluster, ranges
// whose ends are two fields.
absl::Status CheckWhole(const ScenarioFile& file,
                        const std::vector<int>& fault_lines) {
  const Scenario& s = file.scenario;
  if (s.disk_latency_min_us > s.disk_latency_max_us) {
    return absl::InvalidArgumentError(
        "scenario file: disk_latency_min_us > disk_latency_max_us");
  }
  if (s.network.latency_min_us > s.network.latency_max_us) {
    return absl::InvalidArgumentError(
        "scenario file: network.latency_min_us > network.latency_max_us");
  }
  const WorkloadMix& w = s.workload;
  if (w.put + w.get_linearizable + w.get_serializable + w.del + w.cas +
          w.multi_key + w.range ==
      0) {
    return absl::InvalidArgumentError(
        "scenario file: the workload weights are all 0");
  }
  const uint64_t n = static_cast<uint64_t>(s.nodes);
  for (size_t i = 0; i < file.schedule.size(); ++i) {
    const ScheduledFault& f = file.schedule[i];
    bool ok = f.node <= n;
    for (const auto& [from, to] : f.links) ok = ok && from <= n && to <= n;
    if (!ok) {
      return LineError(fault_lines[i],
                       absl::StrCat("names a member beyond nodes=", s.nodes));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> ScenarioFileKeys() {
  std::vector<std::string> keys;
  for (const Field& field : kFields) keys.emplace_back(field.key);
  return keys;
}

std::string FormatFault(const ScheduledFault& f) {
  std::string out =
      absl::StrCat(FormatTime(f.at_us), " ", ScheduledFaultKindName(f.kind));
  const bool clusterwide = f.kind == ScheduledFault::kPartition ||
                           f.kind == ScheduledFault::kHeal ||
                           f.kind == ScheduledFault::kNetwork;
  if (!clusterwide) absl::StrAppend(&out, " n", f.node);
  if (f.arg != 0) absl::StrAppend(&out, " arg=", f.arg);
  for (const auto& [from, to] : f.links) {
    absl::StrAppend(&out, " ", from, ">", to);
  }
  return out;
}

std::string FormatScenarioFile(const Scenario& scenario,
                               const std::vector<ScheduledFault>& schedule,
                               absl::string_view comment) {
  std::string out = absl::StrCat(kScenarioFileHeader, "\n");
  if (!comment.empty()) {
    for (absl::string_view line : absl::StrSplit(comment, '\n')) {
      absl::StrAppend(&out, "# ", line, "\n");
    }
  }
  Scenario s = scenario;  // the table hands out mutable references
  for (const Field& field : kFields) {
    absl::StrAppend(&out, field.key, " ", FormatValue(field.get(s)), "\n");
  }
  absl::StrAppend(&out, "# ", schedule.size(), " faults\n");
  for (const ScheduledFault& f : schedule) {
    absl::StrAppend(&out, "fault ", FormatFault(f), "\n");
  }
  return out;
}

absl::StatusOr<ScenarioFile> ParseScenarioFile(absl::string_view text) {
  ScenarioFile file;
  std::vector<int> fault_lines;
  std::set<absl::string_view> seen;
  bool header = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != line.npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (!header) {
      if (line != kScenarioFileHeader) {
        return LineError(line_number, absl::StrCat("want the header \"",
                                                   kScenarioFileHeader,
                                                   "\", got \"", line, "\""));
      }
      header = true;
      continue;
    }
    const std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words[0] == "fault") {
      absl::StatusOr<ScheduledFault> f = ParseFault(words, line_number);
      if (!f.ok()) return f.status();
      file.schedule.push_back(*std::move(f));
      fault_lines.push_back(line_number);
      continue;
    }
    const Field* field = nullptr;
    for (const Field& candidate : kFields) {
      if (words[0] == candidate.key) field = &candidate;
    }
    if (field == nullptr) {
      return LineError(line_number,
                       absl::StrCat("unknown key \"", words[0], "\""));
    }
    if (words.size() != 2) {
      return LineError(line_number,
                       absl::StrCat(field->key, " wants one value"));
    }
    if (!seen.insert(field->key).second) {
      return LineError(line_number,
                       absl::StrCat(field->key, " is set twice"));
    }
    if (absl::Status st =
            SetValue(*field, field->get(file.scenario), words[1], line_number);
        !st.ok()) {
      return st;
    }
  }
  if (!header) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scenario file: empty; want the header \"", kScenarioFileHeader, "\""));
  }
  if (absl::Status st = CheckWhole(file, fault_lines); !st.ok()) return st;
  return file;
}

}  // namespace etcdpp::sim
