// Trace: the simulator's event log, folded into a running 64-bit hash.
//
// Every event the world processes is described by one canonical text line
// (virtual time, node, what happened). The line is hashed with FNV-1a into
// the trace hash, so two runs of one seed on one build agree on the hash iff
// they saw the same events in the same order: the determinism check is one
// number. Lines are also kept in a small ring (the end of the trace, printed
// with a failure) and, when verbose, written out in full.
//
// Not thread-safe; one per world.
#ifndef ETCDPP_SIM_TRACE_H_
#define ETCDPP_SIM_TRACE_H_

#include <cstdint>
#include <deque>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace etcdpp::sim {

inline constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
inline constexpr uint64_t kFnvPrime = 1099511628211ULL;

// FNV-1a of bytes, continuing from `hash`.
uint64_t Fnv1a(std::string_view bytes, uint64_t hash = kFnvOffsetBasis);

class Trace {
 public:
  // `out`, if not null, receives every line (the --trace/--verbose output);
  // it must outlive the trace. `tail_lines` bounds the ring of last lines.
  explicit Trace(std::ostream* out = nullptr, size_t tail_lines = 40);

  // Appends one event line (without newline) at virtual time `time_us`.
  void Add(int64_t time_us, std::string_view line);

  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }
  // The last lines, oldest first.
  std::vector<std::string> Tail() const;

 private:
  std::ostream* out_;
  size_t tail_lines_;
  uint64_t hash_ = kFnvOffsetBasis;
  uint64_t events_ = 0;
  std::deque<std::string> tail_;
};

// "12.345678s": virtual time for trace lines and reports.
std::string FormatTime(int64_t time_us);

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_TRACE_H_
