#include "server/peer/frame.h"

#include <cstring>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"

namespace etcdpp::peer {
namespace {

void PutU32(uint32_t v, std::string* out) {
  char buf[4];
  absl::little_endian::Store32(buf, v);
  out->append(buf, 4);
}

void PutU64(uint64_t v, std::string* out) {
  char buf[8];
  absl::little_endian::Store64(buf, v);
  out->append(buf, 8);
}

bool KnownType(uint8_t t) {
  return t >= static_cast<uint8_t>(FrameType::kHello) &&
         t <= static_cast<uint8_t>(FrameType::kRemoved);
}

constexpr size_t kHelloBytes = 4 + 8 + 8 + 8;
constexpr size_t kSnapshotEndBytes = 8;

}  // namespace

void AppendFrame(FrameType type, std::string_view payload, std::string* out) {
  PutU32(static_cast<uint32_t>(payload.size()), out);
  out->push_back(static_cast<char>(type));
  out->append(payload);
}

std::string EncodeHello(const Hello& hello) {
  std::string out;
  PutU32(hello.version, &out);
  PutU64(hello.cluster_id, &out);
  PutU64(hello.from, &out);
  PutU64(hello.to, &out);
  return out;
}

absl::StatusOr<Hello> DecodeHello(std::string_view payload) {
  if (payload.size() != kHelloBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer hello: ", payload.size(), " bytes, want ",
                     kHelloBytes));
  }
  Hello hello;
  hello.version = absl::little_endian::Load32(payload.data());
  hello.cluster_id = absl::little_endian::Load64(payload.data() + 4);
  hello.from = absl::little_endian::Load64(payload.data() + 12);
  hello.to = absl::little_endian::Load64(payload.data() + 20);
  return hello;
}

std::string EncodeSnapshotEnd(const SnapshotEnd& end) {
  std::string out;
  PutU64(end.total_bytes, &out);
  return out;
}

absl::StatusOr<SnapshotEnd> DecodeSnapshotEnd(std::string_view payload) {
  if (payload.size() != kSnapshotEndBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer snapshot end: ", payload.size(), " bytes, want ",
                     kSnapshotEndBytes));
  }
  SnapshotEnd end;
  end.total_bytes = absl::little_endian::Load64(payload.data());
  return end;
}

absl::StatusOr<std::optional<Frame>> FrameReader::Next() {
  const size_t available = buffer_.size() - offset_;
  if (available < kFrameHeaderBytes) return std::nullopt;
  const char* head = buffer_.data() + offset_;
  const uint32_t length = absl::little_endian::Load32(head);
  const uint8_t type = static_cast<uint8_t>(head[4]);
  if (!KnownType(type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer frame: unknown type ", type));
  }
  if (length > kMaxFrameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer frame: ", length, " bytes exceeds the limit ", kMaxFrameBytes));
  }
  if (available < kFrameHeaderBytes + length) return std::nullopt;
  Frame frame{static_cast<FrameType>(type),
              std::string(head + kFrameHeaderBytes, length)};
  offset_ += kFrameHeaderBytes + length;
  // Compact once the consumed prefix dominates, keeping appends amortized.
  if (offset_ * 2 >= buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return frame;
}

}  // namespace etcdpp::peer
