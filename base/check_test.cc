#include "base/check.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace etcdpp::base {
namespace {

TEST(CheckTest, PassingChecksDoNothing) {
  int applied = 3;
  int committed = 5;
  CHECK(applied <= committed) << "never evaluated";
  CHECK_LE(applied, committed);
  CHECK_LT(applied, committed);
  CHECK_NE(applied, committed);
  CHECK_OK(absl::OkStatus());
}

TEST(CheckDeathTest, FailureNamesTheInvariant) {
  int applied = 7;
  int committed = 5;
  EXPECT_DEATH(CHECK(applied <= committed) << "applied never passes commit",
               "CHECK failed: applied <= committed applied never passes "
               "commit");
}

TEST(CheckDeathTest, ComparisonPrintsBothOperands) {
  int applied = 7;
  int committed = 5;
  EXPECT_DEATH(CHECK_LE(applied, committed) << "applied <= committed",
               "applied <= committed \\(7 vs. 5\\)");
}

TEST(CheckDeathTest, CheckOkPrintsTheStatus) {
  EXPECT_DEATH(CHECK_OK(absl::DataLossError("wal: bad crc")),
               "DATA_LOSS: wal: bad crc");
}

TEST(CheckTest, OperandsAreEvaluatedOnce) {
  int calls = 0;
  auto next = [&calls] { return ++calls; };
  CHECK_EQ(next(), 1);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace etcdpp::base
