// StrongInt: an integer with its own type, so a raft Term is never passed
// where a LogIndex or a kv Revision is expected.
//
//   using Term = base::StrongInt<struct TermTag, uint64_t>;
//   Term t{3};  t.value() == 3;  ++t;  t < Term{4};
//
// Only the operations that make sense for identifiers and counters exist:
// comparison, increment, and adding or subtracting a plain count.
#ifndef ETCDPP_BASE_STRONG_INT_H_
#define ETCDPP_BASE_STRONG_INT_H_

#include <compare>
#include <cstdint>
#include <ostream>

namespace etcdpp::base {

template <typename Tag, typename T = uint64_t>
class StrongInt {
 public:
  using ValueType = T;

  constexpr StrongInt() : value_(0) {}
  constexpr explicit StrongInt(T value) : value_(value) {}

  constexpr T value() const { return value_; }

  constexpr auto operator<=>(const StrongInt&) const = default;

  constexpr StrongInt& operator++() {
    ++value_;
    return *this;
  }
  constexpr StrongInt operator++(int) {
    StrongInt old = *this;
    ++value_;
    return old;
  }
  constexpr StrongInt& operator+=(T n) {
    value_ += n;
    return *this;
  }
  constexpr StrongInt operator+(T n) const { return StrongInt(value_ + n); }
  constexpr StrongInt operator-(T n) const { return StrongInt(value_ - n); }

  template <typename H>
  friend H AbslHashValue(H h, const StrongInt& x) {
    return H::combine(std::move(h), x.value_);
  }

  friend std::ostream& operator<<(std::ostream& out, const StrongInt& x) {
    return out << x.value_;
  }

 private:
  T value_;
};

}  // namespace etcdpp::base

#endif  // ETCDPP_BASE_STRONG_INT_H_
