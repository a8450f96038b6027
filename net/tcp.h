// Non-blocking TCP over an EventLoop: a listener, an asynchronous connect,
// and a connection with a buffered writer that applies backpressure.
//
// Threading: every method runs on the loop thread (use EventLoop::Post from
// elsewhere). Callbacks run on the loop thread. A TcpConnection is owned by
// shared_ptr: the loop keeps it alive while its fd is watched, so a
// connection stays valid inside its own callbacks even if the owner drops it.
#ifndef ETCDPP_NET_TCP_H_
#define ETCDPP_NET_TCP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/event_loop.h"
#include "net/tls.h"

namespace etcdpp::net {

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  struct Callbacks {
    // Bytes that arrived, in order. May be called many times.
    std::function<void(std::string_view data)> on_data;
    // The write buffer went from above the high-water mark to empty: the
    // producer may resume.
    std::function<void()> on_drained;
    // Called once, when the connection is closed for any reason: OK for a
    // clean close by either side, an error status otherwise.
    std::function<void(const absl::Status& status)> on_close;
  };

  // Bytes buffered beyond which Send() asks the producer to pause.
  static constexpr size_t kDefaultHighWaterBytes = 4 << 20;

  // Takes ownership of a connected non-blocking socket and starts reading.
  // With a TLS session every byte passes through it: on_data sees
  // plaintext, Send takes plaintext, and a failed handshake or
  // verification closes the connection with the reason.
  static absl::StatusOr<std::shared_ptr<TcpConnection>> Adopt(
      EventLoop* loop, int fd, Callbacks callbacks,
      size_t high_water_bytes = kDefaultHighWaterBytes,
      std::unique_ptr<TlsSession> tls = nullptr);
  ~TcpConnection();

  // Queues `data` to be written. Returns false when the buffer is now above
  // the high-water mark: the caller should stop producing until on_drained.
  // Data sent after Close() is dropped.
  bool Send(std::string_view data);

  // Closes now, dropping unsent data; on_close(OK) runs once.
  void Close();
  // Stops reading, writes what is buffered, then closes.
  void CloseAfterFlush();

  // Bytes given to Send and not yet written to the socket.
  size_t buffered_bytes() const {
    return socket_bytes() + (tls_ != nullptr ? tls_->held_bytes() : 0);
  }
  bool closed() const { return fd_ < 0; }
  const std::string& peer() const { return peer_; }

 private:
  TcpConnection(EventLoop* loop, int fd, Callbacks callbacks,
                size_t high_water_bytes, std::unique_ptr<TlsSession> tls);
  // Bytes ready for the socket (ciphertext under TLS).
  size_t socket_bytes() const { return out_.size() - out_offset_; }
  // Hands received bytes to the TLS session (or straight on).
  void Received(std::string_view data);
  void OnEvents(uint32_t events);
  void ReadAvailable();
  void WriteBuffered();
  void UpdateInterest();
  void Shutdown(const absl::Status& status);

  EventLoop* const loop_;
  int fd_;
  Callbacks callbacks_;
  const size_t high_water_bytes_;
  std::string peer_;
  std::unique_ptr<TlsSession> tls_;
  // Unsent bytes are out_[out_offset_, end); compacted when half is sent.
  std::string out_;
  size_t out_offset_ = 0;
  bool above_high_water_ = false;
  bool closing_after_flush_ = false;
  bool want_write_ = false;
  // Keeps this alive while the loop may call it.
  std::shared_ptr<TcpConnection> self_;
};

class TcpListener {
 public:
  using AcceptFn = std::function<void(int fd)>;

  // Listens on host:port (port 0 picks a free one). `on_accept` receives
  // each new non-blocking socket and owns it.
  static absl::StatusOr<std::unique_ptr<TcpListener>> Listen(
      EventLoop* loop, const std::string& host, uint16_t port,
      AcceptFn on_accept);
  ~TcpListener();

  uint16_t port() const { return port_; }

 private:
  TcpListener(EventLoop* loop, int fd, uint16_t port, AcceptFn on_accept);
  void AcceptAll();

  EventLoop* const loop_;
  const int fd_;
  const uint16_t port_;
  AcceptFn on_accept_;
};

// Connects to host:port (an IPv4 address) without blocking; `done` receives
// the connected non-blocking socket, or the error. Runs `done` on the loop.
void TcpConnect(EventLoop* loop, const std::string& host, uint16_t port,
                std::function<void(absl::StatusOr<int> fd)> done);

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_TCP_H_
