// //sim:sim -- runs simulator seeds and prints their verdicts.
//
//   sim --seed=N [--seeds=K | --seeds=A..B] [--nodes=N] [--sim-seconds=S]
//       [--liveness-seconds=S] [--clients=N] [--think-ms=MS]
//       [--torn-crash-every-ms=MS] [--churn-every-ms=MS]
//       [--bug=NAME|list]
//       [--verbose] [--trace] [--duplicate-proposals] [--no-fork]
//
// --seed=N runs seed N; with --seeds=K, seeds N..N+K-1; --seeds=A..B runs
// A through B. --verbose prints every seed's report (by default only
// failing seeds are detailed); --trace prints every event;
// --liveness-seconds sets how long clients run after healing (default 6).
// --clients and --think-ms override the client load (heavier: more
// clients, shorter thinks; logs then pass snapshot_count and compact);
// --torn-crash-every-ms makes every crash torn, at that mean gap.
// --churn-every-ms turns membership churn on (sim/churn.h) at that mean
// gap between changes, whatever the seed drew; 0 turns it off.
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
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "sim/planted_bugs.h"
#include "sim/swarm.h"

namespace {

struct Flags {
  uint64_t first = 0;
  uint64_t last = 0;
  bool verbose = false;
  bool trace = false;
  bool fork = true;
  etcdpp::sim::RunOptions options;
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

std::optional<Flags> Parse(int argc, char** argv) {
  Flags f;
  std::optional<absl::string_view> seeds;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i], v;
    int n = 0;
    if (Value(arg, "--seed", &v) && absl::SimpleAtoi(v, &f.first)) {
      f.last = f.first;
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
    } else if (Value(arg, "--churn-every-ms", &v) &&
               absl::SimpleAtoi(v, &n) && n >= 0) {
      f.options.churn_every_us = int64_t{n} * 1000;
    } else if (arg == "--verbose") {
      f.verbose = true;
    } else if (arg == "--duplicate-proposals") {
      f.options.duplicate_proposals = true;
    } else if (Value(arg, "--check-fail-at", &v) && absl::SimpleAtoi(v, &n)) {
      f.options.check_fail_at_us = int64_t{n} * 1000;
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

bool ReadAll(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Runs one seed in a forked child, which sends its totals back through a
// pipe. A child that dies (a CHECK abort: its crash report is already
// printed) or sends nothing counts as one failed seed.
etcdpp::sim::SweepTotals RunForked(uint64_t seed, const Flags& flags) {
  etcdpp::sim::SweepTotals totals;
  int fds[2];
  if (pipe(fds) != 0) {
    std::cerr << "pipe: " << std::strerror(errno) << "\n";
    std::exit(70);
  }
  std::cout.flush();
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    std::cerr << "fork: " << std::strerror(errno) << "\n";
    std::exit(70);
  }
  if (pid == 0) {
    close(fds[0]);
    const etcdpp::sim::SweepTotals t = RunHere(seed, flags);
    const char* p = reinterpret_cast<const char*>(&t);
    size_t left = sizeof(t);
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) _exit(71);
      p += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  const bool got =
      ReadAll(fds[0], reinterpret_cast<char*>(&totals), sizeof(totals));
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got && WIFEXITED(status) && WEXITSTATUS(status) == 0) return totals;
  totals = etcdpp::sim::SweepTotals{};
  totals.seeds = 1;
  totals.failed = 1;
  std::cout << "seed " << seed << ": FAIL: child "
            << (WIFSIGNALED(status)
                    ? absl::StrCat("died of signal ", WTERMSIG(status))
                    : absl::StrCat("exited with ", WEXITSTATUS(status)))
            << " (its report is on stderr); reproduce: "
            << etcdpp::sim::ReproduceCommand(seed, flags.options)
            << " --trace\n";
  return totals;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Flags> flags = Parse(argc, argv);
  if (!flags.has_value()) return 64;
  if (flags->trace) flags->options.trace_out = &std::cout;
  etcdpp::sim::InstallCrashReport();
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
