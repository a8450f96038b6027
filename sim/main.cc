// //sim:sim -- runs simulator seeds and prints their verdicts.
//
//   sim --seed=N [--seeds=K | --seeds=A..B] [--nodes=N] [--sim-seconds=S]
//       [--liveness-seconds=S] [--clients=N] [--think-ms=MS]
//       [--torn-crash-every-ms=MS] [--max-msg-bytes=N]
//       [--isolate-new-leaders=PERMILLE] [--new-leader-delay-ms=MS]
//       [--churn-every-ms=MS]
//       [--compaction-retention-ms=MS | --compaction-revisions=N]
//       [--bug=NAME|list]
//       [--verbose] [--trace] [--duplicate-proposals] [--no-fork]
//       [--shrink [--shrink-runs=N] [--shrink-out=FILE]]
//   sim --scenario=FILE [--bug=NAME|none] [--trace] [--check-fail-at=MS]
//       [--shrink [--shrink-runs=N] [--shrink-out=FILE]]
//
// --seed=N runs seed N; with --seeds=K, seeds N..N+K-1; --seeds=A..B runs
// A through B. --verbose prints every seed's report (by default only
// failing seeds are detailed); --trace prints every event;
// --liveness-seconds sets how long clients run after healing (default 6).
// --clients and --think-ms override the client load (heavier: more
// clients, shorter thinks; logs then pass snapshot_count and compact);
// --torn-crash-every-ms makes every crash torn, at that mean gap.
// --max-msg-bytes caps the entries of one raft append (1: one entry each).
// --isolate-new-leaders cuts off that many per mille of newly elected
// leaders soon after their election (Figure 8's schedules), within
// --new-leader-delay-ms of it.
// --churn-every-ms turns membership churn on (sim/churn.h) at that mean
// gap between changes, whatever the seed drew; 0 turns it off.
// --compaction-retention-ms turns periodic auto-compaction on with that
// retention (etcd's --auto-compaction-mode=periodic); --compaction-revisions
// turns revision mode on keeping that many revisions; 0 turns it off.
// A sweep of more than one seed runs each seed in a forked child, so a
// failed CHECK (an abort) inside the world is one failing seed -- reported
// with its trace tail and reproducing command -- and the sweep goes on;
// --no-fork runs them in this process (for a debugger).
// --bug=NAME turns on one planted bug in every node (sim/planted_bugs.h),
// --bug=list lists them.
// --check-fail-at=MS makes a CHECK fail at that virtual millisecond of
// every seed: it shows (and tests) the report of a failed assertion.
// --duplicate-proposals lets the network duplicate forwarded proposals,
// which a known node bug does not survive yet. Exits 1 if any
// seed had a violation, 2 if none did but a linearizability search ran out
// of budget (unknown), 0 otherwise. Only this file reads the wall clock, to
// report speed; the world it runs never does.
//
// --scenario=FILE runs a scenario file (sim/scenario_file.h): the same
// report and exit status as one seed; --bug overrides the file's
// planted_bug (none: off). --shrink with one --seed (and the usual
// overrides) or with --scenario runs it, and if it fails (a CHECK failure
// too), replays its recorded faults as an explicit schedule and shrinks
// that (sim/shrink.h) in at most --shrink-runs runs (default 300), each in
// a forked child; it prints the smallest schedule that still fails the
// same property as a scenario file (and writes it to --shrink-out=FILE),
// and exits 1.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "sim/planted_bugs.h"
#include "sim/scenario_file.h"
#include "sim/shrink.h"
#include "sim/swarm.h"

