#include "net/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "net/http_parser.h"
#include "net/tls.h"
#include "net/tls_files.h"
#include "tests/test_certs.h"

namespace etcdpp::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kDeadline = std::chrono::seconds(10);

// Polls `done` until it holds or the deadline passes.
bool WaitUntil(const std::function<bool()>& done) {
  const auto deadline = steady_clock::now() + kDeadline;
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// Whether `text` starts with `shape`, where '9' stands for any digit and
// 'a' for any letter.
bool HasShape(std::string_view text, std::string_view shape) {
  if (text.size() < shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool fits = shape[i] == '9'   ? std::isdigit(c) != 0
                      : shape[i] == 'a' ? std::isalpha(c) != 0
                                        : text[i] == shape[i];
    if (!fits) return false;
  }
  return true;
}

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A response as a client reads it.
struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A blocking client on 127.0.0.1, through TLS when given a context. Every
// read has a deadline, so a server that never answers fails the test.
class Client {
 public:
  explicit Client(uint16_t port, std::shared_ptr<TlsContext> tls = nullptr) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ADD_FAILURE() << "connect: " << strerror(errno);
      Close();
      return;
    }
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (tls != nullptr) {
      absl::StatusOr<std::unique_ptr<TlsSession>> session =
          TlsSession::Client(tls, "127.0.0.1");
      EXPECT_TRUE(session.ok()) << session.status();
      if (session.ok()) tls_ = *std::move(session);
      FlushTls();  // the client hello
    }
  }
  // Takes a socket that is already connected.
  explicit Client(int fd) : fd_(fd) {}
  ~Client() { Close(); }

  bool Send(std::string_view data) {
    if (tls_ == nullptr) return WriteAll(data);
    return tls_->Send(data).ok() && FlushTls();
  }

  // The status line and headers of the next response.
  std::optional<Reply> ReadHead() {
    deadline_ = steady_clock::now() + kDeadline;
    std::string line;
    if (!ReadLine(&line)) return std::nullopt;
    Reply reply;
    if (line.rfind("HTTP/1.1 ", 0) != 0 || line.size() < 12) {
      ADD_FAILURE() << "bad status line: " << line;
      return std::nullopt;
    }
    reply.status = std::stoi(line.substr(9, 3));
    while (ReadLine(&line) && !line.empty()) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      const size_t value = line.find_first_not_of(' ', colon + 1);
      reply.headers[name] =
          value == std::string::npos ? "" : line.substr(value);
    }
    return reply;
  }

  // The body of `reply`, by its framing; false if it ended early.
  bool ReadBody(Reply* reply, bool head = false) {
    deadline_ = steady_clock::now() + kDeadline;
    if (head || reply->status == 204 || reply->status == 304 ||
        reply->status == 100) {
      return true;
    }
    if (reply->Header("transfer-encoding") == "chunked") {
      return ReadChunks(&reply->body);
    }
    if (!reply->Header("content-length").empty()) {
      return ReadExactly(std::stoul(reply->Header("content-length")),
                         &reply->body);
    }
    while (Fill()) {
    }
    reply->body = std::exchange(in_, "");
    return !timed_out_;
  }

  std::optional<Reply> Read(bool head = false) {
    std::optional<Reply> reply = ReadHead();
    if (!reply.has_value() || !ReadBody(&*reply, head)) return std::nullopt;
    return reply;
  }

  // Reads until the server closes; false if it did not before the
  // deadline. What came first goes to *rest.
  bool WaitForClose(std::string* rest = nullptr) {
    deadline_ = steady_clock::now() + kDeadline;
    while (Fill()) {
    }
    if (rest != nullptr) *rest = std::exchange(in_, "");
    return !timed_out_;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(n);
    }
    return true;
  }

  bool FlushTls() {
    std::string out;
    tls_->TakeOutput(&out);
    return WriteAll(out);
  }

  // Appends what arrives next to in_; false at the end of the stream, on
  // an error, or at the deadline (then timed_out_).
  bool Fill() {
    while (fd_ >= 0) {
      const auto left = std::chrono::duration_cast<milliseconds>(
          deadline_ - steady_clock::now());
      if (left.count() <= 0) {
        timed_out_ = true;
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[64 * 1024];
      const ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // closed or reset
      if (tls_ == nullptr) {
        in_.append(buffer, n);
        return true;
      }
      std::string plaintext;
      if (!tls_->Receive(std::string_view(buffer, n), &plaintext).ok()) {
        return false;
      }
      FlushTls();
      if (!plaintext.empty()) {
        in_ += plaintext;
        return true;
      }
    }
    return false;
  }

  bool ReadLine(std::string* line) {
    size_t end;
    while ((end = in_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    *line = in_.substr(0, end);
    in_.erase(0, end + 2);
    return true;
  }

  bool ReadExactly(size_t n, std::string* out) {
    while (in_.size() < n) {
      if (!Fill()) return false;
    }
    out->append(in_, 0, n);
    in_.erase(0, n);
    return true;
  }

  bool ReadChunks(std::string* body) {
    std::string line;
    while (ReadLine(&line)) {
      const size_t size = std::stoul(line, nullptr, 16);
      if (size == 0) {  // trailers, then an empty line
        while (ReadLine(&line) && !line.empty()) {
        }
        return line.empty();
      }
      if (!ReadExactly(size, body) || !ReadLine(&line) || !line.empty()) {
        return false;
      }
    }
    return false;
  }

  int fd_ = -1;
  std::unique_ptr<TlsSession> tls_;
  std::string in_;
  steady_clock::time_point deadline_;
  bool timed_out_ = false;
};

// Requests the server handed over, with their responders, for the test
// thread to answer.
class Mailbox {
 public:
  struct Exchange {
    HttpRequest request;
    std::shared_ptr<HttpResponder> responder;
  };

  HttpHandler Handler() {
    return
        [this](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
          std::lock_guard<std::mutex> lock(mu_);
          exchanges_.push_back({std::move(request), std::move(responder)});
          cv_.notify_all();
        };
  }

  // The next exchange, waiting up to the deadline.
  std::optional<Exchange> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kDeadline, [&] { return !exchanges_.empty(); })) {
      return std::nullopt;
    }
    Exchange exchange = std::move(exchanges_.front());
    exchanges_.pop_front();
    return exchange;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return exchanges_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Exchange> exchanges_;
};

