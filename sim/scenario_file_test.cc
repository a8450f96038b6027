#include "sim/scenario_file.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/prng.h"
#include "gtest/gtest.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"

namespace etcdpp::sim {
namespace {

// One fault of every kind, with the arguments each can carry.
std::vector<ScheduledFault> EveryKind() {
  std::vector<ScheduledFault> s;
  for (int k = 0; k < ScheduledFault::kKinds; ++k) {
    ScheduledFault f;
    f.at_us = 1000003 * (k + 1);
    f.kind = static_cast<ScheduledFault::Kind>(k);
    const bool clusterwide = f.kind == ScheduledFault::kPartition ||
                             f.kind == ScheduledFault::kHeal ||
                             f.kind == ScheduledFault::kNetwork;
    f.node = clusterwide ? 1 : 1 + k % 3;
    if (f.kind == ScheduledFault::kNetwork) f.arg = 37;
    if (f.kind == ScheduledFault::kPartition) f.links = {{1, 2}, {2, 1}, {3, 1}};
    s.push_back(f);
  }
  ScheduledFault shaped;  // a partition the nemesis draws, of shape 2
  shaped.at_us = 999;
  shaped.kind = ScheduledFault::kPartition;
  shaped.arg = 2;
  s.push_back(shaped);
  return s;
}

TEST(ScenarioFileTest, RoundTripsDrawnScenariosAndEveryFaultKind) {
  for (uint64_t seed = 0; seed < 64; ++seed) {
    Scenario s = Scenario::Draw(seed * 7919);
    if (s.nodes < 3) s.nodes = 3;  // EveryKind names n3
    s.seed = seed * 0x9e3779b97f4a7c15ULL;  // beyond int64 too
    if (seed % 2 == 0) s.planted_bug = "wal_skip_fsync";
    s.network.duplicate_proposals = seed % 3 == 0;
    const std::vector<ScheduledFault> schedule = EveryKind();
    const std::string text = FormatScenarioFile(s, schedule, "two\nlines");
    absl::StatusOr<ScenarioFile> parsed = ParseScenarioFile(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
    EXPECT_EQ(FormatScenarioFile(parsed->scenario, parsed->schedule,
                                 "two\nlines"),
              text);
    EXPECT_EQ(parsed->schedule, schedule);
    EXPECT_EQ(parsed->scenario.seed, s.seed);
    EXPECT_EQ(parsed->scenario.planted_bug, s.planted_bug);
    EXPECT_EQ(parsed->scenario.Describe(), s.Describe());
  }
}

// Converts to any field's type: counts an aggregate's fields below.
struct AnyField {
  template <typename T>
  operator T() const;  // never defined: used in requires-expressions only
};

// The number of fields of aggregate T: the most initializers T{...} takes.
template <typename T, typename... Fields>
constexpr size_t CountFields() {
  if constexpr (requires { T{Fields{}..., AnyField{}}; }) {
    return CountFields<T, Fields..., AnyField>();
  } else {
    return sizeof...(Fields);
  }
}

size_t KeysWithPrefix(absl::string_view prefix) {
  size_t n = 0;
  for (const std::string& key : ScenarioFileKeys()) {
    const bool nested = key.find('.') != std::string::npos;
    if (prefix.empty() ? !nested : absl::StartsWith(key, prefix)) ++n;
  }
  return n;
}

// The table in scenario_file.cc must name every Scenario field, or a file
// would silently run a field's default. A field added to Scenario (or to
// its parts) fails this until its line is added to the table.
TEST(ScenarioFileTest, EveryScenarioFieldIsInTheTable) {
  const char* const why = "add the new field to kFields in sim/scenario_file.cc";
  EXPECT_EQ(KeysWithPrefix("network."), CountFields<NetworkFaults>()) << why;
  EXPECT_EQ(KeysWithPrefix("faults."), CountFields<FaultRates>()) << why;
  EXPECT_EQ(KeysWithPrefix("workload."), CountFields<WorkloadMix>()) << why;
  // The three parts are fields of Scenario but not keys themselves.
  EXPECT_EQ(KeysWithPrefix(""), CountFields<Scenario>() - 3) << why;
  EXPECT_EQ(CountFields<NetworkFaults>(), 7u);  // the counting works
}

TEST(ScenarioFileTest, ReadsAHandWrittenFile) {
  const std::string text = R"(  etcdpp-sim-scenario 1
# A hand-written scenario: missing fields keep their defaults.
nodes 5            # five members
safety_us 3s
liveness_us 1500ms
faults.down_max_us 250000us
planted_bug vote_twice_in_term

fault 1.25s crash-torn n2
fault 300ms partition 1>2 2>1
fault 2s restart n2
fault 2.5s heal
fault 3s network arg=5
)";
  absl::StatusOr<ScenarioFile> f = ParseScenarioFile(text);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->scenario.nodes, 5);
  EXPECT_EQ(f->scenario.safety_us, 3000000);
  EXPECT_EQ(f->scenario.liveness_us, 1500000);
  EXPECT_EQ(f->scenario.faults.down_max_us, 250000);
  EXPECT_EQ(f->scenario.planted_bug, "vote_twice_in_term");
  EXPECT_EQ(f->scenario.workload.clients, Scenario{}.workload.clients);
  ASSERT_EQ(f->schedule.size(), 5u);
  EXPECT_EQ(f->schedule[0].at_us, 1250000);
  EXPECT_EQ(f->schedule[0].kind, ScheduledFault::kCrashTorn);
  EXPECT_EQ(f->schedule[0].node, 2u);
  // File order, not time order: at equal times the earlier line plays first.
  EXPECT_EQ(f->schedule[1].at_us, 300000);
  const std::vector<std::pair<uint64_t, uint64_t>> links = {{1, 2}, {2, 1}};
  EXPECT_EQ(f->schedule[1].links, links);
  EXPECT_EQ(f->schedule[3].kind, ScheduledFault::kHeal);
  EXPECT_EQ(f->schedule[4].arg, 5);
}

struct BadFile {
  std::string text;  // after the header line, unless it starts with '!'
  std::string error;
};

TEST(ScenarioFileTest, BadFilesAreErrorsNamingTheLine) {
  const std::vector<BadFile> cases = {
      {"!", "empty; want the header"},
      {"!etcdpp-sim-scenario 2\nnodes 3", "line 1: want the header"},
      {"!# comment\nnodes 3", "line 2: want the header"},
      {"nodez 3", "line 2: unknown key \"nodez\""},
      {"nodes three", "line 2: nodes: not a number \"three\""},
      {"nodes 9", "line 2: nodes: out of range 1..7"},
      {"nodes 0", "out of range"},
      {"nodes", "line 2: nodes wants one value"},
      {"nodes 3 5", "line 2: nodes wants one value"},
      {"nodes 3\n\nnodes 5", "line 4: nodes is set twice"},
      {"safety_us 3h", "line 2: safety_us: not a number \"3h\""},
      {"safety_us -1", "out of range"},
      {"heartbeat_us 1.5.0s", "not a number"},
      {"network.duplicate_proposals yes", "want true or false"},
      {"planted_bug no_such_bug", "no such planted bug"},
      {"network.drop_permille 1001", "out of range 0..1000"},
      {"seed 18446744073709551616", "seed: not a number"},
      {"fault", "line 2: want: fault TIME KIND"},
      {"fault 1s", "want: fault TIME KIND"},
      {"fault 1 crash n1", "bad fault time \"1\""},
      {"fault -1s crash n1", "bad fault time"},
      {"fault 1.0000001s crash n1", "bad fault time"},
      {"fault 1s explode n1", "unknown fault kind \"explode\""},
      {"fault 1s crash", "a crash fault names its member"},
      {"fault 1s crash n0", "bad fault argument \"n0\""},
      {"fault 1s crash nx", "bad fault argument"},
      {"fault 1s network arg=256", "bad fault argument \"arg=256\""},
      {"fault 1s partition 1>1", "bad fault argument \"1>1\""},
      {"fault 1s crash 1>2", "bad fault argument"},
      {"nodes 3\nfault 1s crash n4", "line 3: names a member beyond nodes=3"},
      {"fault 1s partition 1>2 2>4", "line 2: names a member beyond nodes=3"},
      {"disk_latency_min_us 10\ndisk_latency_max_us 5",
       "disk_latency_min_us > disk_latency_max_us"},
      {"network.latency_min_us 3000", "network.latency_min_us > "},
      {"workload.put 0\nworkload.get_linearizable 0\n"
       "workload.get_serializable 0\nworkload.del 0\nworkload.cas 0\n"
       "workload.multi_key 0",
       "weights are all 0"},
  };
  for (const BadFile& c : cases) {
    const std::string text =
        c.text[0] == '!' ? c.text.substr(1)
                         : absl::StrCat(kScenarioFileHeader, "\n", c.text);
    absl::StatusOr<ScenarioFile> f = ParseScenarioFile(text);
    ASSERT_FALSE(f.ok()) << text;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(f.status().message().find(c.error), std::string::npos)
        << "text:\n" << text << "\nerror: " << f.status().message()
        << "\nwant: " << c.error;
  }
}

// Whatever a person does to a file, parsing returns: mutations of a valid
// file (bytes deleted, replaced, inserted) either parse or are errors.
TEST(ScenarioFileTest, MutatedFilesNeverCrashTheParser) {
  Scenario s = Scenario::Draw(5);
  s.nodes = 3;
  const std::string valid = FormatScenarioFile(s, EveryKind());
  base::Prng prng(20261126);
  const std::string alphabet = "0123456789 .>=#\nnsmu-abcdefxyz_";
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = valid;
    for (int edits = 1 + static_cast<int>(prng.Uniform(4)); edits > 0;
         --edits) {
      const size_t at = prng.Uniform(text.size());
      const char c = alphabet[prng.Uniform(alphabet.size())];
      switch (prng.Uniform(3)) {
        case 0:
          text.erase(at, 1);
          break;
        case 1:
          text[at] = c;
          break;
        default:
          text.insert(at, 1, c);
          break;
      }
    }
    if (!ParseScenarioFile(text).ok()) ++errors;
  }
  // Most mutations break something; the point is that none crashed.
  EXPECT_GT(errors, 1000);
}

}  // namespace
}  // namespace etcdpp::sim