namespace {

struct Flags {
  uint64_t first = 0;
  uint64_t last = 0;
  bool verbose = false;
  bool trace = false;
  bool fork = true;
  etcdpp::sim::RunOptions options;
  // --scenario=FILE; --shrink and its budget and output file.
  std::string scenario_file;
  bool bug_none = false;  // --bug=none: a scenario file's bug turned off
  bool shrink = false;
  int shrink_runs = 300;
  std::string shrink_out;
};

bool Value(absl::string_view arg, absl::string_view name,
           absl::string_view* v) {
  if (!absl::StartsWith(arg, name) || arg.size() <= name.size() ||
      arg[name.size()] != '=') {
    return false;
  }
  *v = arg.substr(name.size() + 1);
  return true;
}

// --scenario and --shrink combine only with the flags that make sense.
bool CheckModes(const Flags& f, bool seeds, bool seed) {
  const etcdpp::sim::RunOptions& o = f.options;
  if (!f.scenario_file.empty()) {
    // The file holds the whole scenario: edit it rather than override it.
    if (seeds || seed || o.nodes || o.safety_us ||
        o.liveness_us || o.clients || o.think_max_us || o.torn_crash_every_us ||
        o.duplicate_proposals || o.max_msg_bytes ||
        o.isolate_new_leader_permille || o.new_leader_delay_max_us ||
        o.churn_every_us || o.compaction_retention_us ||
        o.compaction_revisions) {
      std::cerr << "--scenario takes only --bug, --shrink and its flags, "
                   "--trace, --verbose and --check-fail-at (edit the file for "
                   "the rest)\n";
      return false;
    }
    return true;
  }
  if (f.bug_none) {
    std::cerr << "--bug=none is for --scenario files\n";
    return false;
  }
  if (f.shrink && (seeds || f.first != f.last)) {
    std::cerr << "--shrink shrinks one --seed\n";
    return false;
  }
  if (!f.shrink && (!f.shrink_out.empty() || f.shrink_runs != 300)) {
    std::cerr << "--shrink-out and --shrink-runs go with --shrink\n";
    return false;
  }
  return true;
}

std::optional<Flags> Parse(int argc, char** argv) {
  Flags f;
  std::optional<absl::string_view> seeds;
  bool seed_given = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i], v;
    int n = 0;
    if (Value(arg, "--seed", &v) && absl::SimpleAtoi(v, &f.first)) {
      f.last = f.first;
      seed_given = true;
    } else if (Value(arg, "--seeds", &v)) {
      seeds = v;
    } else if (Value(arg, "--nodes", &v) && absl::SimpleAtoi(v, &n)) {
      f.options.nodes = n;
    } else if (Value(arg, "--sim-seconds", &v) && absl::SimpleAtoi(v, &n)) {
      f.options.safety_us = int64_t{n} * 1000000;
    } else if (Value(arg, "--liveness-seconds", &v) &&
               absl::SimpleAtoi(v, &n) && n > 0) {
      f.options.liveness_us = int64_t{n} * 1000000;
    } else if (Value(arg, "--clients", &v) && absl::SimpleAtoi(v, &n) &&
               n > 0) {
      f.options.clients = n;
    } else if (Value(arg, "--think-ms", &v) && absl::SimpleAtoi(v, &n) &&
               n > 0) {
      f.options.think_max_us = int64_t{n} * 1000;
    } else if (Value(arg, "--torn-crash-every-ms", &v) &&
               absl::SimpleAtoi(v, &n) && n > 0) {
      f.options.torn_crash_every_us = int64_t{n} * 1000;
    } else if (uint64_t bytes = 0; Value(arg, "--max-msg-bytes", &v) &&
                                   absl::SimpleAtoi(v, &bytes) && bytes > 0) {
      f.options.max_msg_bytes = bytes;
    } else if (uint32_t permille = 0;
               Value(arg, "--isolate-new-leaders", &v) &&
               absl::SimpleAtoi(v, &permille) && permille <= 1000) {
      f.options.isolate_new_leader_permille = permille;
    } else if (Value(arg, "--new-leader-delay-ms", &v) &&
               absl::SimpleAtoi(v, &n) && n >= 0) {
      f.options.new_leader_delay_max_us = int64_t{n} * 1000;
    } else if (Value(arg, "--churn-every-ms", &v) &&
               absl::SimpleAtoi(v, &n) && n >= 0) {
      f.options.churn_every_us = int64_t{n} * 1000;
    } else if (Value(arg, "--compaction-retention-ms", &v) &&
               absl::SimpleAtoi(v, &n) && n >= 0) {
      f.options.compaction_retention_us = int64_t{n} * 1000;
    } else if (int64_t revisions = 0;
               Value(arg, "--compaction-revisions", &v) &&
               absl::SimpleAtoi(v, &revisions) && revisions >= 0) {
      f.options.compaction_revisions = revisions;
    } else if (arg == "--verbose") {
      f.verbose = true;
    } else if (arg == "--duplicate-proposals") {
      f.options.duplicate_proposals = true;
    } else if (Value(arg, "--check-fail-at", &v) && absl::SimpleAtoi(v, &n)) {
      f.options.check_fail_at_us = int64_t{n} * 1000;
    } else if (Value(arg, "--scenario", &v) && !v.empty()) {
      f.scenario_file = std::string(v);
    } else if (arg == "--shrink") {
      f.shrink = true;
    } else if (Value(arg, "--shrink-runs", &v) && absl::SimpleAtoi(v, &n) &&
               n > 0) {
      f.shrink_runs = n;
    } else if (Value(arg, "--shrink-out", &v) && !v.empty()) {
      f.shrink_out = std::string(v);
    } else if (Value(arg, "--bug", &v) && v == "none") {
      f.bug_none = true;
    } else if (Value(arg, "--bug", &v)) {
      if (v == "list") {
        std::cout << etcdpp::sim::ListPlantedBugs();
        std::exit(0);
      }
      if (etcdpp::sim::FindPlantedBug(v) == nullptr) {
        std::cerr << "unknown planted bug " << v << "; --bug=list lists them\n";
        return std::nullopt;
      }
      f.options.bug = std::string(v);
    } else if (arg == "--no-fork") {
      f.fork = false;
    } else if (arg == "--trace") {
      f.trace = true;
    } else {
      std::cerr << "unknown or malformed flag: " << arg << "\n";
      return std::nullopt;
    }
  }
  if (seeds.has_value()) {
    std::vector<absl::string_view> range = absl::StrSplit(*seeds, "..");
    uint64_t a = 0, b = 0;
    if (range.size() == 2 && absl::SimpleAtoi(range[0], &a) &&
        absl::SimpleAtoi(range[1], &b) && a <= b) {
      f.first = a;
      f.last = b;
    } else if (range.size() == 1 && absl::SimpleAtoi(range[0], &a) && a > 0) {
      f.last = f.first + a - 1;
    } else {
      std::cerr << "--seeds wants a count K or a range A..B\n";
      return std::nullopt;
    }
  }
  if (f.options.nodes.has_value() &&
      (*f.options.nodes < 1 || *f.options.nodes > 7)) {
    std::cerr << "--nodes must be 1..7\n";
    return std::nullopt;
  }
  if (!CheckModes(f, seeds.has_value(), seed_given)) return std::nullopt;
  return f;
}

