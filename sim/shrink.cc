#include "sim/shrink.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rapidcheck.h"
#include "rapidcheck/detail/Property.h"
#include "rapidcheck/detail/Results.h"
#include "rapidcheck/detail/TestListener.h"
#include "rapidcheck/detail/TestMetadata.h"
#include "rapidcheck/detail/TestParams.h"
#include "sim/scenario_file.h"

namespace etcdpp::sim {

// RapidCheck prints a counterexample's values with this (found by ADL).
void showValue(const ScheduledFault& fault, std::ostream& os) {
  os << FormatFault(fault);
}

namespace {

using Schedule = std::vector<ScheduledFault>;

// Earlier times at round values, coarsest first: a fault at 3.456789s
// tries 3s, 3.4s, 3.45s, 3.456s. Each is a candidate only if it differs.
rc::Seq<int64_t> RoundedEarlier(int64_t at_us) {
  std::vector<int64_t> times;
  for (int64_t grid : {1000000, 100000, 10000, 1000}) {
    const int64_t t = at_us / grid * grid;
    if (t != at_us && (times.empty() || times.back() != t)) times.push_back(t);
  }
  return rc::seq::fromContainer(std::move(times));
}

// Simpler versions of one fault, simplest kinds of change first.
rc::Seq<ScheduledFault> ShrinkFault(const ScheduledFault& f) {
  rc::Seq<ScheduledFault> kind;
  if (f.kind == ScheduledFault::kCrashTorn) {
    ScheduledFault clean = f;
    clean.kind = ScheduledFault::kCrash;
    kind = rc::seq::just(std::move(clean));
  }
  // Fewer links; never none, which would make it a drawn partition.
  rc::Seq<ScheduledFault> links = rc::seq::map(
      rc::seq::filter(rc::shrink::removeChunks(f.links),
                      [](const auto& l) { return !l.empty(); }),
      [f](std::vector<std::pair<uint64_t, uint64_t>> l) {
        ScheduledFault g = f;
        g.links = std::move(l);
        return g;
      });
  rc::Seq<ScheduledFault> arg;
  if (f.arg != 0) {
    ScheduledFault zero = f;
    zero.arg = 0;
    arg = rc::seq::just(std::move(zero));
  }
  rc::Seq<ScheduledFault> time =
      rc::seq::map(RoundedEarlier(f.at_us), [f](int64_t t) {
        ScheduledFault g = f;
        g.at_us = t;
        return g;
      });
  return rc::seq::concat(std::move(kind), std::move(links), std::move(arg),
                         std::move(time));
}

// Fewer faults first (the big wins), then simpler ones.
rc::Seq<Schedule> ScheduleShrinks(const Schedule& s) {
  return rc::seq::concat(rc::shrink::removeChunks(s),
                         rc::shrink::eachElement(s, &ShrinkFault));
}

bool Breaks(const std::vector<std::string>& violations,
            const std::string& property) {
  return std::any_of(violations.begin(), violations.end(),
                     [&](const std::string& v) {
                       return PropertyOf(v) == property;
                     });
}

// RapidCheck's reports are ours to print; it would write to stderr.
class QuietListener final : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&,
                      const rc::detail::TestResult&) override {}
};

}  // namespace

std::string PropertyOf(const std::string& violation) {
  return violation.substr(0, violation.find(':'));
}

std::string ViolatedProperty(const SeedResult& result) {
  return result.violations.empty() ? std::string()
                                   : PropertyOf(result.violations.front());
}

Scenario ExplicitFaultsOnly(Scenario s) {
  s.faults.partition_every_us = 0;
  s.faults.crash_every_us = 0;
  s.faults.pause_every_us = 0;
  s.faults.sync_failure_every_us = 0;
  s.faults.no_space_every_us = 0;
  s.faults.corrupt_every_us = 0;
  s.faults.isolate_new_leader_permille = 0;
  return s;
}

ScheduleRunner InProcessRunner(const RunOptions& options) {
  return [options](const Scenario& scenario, const Schedule& schedule) {
    return RunScenario(scenario, options, schedule).violations;
  };
}

ShrinkResult ShrinkSchedule(const Scenario& scenario, Schedule start,
                            const std::string& property,
                            const ScheduleRunner& run,
                            const ShrinkOptions& options) {
  ShrinkResult result;
  result.property = property;
  const Scenario explicit_only = ExplicitFaultsOnly(scenario);
  const rc::Shrinkable<Schedule> root =
      rc::shrinkable::shrinkRecur(std::move(start), &ScheduleShrinks);
  const rc::Gen<Schedule> gen(
      [root](const rc::Random&, int) { return root; });
  // The property RapidCheck falsifies and shrinks: "the run passes". A
  // candidate counts as failing only if it breaks the same property, so
  // the shrink cannot wander off to a different bug (or to a liveness
  // failure that dropping every heal would cause).
  // RapidCheck runs some values more than once (the failing case again,
  // to describe it; shrinks that two paths reach): each schedule runs once.
  std::map<std::string, std::vector<std::string>> ran;
  auto passes = [&] {
    const Schedule candidate = *gen;
    std::string key;
    for (const ScheduledFault& f : candidate) {
      absl::StrAppend(&key, FormatFault(f), "\n");
    }
    auto it = ran.find(key);
    if (it == ran.end()) {
      if (result.runs >= options.max_runs) {
        result.budget_spent = true;
        return;  // counted as passing: the shrink stops where it is
      }
      ++result.runs;
      it = ran.emplace(key, run(explicit_only, candidate)).first;
    }
    const std::vector<std::string>& violations = it->second;
    if (result.property.empty() && !violations.empty()) {
      result.property = PropertyOf(violations.front());
    }
    if (violations.empty() || !Breaks(violations, result.property)) return;
    // RapidCheck accepts the first failing shrink of the current value, so
    // the last failing candidate is the smallest found.
    const bool news = !result.reproduced || candidate != result.schedule;
    if (result.reproduced && news) ++result.accepted;
    result.reproduced = true;
    result.schedule = candidate;
    for (const std::string& v : violations) {
      if (PropertyOf(v) == result.property) {
        result.violation = v;
        break;
      }
    }
    if (options.progress != nullptr && news) {
      *options.progress << "shrink: run " << result.runs << ": "
                        << candidate.size() << " faults still fail "
                        << result.property << "\n";
    }
    RC_FAIL(result.violation);
  };
  rc::detail::TestParams params;
  params.maxSuccess = 1;  // the one case is the recorded schedule
  rc::detail::TestMetadata metadata;
  metadata.id = "ShrinkSchedule";
  QuietListener listener;
  (void)rc::detail::checkProperty(rc::detail::toProperty(passes), metadata,
                                  params, listener);
  // Shrunk times may be out of order. Play schedules every fault at once,
  // so only the order of faults at equal times matters, which a stable
  // sort keeps: the sorted schedule is the same run, easier to read.
  std::stable_sort(result.schedule.begin(), result.schedule.end(),
                   [](const ScheduledFault& a, const ScheduledFault& b) {
                     return a.at_us < b.at_us;
                   });
  return result;
}

}  // namespace etcdpp::sim
