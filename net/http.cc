#include "net/http.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "net/http_parser.h"
#include "net/tcp.h"

namespace etcdpp::net {
namespace {

// A stream is cut off once this much of it waits, either in the
// connection's buffer (the client reads slower than the stream is written)
// or posted to the loop and not yet run (the loop is behind the producer).
constexpr size_t kMaxQueuedStreamBytes = 16 << 20;

// Whether a Connection header among `headers` lists `option`.
bool ConnectionHas(const HttpHeaders& headers, std::string_view option) {
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCaseAscii(name, "connection")) continue;
    for (std::string_view token : SplitOn(value, ',')) {
      if (EqualsIgnoreCaseAscii(TrimHttpWhitespace(token), option)) return true;
    }
  }
  return false;
}

// RFC 7231 §7.1.1.1's IMF-fixdate, spelled out rather than through
// strftime, whose day and month names follow the locale.
std::string HttpDate(std::time_t now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed",
                                          "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&now, &tm);
  return absl::StrFormat("%s, %02d %s %04d %02d:%02d:%02d GMT",
                         kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// How a response's body is delimited, and what the server says of the
// connection.
struct Framing {
  std::optional<size_t> content_length;
  bool chunked = false;
  bool close = false;
  bool keep_alive = false;  // an HTTP/1.0 client asked and is granted it
};

// The headers that frame a response: the server writes them, never a
// handler, so that they always match what is sent.
bool IsServerHeader(std::string_view name) {
  for (std::string_view own :
       {"content-length", "transfer-encoding", "connection", "date"}) {
    if (EqualsIgnoreCaseAscii(name, own)) return true;
  }
  return false;
}

int SendableStatus(int status) {
  return status >= 200 && status <= 999 ? status : 500;
}

std::string FormatHead(const HttpResponse& response, const Framing& framing) {
  const int status = SendableStatus(response.status);
  std::string out =
      absl::StrCat("HTTP/1.1 ", status, " ", std::string(HttpReason(status)),
                   "\r\nDate: ", HttpDate(std::time(nullptr)), "\r\n");
  if (!response.content_type.empty() &&
      IsHttpFieldValue(response.content_type)) {
    absl::StrAppend(&out, "Content-Type: ", response.content_type, "\r\n");
  }
  if (framing.content_length.has_value()) {
    absl::StrAppend(&out, "Content-Length: ", *framing.content_length, "\r\n");
  }
  if (framing.chunked) out += "Transfer-Encoding: chunked\r\n";
  for (const auto& [name, value] : response.headers) {
    if (IsServerHeader(name) || !IsHttpToken(name) ||
        !IsHttpFieldValue(value)) {
      continue;
    }
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  if (framing.close) {
    out += "Connection: close\r\n";
  } else if (framing.keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return out;
}

// The way from responders, on any thread, to the loop. Detached when the
// server goes, so that a responder outliving it never touches the loop.
struct LoopLink {
  void Post(EventLoop::Task task) {
    std::lock_guard<std::mutex> lock(mu);
    if (loop != nullptr) loop->Post(std::move(task));
  }
  void Detach() {
    std::lock_guard<std::mutex> lock(mu);
    loop = nullptr;
  }

  std::mutex mu;
  EventLoop* loop;  // guarded by mu; null once the server is gone
};

class HttpConnection;

// What the server's connections share; lives on the loop thread, except
// connection_count.
struct ServerState {
  ServerState(EventLoop* loop, HttpServerOptions options, HttpHandler handler)
      : loop(loop),
        options(options),
        handler(std::move(handler)),
        link(std::make_shared<LoopLink>()) {
    link->loop = loop;
  }
  void Add(uint64_t id, std::shared_ptr<HttpConnection> connection) {
    connections.emplace(id, std::move(connection));
    connection_count.store(connections.size());
  }
  void Remove(uint64_t id) {
    connections.erase(id);
    connection_count.store(connections.size());
  }

  EventLoop* const loop;
  const HttpServerOptions options;
  HttpHandler handler;  // reset when the server goes
  const std::shared_ptr<LoopLink> link;
  std::map<uint64_t, std::shared_ptr<HttpConnection>> connections;
  uint64_t next_id = 1;
  std::atomic<size_t> connection_count{0};
};

// One client connection: reads a request, hands it to the handler, writes
// the answer its responder sends, then reads the next. Loop thread only.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(std::shared_ptr<ServerState> server, uint64_t id)
      : server_(std::move(server)), id_(id), parser_(server_->options) {}

  // Takes the socket; false when that failed (the socket is then closed).
  bool Adopt(int fd, std::unique_ptr<TlsSession> tls);
  void Begin(std::string_view already_read);
  void Close() { tcp_->Close(); }

  // What a responder's calls become on the loop. Each names its exchange
  // (the request it answers), so nothing reaches a later request.
  void Respond(uint64_t exchange, HttpResponse response);
  void StartStream(uint64_t exchange, HttpResponse head);
  void WriteChunk(uint64_t exchange, std::string_view chunk);
  void FinishStream(uint64_t exchange);
  void AbortStream(uint64_t exchange);
  void SetOnClose(uint64_t exchange, std::function<void()> on_close);

 private:
  enum class Phase {
    kReading,    // waiting for a complete request; the idle timer runs
    kHandling,   // the handler has it; nothing is read
    kStreaming,  // a chunked response is under way
    kClosing,    // the last response is flushing
    kClosed,
  };

  void OnData(std::string_view data);
  void OnClosed();
  void ReadRequests();
  void Dispatch(HttpRequest request);
  void Reject(const HttpError& error);
  void SendChunk(std::string_view chunk);
  void EndExchange(bool close);
  void CloseAfterResponse();
  void ArmIdleTimer();
  void CancelIdleTimer();
  void OnIdleTimeout();

  const std::shared_ptr<ServerState> server_;
  const uint64_t id_;
  std::shared_ptr<TcpConnection> tcp_;
  HttpRequestParser parser_;
  std::string in_;  // bytes received and not yet parsed
  Phase phase_ = Phase::kReading;
  TimerId idle_timer_ = 0;  // 0: none armed
  // Read by responders on any thread: Open().
  const std::shared_ptr<std::atomic<bool>> connected_ =
      std::make_shared<std::atomic<bool>>(true);

  // The current exchange: the last request handed to the handler.
  uint64_t exchange_ = 0;
  bool exchange_open_ = false;  // not yet answered in full
  bool keep_alive_ = false;
  bool keep_alive_header_ = false;  // HTTP/1.0 asked for keep-alive
  bool head_only_ = false;          // a HEAD request: no body is sent
  int minor_version_ = 1;
  bool stream_chunked_ = false;  // else a raw stream ended by closing
  bool stream_close_ = false;
  std::function<void()> on_close_;
};

// Thread-safe: each call decides under mu_ whether it is still allowed, and
// posts under it, so calls reach the loop in the order they were made.
class Responder final : public HttpResponder {
 public:
  Responder(std::shared_ptr<LoopLink> link,
            std::weak_ptr<HttpConnection> connection, uint64_t exchange,
            std::shared_ptr<const std::atomic<bool>> connected)
      : link_(std::move(link)),
        connection_(std::move(connection)),
        exchange_(exchange),
        connected_(std::move(connected)) {}
  ~Responder() override;

  void Respond(HttpResponse response) override;
  void Start(HttpResponse head) override;
  void Write(std::string chunk) override;
  void Finish() override;
  bool Open() const override { return connected_->load(); }
  void OnClose(std::function<void()> on_close) override;

 private:
  enum class Stage { kFresh, kStreaming, kDone };
  using Call = std::function<void(HttpConnection&, uint64_t exchange)>;

  // Runs `call` on the loop if the connection still exists; `bytes` of a
  // Write count as in flight until then. mu_ held.
  void PostLocked(Call call, size_t bytes = 0);

  const std::shared_ptr<LoopLink> link_;
  const std::weak_ptr<HttpConnection> connection_;
  const uint64_t exchange_;
  const std::shared_ptr<const std::atomic<bool>> connected_;
  // Bytes of Write posted and not yet handed to the connection.
  const std::shared_ptr<std::atomic<size_t>> in_flight_bytes_ =
      std::make_shared<std::atomic<size_t>>(0);
  std::mutex mu_;
  Stage stage_ = Stage::kFresh;  // guarded by mu_
};

Responder::~Responder() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stage_ == Stage::kFresh) {
    HttpResponse response;
    response.status = 500;
    response.body = "no response\n";
    PostLocked([response](HttpConnection& c, uint64_t exchange) {
      c.Respond(exchange, response);
    });
  } else if (stage_ == Stage::kStreaming) {
    PostLocked([](HttpConnection& c, uint64_t ex) { c.AbortStream(ex); });
  }
}

void Responder::PostLocked(Call call, size_t bytes) {
  link_->Post([connection = connection_, exchange = exchange_,
               call = std::move(call), bytes, in_flight = in_flight_bytes_] {
    in_flight->fetch_sub(bytes);
    if (std::shared_ptr<HttpConnection> c = connection.lock()) {
      call(*c, exchange);
    }
  });
}

void Responder::Respond(HttpResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stage_ != Stage::kFresh) return;
  stage_ = Stage::kDone;
  PostLocked([response = std::move(response)](HttpConnection& c,
                                              uint64_t exchange) mutable {
    c.Respond(exchange, std::move(response));
  });
}