// Runs one seed here, prints its report if wanted, and returns its totals.
etcdpp::sim::SweepTotals RunHere(uint64_t seed, const Flags& flags) {
  const etcdpp::sim::SeedResult r = etcdpp::sim::RunSeed(seed, flags.options);
  if (flags.verbose || !r.passed() || flags.first == flags.last) {
    std::cout << etcdpp::sim::FormatResult(r, flags.options) << "\n";
  }
  std::cout.flush();
  etcdpp::sim::SweepTotals totals;
  totals.Add(r);
  return totals;
}

// What a forked child sent back, or how it died.
struct ChildResult {
  bool ok = false;
  std::string out;
  std::string death;  // "signal 6 (Aborted)" when !ok
};

// Runs `body` in a forked child and returns the string it produced. `body`
// gets the pipe's descriptor: what it writes there before dying comes back
// too. Quiet: the child's stdout and stderr are discarded (a dying child's
// crash report would only repeat what the shrinker prints).
ChildResult InChild(const std::function<std::string(int fd)>& body,
                    bool quiet = true) {
  ChildResult result;
  int fds[2];
  if (pipe(fds) != 0) {
    std::cerr << "pipe: " << std::strerror(errno) << "\n";
    std::exit(70);
  }
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::cerr << "fork: " << std::strerror(errno) << "\n";
    std::exit(70);
  }
  if (pid == 0) {
    close(fds[0]);
    if (const int null = quiet ? open("/dev/null", O_WRONLY) : -1; null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    const std::string out = body(fds[1]);
    const char* p = out.data();
    size_t left = out.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) _exit(71);
      p += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.out.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!result.ok) {
    result.death =
        WIFSIGNALED(status)
            ? absl::StrCat("signal ", WTERMSIG(status), " (",
                           strsignal(WTERMSIG(status)), ")")
            : absl::StrCat("exit status ", WEXITSTATUS(status));
  }
  return result;
}

