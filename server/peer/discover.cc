#include "server/peer/discover.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/peer/frame.h"

namespace etcdpp::peer {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<Discovery> Discover(const std::string& host, uint16_t port,
                                   uint64_t self, uint64_t peer_id,
                                   int timeout_ms,
                                   std::shared_ptr<net::TlsContext> tls) {
  const std::string where = absl::StrCat(host, ":", port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad peer host ", host));
  }
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::InternalError("socket failed");
  const timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", where, ": errno ", errno));
  }
  std::unique_ptr<net::TlsSession> session;
  if (tls != nullptr) {
    absl::StatusOr<std::unique_ptr<net::TlsSession>> s =
        net::TlsSession::Client(std::move(tls), host);
    if (!s.ok()) return s.status();
    session = *std::move(s);
  }
  // Sends plaintext (through TLS when on) and whatever the TLS session has
  // to say (its handshake records).
  auto send_all = [&](const std::string& plaintext) -> absl::Status {
    std::string bytes;
    if (session != nullptr) {
      if (absl::Status s = session->Send(plaintext); !s.ok()) return s;
      session->TakeOutput(&bytes);
    } else {
      bytes = plaintext;
    }
    if (!bytes.empty() &&
        send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(bytes.size())) {
      return absl::UnavailableError(absl::StrCat("cannot write to ", where));
    }
    return absl::OkStatus();
  };
  Hello hello;
  hello.cluster_id = 0;
  hello.from = self;
  hello.to = peer_id;
  std::string frame;
  AppendFrame(FrameType::kHello, EncodeHello(hello), &frame);
  if (absl::Status s = send_all(frame); !s.ok()) return s;
  // HelloAck, then kMembers if the peer sends one, then the peer closes.
  FrameReader reader;
  std::optional<Discovery> found;
  char buffer[4096];
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    std::string_view received(buffer, static_cast<size_t>(n));
    std::string plaintext;
    if (session != nullptr) {
      if (absl::Status s = session->Receive(received, &plaintext); !s.ok()) {
        return absl::UnavailableError(
            absl::StrCat("peer ", where, ": ", s.message()));
      }
      if (absl::Status s = send_all(""); !s.ok()) return s;
      received = plaintext;
    }
    reader.Feed(received);
    for (;;) {
      absl::StatusOr<std::optional<Frame>> next = reader.Next();
      if (!next.ok()) return next.status();
      if (!next->has_value()) break;
      const Frame& f = **next;
      if (f.type == FrameType::kReject) {
        return absl::FailedPreconditionError(
            absl::StrCat("peer ", where, " refused: ", f.payload));
      }
      if (f.type == FrameType::kHelloAck) {
        absl::StatusOr<Hello> ack = DecodeHello(f.payload);
        if (!ack.ok()) return ack.status();
        if (ack->cluster_id == 0) continue;
        found = Discovery{ack->cluster_id, ""};
      } else if (f.type == FrameType::kMembers && found.has_value()) {
        found->members = f.payload;
        return *found;
      }
    }
  }
  if (found.has_value()) return *found;  // a peer that sends no list
  return absl::UnavailableError(
      absl::StrCat("no cluster id from ", where, " within ", timeout_ms, "ms"));
}

}  // namespace etcdpp::peer