// Answers "<method> <path> <body>".
void Echo(HttpRequest request, std::shared_ptr<HttpResponder> responder) {
  HttpResponse response;
  response.body = request.method + " " + request.path + " " + request.body;
  response.headers.push_back({"X-Query", request.query});
  responder->Respond(std::move(response));
}

HttpResponse Text(std::string body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<const tests::TestCerts*> certs = tests::SharedTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
  }

  void TearDown() override { StopServer(); }

  // Serves on a free port of 127.0.0.1, the loop running on its own thread.
  void Start(HttpHandler handler, HttpServerOptions options = {},
             std::shared_ptr<TlsContext> tls = nullptr) {
    server_ =
        std::make_unique<HttpServer>(loop_.get(), options, std::move(handler));
    absl::StatusOr<uint16_t> port = server_->Listen("127.0.0.1", 0, tls);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    thread_ = std::thread([this] { loop_->Run(); });
  }

  // Runs `task` on the loop thread and waits for it: once it ran, so has
  // everything the loop was doing when it was posted.
  void OnLoop(std::function<void()> task) {
    auto done = std::make_shared<std::promise<void>>();
    loop_->Post([task, done] {
      task();
      done->set_value();
    });
    ASSERT_EQ(done->get_future().wait_for(kDeadline), std::future_status::ready)
        << "the loop is stuck";
  }

  void StopServer() {
    if (!thread_.joinable()) return;
    OnLoop([this] { server_.reset(); });
    loop_->Stop();
    thread_.join();
  }

  bool NoConnections() {
    return WaitUntil([this] { return server_->connection_count() == 0; });
  }

  static std::shared_ptr<TlsContext> Context(const std::string& cert,
                                             const std::string& key) {
    absl::StatusOr<TlsFiles> files =
        LoadTlsFiles({cert, key, certs_->ca_cert, ""});
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return nullptr;
    auto context = TlsContext::Create(*files, /*verify_clients=*/false);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? *context : nullptr;
  }

  static const tests::TestCerts* certs_;
  std::unique_ptr<EventLoop> loop_;
  Mailbox mailbox_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