// Runs one seed in a forked child, which sends its totals back through a
// pipe. A child that dies (a CHECK abort: its crash report is already
// printed) or sends nothing counts as one failed seed.
etcdpp::sim::SweepTotals RunForked(uint64_t seed, const Flags& flags) {
  const ChildResult child = InChild(
      [&](int) {
        const etcdpp::sim::SweepTotals t = RunHere(seed, flags);
        return std::string(reinterpret_cast<const char*>(&t), sizeof(t));
      },
      /*quiet=*/false);
  etcdpp::sim::SweepTotals totals;
  if (child.ok && child.out.size() == sizeof(totals)) {
    std::memcpy(&totals, child.out.data(), sizeof(totals));
    return totals;
  }
  totals.seeds = 1;
  totals.failed = 1;
  std::cout << "seed " << seed << ": FAIL: child "
            << (child.ok ? std::string("sent no totals")
                         : absl::StrCat("died of ", child.death))
            << " (its report is on stderr); reproduce: "
            << etcdpp::sim::ReproduceCommand(seed, flags.options)
            << " --trace\n";
  return totals;
}

std::vector<std::string> Lines(absl::string_view text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  return lines;
}

// The shrinker's runs, each in a child: a CHECK failure inside the world is
// a failing candidate ("assertion", as the crash report calls it).
etcdpp::sim::ScheduleRunner ForkedRunner(const etcdpp::sim::RunOptions& o) {
  return [o](const etcdpp::sim::Scenario& scenario,
             const std::vector<etcdpp::sim::ScheduledFault>& schedule) {
    const ChildResult child = InChild([&](int) {
      return absl::StrJoin(
          etcdpp::sim::RunScenario(scenario, o, schedule).violations, "\n");
    });
    if (!child.ok) {
      return std::vector<std::string>{absl::StrCat(
          "assertion: the run died of ", child.death, " inside the world")};
    }
    return Lines(child.out);
  };
}

// What --shrink starts from: a seed's scenario, or a scenario file's
// scenario and schedule.
struct Start {
  etcdpp::sim::Scenario scenario;
  std::vector<etcdpp::sim::ScheduledFault> schedule;
  std::string name;  // "seed 7", "/tmp/x.scn"
};

