#include "server/rpc/backup.h"

#include <openssl/sha.h>

#include <string>

#include "gtest/gtest.h"

namespace etcdpp::rpc {
namespace {

TEST(BackupTest, RoundTripsAnyBodyAsWholeBlocksAndADigest) {
  for (size_t size : {0, 1, 503, 504, 505, 512, 1000, 100000}) {
    std::string body(size, '\0');
    for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>(i * 7);
    const std::string file = EncodeBackup(body);
    // What etcdctl checks of a saved snapshot.
    EXPECT_EQ((file.size() - kBackupDigestBytes) % kBackupBlockBytes, 0u)
        << size;
    absl::StatusOr<std::string> decoded = DecodeBackup(file);
    ASSERT_TRUE(decoded.ok()) << size << ": " << decoded.status();
    EXPECT_EQ(*decoded, body) << size;
  }
}

TEST(BackupTest, DamageIsDataLoss) {
  const std::string file = EncodeBackup("the state of a member");
  std::string flipped = file;
  flipped[3] ^= 1;
  EXPECT_EQ(DecodeBackup(flipped).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBackup(file.substr(0, file.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBackup("").status().code(), absl::StatusCode::kDataLoss);
  // A length that claims more than the blocks hold, under a valid digest.
  std::string lying = file.substr(0, file.size() - kBackupDigestBytes);
  lying[lying.size() - 2] = 0x7f;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(lying.data()), lying.size(),
         digest);
  absl::StatusOr<std::string> decoded = DecodeBackup(
      lying + std::string(reinterpret_cast<const char*>(digest), 32));
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("does not fit"),
            std::string::npos)
      << decoded.status();
}

}  // namespace
}  // namespace etcdpp::rpc
