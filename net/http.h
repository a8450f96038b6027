// An HTTP/1.1 server over the event loop: what etcd serves beside gRPC
// (/health, /version, /metrics and the JSON gateway's /v3/...).
//
// Each connection reads one request at a time (pipelined requests wait their
// turn), hands it to the handler with a responder, and reads the next once
// the response is finished. Keep-alive as HTTP/1.1 has it (a request saying
// "Connection: close", or any HTTP/1.0 request without "keep-alive", closes
// the connection after its response). Request bodies come whole, by
// Content-Length or chunked. A malformed request or one over the limits is
// answered by the server itself (400, 413, 431, 501 or 505, with a one-line
// text/plain body naming what is wrong) and the connection closed; the
// handler never sees it.
//
// Threading: the server and its connections live on the loop thread. The
// handler runs there and must not block; a responder may be used from any
// thread (it posts to the loop), so a handler may answer later, from a gRPC
// callback. A responder may outlive its connection and the server (its calls
// are then dropped), but not the EventLoop unless the server was destroyed
// first.
//
// Bounds: a connection waiting for a request is closed after
// idle_timeout_ms (with 408 if part of a request had arrived); bytes a
// client pipelines ahead of the answers are held up to max_header_bytes +
// 2 * max_body_bytes, beyond which the connection is closed; a streamed
// response is cut off (the connection closed, OnClose run) once 16 MiB of it
// wait to be sent, whether the client reads too slowly or the loop is behind
// its producer. A producer should poll Open() and stop when it turns false.
#ifndef ETCDPP_NET_HTTP_H_
#define ETCDPP_NET_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/event_loop.h"
#include "net/tls.h"

namespace etcdpp::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // the request target as sent: "/health?exclude=NOSPACE"
  std::string path;    // the target before '?', percent-decoded
  std::string query;   // after '?', undecoded; empty when none
  int minor_version = 1;  // HTTP/1.<minor_version>
  HttpHeaders headers;    // names lower-cased, in arrival order
  std::string body;
  std::string peer;  // the client's address, host:port

  // The first header named `name` (lower-case), or empty.
  std::string_view Header(std::string_view name) const;
  // The value of query parameter `name` (percent-decoded; '+' is a space), or
  // empty; `*present` (if given) says whether it appeared at all.
  std::string QueryParam(std::string_view name, bool* present = nullptr) const;
};

struct HttpResponse {
  // 200..999; anything else is sent as 500 (there are no interim responses).
  int status = 200;
  // Content-Type and Content-Length are the server's to write; Date too.
  // An empty content_type writes none.
  std::string content_type = "text/plain; charset=utf-8";
  // Any others, written as given, except the framing ones the server owns
  // (Content-Length, Transfer-Encoding, Connection, Date) and any with a
  // character a header cannot carry, which are left out. "Connection: close"
  // here closes the connection after the response.
  HttpHeaders headers;
  std::string body;  // not sent for HEAD, 204 and 304
};

// The way back for one request. Exactly one of: Respond; or Start, any
// number of Write, then Finish (a chunked stream, for watches; to an HTTP/1.0
// client the stream is sent raw and ends by closing). Calls after the end, or
// after the client went away, are dropped. Thread-safe. A responder dropped
// without an answer answers 500 "no response"; one dropped in the middle of a
// stream closes the connection, since only that tells the client the stream
// is incomplete.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  virtual void Respond(HttpResponse response) = 0;
  // Starts a chunked response with `head`'s status, type and headers (its
  // body, if any, is the first chunk).
  virtual void Start(HttpResponse head) = 0;
  virtual void Write(std::string chunk) = 0;
  virtual void Finish() = 0;
  // Whether the client is still connected. A streaming producer polls it to
  // stop early.
  virtual bool Open() const = 0;
  // Set before Start: called (on the loop thread) when the client goes away
  // before Finish, so a stream can end. Set after the client went away (but
  // before Finish), it is called at once, on the loop thread.
  virtual void OnClose(std::function<void()> on_close) = 0;
};

using HttpHandler =
    std::function<void(HttpRequest request, std::shared_ptr<HttpResponder>)>;

struct HttpServerOptions {
  // The request line and headers together.
  size_t max_header_bytes = 64 << 10;
  // Bodies beyond this are refused with 413 (etcd's --max-request-bytes
  // plus room for the JSON around it).
  size_t max_body_bytes = 4 << 20;
  // A connection with no complete request for this long is closed (0:
  // never). The time runs from when the connection starts waiting for a
  // request, so a client trickling one byte at a time is closed too.
  uint64_t idle_timeout_ms = 5 * 60 * 1000;
};

class HttpServer {
 public:
  // Runs nothing until given connections: Listen, or Serve for sockets the
  // caller accepted (a port shared with gRPC).
  HttpServer(EventLoop* loop, HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // closes every connection; loop thread only
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on host:port (0: a free port) and serves every connection,
  // through `tls` when given. Returns the bound port. Loop thread, or
  // before Run.
  absl::StatusOr<uint16_t> Listen(const std::string& host, uint16_t port,
                                  std::shared_ptr<TlsContext> tls = nullptr);
  // Serves an accepted non-blocking socket (owned from now on), through a
  // TLS session when given. Bytes of the HTTP stream the caller already read
  // (e.g. to tell HTTP from gRPC; plaintext, after the session when there is
  // one) go in `already_read`. Loop thread.
  void Serve(int fd, std::unique_ptr<TlsSession> tls = nullptr,
             std::string already_read = "");

  // Open connections. Any thread.
  size_t connection_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The reason phrase of a status code ("OK", "Not Found", ...).
std::string_view HttpReason(int status);

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_HTTP_H_