// Shrinks `recorded`, a run that failed with `violation`; prints the
// smallest schedule as a scenario file.
int ShrinkRecorded(const Flags& flags, const Start& start,
                   const std::string& violation,
                   const etcdpp::sim::ScenarioFile& recorded) {
  namespace sim = etcdpp::sim;
  const std::string property = sim::PropertyOf(violation);
  std::cout << start.name << ": FAIL: " << violation << "\n"
            << "shrink: " << recorded.schedule.size()
            << " recorded faults; replaying them with the fault rates at 0, "
               "then shrinking (at most "
            << flags.shrink_runs << " runs)\n";
  std::cout.flush();
  sim::ShrinkOptions shrink_options;
  shrink_options.max_runs = flags.shrink_runs;
  shrink_options.progress = &std::cout;
  sim::RunOptions run_options = flags.options;
  run_options.trace_out = nullptr;
  const sim::ShrinkResult result =
      sim::ShrinkSchedule(recorded.scenario, recorded.schedule, property,
                          ForkedRunner(run_options), shrink_options);
  if (!result.reproduced) {
    std::cout << "shrink: replaying the " << recorded.schedule.size()
              << " recorded faults did not fail " << property
              << " again (the run differs once faults are explicit); "
                 "nothing to shrink\n";
    return 1;
  }
  const std::string text = sim::FormatScenarioFile(
      recorded.scenario, result.schedule,
      absl::StrCat("Shrunk from ",
                   sim::ReproduceCommand(start.scenario.seed, flags.options),
                   "\n", recorded.schedule.size(), " recorded faults -> ",
                   result.schedule.size(), " in ", result.runs, " runs",
                   result.budget_spent ? " (budget spent)" : "",
                   "\nviolates: ", result.violation));
  std::cout << "shrink: " << recorded.schedule.size() << " faults -> "
            << result.schedule.size() << " in " << result.runs << " runs"
            << (result.budget_spent ? " (budget spent: --shrink-runs)" : "")
            << "\nviolates: " << result.violation << "\n"
            << text;
  if (!flags.shrink_out.empty()) {
    std::ofstream out(flags.shrink_out);
    out << text;
    out.close();
    if (!out) {
      std::cerr << "cannot write " << flags.shrink_out << "\n";
      return 74;
    }
    // The file holds the scenario and the bug; --check-fail-at stays a flag.
    sim::RunOptions replay = flags.options;
    replay.scenario_file = flags.shrink_out;
    replay.bug.clear();
    std::cout << "reproduce: " << sim::ReproduceCommand(0, replay) << "\n";
  }
  return 1;
}

// --shrink: runs the start in a child, which sends back its violations and
// its recorded faults as a scenario file -- or, if it dies (a CHECK), the
// faults injected until then, which its crash report writes -- then
// shrinks that schedule.
int Shrink(const Flags& flags, const Start& start) {
  namespace sim = etcdpp::sim;
  const ChildResult child = InChild([&](int fd) {
    sim::RunOptions options = flags.options;
    options.dying_faults_fd = fd;
    options.trace_out = nullptr;
    const sim::SeedResult r =
        sim::RunScenario(start.scenario, options, start.schedule);
    std::string out = absl::StrCat(r.violations.size(), "\n");
    for (const std::string& v : r.violations) absl::StrAppend(&out, v, "\n");
    absl::StrAppend(&out, sim::FormatScenarioFile(
                              sim::ExplicitFaultsOnly(r.scenario), r.faults));
    return out;
  });
  std::string violation;
  std::string file_text;
  if (!child.ok) {
    violation = absl::StrCat("assertion: the run died of ", child.death,
                             " inside the world");
    file_text = absl::StrCat(
        sim::FormatScenarioFile(sim::ExplicitFaultsOnly(start.scenario), {}),
        child.out);
  } else {
    const size_t newline = child.out.find('\n');
    size_t count = 0;
    if (newline == std::string::npos ||
        !absl::SimpleAtoi(child.out.substr(0, newline), &count)) {
      std::cerr << "shrink: garbled report from the run\n";
      return 70;
    }
    if (count == 0) {
      std::cout << start.name << ": PASS: nothing to shrink\n";
      return 0;
    }
    const std::vector<std::string> lines =
        Lines(child.out.substr(newline + 1));
    violation = lines[0];
    for (size_t i = count; i < lines.size(); ++i) {
      absl::StrAppend(&file_text, lines[i], "\n");
    }
  }
  absl::StatusOr<sim::ScenarioFile> recorded =
      sim::ParseScenarioFile(file_text);
  if (!recorded.ok()) {
    std::cerr << "shrink: the recorded schedule does not read back: "
              << recorded.status() << "\n";
    return 70;
  }
  return ShrinkRecorded(flags, start, violation, *recorded);
}

