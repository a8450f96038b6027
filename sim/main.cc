// //sim:sim -- runs simulator seeds and prints their verdicts.
//
//   sim --seed=N [--seeds=K | --seeds=A..B] [--nodes=N] [--sim-seconds=S]
//       [--verbose] [--trace] [--duplicate-proposals]
//
// --seed=N runs seed N; with --seeds=K, seeds N..N+K-1; --seeds=A..B runs
// A through B. --verbose prints every seed's report (by default only
// failing seeds are detailed); --trace prints every event;
// --duplicate-proposals lets the network duplicate forwarded proposals,
// which a known node bug does not survive yet. Exits 1 if any
// seed had a violation, 2 if none did but a linearizability search ran out
// of budget (unknown), 0 otherwise. Only this file reads the wall clock, to
// report speed; the world it runs never does.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "sim/swarm.h"

namespace {

struct Flags {
  uint64_t first = 0;
  uint64_t last = 0;
  bool verbose = false;
  bool trace = false;
  etcdpp::sim::RunOptions options;
};

bool Value(absl::string_view arg, absl::string_view name, absl::string_view* v) {
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
    } else if (arg == "--verbose") {
      f.verbose = true;
    } else if (arg == "--duplicate-proposals") {
      f.options.duplicate_proposals = true;
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

}  // namespace

int main(int argc, char** argv) {
  std::optional<Flags> flags = Parse(argc, argv);
  if (!flags.has_value()) return 64;
  if (flags->trace) flags->options.trace_out = &std::cout;
  const auto start = std::chrono::steady_clock::now();
  uint64_t failed = 0, unknown = 0, ops = 0, events = 0, seeds = 0;
  int64_t sim_us = 0;
  for (uint64_t seed = flags->first; seed <= flags->last; ++seed) {
    const etcdpp::sim::SeedResult r = etcdpp::sim::RunSeed(seed, flags->options);
    ++seeds;
    ops += r.ops;
    events += r.trace_events;
    sim_us += r.end_us;
    if (!r.violations.empty()) ++failed;
    if (r.violations.empty() && !r.passed()) ++unknown;
    if (flags->verbose || !r.passed() || flags->first == flags->last) {
      std::cout << etcdpp::sim::FormatResult(r, flags->options) << "\n";
    }
    if (seed == UINT64_MAX) break;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::cout << seeds << " seeds: " << failed << " failed, " << unknown
            << " unknown; " << ops << " ops, " << events << " events, "
            << sim_us / 1000000 << " simulated s in " << wall << " wall s ("
            << (wall > 0 ? ops / wall : 0) << " ops/s, "
            << (wall > 0 ? sim_us / 1e6 / wall : 0) << "x real time)\n";
  if (failed > 0) return 1;
  return unknown > 0 ? 2 : 0;
}
