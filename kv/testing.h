// Helpers for kv tests: text-format protos and proto equality.
#ifndef ETCDPP_KV_TESTING_H_
#define ETCDPP_KV_TESTING_H_

#include <string>

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace etcdpp::kv::testing {

// Parses a text-format message; a typo in a test's literal fails the test.
template <typename M>
M Parse(const std::string& text) {
  M message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

inline ::testing::AssertionResult ProtoEquals(
    const google::protobuf::Message& expected,
    const google::protobuf::Message& actual) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, actual)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected:\n"
                                       << expected.DebugString() << "actual:\n"
                                       << actual.DebugString() << "diff:\n"
                                       << diff;
}

}  // namespace etcdpp::kv::testing

#define EXPECT_PROTO_EQ(expected, actual) \
  EXPECT_TRUE(::etcdpp::kv::testing::ProtoEquals((expected), (actual)))

#endif  // ETCDPP_KV_TESTING_H_