// Reads --scenario's file, with --bug's override; nullopt (and the exit
// status in *status) if it cannot.
std::optional<etcdpp::sim::ScenarioFile> LoadFile(Flags& flags, int* status) {
  namespace sim = etcdpp::sim;
  std::ifstream in(flags.scenario_file);
  if (!in) {
    std::cerr << "cannot read " << flags.scenario_file << "\n";
    *status = 66;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<sim::ScenarioFile> file = sim::ParseScenarioFile(text.str());
  if (!file.ok()) {
    std::cerr << flags.scenario_file << ": " << file.status().message()
              << "\n";
    *status = 65;
    return std::nullopt;
  }
  if (flags.bug_none) file->scenario.planted_bug.clear();
  if (!flags.options.bug.empty()) file->scenario.planted_bug = flags.options.bug;
  flags.options.scenario_file = flags.scenario_file;
  return *std::move(file);
}

// --scenario=FILE: one run of the file, reported as a seed is.
int RunFile(const Flags& flags, const etcdpp::sim::ScenarioFile& file) {
  namespace sim = etcdpp::sim;
  const auto start = std::chrono::steady_clock::now();
  const sim::SeedResult r =
      sim::RunScenario(file.scenario, flags.options, file.schedule);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::cout << sim::FormatResult(r, flags.options) << "\n";
  sim::SweepTotals totals;
  totals.Add(r);
  std::cout << totals.Describe() << " in " << wall << " wall s\n";
  if (totals.failed > 0) return 1;
  return totals.unknown > 0 ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Flags> flags = Parse(argc, argv);
  if (!flags.has_value()) return 64;
  if (flags->trace) flags->options.trace_out = &std::cout;
  etcdpp::sim::InstallCrashReport();
  if (!flags->scenario_file.empty()) {
    int status = 0;
    const std::optional<etcdpp::sim::ScenarioFile> file =
        LoadFile(*flags, &status);
    if (!file.has_value()) return status;
    if (!flags->shrink) return RunFile(*flags, *file);
    return Shrink(*flags, {file->scenario, file->schedule, flags->scenario_file});
  }
  if (flags->shrink) {
    return Shrink(*flags,
                  {etcdpp::sim::ScenarioOf(flags->first, flags->options),
                   {},
                   absl::StrCat("seed ", flags->first)});
  }
  const bool fork = flags->fork && flags->first != flags->last;
  const auto start = std::chrono::steady_clock::now();
  etcdpp::sim::SweepTotals totals;
  std::vector<uint64_t> failing;
  for (uint64_t seed = flags->first; seed <= flags->last; ++seed) {
    const etcdpp::sim::SweepTotals t =
        fork ? RunForked(seed, *flags) : RunHere(seed, *flags);
    if (t.failed > 0) failing.push_back(seed);
    totals.Merge(t);
    if (seed == UINT64_MAX) break;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!failing.empty() && flags->first != flags->last) {
    std::cout << "failing seeds:";
    for (uint64_t seed : failing) std::cout << " " << seed;
    std::cout << "\n";
  }
  std::cout << totals.Describe() << " in " << wall << " wall s ("
            << (wall > 0 ? totals.ops / wall : 0) << " ops/s, "
            << (wall > 0 ? totals.sim_us / 1e6 / wall : 0) << "x real time)\n";
  if (totals.failed > 0) return 1;
  return totals.unknown > 0 ? 2 : 0;
}
