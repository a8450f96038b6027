// History: what simulated clients asked and what they were told, the input
// of the linearizability checker.
//
// Every operation touches one key, except kMulti (reads `key`, writes
// `key2` in one txn) and kRange (reads every key in [key, key2) at once). Values written are unique in a run, so a value read
// names the write it came from. Absent keys read as "" (no written value is
// empty).
#ifndef ETCDPP_SIM_HISTORY_H_
#define ETCDPP_SIM_HISTORY_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace etcdpp::sim {

enum class OpKind {
  kPut,     // key := value
  kGet,     // read key (linearizable unless serializable)
  kDelete,  // delete key; `deleted` is how many existed (0 or 1)
  kCas,     // if key == expect ("" = absent) then key := value, else read it
  kMulti,   // read key, then key2 := value, atomically
  kRange,   // read every key of range_keys, [key, key2), atomically
};

enum class Outcome {
  kPending,  // no answer yet; treated as kUnknown when checked
  kOk,
  kFail,     // definitely took no effect
  kUnknown,  // may or may not have taken effect (a write timed out)
};

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct Operation {
  uint64_t id = 0;
  int client = 0;
  uint64_t node = 0;
  OpKind kind = OpKind::kGet;
  bool serializable = false;
  std::string key;
  std::string key2;
  std::string value;
  std::string expect;
  int64_t invoke_us = 0;
  int64_t return_us = kNever;
  Outcome outcome = Outcome::kPending;
  std::string error;
  // Results, meaningful when kOk.
  std::string read;       // kGet, kMulti, kCas when !succeeded
  // kRange: the workload's keys in [key, key2), sorted, and (when kOk) the
  // value read of each ("" = absent).
  std::vector<std::string> range_keys;
  std::vector<std::string> range_reads;
  bool succeeded = false;  // kCas
  int64_t deleted = 0;     // kDelete
  int64_t revision = 0;    // the response header's revision

  bool IsWrite() const {
    return kind != OpKind::kGet && kind != OpKind::kRange;
  }
  std::vector<std::string> Keys() const;
  // "#12 c3 n2 cas k1 'c1.4'->'c3.9' ok read='c2.1' rev=17 [1.2s,1.3s]"
  std::string Describe() const;
};

using History = std::vector<Operation>;

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_HISTORY_H_