const tests::TestCerts* HttpTest::certs_ = nullptr;

TEST_F(HttpTest, GetIsAnswered) {
  Start(Echo);
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/health?x=1")));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "GET /health ");
  EXPECT_EQ(reply->Header("content-length"), "12");
  EXPECT_EQ(reply->Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(reply->Header("x-query"), "x=1");
  EXPECT_EQ(reply->Header("connection"), "");
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  const std::string date = reply->Header("date");
  EXPECT_TRUE(HasShape(date, "aaa, 99 aaa 9999 99:99:99 GMT") &&
              date.size() == 29)
      << date;
  EXPECT_NE(std::string("SunMonTueWedThuFriSat").find(date.substr(0, 3)),
            std::string::npos)
      << date;
  EXPECT_NE(std::string("JanFebMarAprMayJunJulAugSepOctNovDec")
                .find(date.substr(8, 3)),
            std::string::npos)
      << date;
}

TEST_F(HttpTest, PostBodyByContentLength) {
  Start(Echo);
  Client client(port_);
  ASSERT_TRUE(client.Send(Post("/v3/kv/put", "{\"key\":\"Zm9v\"}")));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "POST /v3/kv/put {\"key\":\"Zm9v\"}");
}

TEST_F(HttpTest, ChunkedRequestBodyIsJoined) {
  Start(Echo);
  Client client(port_);
  ASSERT_TRUE(
      client.Send("POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                  "5;name=value\r\nhello\r\n"
                  "7 ; ext\r\n, world\r\n"
                  "0\r\nX-Trailer: skipped\r\n\r\n"));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "POST /c hello, world");
}

TEST_F(HttpTest, PipelinedRequestsAreAnsweredInOrderOneAtATime) {
  Start(mailbox_.Handler());
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/1") + Post("/2", "two") + Get("/3")));
  for (const char* path : {"/1", "/2", "/3"}) {
    std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
    ASSERT_TRUE(exchange.has_value());
    EXPECT_EQ(exchange->request.path, path);
    // Whatever the loop did with those bytes is done by now: the next
    // request must still wait for this answer.
    OnLoop([] {});
    EXPECT_EQ(mailbox_.size(), 0u) << "parsed ahead of " << path;
    exchange->responder->Respond(Text(path + exchange->request.body));
  }
  for (const char* expected : {"/1", "/2two", "/3"}) {
    std::optional<Reply> reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body, expected);
  }
}

TEST_F(HttpTest, RequestSplitIntoSingleBytes) {
  Start(Echo);
  Client client(port_);
  const std::string request = Post("/split", "body bytes");
  for (char c : request) ASSERT_TRUE(client.Send(std::string(1, c)));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "POST /split body bytes");
}

TEST_F(HttpTest, KeepAliveServesTwoRequestsOnOneConnection) {
  Start(Echo);
  Client client(port_);
  for (const char* path : {"/first", "/second"}) {
    ASSERT_TRUE(client.Send(Get(path)));
    std::optional<Reply> reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body, std::string("GET ") + path + " ");
    EXPECT_EQ(server_->connection_count(), 1u);
  }
}

TEST_F(HttpTest, ConnectionCloseClosesAfterTheResponse) {
  Start(Echo);
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/bye", "Connection: Close\r\n")));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->Header("connection"), "close");
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_EQ(rest, "");
  EXPECT_TRUE(NoConnections());
}

TEST_F(HttpTest, Http10ClosesUnlessAskedToKeepAlive) {
  Start(Echo);
  {
    Client client(port_);
    ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
    std::optional<Reply> reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body, "GET /old ");
    EXPECT_EQ(reply->Header("connection"), "close");
    EXPECT_TRUE(client.WaitForClose());
  }
  Client client(port_);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        client.Send("GET /kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    std::optional<Reply> reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->Header("connection"), "keep-alive");
  }
}

