#include "net/tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::net {
namespace {

absl::Status ErrnoStatus(absl::string_view what, int err) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case EADDRINUSE:
      return absl::AlreadyExistsError(message);
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<sockaddr_in> ParseAddress(const std::string& host,
                                         uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  const std::string ip = host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv4 address: '", host, "'"));
  }
  return addr;
}

std::string PeerName(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return "?";
  }
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof(ip));
  return absl::StrCat(ip, ":", ntohs(addr.sin_port));
}

}  // namespace

absl::StatusOr<std::shared_ptr<TcpConnection>> TcpConnection::Adopt(
    EventLoop* loop, int fd, Callbacks callbacks, size_t high_water_bytes,
    std::unique_ptr<TlsSession> tls) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::shared_ptr<TcpConnection> conn(new TcpConnection(
      loop, fd, std::move(callbacks), high_water_bytes, std::move(tls)));
  absl::Status watched = loop->Watch(
      fd, kReadable, [raw = conn.get()](uint32_t events) {
        raw->OnEvents(events);
      });
  if (!watched.ok()) {
    close(fd);
    conn->fd_ = -1;
    return watched;
  }
  conn->self_ = conn;
  if (conn->tls_ != nullptr) {  // a client's hello
    conn->tls_->TakeOutput(&conn->out_);
    if (conn->socket_bytes() > 0) conn->WriteBuffered();
  }
  return conn;
}

TcpConnection::TcpConnection(EventLoop* loop, int fd, Callbacks callbacks,
                             size_t high_water_bytes,
                             std::unique_ptr<TlsSession> tls)
    : loop_(loop),
      fd_(fd),
      callbacks_(std::move(callbacks)),
      high_water_bytes_(high_water_bytes),
      peer_(PeerName(fd)),
      tls_(std::move(tls)) {}

TcpConnection::~TcpConnection() {
  CHECK_LT(fd_, 0) << "a connection is closed before it is destroyed";
}

void TcpConnection::OnEvents(uint32_t events) {
  // Hold a reference: a callback may drop the last outside owner.
  std::shared_ptr<TcpConnection> keep = self_;
  if (events & kWritable) WriteBuffered();
  if (fd_ >= 0 && (events & (kReadable | kHangup | kError))) ReadAvailable();
}

void TcpConnection::ReadAvailable() {
  char buffer[64 * 1024];
  while (fd_ >= 0) {
    const ssize_t n = read(fd_, buffer, sizeof(buffer));
    if (n > 0) {
      Received(std::string_view(buffer, n));
      continue;
    }
    if (n == 0) return Shutdown(absl::OkStatus());
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    return Shutdown(ErrnoStatus(absl::StrCat("read from ", peer_), errno));
  }
}

void TcpConnection::Received(std::string_view data) {
  if (tls_ == nullptr) {
    if (!closing_after_flush_ && callbacks_.on_data) callbacks_.on_data(data);
    return;
  }
  std::string plaintext;
  absl::Status status = tls_->Receive(data, &plaintext);
  // Handshake replies, and what Send held until the handshake was done.
  tls_->TakeOutput(&out_);
  if (!status.ok()) {
    WriteBuffered();  // best effort: the alert that tells the peer why
    return Shutdown(absl::UnavailableError(
        absl::StrCat(peer_, ": ", status.message())));
  }
  if (socket_bytes() > 0 && !want_write_) WriteBuffered();
  if (fd_ >= 0 && !plaintext.empty() && !closing_after_flush_ &&
      callbacks_.on_data) {
    callbacks_.on_data(plaintext);
  }
}

bool TcpConnection::Send(std::string_view data) {
  if (fd_ < 0 || closing_after_flush_) return false;
  if (tls_ != nullptr) {
    if (absl::Status s = tls_->Send(data); !s.ok()) {
      Shutdown(absl::UnavailableError(absl::StrCat(peer_, ": ", s.message())));
      return false;
    }
    tls_->TakeOutput(&out_);
  } else {
    out_.append(data);
  }
  if (!want_write_) WriteBuffered();  // try at once; most writes fit
  if (buffered_bytes() > high_water_bytes_) above_high_water_ = true;
  return !above_high_water_;
}

