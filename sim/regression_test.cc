// Runs every seed in sim/regression_seeds.txt, then a block of further
// seeds, and fails with the reproducing command of each failing one.
//
// The further seeds are SIM_SEED_BASE.. (default 100000) plus
// SIM_FRESH_SEEDS of them (default 12), so CI stays deterministic while a
// developer can point the test at new seeds. Then a wide block of short
// seeds (2 s of faults, 1 s of liveness clients, every checker): from
// SIM_SHORT_SEED_BASE (default 200000), SIM_SHORT_SEEDS of them (default
// 500; 100 under ASan), so every change runs 522 seeds in all.
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

void RunAll(const std::vector<uint64_t>& seeds,
            const RunOptions& options = {}) {
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
  const uint64_t count = EnvOr("SIM_FRESH_SEEDS", 12);
  std::vector<uint64_t> seeds;
  for (uint64_t i = GetParam(); i < count; i += 3) seeds.push_back(base + i);
  RunAll(seeds);
}

INSTANTIATE_TEST_SUITE_P(Slices, FreshSeedsTest, testing::Values(0, 1, 2));

#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kShortSeeds = 100;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr uint64_t kShortSeeds = 100;
#else
constexpr uint64_t kShortSeeds = 500;
#endif
#else
constexpr uint64_t kShortSeeds = 500;
#endif

// Eight slices of the short seeds, so test shards share them out.
class ShortSeedsTest : public testing::TestWithParam<int> {};

TEST_P(ShortSeedsTest, Pass) {
  const uint64_t base = EnvOr("SIM_SHORT_SEED_BASE", 200000);
  const uint64_t count = EnvOr("SIM_SHORT_SEEDS", kShortSeeds);
  RunOptions options;
  options.safety_us = 2000000;
  options.liveness_us = 1000000;
  std::vector<uint64_t> seeds;
  for (uint64_t i = GetParam(); i < count; i += 8) seeds.push_back(base + i);
  RunAll(seeds, options);
}

INSTANTIATE_TEST_SUITE_P(Slices, ShortSeedsTest, testing::Range(0, 8));

}  // namespace
}  // namespace etcdpp::sim
