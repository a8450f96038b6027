#include "base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace etcdpp::base::crc32c {
namespace {

// Check values from RFC 3720 (iSCSI) B.4 and the usual "123456789".
TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(Value(""), 0u);
  EXPECT_EQ(Value("123456789"), 0xE3069283u);
  EXPECT_EQ(Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Value(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, ExtendEqualsValueOfConcatenationAtEverySplit) {
  std::string data;
  for (int i = 0; i < 100; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  const uint32_t whole = Value(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    const std::string_view view(data);
    EXPECT_EQ(Extend(Value(view.substr(0, split)), view.substr(split)), whole)
        << split;
  }
}

TEST(Crc32cTest, DiffersOnOneBitFlip) {
  std::string data(100, 'a');
  const uint32_t before = Value(data);
  data[57] ^= 0x10;
  EXPECT_NE(Value(data), before);
}

}  // namespace
}  // namespace etcdpp::base::crc32c