void Responder::Start(HttpResponse head) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stage_ != Stage::kFresh) return;
  stage_ = Stage::kStreaming;
  PostLocked(
      [head = std::move(head)](HttpConnection& c, uint64_t exchange) mutable {
        c.StartStream(exchange, std::move(head));
      });
}

void Responder::Write(std::string chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stage_ != Stage::kStreaming || chunk.empty() || !Open()) return;
  const size_t bytes = chunk.size();
  if (in_flight_bytes_->load() + bytes > kMaxQueuedStreamBytes) {
    // The loop is behind this producer: cut the stream rather than queue
    // without bound.
    stage_ = Stage::kDone;
    PostLocked([](HttpConnection& c, uint64_t ex) { c.AbortStream(ex); });
    return;
  }
  in_flight_bytes_->fetch_add(bytes);
  PostLocked(
      [chunk = std::move(chunk)](HttpConnection& c, uint64_t exchange) {
        c.WriteChunk(exchange, chunk);
      },
      bytes);
}

void Responder::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stage_ != Stage::kStreaming) return;
  stage_ = Stage::kDone;
  PostLocked([](HttpConnection& c, uint64_t ex) { c.FinishStream(ex); });
}

void Responder::OnClose(std::function<void()> on_close) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stage_ == Stage::kDone) return;
  // Not through PostLocked: a connection already gone has closed, and the
  // stream is not finished (Finish would have been posted after this), so
  // the callback is due at once.
  link_->Post([connection = connection_, exchange = exchange_,
               on_close = std::move(on_close)] {
    if (std::shared_ptr<HttpConnection> c = connection.lock()) {
      c->SetOnClose(exchange, on_close);
    } else {
      on_close();
    }
  });
}

