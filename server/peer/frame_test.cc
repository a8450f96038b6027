#include "server/peer/frame.h"

#include <string>

#include "gtest/gtest.h"

namespace etcdpp::peer {
namespace {

TEST(FrameTest, FramesSurviveAnySplitOfTheStream) {
  std::string stream;
  AppendFrame(FrameType::kHello, EncodeHello({kProtocolVersion, 7, 1, 2}),
              &stream);
  AppendFrame(FrameType::kMessages, "abc", &stream);
  AppendFrame(FrameType::kSnapshotChunk, "", &stream);
  for (size_t split = 0; split <= stream.size(); ++split) {
    FrameReader reader;
    reader.Feed(stream.substr(0, split));
    std::vector<Frame> frames;
    auto drain = [&] {
      while (true) {
        auto next = reader.Next();
        ASSERT_TRUE(next.ok());
        if (!next->has_value()) return;
        frames.push_back(std::move(**next));
      }
    };
    drain();
    reader.Feed(stream.substr(split));
    drain();
    ASSERT_EQ(frames.size(), 3u) << "split at " << split;
    EXPECT_EQ(frames[0].type, FrameType::kHello);
    auto hello = DecodeHello(frames[0].payload);
    ASSERT_TRUE(hello.ok());
    EXPECT_EQ(hello->cluster_id, 7u);
    EXPECT_EQ(hello->from, 1u);
    EXPECT_EQ(hello->to, 2u);
    EXPECT_EQ(frames[1].payload, "abc");
    EXPECT_EQ(frames[2].type, FrameType::kSnapshotChunk);
    EXPECT_EQ(frames[2].payload, "");
  }
}

TEST(FrameTest, UnknownTypeIsAnError) {
  FrameReader reader;
  reader.Feed(std::string("\x01\x00\x00\x00\x63x", 6));
  auto next = reader.Next();
  EXPECT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("unknown type 99"), std::string::npos);
}

TEST(FrameTest, OversizedFrameIsAnErrorBeforeItsBytesArrive) {
  FrameReader reader;
  reader.Feed(std::string("\xff\xff\xff\x7f\x04", 5));
  auto next = reader.Next();
  EXPECT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("exceeds the limit"),
            std::string::npos);
}

TEST(FrameTest, HelloAndSnapshotEndRejectWrongSizes) {
  EXPECT_FALSE(DecodeHello("short").ok());
  EXPECT_FALSE(DecodeSnapshotEnd("1234567").ok());
  auto end = DecodeSnapshotEnd(EncodeSnapshotEnd({123456789}));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->total_bytes, 123456789u);
}

}  // namespace
}  // namespace etcdpp::peer
