#include "server/rpc/bcrypt.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace etcdpp::rpc {
namespace {

constexpr int kFastCost = 4;

TEST(BcryptTest, HashVerifiesTheRightPasswordOnly) {
  absl::StatusOr<std::string> hash = BcryptHash("s3cret", kFastCost);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_TRUE(absl::StartsWith(*hash, "$2b$04$")) << *hash;
  EXPECT_EQ(hash->size(), 60u);
  EXPECT_TRUE(BcryptVerify("s3cret", *hash));
  EXPECT_FALSE(BcryptVerify("s3cret ", *hash));
  EXPECT_FALSE(BcryptVerify("S3cret", *hash));
  EXPECT_FALSE(BcryptVerify("", *hash));
}

TEST(BcryptTest, EverySaltIsFresh) {
  absl::StatusOr<std::string> a = BcryptHash("pw", kFastCost);
  absl::StatusOr<std::string> b = BcryptHash("pw", kFastCost);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(BcryptVerify("pw", *a));
  EXPECT_TRUE(BcryptVerify("pw", *b));
}

TEST(BcryptTest, CostIsInTheHash) {
  absl::StatusOr<std::string> hash = BcryptHash("pw", 5);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(absl::StartsWith(*hash, "$2b$05$")) << *hash;
}

TEST(BcryptTest, VerifiesAPublishedTestVector) {
  // The classic "$2a$" vector (OpenBSD / John the Ripper test suites); Go's
  // bcrypt, which etcd uses, writes "$2a$" hashes.
  const std::string hash =
      "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
  EXPECT_TRUE(BcryptVerify("U*U", hash));
  EXPECT_FALSE(BcryptVerify("U*V", hash));
}

TEST(BcryptTest, CostBounds) {
  EXPECT_TRUE(ValidateBcryptCost(4).ok());
  EXPECT_TRUE(ValidateBcryptCost(10).ok());
  EXPECT_TRUE(ValidateBcryptCost(31).ok());
  for (int bad : {-1, 0, 3, 32, 100}) {
    absl::Status s = ValidateBcryptCost(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(s.message(), "between 4 and 31")) << s;
    EXPECT_FALSE(BcryptHash("pw", bad).ok()) << bad;
  }
}

TEST(BcryptTest, MalformedHashesNeverVerify) {
  EXPECT_FALSE(BcryptVerify("pw", ""));
  EXPECT_FALSE(BcryptVerify("pw", "pw"));
  EXPECT_FALSE(BcryptVerify("pw", "$2b$04$short"));
  EXPECT_FALSE(BcryptVerify("pw", "*0"));
  EXPECT_FALSE(BcryptHash(std::string("a\0b", 3), kFastCost).ok());
}

}  // namespace
}  // namespace etcdpp::rpc