bool HttpConnection::Adopt(int fd, std::unique_ptr<TlsSession> tls) {
  std::weak_ptr<HttpConnection> weak = weak_from_this();
  TcpConnection::Callbacks callbacks;
  callbacks.on_data = [weak](std::string_view data) {
    if (std::shared_ptr<HttpConnection> self = weak.lock()) self->OnData(data);
  };
  // A clean close and an error end a connection alike.
  callbacks.on_close = [weak](const absl::Status&) {
    if (std::shared_ptr<HttpConnection> self = weak.lock()) self->OnClosed();
  };
  absl::StatusOr<std::shared_ptr<TcpConnection>> tcp = TcpConnection::Adopt(
      server_->loop, fd, std::move(callbacks),
      TcpConnection::kDefaultHighWaterBytes, std::move(tls));
  if (!tcp.ok()) return false;
  tcp_ = *std::move(tcp);
  return !tcp_->closed();
}

void HttpConnection::Begin(std::string_view already_read) {
  ArmIdleTimer();
  if (!already_read.empty()) OnData(already_read);
}

void HttpConnection::OnData(std::string_view data) {
  if (phase_ == Phase::kClosing || phase_ == Phase::kClosed) return;
  in_.append(data);
  if (phase_ == Phase::kReading) return ReadRequests();
  // TcpConnection cannot pause reading, so a client pipelining far ahead
  // of the answers is cut off rather than buffered without bound.
  const HttpServerOptions& options = server_->options;
  if (in_.size() > options.max_header_bytes + 2 * options.max_body_bytes) {
    Close();
  }
}

void HttpConnection::OnClosed() {
  phase_ = Phase::kClosed;
  connected_->store(false);
  CancelIdleTimer();
  in_.clear();
  std::function<void()> on_close = std::exchange(on_close_, nullptr);
  // The server's map may hold the last reference.
  std::shared_ptr<HttpConnection> keep = shared_from_this();
  server_->Remove(id_);
  if (exchange_open_ && on_close) on_close();
}

