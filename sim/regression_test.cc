// Runs every seed in sim/regression_seeds.txt, then a block of further
// seeds, and fails with the reproducing command of each failing one.
//
// The further seeds are SIM_SEED_BASE.. (default 100000) plus
// SIM_FRESH_SEEDS of them (default 30), so CI stays deterministic while a
// developer can point the test at new seeds.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "sim/swarm.h"

namespace etcdpp::sim {
namespace {

std::vector<uint64_t> RegressionSeeds() {
  std::ifstream in("sim/regression_seeds.txt");
  EXPECT_TRUE(in.good()) << "sim/regression_seeds.txt is a data dependency";
  std::vector<uint64_t> seeds;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view s = line;
    s = s.substr(0, s.find('#'));
    s = absl::StripAsciiWhitespace(s);
    if (s.empty()) continue;
    uint64_t seed = 0;
    EXPECT_TRUE(absl::SimpleAtoi(s, &seed)) << "bad seed line: " << line;
    seeds.push_back(seed);
  }
  return seeds;
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  uint64_t n = 0;
  return v != nullptr && absl::SimpleAtoi(v, &n) ? n : fallback;
}

void RunAll(const std::vector<uint64_t>& seeds) {
  const RunOptions options;
  for (uint64_t seed : seeds) {
    const SeedResult r = RunSeed(seed, options);
    EXPECT_TRUE(r.passed()) << FormatResult(r, options);
  }
}

TEST(RegressionTest, RegressionSeeds) {
  const std::vector<uint64_t> seeds = RegressionSeeds();
  EXPECT_FALSE(seeds.empty());
  RunAll(seeds);
}

// Three slices of the fresh seeds, so test shards share them out.
class FreshSeedsTest : public testing::TestWithParam<int> {};

TEST_P(FreshSeedsTest, Pass) {
  const uint64_t base = EnvOr("SIM_SEED_BASE", 100000);
  const uint64_t count = EnvOr("SIM_FRESH_SEEDS", 30);
  std::vector<uint64_t> seeds;
  for (uint64_t i = GetParam(); i < count; i += 3) seeds.push_back(base + i);
  RunAll(seeds);
}

INSTANTIATE_TEST_SUITE_P(Slices, FreshSeedsTest, testing::Values(0, 1, 2));

}  // namespace
}  // namespace etcdpp::sim
