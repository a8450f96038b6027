// The peer wire format: length-prefixed frames on one TCP connection per
// pair of members.
//
//   stream    := hello hello_ack? frame*
//   frame     := length:u32le type:u8 payload[length]
//   hello     := frame(kHello, Hello)          sent by the dialing member
//   hello_ack := frame(kHelloAck, Hello)       or frame(kReject, reason)
//   messages  := frame(kMessages, MessageBatch)  raft messages, batched
//   snapshot  := frame(kSnapshotBegin, raftpb::Message with MsgSnap)
//                frame(kSnapshotChunk, bytes)*
//                frame(kSnapshotEnd, total:u64le)
//
// The snapshot stream carries no checksum of its own: TCP guards the bytes in
// flight, and the snapshot file's whole-file checksum is verified when the
// receiver loads it.
//
// A Hello carries the protocol version, the cluster id and both member ids,
// so members of different clusters, or a member dialed at the wrong address,
// refuse each other before any raft traffic flows. Frames larger than
// kMaxFrameBytes are a protocol error: the connection is closed.
#ifndef ETCDPP_SERVER_PEER_FRAME_H_
#define ETCDPP_SERVER_PEER_FRAME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace etcdpp::peer {

enum class FrameType : uint8_t {
  kHello = 1,
  kHelloAck = 2,
  kReject = 3,
  kMessages = 4,
  kSnapshotBegin = 5,
  kSnapshotChunk = 6,
  kSnapshotEnd = 7,
  // After the acknowledgement of a discovery hello (cluster id 0): the
  // cluster's member list, opaque to the transport.
  kMembers = 8,
  // Instead of a hello's acknowledgement: the sender is a member this
  // cluster removed (etcd answers such a member with HTTP 410 Gone). The
  // payload says so in words.
  kRemoved = 9,
};

inline constexpr size_t kFrameHeaderBytes = 5;
inline constexpr uint32_t kMaxFrameBytes = 64 << 20;
inline constexpr uint32_t kProtocolVersion = 1;

struct Frame {
  FrameType type;
  std::string payload;
};

// Appends one encoded frame to *out.
void AppendFrame(FrameType type, std::string_view payload, std::string* out);

struct Hello {
  uint32_t version = kProtocolVersion;
  uint64_t cluster_id = 0;
  uint64_t from = 0;  // the sender's member id
  uint64_t to = 0;    // the member id the sender believes it reached
};

std::string EncodeHello(const Hello& hello);
absl::StatusOr<Hello> DecodeHello(std::string_view payload);

struct SnapshotEnd {
  uint64_t total_bytes = 0;
};

std::string EncodeSnapshotEnd(const SnapshotEnd& end);
absl::StatusOr<SnapshotEnd> DecodeSnapshotEnd(std::string_view payload);

// Splits a byte stream into frames. Feed it bytes as they arrive; Next()
// yields complete frames in order.
class FrameReader {
 public:
  void Feed(std::string_view data) { buffer_.append(data); }

  // The next complete frame, nullopt if more bytes are needed, or an error
  // (unknown type, oversized frame) after which the stream is unusable.
  absl::StatusOr<std::optional<Frame>> Next();

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

}  // namespace etcdpp::peer

#endif  // ETCDPP_SERVER_PEER_FRAME_H_