void HttpConnection::ReadRequests() {
  while (phase_ == Phase::kReading && !in_.empty()) {
    size_t consumed = 0;
    const HttpRequestParser::Result result = parser_.Feed(in_, &consumed);
    in_.erase(0, consumed);
    if (result == HttpRequestParser::Result::kError) {
      return Reject(parser_.error());
    }
    if (result == HttpRequestParser::Result::kIncomplete) {
      if (parser_.TakeContinue()) tcp_->Send("HTTP/1.1 100 Continue\r\n\r\n");
      return;
    }
    Dispatch(parser_.TakeRequest());
  }
}

void HttpConnection::Dispatch(HttpRequest request) {
  CancelIdleTimer();
  phase_ = Phase::kHandling;
  ++exchange_;
  exchange_open_ = true;
  const bool asked_close = ConnectionHas(request.headers, "close");
  const bool asked_keep_alive = ConnectionHas(request.headers, "keep-alive");
  // HTTP/1.1 keeps a connection unless told not to; 1.0 only when asked.
  keep_alive_ =
      !asked_close && (request.minor_version >= 1 || asked_keep_alive);
  keep_alive_header_ = keep_alive_ && request.minor_version == 0;
  head_only_ = request.method == "HEAD";
  minor_version_ = request.minor_version;
  request.peer = tcp_->peer();
  server_->handler(std::move(request),
                   std::make_shared<Responder>(server_->link, weak_from_this(),
                                               exchange_, connected_));
}

void HttpConnection::Reject(const HttpError& error) {
  HttpResponse response;
  response.status = error.status;
  response.body = error.message + "\n";
  Framing framing;
  framing.content_length = response.body.size();
  framing.close = true;
  tcp_->Send(FormatHead(response, framing) + response.body);
  CloseAfterResponse();
}

void HttpConnection::Respond(uint64_t exchange, HttpResponse response) {
  if (exchange != exchange_ || phase_ != Phase::kHandling) return;
  const int status = SendableStatus(response.status);
  const bool bodiless = head_only_ || status == 204 || status == 304;
  Framing framing;
  if (status != 204 && status != 304) {
    framing.content_length = response.body.size();
  }
  framing.close = !keep_alive_ || ConnectionHas(response.headers, "close");
  framing.keep_alive = keep_alive_header_;
  std::string out = FormatHead(response, framing);
  if (!bodiless) out += response.body;
  tcp_->Send(out);
  EndExchange(framing.close);
}

void HttpConnection::StartStream(uint64_t exchange, HttpResponse head) {
  if (exchange != exchange_ || phase_ != Phase::kHandling) return;
  phase_ = Phase::kStreaming;
  // HTTP/1.0 has no chunked coding: its stream runs until the close.
  stream_chunked_ = minor_version_ >= 1;
  stream_close_ =
      !keep_alive_ || !stream_chunked_ || ConnectionHas(head.headers, "close");
  Framing framing;
  framing.chunked = stream_chunked_;
  framing.close = stream_close_;
  framing.keep_alive = keep_alive_header_ && !stream_close_;
  tcp_->Send(FormatHead(head, framing));
  SendChunk(head.body);
}

void HttpConnection::WriteChunk(uint64_t exchange, std::string_view chunk) {
  if (exchange != exchange_ || phase_ != Phase::kStreaming) return;
  SendChunk(chunk);
}

void HttpConnection::SendChunk(std::string_view chunk) {
  if (head_only_ || chunk.empty() || phase_ != Phase::kStreaming) return;
  if (stream_chunked_) {
    std::string framed = absl::StrCat(absl::Hex(chunk.size()), "\r\n");
    framed.append(chunk);
    framed.append("\r\n");
    tcp_->Send(framed);
  } else {
    tcp_->Send(chunk);
  }
  // The client reads slower than the stream is written: end it here rather
  // than buffer without bound.
  if (phase_ == Phase::kStreaming &&
      tcp_->buffered_bytes() > kMaxQueuedStreamBytes) {
    Close();
  }
}

void HttpConnection::FinishStream(uint64_t exchange) {
  if (exchange != exchange_ || phase_ != Phase::kStreaming) return;
  if (stream_chunked_ && !head_only_) tcp_->Send("0\r\n\r\n");
  EndExchange(stream_close_);
}

void HttpConnection::AbortStream(uint64_t exchange) {
  if (exchange != exchange_) return;
  // Only closing tells the client that a stream under way is incomplete.
  if (phase_ == Phase::kHandling || phase_ == Phase::kStreaming) Close();
}

void HttpConnection::SetOnClose(uint64_t exchange,
                                std::function<void()> on_close) {
  if (exchange != exchange_ || !exchange_open_) return;
  if (phase_ == Phase::kClosed) return on_close();
  on_close_ = std::move(on_close);
}

