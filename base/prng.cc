#include "base/prng.h"

#include "base/check.h"

namespace etcdpp::base {
namespace {

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Prng::Prng(uint64_t seed) {
  // splitmix64 never yields four zero words from one seed, so the all-zero
  // state (a fixed point of xoshiro) cannot occur.
  uint64_t s = seed;
  for (uint64_t& word : state_) word = SplitMix64(&s);
}

uint64_t Prng::Next() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

uint64_t Prng::Uniform(uint64_t bound) {
  CHECK_GT(bound, 0u) << "Uniform needs a non-empty range";
  // Lemire, "Fast Random Integer Generation in an Interval" (2019).
  unsigned __int128 product = static_cast<unsigned __int128>(Next()) * bound;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = -bound % bound;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(Next()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

uint64_t Prng::InRange(uint64_t lo, uint64_t hi) {
  CHECK_LE(lo, hi) << "InRange needs lo <= hi";
  if (lo == 0 && hi == UINT64_MAX) return Next();
  return lo + Uniform(hi - lo + 1);
}

double Prng::NextDouble() {
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

Prng Prng::Fork() { return Prng(Next()); }

}  // namespace etcdpp::base
