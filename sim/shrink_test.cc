#include "sim/shrink.h"

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/nemesis.h"
#include "sim/scenario_file.h"
#include "sim/swarm.h"

namespace etcdpp::sim {
namespace {

// Short runs: 3 s of faults, 1 s of liveness clients.
RunOptions Short() {
  RunOptions o;
  o.safety_us = 3000000;
  o.liveness_us = 1000000;
  return o;
}

// A seed's recorded faults, replayed with the rates at 0, inject the same
// faults at the same times: the run is the same, event for event (equal
// trace hashes), so a failing seed is an explicit schedule. The only way
// for them to differ is a fault that lands on the very microsecond of
// another event, where the seeded run and the replay may order the two
// differently; none of these seeds does.
TEST(ShrinkTest, RecordedFaultsReplayTheSameRun) {
  const RunOptions options = Short();
  int exact = 0, faults = 0;
  const int kSeeds = 15;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    const SeedResult seeded = RunSeed(seed, options);
    faults += static_cast<int>(seeded.faults.size());
    const SeedResult replayed = RunScenario(
        ExplicitFaultsOnly(seeded.scenario), options, seeded.faults);
    EXPECT_EQ(replayed.faults, seeded.faults) << "seed " << seed;
    EXPECT_EQ(replayed.passed(), seeded.passed()) << "seed " << seed;
    if (replayed.trace_hash == seeded.trace_hash) {
      ++exact;
    } else {
      ADD_FAILURE() << "seed " << seed << ": replay differs";
    }
  }
  std::fprintf(stderr, "%d of %d seeds replayed exactly (%d faults)\n", exact,
               kSeeds, faults);
  EXPECT_GT(faults, kSeeds);  // the seeds did inject faults
}

// The recorded schedule survives the trip through a scenario file.
TEST(ShrinkTest, RecordedFaultsRoundTripThroughAFile) {
  SeedResult seeded;
  for (uint64_t seed = 0; seeded.faults.size() < 3; ++seed) {
    ASSERT_LT(seed, 50u) << "no seed with three faults";
    seeded = RunSeed(seed, Short());
  }
  const Scenario scenario = ExplicitFaultsOnly(seeded.scenario);
  absl::StatusOr<ScenarioFile> file =
      ParseScenarioFile(FormatScenarioFile(scenario, seeded.faults));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->schedule, seeded.faults);
  EXPECT_EQ(RunScenario(file->scenario, Short(), file->schedule).trace_hash,
            seeded.trace_hash);
}

// A planted bug's failing seed shrinks to a schedule that still fails the
// same property and is no longer (in practice much shorter).
TEST(ShrinkTest, ShrinksAPlantedBugSeed) {
  RunOptions options = Short();
  options.bug = "wal_skip_fsync";
  options.torn_crash_every_us = 800000;
  const uint64_t kSeed = 13;
  const SeedResult seeded = RunSeed(kSeed, options);
  ASSERT_FALSE(seeded.passed()) << "the seed no longer fails; pick another";
  const std::string property = ViolatedProperty(seeded);
  ShrinkOptions shrink;
  shrink.max_runs = 150;
  const ShrinkResult r =
      ShrinkSchedule(seeded.scenario, seeded.faults, property,
                     InProcessRunner(options), shrink);
  ASSERT_TRUE(r.reproduced) << "the recorded schedule did not fail again";
  EXPECT_EQ(r.property, property);
  EXPECT_LE(r.schedule.size(), seeded.faults.size());
  std::fprintf(stderr,
               "seed %llu (%s): %zu recorded faults -> %zu in %d runs "
               "(%d shrinks accepted%s): %s\n",
               static_cast<unsigned long long>(kSeed), property.c_str(),
               seeded.faults.size(), r.schedule.size(), r.runs, r.accepted,
               r.budget_spent ? ", budget spent" : "", r.violation.c_str());
  // Still fails, by itself, the same way.
  const SeedResult again =
      RunScenario(ExplicitFaultsOnly(seeded.scenario), options, r.schedule);
  ASSERT_FALSE(again.violations.empty());
  EXPECT_EQ(ViolatedProperty(again), property);
  // Without the bug the same schedule passes: the bug, not the schedule,
  // is what fails.
  Scenario fixed = ExplicitFaultsOnly(seeded.scenario);
  fixed.planted_bug.clear();
  EXPECT_TRUE(RunScenario(fixed, options, r.schedule).passed());
}

// An empty property means "whatever the start fails"; a start that passes
// is reported as not reproduced, with nothing shrunk.
TEST(ShrinkTest, APassingStartIsNotReproduced) {
  const SeedResult seeded = RunSeed(3, Short());
  ASSERT_TRUE(seeded.passed());
  const ShrinkResult r = ShrinkSchedule(seeded.scenario, seeded.faults, "",
                                        InProcessRunner(Short()), {});
  EXPECT_FALSE(r.reproduced);
  EXPECT_EQ(r.runs, 1);
}

}  // namespace
}  // namespace etcdpp::sim