void HttpConnection::EndExchange(bool close) {
  if (phase_ == Phase::kClosed) return;  // a failed Send closed it
  exchange_open_ = false;
  on_close_ = nullptr;
  if (close) return CloseAfterResponse();
  phase_ = Phase::kReading;
  ArmIdleTimer();
  ReadRequests();
}

void HttpConnection::CloseAfterResponse() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosing;
  // A client that never reads its last response is not waited for forever.
  ArmIdleTimer();
  tcp_->CloseAfterFlush();
}

void HttpConnection::ArmIdleTimer() {
  CancelIdleTimer();
  if (server_->options.idle_timeout_ms == 0) return;
  std::weak_ptr<HttpConnection> weak = weak_from_this();
  absl::StatusOr<TimerId> timer =
      server_->loop->AddTimer(server_->options.idle_timeout_ms, 0, [weak] {
        if (std::shared_ptr<HttpConnection> self = weak.lock()) {
          self->OnIdleTimeout();
        }
      });
  // Without a timer (no file descriptors left) the bound could not hold.
  if (!timer.ok()) return Close();
  idle_timer_ = *timer;
}

void HttpConnection::CancelIdleTimer() {
  if (idle_timer_ == 0) return;
  server_->loop->CancelTimer(std::exchange(idle_timer_, 0));
}

void HttpConnection::OnIdleTimeout() {
  idle_timer_ = 0;  // a one-shot timer is gone once it fired
  if (phase_ == Phase::kReading && parser_.started()) {
    return Reject({408, absl::StrCat("request not complete within ",
                                     server_->options.idle_timeout_ms, " ms")});
  }
  Close();
}

void ServeConnection(const std::shared_ptr<ServerState>& server, int fd,
                     std::unique_ptr<TlsSession> tls,
                     std::string_view already_read) {
  const uint64_t id = server->next_id++;
  auto connection = std::make_shared<HttpConnection>(server, id);
  if (!connection->Adopt(fd, std::move(tls))) return;
  server->Add(id, connection);
  connection->Begin(already_read);
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
  std::vector<std::unique_ptr<TcpListener>> listeners;
};

HttpServer::HttpServer(EventLoop* loop, HttpServerOptions options,
                       HttpHandler handler)
    : impl_(std::make_unique<Impl>()) {
  CHECK(handler != nullptr) << "a server has a handler";
  impl_->state =
      std::make_shared<ServerState>(loop, options, std::move(handler));
}

HttpServer::~HttpServer() {
  impl_->listeners.clear();
  ServerState& state = *impl_->state;
  state.link->Detach();
  auto connections = std::exchange(state.connections, {});
  state.connection_count.store(0);
  for (auto& [id, connection] : connections) connection->Close();
  // Whatever the handler holds goes now, not with the last connection.
  state.handler = nullptr;
}

absl::StatusOr<uint16_t> HttpServer::Listen(const std::string& host,
                                            uint16_t port,
                                            std::shared_ptr<TlsContext> tls) {
  std::shared_ptr<ServerState> state = impl_->state;
  absl::StatusOr<std::unique_ptr<TcpListener>> listener =
      TcpListener::Listen(state->loop, host, port, [state, tls](int fd) {
        std::unique_ptr<TlsSession> session;
        if (tls != nullptr) {
          absl::StatusOr<std::unique_ptr<TlsSession>> made =
              TlsSession::Server(tls);
          if (!made.ok()) {
            close(fd);  // one connection lost; the listener stays up
            return;
          }
          session = *std::move(made);
        }
        ServeConnection(state, fd, std::move(session), "");
      });
  if (!listener.ok()) return listener.status();
  const uint16_t bound = (*listener)->port();
  impl_->listeners.push_back(*std::move(listener));
  return bound;
}

void HttpServer::Serve(int fd, std::unique_ptr<TlsSession> tls,
                       std::string already_read) {
  ServeConnection(impl_->state, fd, std::move(tls), already_read);
}

size_t HttpServer::connection_count() const {
  return impl_->state->connection_count.load();
}

std::string_view HttpReason(int status) {
  // RFC 9110 §15's phrases.
  static constexpr std::pair<int, std::string_view> kReasons[] = {
      {100, "Continue"},
      {200, "OK"},
      {201, "Created"},
      {204, "No Content"},
      {301, "Moved Permanently"},
      {304, "Not Modified"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Content Too Large"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
  };
  for (const auto& [code, reason] : kReasons) {
    if (code == status) return reason;
  }
  return "Unknown";
}

}  // namespace etcdpp::net
