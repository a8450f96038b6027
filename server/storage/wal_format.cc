#include "server/storage/wal_format.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/storage/coding.h"
#include "server/storage/crc32c.h"

namespace etcdpp::storage::wal {
namespace {

constexpr absl::string_view kPrefix = "wal-";
constexpr absl::string_view kSuffix = ".log";
constexpr absl::string_view kTempSuffix = ".tmp";
constexpr size_t kHexDigits = 16;

std::optional<uint64_t> ParseHex16(absl::string_view digits) {
  if (digits.size() != kHexDigits) return std::nullopt;
  for (const char c : digits) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return std::nullopt;
    }
  }
  uint64_t value = 0;
  if (!absl::SimpleHexAtoi(digits, &value)) return std::nullopt;
  return value;
}

// The checksum covers the type byte and the payload, so a record whose type
// was flipped fails too.
uint32_t RecordCrc(uint8_t type, absl::string_view payload) {
  const char type_byte = static_cast<char>(type);
  return crc32c::Mask(
      crc32c::Extend(crc32c::Value(absl::string_view(&type_byte, 1)), payload));
}

bool AllZero(absl::string_view bytes) {
  return bytes.find_first_not_of('\0') == absl::string_view::npos;
}

}  // namespace

std::string SegmentName(uint64_t sequence, uint64_t first_index) {
  return absl::StrFormat("wal-%016x-%016x.log", sequence, first_index);
}

std::optional<SegmentHeader> ParseSegmentName(absl::string_view name) {
  // wal- <16 hex> - <16 hex> .log
  constexpr size_t kLength = 4 + kHexDigits + 1 + kHexDigits + 4;
  if (name.size() != kLength || !absl::StartsWith(name, kPrefix) ||
      !absl::EndsWith(name, kSuffix) || name[4 + kHexDigits] != '-') {
    return std::nullopt;
  }
  const std::optional<uint64_t> sequence =
      ParseHex16(name.substr(4, kHexDigits));
  const std::optional<uint64_t> first_index =
      ParseHex16(name.substr(4 + kHexDigits + 1, kHexDigits));
  if (!sequence.has_value() || !first_index.has_value()) return std::nullopt;
  return SegmentHeader{*sequence, *first_index};
}

std::string TempName(absl::string_view segment_name) {
  return absl::StrCat(segment_name, kTempSuffix);
}

bool IsTempSegmentName(absl::string_view name) {
  return absl::EndsWith(name, kTempSuffix) &&
         ParseSegmentName(name.substr(0, name.size() - kTempSuffix.size()))
             .has_value();
}

std::string EncodeHeader(const SegmentHeader& header) {
  std::string out(kMagic, 8);
  PutFixed32(&out, kFormatVersion);
  PutFixed64(&out, header.sequence);
  PutFixed64(&out, header.first_index);
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  return out;
}

absl::StatusOr<SegmentHeader> DecodeHeader(absl::string_view file,
                                           absl::string_view data) {
  const auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("wal: corrupt header in ", file, ": ", why));
  };
  if (data.size() < kHeaderSize) return corrupt("truncated header");
  if (data.substr(0, 8) != absl::string_view(kMagic, 8)) {
    return corrupt("bad magic");
  }
  const uint32_t stored = DecodeFixed32(data.data() + kHeaderSize - 4);
  if (crc32c::Unmask(stored) !=
      crc32c::Value(data.substr(0, kHeaderSize - 4))) {
    return corrupt("checksum mismatch");
  }
  const uint32_t version = DecodeFixed32(data.data() + 8);
  if (version != kFormatVersion) {
    return corrupt(absl::StrCat("unsupported format version ", version));
  }
  return SegmentHeader{DecodeFixed64(data.data() + 12),
                       DecodeFixed64(data.data() + 20)};
}

std::string EncodeRecord(RecordType type, absl::string_view payload) {
  const auto type_byte = static_cast<uint8_t>(type);
  std::string out;
  out.reserve(kRecordHeaderSize + payload.size());
  PutFixed32(&out, static_cast<uint32_t>(payload.size()));
  PutFixed32(&out, RecordCrc(type_byte, payload));
  out.push_back(static_cast<char>(type_byte));
  out.append(payload.data(), payload.size());
  return out;
}

DecodedRecord DecodeRecord(absl::string_view data, uint64_t offset) {
  DecodedRecord result;
  const absl::string_view rest =
      offset <= data.size() ? data.substr(offset) : absl::string_view();
  if (rest.size() < kRecordHeaderSize) {
    result.kind =
        AllZero(rest) ? DecodedRecord::Kind::kZeros : DecodedRecord::Kind::kBad;
    result.reason = "truncated record header";
    return result;
  }
  if (AllZero(rest.substr(0, kRecordHeaderSize))) {
    result.kind = DecodedRecord::Kind::kZeros;
    result.reason = "zeroed bytes";
    return result;
  }
  const uint64_t length = DecodeFixed32(rest.data());
  const uint8_t type = static_cast<uint8_t>(rest[8]);
  if (length > rest.size() - kRecordHeaderSize) {
    result.reason = absl::StrCat("bad length ", length, ": only ",
                                 rest.size() - kRecordHeaderSize,
                                 " bytes left in the segment");
    return result;
  }
  const absl::string_view payload = rest.substr(kRecordHeaderSize, length);
  if (DecodeFixed32(rest.data() + 4) != RecordCrc(type, payload)) {
    result.reason = "checksum mismatch";
    return result;
  }
  if (type == 0 || type > kMaxRecordType) {
    result.reason = absl::StrCat("unknown record type ", type);
    return result;
  }
  result.kind = DecodedRecord::Kind::kRecord;
  result.type = static_cast<RecordType>(type);
  result.payload = payload;
  result.next_offset = offset + kRecordHeaderSize + length;
  return result;
}

std::optional<uint64_t> FindValidRecord(absl::string_view data, uint64_t from) {
  for (uint64_t offset = from; offset + kRecordHeaderSize <= data.size();
       ++offset) {
    // Cheap rejections first: most of a preallocated segment is zeros.
    const uint8_t type = static_cast<uint8_t>(data[offset + 8]);
    if (type == 0 || type > kMaxRecordType) continue;
    const uint64_t length = DecodeFixed32(data.data() + offset);
    if (length > data.size() - offset - kRecordHeaderSize) continue;
    if (DecodeRecord(data, offset).kind == DecodedRecord::Kind::kRecord) {
      return offset;
    }
  }
  return std::nullopt;
}

}  // namespace etcdpp::storage::wal
