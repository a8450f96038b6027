// Linearizability of a KV History: the Wing-Gong-Lowe search with
// memoization, as Porcupine (Athalye) does it.
//
// Operations on disjoint keys commute, so the history is split into
// independent groups of keys (P-compositionality): union-find over the keys
// each operation touches (a two-key txn joins its keys' groups), and each
// group is searched alone against a model restricted to its keys.
//
// What is checked: writes with kOk or kUnknown outcome and linearizable
// reads with kOk. An unknown write's return is at infinity: it may take
// effect at any point after its invocation, or never observably. kFail
// operations took no effect and are left out. Serializable reads are not
// linearizable by contract; CheckSerializableReads checks only that they
// return a value some write wrote.
//
// The search has a step budget. Running out is the explicit verdict
// kUnknown -- never a silent pass.
#ifndef ETCDPP_SIM_LINEARIZABILITY_H_
#define ETCDPP_SIM_LINEARIZABILITY_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/history.h"

namespace etcdpp::sim {

enum class Verdict { kOk, kViolation, kUnknown };
const char* VerdictName(Verdict verdict);

struct LinearizabilityResult {
  Verdict verdict = Verdict::kOk;
  size_t groups = 0;
  size_t operations = 0;  // checked
  uint64_t steps = 0;     // search steps taken, over all groups
  // For a violation or unknown: which group, and why.
  std::string detail;
};

// step_budget bounds the search steps of each group.
LinearizabilityResult CheckLinearizability(const History& history,
                                           uint64_t step_budget = 2000000);

// (key, value) pairs some member applied a put of.
using AppliedPuts = std::set<std::pair<std::string, std::string>>;

// Marks kFail each write whose outcome the client never learned (kUnknown
// or kPending) -- a put, a compare-and-set or a multi-key write -- whose
// (key, value) `applied` lacks: it never took effect. Values are unique per
// operation, so a write that took effect is there, if `applied` is the
// whole history (sim/change_log.h); one applied after it was seen by no
// operation, so leaving it out keeps every linearization of the rest.
// Unknown deletes stay unknown (they carry no value). Returns how many
// writes it marked.
size_t FailUnappliedWrites(const AppliedPuts& applied, History* history);

// Each ok serializable read returns "" or a value a write invoked before
// the read returned wrote to that key. Violations, one line each.
std::vector<std::string> CheckSerializableReads(const History& history);

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_LINEARIZABILITY_H_
