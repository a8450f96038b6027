// Assertion macros that stay on in release builds.
//
// A CHECK guards an internal invariant: when it fails the process is in a
// state no code was written for, and continuing could corrupt replicated
// data, so it prints the invariant's name and aborts. Input from outside
// (peers, clients, disk) is never CHECKed: it is validated and rejected
// with an absl::Status.
//
//   CHECK(applied <= committed) << "applied index never passes commit";
//   CHECK_LE(applied, committed) << "...";   // prints both values
#ifndef ETCDPP_BASE_CHECK_H_
#define ETCDPP_BASE_CHECK_H_

#include <sstream>
#include <string>

namespace etcdpp::base {

// Collects the message of a failed check and aborts when destroyed.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure();

  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `CHECK(x) << "message"` be one expression in both branches of ?:.
struct Voidify {
  void operator&(std::ostream&) {}
};

template <typename A, typename B>
std::string FormatOperands(const A& a, const B& b) {
  std::ostringstream out;
  out << "(" << a << " vs. " << b << ") ";
  return out.str();
}

}  // namespace etcdpp::base

#define ETCDPP_PREDICT_TRUE(x) (__builtin_expect(static_cast<bool>(x), 1))

#define CHECK(condition)                                            \
  ETCDPP_PREDICT_TRUE(condition)                                    \
  ? (void)0                                                         \
  : ::etcdpp::base::Voidify() &                                     \
        ::etcdpp::base::CheckFailure(__FILE__, __LINE__, #condition) \
            .stream()

#define ETCDPP_CHECK_OP(op, a, b)                                         \
  ETCDPP_PREDICT_TRUE((a)op(b))                                           \
  ? (void)0                                                               \
  : ::etcdpp::base::Voidify() &                                           \
        ::etcdpp::base::CheckFailure(__FILE__, __LINE__, #a " " #op " " #b) \
                .stream()                                                 \
            << ::etcdpp::base::FormatOperands((a), (b))

#define CHECK_EQ(a, b) ETCDPP_CHECK_OP(==, a, b)
#define CHECK_NE(a, b) ETCDPP_CHECK_OP(!=, a, b)
#define CHECK_LE(a, b) ETCDPP_CHECK_OP(<=, a, b)
#define CHECK_LT(a, b) ETCDPP_CHECK_OP(<, a, b)
#define CHECK_GE(a, b) ETCDPP_CHECK_OP(>=, a, b)
#define CHECK_GT(a, b) ETCDPP_CHECK_OP(>, a, b)

// CHECK_OK(status_expression): the status must be OK.
#define CHECK_OK(expr)                                         \
  do {                                                         \
    const auto& etcdpp_check_ok_status = (expr);               \
    CHECK(etcdpp_check_ok_status.ok()) << etcdpp_check_ok_status; \
  } while (0)

#endif  // ETCDPP_BASE_CHECK_H_
