#include "base/strong_int.h"

#include <sstream>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace etcdpp::base {
namespace {

using Term = StrongInt<struct TermTag>;
using LogIndex = StrongInt<struct LogIndexTag>;

static_assert(!std::is_convertible_v<Term, LogIndex>,
              "a Term is never a LogIndex");
static_assert(!std::is_convertible_v<uint64_t, Term>,
              "a plain integer becomes a Term only explicitly");
static_assert(sizeof(Term) == sizeof(uint64_t), "no space overhead");

TEST(StrongIntTest, ComparesAndCounts) {
  Term t{3};
  EXPECT_EQ(t.value(), 3u);
  EXPECT_LT(t, Term{4});
  ++t;
  EXPECT_EQ(t, Term{4});
  EXPECT_EQ(t + 2, Term{6});
  EXPECT_EQ(t - 1, Term{3});
  EXPECT_EQ(Term{}, Term{0});
}

TEST(StrongIntTest, HashesAndPrints) {
  absl::flat_hash_set<LogIndex> set = {LogIndex{1}, LogIndex{2}};
  EXPECT_TRUE(set.contains(LogIndex{2}));
  std::ostringstream out;
  out << LogIndex{17};
  EXPECT_EQ(out.str(), "17");
}

}  // namespace
}  // namespace etcdpp::base