TEST_F(HttpTest, HeadGetsHeadersWithoutBody) {
  Start(Echo);
  Client client(port_);
  // The GET after it is read correctly only if no body came for HEAD.
  ASSERT_TRUE(client.Send("HEAD /h HTTP/1.1\r\n\r\n" + Get("/g")));
  std::optional<Reply> head = client.Read(/*head=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-length"), "8");  // "HEAD /h "
  std::optional<Reply> get = client.Read();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->body, "GET /g ");
}

TEST_F(HttpTest, HandlerAnswersLaterFromAnotherThread) {
  Start(mailbox_.Handler());
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/later")));
  std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  std::thread([responder = exchange->responder] {
    HttpResponse response = Text("{}", 201);
    response.content_type = "application/json";
    response.headers.push_back({"X-Etcd-Cluster-Id", "cdf818194e3a8c32"});
    responder->Respond(response);
    responder->Respond(Text("a second answer is dropped"));
  }).join();
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->body, "{}");
  EXPECT_EQ(reply->Header("content-type"), "application/json");
  EXPECT_EQ(reply->Header("x-etcd-cluster-id"), "cdf818194e3a8c32");
  // The connection still serves, and nothing of the dropped answer came.
  ASSERT_TRUE(client.Send(Get("/next")));
  exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  exchange->responder->Respond(Text("next"));
  reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "next");
}

TEST_F(HttpTest, StreamedResponseIsChunked) {
  Start(mailbox_.Handler());
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/v3/watch")));
  std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  std::shared_ptr<HttpResponder> responder = exchange->responder;
  std::thread producer([responder] {
    HttpResponse head = Text("first;");
    head.content_type = "application/json";
    responder->Start(head);
    responder->Write("");  // an empty chunk would end the stream: skipped
    responder->Write(std::string(100000, 'x'));
    responder->Write(";last");
    responder->Finish();
    responder->Write("after the end");
  });
  std::optional<Reply> reply = client.ReadHead();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->Header("transfer-encoding"), "chunked");
  EXPECT_EQ(reply->Header("content-length"), "");
  EXPECT_EQ(reply->Header("content-type"), "application/json");
  ASSERT_TRUE(client.ReadBody(&*reply));
  producer.join();
  EXPECT_EQ(reply->body, "first;" + std::string(100000, 'x') + ";last");
  EXPECT_TRUE(responder->Open());
  // Kept alive: the next request is served on the same connection.
  ASSERT_TRUE(client.Send(Get("/after")));
  exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  exchange->responder->Respond(Text("after"));
  reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "after");
}

TEST_F(HttpTest, OnCloseFiresWhenClientLeavesMidStream) {
  Start(mailbox_.Handler());
  auto client = std::make_unique<Client>(port_);
  ASSERT_TRUE(client->Send(Get("/v3/watch")));
  std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  std::atomic<int> closes{0};
  exchange->responder->OnClose([&] { ++closes; });
  exchange->responder->Start(Text("event"));
  ASSERT_TRUE(client->ReadHead().has_value());
  EXPECT_TRUE(exchange->responder->Open());
  client.reset();
  EXPECT_TRUE(WaitUntil([&] { return closes.load() == 1; }));
  EXPECT_FALSE(exchange->responder->Open());
  EXPECT_TRUE(NoConnections());
  // Set after the client left, before Finish: called at once.
  exchange->responder->OnClose([&] { ++closes; });
  EXPECT_TRUE(WaitUntil([&] { return closes.load() == 2; }));
  exchange->responder->Finish();
  OnLoop([] {});
  EXPECT_EQ(closes.load(), 2);
}

TEST_F(HttpTest, ResponderAfterClientLeftOrServerWentDoesNothing) {
  Start(mailbox_.Handler());
  auto client = std::make_unique<Client>(port_);
  ASSERT_TRUE(client->Send(Get("/a") + Get("/b")));
  std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  client.reset();
  ASSERT_TRUE(NoConnections());
  std::shared_ptr<HttpResponder> responder = exchange->responder;
  EXPECT_FALSE(responder->Open());
  responder->Start(Text("x"));
  responder->Write("y");
  responder->Finish();
  responder->Respond(Text("z"));
  OnLoop([] {});
  // The server still serves others.
  Client other(port_);
  ASSERT_TRUE(other.Send(Get("/c")));
  std::optional<Mailbox::Exchange> next = mailbox_.Pop();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->request.path, "/c");
  EXPECT_EQ(mailbox_.size(), 0u) << "/b of the closed connection was served";
  // A responder outliving the server, used and dropped from this thread.
  StopServer();
  next->responder->Respond(Text("too late"));
  next->responder->OnClose([] { ADD_FAILURE() << "no loop runs this"; });
  next.reset();
  EXPECT_FALSE(other.Read().has_value());
}

TEST_F(HttpTest, DroppedResponderAnswers500) {
  Start([](HttpRequest, std::shared_ptr<HttpResponder>) {});
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/ignored")));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 500);
  EXPECT_EQ(reply->body, "no response\n");
}

TEST_F(HttpTest, ResponderDroppedMidStreamClosesTheConnection) {
  Start(mailbox_.Handler());
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/stream")));
  {
    std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
    ASSERT_TRUE(exchange.has_value());
    exchange->responder->Start(Text("partial"));
  }
  std::optional<Reply> reply = client.ReadHead();
  ASSERT_TRUE(reply.has_value());
  EXPECT_FALSE(client.ReadBody(&*reply)) << "the stream must not look whole";
  EXPECT_TRUE(NoConnections());
}

struct BadRequest {
  const char* name;
  std::string request;
  int status;
  const char* says;
};

TEST_F(HttpTest, MalformedAndOverLimitRequestsAreRefusedAndClosed) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  options.max_body_bytes = 1024;
  Start(Echo, options);
  const std::string big_header = "X-Big: " + std::string(1100, 'b') + "\r\n";
  const std::vector<BadRequest> cases = {
      {"no version", "GET /\r\n\r\n", 400, "malformed request line"},
      {"garbage", "\x01\x02 \x03 \x04\r\n\r\n", 400, "malformed"},
      {"two spaces", "GET  / HTTP/1.1\r\n\r\n", 400, "malformed"},
      {"bad version", "GET / HTTQ/1.1\r\n\r\n", 400, "HTTP version"},
      {"HTTP/2", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP/2.0"},
      {"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0"},
      {"HTTP/3", "GET / HTTP/3\r\n\r\n", 505, "not supported"},
      {"relative target", "GET health HTTP/1.1\r\n\r\n", 400, "'/'"},
      {"bad escape", "GET /a%zz HTTP/1.1\r\n\r\n", 400, "percent"},
      {"no colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "header"},
      {"space before colon", "GET / HTTP/1.1\r\nName : v\r\n\r\n", 400,
       "header name"},
      {"folding", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400, "folding"},
      {"NUL in value", std::string("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26),
       400, "header value"},
      {"both lengths",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       400, "both"},
      {"bad length", "POST / HTTP/1.1\r\nContent-Length: 3x\r\n\r\n", 400,
       "Content-Length"},
      {"negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400,
       "Content-Length"},
      {"two lengths", "POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", 400,
       "Content-Length"},
      {"gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
       "'gzip'"},
      {"gzip then chunked",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
       "'gzip'"},
      {"header too large", "GET / HTTP/1.1\r\n" + big_header + "\r\n", 431,
       "header section over 1024 bytes"},
      {"body too large", "POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413,
       "body over 1024 bytes"},
      {"chunked body too large",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "200\r\n" +
           std::string(512, 'a') + "\r\n201\r\n",
       413, "body over 1024 bytes"},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
       "chunk size"},
      {"chunk without CRLF",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n",
       400, "CRLF"},
      {"trailers too large",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" +
           big_header + "\r\n",
       431, "trailer section"},
  };
  for (const BadRequest& bad : cases) {
    SCOPED_TRACE(bad.name);
    Client client(port_);
    ASSERT_TRUE(client.Send(bad.request));
    std::optional<Reply> reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, bad.status);
    EXPECT_NE(reply->body.find(bad.says), std::string::npos) << reply->body;
    EXPECT_EQ(reply->body.find('\n'), reply->body.size() - 1) << "one line";
    EXPECT_EQ(reply->Header("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(reply->Header("connection"), "close");
    EXPECT_TRUE(client.WaitForClose());
  }
  EXPECT_TRUE(NoConnections());
}

TEST_F(HttpTest, QueryParamsAndPercentDecoding) {
  Start(mailbox_.Handler());
  Client client(port_);
  ASSERT_TRUE(client.Send(
      Get("/a%20b/c%2Fd?x=1&name=hello+world&enc=%41%2b%zz&flag&empty=&x=2")));
  std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  const HttpRequest& request = exchange->request;
  EXPECT_EQ(request.path, "/a b/c/d");
  EXPECT_EQ(request.query,
            "x=1&name=hello+world&enc=%41%2b%zz&flag&empty=&x=2");
  EXPECT_EQ(request.QueryParam("x"), "1");
  EXPECT_EQ(request.QueryParam("name"), "hello world");
  EXPECT_EQ(request.QueryParam("enc"), "A+%zz");
  bool present = false;
  EXPECT_EQ(request.QueryParam("flag", &present), "");
  EXPECT_TRUE(present);
  EXPECT_EQ(request.QueryParam("empty", &present), "");
  EXPECT_TRUE(present);
  EXPECT_EQ(request.QueryParam("missing", &present), "");
  EXPECT_FALSE(present);
  EXPECT_EQ(request.Header("host"), "test");
  EXPECT_EQ(request.Header("HOST"), "test");
  EXPECT_EQ(request.Header("absent"), "");
  EXPECT_EQ(request.minor_version, 1);
  EXPECT_EQ(request.peer.rfind("127.0.0.1:", 0), 0u) << request.peer;
  exchange->responder->Respond(Text("ok"));
  ASSERT_TRUE(client.Read().has_value());
}

TEST_F(HttpTest, ServeTakesBytesAlreadyRead) {
  Start(Echo);
  // A socket accepted elsewhere, as a port shared with gRPC would.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int client_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(client_fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
  close(listener);
  ASSERT_GE(fd, 0);
  Client client(client_fd);
  OnLoop([&] { server_->Serve(fd, nullptr, "POST /pre"); });
  ASSERT_TRUE(client.Send("fixed HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "POST /prefixed ok");
}

TEST_F(HttpTest, RequestsOverTls) {
  Start(Echo, {}, Context(certs_->server_cert, certs_->server_key));
  Client client(port_, Context(certs_->client_cert, certs_->client_key));
  for (const char* path : {"/over", "/tls"}) {
    ASSERT_TRUE(client.Send(Post(path, std::string(20000, 's'))));
    std::optional<Reply> reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body,
              std::string("POST ") + path + " " + std::string(20000, 's'));
  }
  // Plaintext to the TLS port is refused without an answer.
  Client plain(port_);
  ASSERT_TRUE(plain.Send(Get("/plain")));
  std::string rest;
  EXPECT_TRUE(plain.WaitForClose(&rest));
  EXPECT_EQ(rest.find("HTTP/1.1"), std::string::npos);
}

TEST_F(HttpTest, IdleConnectionsAreClosed) {
  HttpServerOptions options;
  options.idle_timeout_ms = 100;
  Start(Echo, options);
  Client quiet(port_);
  std::string rest;
  EXPECT_TRUE(quiet.WaitForClose(&rest));
  EXPECT_EQ(rest, "");
  Client partial(port_);
  ASSERT_TRUE(partial.Send("GET /slow HTTP/1.1\r\nHost: tr"));
  std::optional<Reply> reply = partial.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 408);
  EXPECT_TRUE(partial.WaitForClose());
  Client kept(port_);
  ASSERT_TRUE(kept.Send(Get("/once")));
  ASSERT_TRUE(kept.Read().has_value());
  EXPECT_TRUE(kept.WaitForClose());
  EXPECT_TRUE(NoConnections());
}

TEST_F(HttpTest, ExpectContinueIsAnswered) {
  Start(Echo);
  Client client(port_);
  ASSERT_TRUE(
      client.Send("PUT /e HTTP/1.1\r\nExpect: 100-continue\r\n"
                  "Content-Length: 4\r\n\r\n"));
  std::optional<Reply> interim = client.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("body"));
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "PUT /e body");
}

// A client that never reads must not make a stream grow the server's
// memory without bound: the stream is cut and its producer told.
TEST_F(HttpTest, StreamToAClientThatNeverReadsIsCutOff) {
  Start(mailbox_.Handler());
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/v3/watch")));
  std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  std::shared_ptr<HttpResponder> responder = exchange->responder;
  std::atomic<bool> closed{false};
  responder->OnClose([&] { closed = true; });
  responder->Start(Text(""));
  const std::string chunk(1 << 20, 'w');
  size_t written = 0;
  while (responder->Open() && written < (size_t{1} << 30)) {
    responder->Write(chunk);
    written += chunk.size();
  }
  EXPECT_FALSE(responder->Open());
  EXPECT_LT(written, size_t{1} << 30);
  EXPECT_TRUE(WaitUntil([&] { return closed.load(); }));
  EXPECT_TRUE(NoConnections());
}

TEST_F(HttpTest, StreamToAnHttp10ClientRunsUntilClose) {
  Start(mailbox_.Handler());
  Client client(port_);
  ASSERT_TRUE(client.Send("GET /w HTTP/1.0\r\n\r\n"));
  std::optional<Mailbox::Exchange> exchange = mailbox_.Pop();
  ASSERT_TRUE(exchange.has_value());
  exchange->responder->Start(Text("a"));
  exchange->responder->Write("b");
  exchange->responder->Finish();
  std::optional<Reply> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->Header("transfer-encoding"), "");
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_EQ(reply->body, "ab");
}

// Random bytes, and random mutations of valid requests: the server never
// crashes, and every connection ends, closed (by a refusal, a Connection:
// close, or the idle timeout) after nothing but well-formed responses.
TEST_F(HttpTest, RandomInputNeverBreaksTheServer) {
  HttpServerOptions options;
  options.max_header_bytes = 512;
  options.max_body_bytes = 512;
  options.idle_timeout_ms = 50;
  Start(Echo, options);
  const std::vector<std::string> valid = {
      Get("/a?b=c"),
      Post("/p", "body"),
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
      "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      Get("/1") + Get("/2", "Connection: close\r\n"),
  };
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto uniform = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto random_input = [&] {
    if (uniform(3) == 0) {
      std::string bytes(uniform(200), '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      return bytes;
    }
    std::string bytes = valid[uniform(valid.size())];
    for (size_t edits = 1 + uniform(4); edits > 0 && !bytes.empty(); --edits) {
      const size_t at = uniform(bytes.size());
      switch (uniform(5)) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes.insert(at, 1, "\r\n: %0;\t"[uniform(8)]);
          break;
        case 2:
          bytes.erase(at, 1);
          break;
        case 3:
          bytes.insert(at, bytes.substr(at, uniform(40)));
          break;
        default:
          bytes.resize(at);
          break;
      }
    }
    return bytes;
  };
  constexpr int kBatches = 12;
  constexpr int kBatchSize = 25;
  for (int batch = 0; batch < kBatches; ++batch) {
    std::vector<std::string> inputs;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kBatchSize; ++i) {
      inputs.push_back(random_input());
      clients.push_back(std::make_unique<Client>(port_));
      clients.back()->Send(inputs.back());  // may fail once refused
    }
    for (int i = 0; i < kBatchSize; ++i) {
      std::string received;
      ASSERT_TRUE(clients[i]->WaitForClose(&received))
          << "never closed after " << testing::PrintToString(inputs[i]);
      // Responses only: never an echo of the input or a fragment.
      if (!received.empty()) {
        EXPECT_TRUE(HasShape(received, "HTTP/1.1 999 "))
            << testing::PrintToString(inputs[i]) << " got "
            << testing::PrintToString(received);
      }
    }
  }
  Client after(port_);
  ASSERT_TRUE(after.Send(Get("/still")));
  std::optional<Reply> reply = after.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "GET /still ");
}

// The parser alone: a pipelined stream split at every point, or fed a byte
// at a time, reads the same requests.
TEST(HttpRequestParserTest, EverySplitReadsTheSameRequests) {
  const std::string stream =
      Post("/one", "1") + "\r\n" +  // an empty line between is ignored
      "PUT /two?q HTTP/1.0\nContent-Length: 2\n\n22" +
      "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\n3\r\n2;e\r\n33\r\n0\r\n\r\n";
  auto parse = [](const std::vector<std::string_view>& pieces) {
    HttpRequestParser parser(HttpServerOptions{});
    std::vector<std::string> seen;
    for (std::string_view piece : pieces) {
      while (!piece.empty()) {
        size_t consumed = 0;
        const HttpRequestParser::Result result = parser.Feed(piece, &consumed);
        EXPECT_NE(result, HttpRequestParser::Result::kError)
            << parser.error().message;
        if (result == HttpRequestParser::Result::kError) return seen;
        piece.remove_prefix(consumed);
        if (result == HttpRequestParser::Result::kComplete) {
          HttpRequest r = parser.TakeRequest();
          seen.push_back(r.method + " " + r.path + " " + r.query + " " +
                         std::to_string(r.minor_version) + " " + r.body);
        }
      }
    }
    return seen;
  };
  const std::vector<std::string> expected = {
      "POST /one  1 1", "PUT /two q 0 22", "POST /three  1 333"};
  EXPECT_EQ(parse({stream}), expected);
  for (size_t at = 0; at <= stream.size(); ++at) {
    const std::string_view all(stream);
    EXPECT_EQ(parse({all.substr(0, at), all.substr(at)}), expected)
        << "split at " << at;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) {
    bytes.push_back(std::string_view(stream).substr(i, 1));
  }
  EXPECT_EQ(parse(bytes), expected);
}

// The parser alone on random input split at random points: it keeps
// Feed's contract, and refuses only with the statuses the server sends.
TEST(HttpRequestParserTest, RandomInputKeepsTheContract) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::string alphabet = "GETPOST /HTP1.0\r\n:;%+chunkedContent-Lngth9af";
  HttpServerOptions options;
  options.max_header_bytes = 256;
  options.max_body_bytes = 64;
  for (int i = 0; i < 3000; ++i) {
    std::string input =
        i % 2 == 0 ? Post("/p", "xy")
                   : "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2\r\nab\r\n0\r\n\r\n";
    for (int edits = 1 + rng() % 6; edits > 0; --edits) {
      const size_t at = rng() % (input.size() + 1);
      if (rng() % 2 == 0) {
        input.insert(at, 1, alphabet[rng() % alphabet.size()]);
      } else if (at < input.size()) {
        input[at] = static_cast<char>(rng());
      }
    }
    HttpRequestParser parser(options);
    std::string_view rest(input);
    while (!rest.empty()) {
      const size_t take = 1 + rng() % rest.size();
      std::string_view piece = rest.substr(0, take);
      rest.remove_prefix(take);
      size_t consumed = 0;
      HttpRequestParser::Result result = parser.Feed(piece, &consumed);
      ASSERT_LE(consumed, piece.size());
      if (result == HttpRequestParser::Result::kIncomplete) {
        ASSERT_EQ(consumed, piece.size());
      } else if (result == HttpRequestParser::Result::kComplete) {
        EXPECT_LE(parser.TakeRequest().body.size(), options.max_body_bytes);
        rest = std::string_view(input).substr(input.size() - rest.size() -
                                              (piece.size() - consumed));
      } else {
        const int status = parser.error().status;
        EXPECT_TRUE(status == 400 || status == 413 || status == 431 ||
                    status == 501 || status == 505)
            << status;
        EXPECT_FALSE(parser.error().message.empty());
        break;
      }
    }
  }
}

TEST(HttpReasonTest, NamesTheCommonCodes) {
  EXPECT_EQ(HttpReason(200), "OK");
  EXPECT_EQ(HttpReason(404), "Not Found");
  EXPECT_EQ(HttpReason(413), "Content Too Large");
  EXPECT_EQ(HttpReason(431), "Request Header Fields Too Large");
  EXPECT_EQ(HttpReason(505), "HTTP Version Not Supported");
  EXPECT_EQ(HttpReason(299), "Unknown");
  for (int status : {200, 201, 204, 301, 400, 401, 403, 404, 405, 408,
                     411, 412, 413, 429, 431, 500, 501, 503, 504, 505}) {
    EXPECT_NE(HttpReason(status), "Unknown") << status;
  }
}

}  // namespace
}  // namespace etcdpp::net
