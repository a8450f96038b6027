// The checkers' teeth: each planted bug (sim/planted_bugs.h) must be caught
// -- a safety, liveness or linearizability violation -- within a fixed
// number of seeds of a sweep from seed 0, under load that reaches the code
// it breaks. Prints how many seeds each took.
#include "sim/planted_bugs.h"

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "sim/swarm.h"

namespace etcdpp::sim {
namespace {

struct Hunt {
  const char* bug;
  uint64_t max_seeds;
  RunOptions options;
};

// Heavier client load: reads land on deposed leaders and logs grow.
RunOptions Load() {
  RunOptions o;
  o.clients = 8;
  o.think_max_us = 20000;
  return o;
}

RunOptions LoadAndTornCrashes() {
  RunOptions o = Load();
  o.torn_crash_every_us = 1000000;
  return o;
}

// Seeds each took when this was written (sweeps from 0 with these options,
// after churn, watch and lease clients joined the draws):
// vote_twice_in_term 2, commit_previous_term_by_counting 3,
// ack_append_before_persist 4, apply_before_commit 1,
// serve_read_locally_on_deposed_leader 12, skip_torn_tail_truncation 20,
// wal_skip_fsync 3, lease_outlives_revoke 1, watch_events_out_of_order 8.
// The bounds leave room for changes of the draws.

// Elections again and again: every new leader is cut off within 30 ms of
// its election.
RunOptions Elections() {
  RunOptions o;
  o.isolate_new_leader_permille = 1000;
  o.new_leader_delay_max_us = 30000;
  o.safety_us = 30000000;
  return o;
}

// Figure 8's schedules: three members, one entry per append, elections
// again and again, long runs.
RunOptions Figure8() {
  RunOptions o = Elections();
  o.nodes = 3;
  o.max_msg_bytes = 1;
  o.safety_us = 60000000;
  return o;
}

const Hunt kHunts[] = {
    // Few drawn schedules reach it (seeds 34, 65 and 75 of 0..79 with the
    // default options): it needs elections.
    {"vote_twice_in_term", 10, Elections()},
    {"commit_previous_term_by_counting", 30, Figure8()},
    {"ack_append_before_persist", 40, RunOptions{}},
    {"apply_before_commit", 10, RunOptions{}},
    {"serve_read_locally_on_deposed_leader", 40, Load()},
    {"skip_torn_tail_truncation", 60, LoadAndTornCrashes()},
    {"wal_skip_fsync", 20, RunOptions{}},
    {"lease_outlives_revoke", 20, RunOptions{}},
    {"watch_events_out_of_order", 20, RunOptions{}},
};

TEST(PlantedBugsTest, EveryPlantedBugHasAHunt) {
  for (const PlantedBug& bug : AllPlantedBugs()) {
    bool found = false;
    for (const Hunt& h : kHunts)
      found = found || std::string(h.bug) == bug.name;
    EXPECT_TRUE(found) << bug.name << " has no hunt in planted_bugs_test.cc";
  }
}

class PlantedBugsTest : public testing::TestWithParam<Hunt> {};

TEST_P(PlantedBugsTest, CaughtWithinBound) {
  const Hunt& hunt = GetParam();
  ASSERT_NE(FindPlantedBug(hunt.bug), nullptr);
  RunOptions options = hunt.options;
  options.bug = hunt.bug;
  std::optional<uint64_t> caught;
  for (uint64_t seed = 0; seed < hunt.max_seeds && !caught; ++seed) {
    const SeedResult r = RunSeed(seed, options);
    if (!r.violations.empty()) {
      caught = seed;
      std::cout << hunt.bug << ": caught by seed " << seed << " (" << seed + 1
                << " seeds): " << r.violations[0] << "\n  "
                << ReproduceCommand(seed, options) << "\n";
    }
  }
  ASSERT_TRUE(caught.has_value())
      << hunt.bug << " survived " << hunt.max_seeds << " seeds";
  // The same options without the bug pass on that seed: the violation is
  // the bug's doing.
  RunOptions clean = hunt.options;
  const SeedResult r = RunSeed(*caught, clean);
  EXPECT_TRUE(r.violations.empty()) << FormatResult(r, clean);
}

INSTANTIATE_TEST_SUITE_P(Bugs, PlantedBugsTest, testing::ValuesIn(kHunts),
                         [](const testing::TestParamInfo<Hunt>& info) {
                           return std::string(info.param.bug);
                         });

}  // namespace
}  // namespace etcdpp::sim
