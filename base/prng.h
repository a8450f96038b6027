// A seeded pseudo-random number generator for the deterministic core.
//
// xoshiro256** (Blackman and Vigna), seeded through splitmix64. We write it
// ourselves, with our own range reduction, because <random>'s distributions
// differ between standard libraries and the simulator's traces must be
// byte-identical wherever they run. Not for cryptography.
//
// Not thread-safe: each owner (a raft node, a simulated disk) has its own.
#ifndef ETCDPP_BASE_PRNG_H_
#define ETCDPP_BASE_PRNG_H_

#include <array>
#include <cstdint>

namespace etcdpp::base {

// splitmix64: one step of the sequence that starts at *state.
uint64_t SplitMix64(uint64_t* state);

class Prng {
 public:
  explicit Prng(uint64_t seed);

  // Uniform over all 64-bit values.
  uint64_t Next();

  // Uniform in [0, bound); bound must be > 0. Lemire's multiply-shift with
  // rejection, so there is no modulo bias.
  uint64_t Uniform(uint64_t bound);

  // Uniform in [lo, hi]; lo <= hi.
  uint64_t InRange(uint64_t lo, uint64_t hi);

  // True with probability numerator/denominator; 0 < denominator.
  bool OneIn(uint64_t denominator) { return Uniform(denominator) == 0; }
  bool Chance(uint64_t numerator, uint64_t denominator) {
    return Uniform(denominator) < numerator;
  }

  // Uniform in [0, 1) with 53 bits of precision.
  double NextDouble();

  // A child generator whose sequence is independent of this one's next
  // outputs; lets a component own its stream without sharing the parent's.
  Prng Fork();

 private:
  std::array<uint64_t, 4> state_;
};

}  // namespace etcdpp::base

#endif  // ETCDPP_BASE_PRNG_H_