void TcpConnection::WriteBuffered() {
  while (fd_ >= 0 && socket_bytes() > 0) {
    const ssize_t n = ::send(fd_, out_.data() + out_offset_, socket_bytes(),
                             MSG_NOSIGNAL);
    if (n > 0) {
      out_offset_ += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return Shutdown(ErrnoStatus(absl::StrCat("write to ", peer_), errno));
  }
  if (fd_ < 0) return;
  if (out_offset_ > 0 && out_offset_ * 2 >= out_.size()) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  UpdateInterest();
  if (buffered_bytes() == 0) {
    if (closing_after_flush_) return Shutdown(absl::OkStatus());
    if (above_high_water_) {
      above_high_water_ = false;
      if (callbacks_.on_drained) callbacks_.on_drained();
    }
  }
}

void TcpConnection::UpdateInterest() {
  const bool want_write = socket_bytes() > 0;
  if (want_write == want_write_) return;
  want_write_ = want_write;
  const uint32_t events = kReadable | (want_write ? uint32_t{kWritable} : 0u);
  absl::Status modified = loop_->Modify(fd_, events);
  if (!modified.ok()) Shutdown(modified);
}

void TcpConnection::Close() { Shutdown(absl::OkStatus()); }

void TcpConnection::CloseAfterFlush() {
  if (fd_ < 0) return;
  closing_after_flush_ = true;
  if (buffered_bytes() == 0) Shutdown(absl::OkStatus());
}

void TcpConnection::Shutdown(const absl::Status& status) {
  if (fd_ < 0) return;
  loop_->Unwatch(fd_);
  close(fd_);
  fd_ = -1;
  out_.clear();
  out_offset_ = 0;
  std::shared_ptr<TcpConnection> keep = std::move(self_);
  if (callbacks_.on_close) callbacks_.on_close(status);
  // Drop the callbacks, which often capture owners of this connection, but
  // not here: one of them may be running right now (a close from inside
  // on_data). They are destroyed on the loop's next turn.
  auto dead = std::make_shared<Callbacks>(std::move(callbacks_));
  callbacks_ = Callbacks{};
  loop_->Post([dead] {});
}

absl::StatusOr<std::unique_ptr<TcpListener>> TcpListener::Listen(
    EventLoop* loop, const std::string& host, uint16_t port,
    AcceptFn on_accept) {
  absl::StatusOr<sockaddr_in> addr = ParseAddress(host, port);
  if (!addr.ok()) return addr.status();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const std::string where = absl::StrCat(host, ":", port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0 ||
      listen(fd, 1024) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus(absl::StrCat("listen on ", where), err);
  }
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  std::unique_ptr<TcpListener> listener(
      new TcpListener(loop, fd, ntohs(bound.sin_port), std::move(on_accept)));
  absl::Status watched = loop->Watch(
      fd, kReadable, [raw = listener.get()](uint32_t) { raw->AcceptAll(); });
  if (!watched.ok()) return watched;  // ~TcpListener closes fd
  return listener;
}

TcpListener::TcpListener(EventLoop* loop, int fd, uint16_t port,
                         AcceptFn on_accept)
    : loop_(loop), fd_(fd), port_(port), on_accept_(std::move(on_accept)) {}

TcpListener::~TcpListener() {
  loop_->Unwatch(fd_);
  close(fd_);
}

void TcpListener::AcceptAll() {
  while (true) {
    const int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd);
      continue;
    }
    // EAGAIN: drained. Anything else (EMFILE, ECONNABORTED) concerns one
    // connection; the listener stays up and retries on the next event.
    return;
  }
}

void TcpConnect(EventLoop* loop, const std::string& host, uint16_t port,
                std::function<void(absl::StatusOr<int> fd)> done) {
  absl::StatusOr<sockaddr_in> addr = ParseAddress(host, port);
  if (!addr.ok()) {
    loop->Post([done, status = addr.status()] { done(status); });
    return;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    loop->Post([done, err = errno] { done(ErrnoStatus("socket", err)); });
    return;
  }
  const std::string where = absl::StrCat("connect to ", host, ":", port);
  const int rc =
      connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  if (rc == 0 || errno != EINPROGRESS) {
    const int err = rc == 0 ? 0 : errno;
    loop->Post([done, fd, err, where] {
      if (err == 0 || err == EISCONN) return done(fd);
      close(fd);
      done(ErrnoStatus(where, err));
    });
    return;
  }
  absl::Status watched =
      loop->Watch(fd, kWritable, [loop, fd, done, where](uint32_t) {
        loop->Unwatch(fd);
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          close(fd);
          return done(ErrnoStatus(where, err));
        }
        done(fd);
      });
  if (!watched.ok()) {
    close(fd);
    loop->Post([done, watched] { done(watched); });
  }
}

}  // namespace etcdpp::net
