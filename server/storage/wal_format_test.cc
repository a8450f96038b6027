#include "server/storage/wal_format.h"

#include <string>

#include "gtest/gtest.h"

namespace etcdpp::storage::wal {
namespace {

using Kind = DecodedRecord::Kind;

TEST(WalFormatTest, SegmentNamesRoundTrip) {
  const std::string name = SegmentName(2, 0x51);
  EXPECT_EQ(name, "wal-0000000000000002-0000000000000051.log");
  const std::optional<SegmentHeader> parsed = ParseSegmentName(name);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->sequence, 2u);
  EXPECT_EQ(parsed->first_index, 0x51u);
  EXPECT_TRUE(IsTempSegmentName(TempName(name)));
  EXPECT_FALSE(IsTempSegmentName(name));
  for (const char* bad : {"wal-0000000000000002-0000000000000051.log.tmp",
                          "member", "wal-000000000000002-0000000000000051.log",
                          "wal-000000000000000G-0000000000000051.log",
                          "wal-0000000000000002_0000000000000051.log",
                          "wal-0000000000000002-0000000000000051.lo"}) {
    EXPECT_FALSE(ParseSegmentName(bad).has_value()) << bad;
  }
}

TEST(WalFormatTest, HeaderRoundTripsAndRejectsDamage) {
  const std::string header = EncodeHeader({7, 99});
  ASSERT_EQ(header.size(), kHeaderSize);
  absl::StatusOr<SegmentHeader> decoded = DecodeHeader("f", header);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->sequence, 7u);
  EXPECT_EQ(decoded->first_index, 99u);

  EXPECT_EQ(DecodeHeader("f", header.substr(0, 31)).status().message(),
            "wal: corrupt header in f: truncated header");
  std::string bad_magic = header;
  bad_magic[0] = 'X';
  EXPECT_EQ(DecodeHeader("f", bad_magic).status().message(),
            "wal: corrupt header in f: bad magic");
  std::string flipped = header;
  flipped[13] ^= 1;
  EXPECT_EQ(DecodeHeader("f", flipped).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeHeader("f", flipped).status().message(),
            "wal: corrupt header in f: checksum mismatch");
}

TEST(WalFormatTest, RecordRoundTrip) {
  const std::string data = std::string(kHeaderSize, 'h') +
                           EncodeRecord(RecordType::kEntry, "payload") +
                           EncodeRecord(RecordType::kSeal, "") +
                           std::string(20, '\0');
  DecodedRecord first = DecodeRecord(data, kHeaderSize);
  ASSERT_EQ(first.kind, Kind::kRecord) << first.reason;
  EXPECT_EQ(first.type, RecordType::kEntry);
  EXPECT_EQ(first.payload, "payload");
  EXPECT_EQ(first.next_offset, kHeaderSize + kRecordHeaderSize + 7);
  DecodedRecord seal = DecodeRecord(data, first.next_offset);
  ASSERT_EQ(seal.kind, Kind::kRecord);
  EXPECT_EQ(seal.type, RecordType::kSeal);
  EXPECT_EQ(DecodeRecord(data, seal.next_offset).kind, Kind::kZeros);
  EXPECT_EQ(DecodeRecord(data, data.size() - 3).kind, Kind::kZeros);
  EXPECT_EQ(DecodeRecord(data, data.size()).kind, Kind::kZeros);
}

TEST(WalFormatTest, BadRecords) {
  const std::string record = EncodeRecord(RecordType::kEntry, "abc");
  struct Case {
    const char* name;
    std::string bytes;
    const char* reason;
  };
  std::string bad_length = record;
  bad_length[0] = 100;
  std::string bad_crc = record;
  bad_crc[10] ^= 0x20;
  std::string bad_type = record;
  bad_type[8] = 9;
  std::string zeroed_payload = record;
  zeroed_payload.replace(9, 3, std::string(3, '\0'));
  const Case cases[] = {
      {"bad length", bad_length,
       "bad length 100: only 3 bytes left in the segment"},
      {"checksum", bad_crc, "checksum mismatch"},
      {"type", bad_type, "checksum mismatch"},  // the type is checksummed
      {"zeroed payload", zeroed_payload, "checksum mismatch"},
      {"short record", record.substr(0, 10),
       "bad length 3: only 1 bytes left in the segment"},
      {"short header", record.substr(0, 5), "truncated record header"},
  };
  for (const Case& c : cases) {
    const DecodedRecord decoded = DecodeRecord(c.bytes, 0);
    EXPECT_EQ(decoded.kind, Kind::kBad) << c.name;
    EXPECT_EQ(decoded.reason, c.reason) << c.name;
  }
}

TEST(WalFormatTest, FindValidRecordSkipsZerosAndGarbage) {
  const std::string record = EncodeRecord(RecordType::kHardState, "xyz");
  const std::string data =
      std::string(100, '\0') + "garbage!" + record + std::string(50, '\0');
  EXPECT_EQ(FindValidRecord(data, 0), 108u);
  EXPECT_EQ(FindValidRecord(data, 109), std::nullopt);
  EXPECT_EQ(FindValidRecord(std::string(1000, '\0'), 0), std::nullopt);
}

}  // namespace
}  // namespace etcdpp::storage::wal
