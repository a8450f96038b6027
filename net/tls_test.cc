#include "net/tls.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "net/tcp.h"
#include "net/self_signed.h"
#include "net/tls_files.h"
#include "tests/test_certs.h"

namespace etcdpp::net {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<const tests::TestCerts*> certs = tests::SharedTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }

  static std::shared_ptr<TlsContext> Context(const std::string& cert,
                                             const std::string& key,
                                             const std::string& ca,
                                             bool verify_clients) {
    absl::StatusOr<TlsFiles> files = LoadTlsFiles({cert, key, ca, ""});
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return nullptr;
    absl::StatusOr<std::shared_ptr<TlsContext>> context =
        TlsContext::Create(*files, verify_clients);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? *context : nullptr;
  }
  static std::shared_ptr<TlsContext> ServerContext(bool verify_clients) {
    return Context(certs_->server_cert, certs_->server_key, certs_->ca_cert,
                   verify_clients);
  }
  static std::shared_ptr<TlsContext> ClientContext() {
    return Context(certs_->client_cert, certs_->client_key, certs_->ca_cert,
                   false);
  }

  // Moves ciphertext between the two sessions until neither has any left;
  // plaintext each receives is appended to *to_client / *to_server. The
  // first error either side reports is returned.
  static absl::Status Pump(TlsSession& client, TlsSession& server,
                           std::string* to_client, std::string* to_server) {
    for (int round = 0; round < 20; ++round) {
      std::string c, s;
      client.TakeOutput(&c);
      server.TakeOutput(&s);
      if (c.empty() && s.empty()) return absl::OkStatus();
      if (absl::Status st = server.Receive(c, to_server); !st.ok()) return st;
      if (absl::Status st = client.Receive(s, to_client); !st.ok()) return st;
    }
    return absl::InternalError("the sessions never went quiet");
  }

  // An event loop that stops, failing the test, if it still runs after
  // 20 s: a hung test fails instead of timing out silently.
  static std::unique_ptr<EventLoop> LoopWithWatchdog() {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    if (!loop.ok()) return nullptr;
    EventLoop* raw = loop->get();
    if (!raw->AddTimer(20000, 0, [raw] {
               ADD_FAILURE() << "watchdog fired";
               raw->Stop();
             }).ok()) {
      return nullptr;
    }
    return *std::move(loop);
  }

  static const tests::TestCerts* certs_;
};

const tests::TestCerts* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, SessionsCarryPlaintextBothWaysAfterTheHandshake) {
  auto client = TlsSession::Client(ClientContext(), "127.0.0.1");
  auto server = TlsSession::Server(ServerContext(/*verify_clients=*/true));
  ASSERT_TRUE(client.ok() && server.ok());
  // Sent before the handshake: held, then delivered.
  ASSERT_TRUE((*client)->Send("hello ").ok());
  EXPECT_EQ((*client)->held_bytes(), 6u);
  std::string to_client, to_server;
  ASSERT_TRUE(Pump(**client, **server, &to_client, &to_server).ok());
  EXPECT_TRUE((*client)->handshake_done());
  EXPECT_TRUE((*server)->handshake_done());
  EXPECT_EQ((*client)->held_bytes(), 0u);
  const std::string big(300 * 1024, 'x');
  ASSERT_TRUE((*client)->Send(big).ok());
  ASSERT_TRUE((*server)->Send("world").ok());
  ASSERT_TRUE(Pump(**client, **server, &to_client, &to_server).ok());
  EXPECT_EQ(to_server, "hello " + big);
  EXPECT_EQ(to_client, "world");
}

TEST_F(TlsTest, AServerWhoseCertificateNamesAnotherHostIsRefused) {
  auto client = TlsSession::Client(ClientContext(), "127.0.0.2");
  auto server = TlsSession::Server(ServerContext(false));
  ASSERT_TRUE(client.ok() && server.ok());
  std::string to_client, to_server;
  absl::Status s = Pump(**client, **server, &to_client, &to_server);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("certificate verify failed"), std::string::npos)
      << s;
  EXPECT_FALSE((*client)->handshake_done());
}

TEST_F(TlsTest, AServerTheCaNeverSignedIsRefused) {
  auto client = TlsSession::Client(ClientContext(), "127.0.0.1");
  auto server = TlsSession::Server(
      Context(certs_->stranger_cert, certs_->stranger_key, "", false));
  ASSERT_TRUE(client.ok() && server.ok());
  std::string to_client, to_server;
  absl::Status s = Pump(**client, **server, &to_client, &to_server);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("certificate verify failed"), std::string::npos)
      << s;
}

TEST_F(TlsTest, ClientCertAuthRefusesAStrangerAndNeverDeliversItsData) {
  auto client = TlsSession::Client(
      Context(certs_->stranger_cert, certs_->stranger_key, certs_->ca_cert,
              false),
      "127.0.0.1");
  auto server = TlsSession::Server(ServerContext(/*verify_clients=*/true));
  ASSERT_TRUE(client.ok() && server.ok());
  ASSERT_TRUE((*client)->Send("secret").ok());
  std::string to_client, to_server;
  absl::Status s = Pump(**client, **server, &to_client, &to_server);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(to_server, "");
  EXPECT_FALSE((*server)->handshake_done());
}

TEST_F(TlsTest, GarbageInsteadOfAHandshakeIsAnError) {
  auto server = TlsSession::Server(ServerContext(false));
  ASSERT_TRUE(server.ok());
  std::string plaintext;
  absl::Status s = (*server)->Receive("GET / HTTP/1.1\r\n\r\n", &plaintext);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(plaintext, "");
}

TEST_F(TlsTest, SelfSignedCertsAreMadeOnceAndOnlyUnverifiedClientsAcceptThem) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/auto/a";
  absl::StatusOr<TlsPaths> made =
      SelfSignedCert(dir, {"127.0.0.1", "localhost"}, "auto-tls");
  ASSERT_TRUE(made.ok()) << made.status();
  absl::StatusOr<TlsFiles> files = LoadTlsFiles(*made);
  ASSERT_TRUE(files.ok()) << files.status();
  // A restart finds and keeps them.
  absl::StatusOr<TlsPaths> again = SelfSignedCert(dir, {"127.0.0.1"}, "auto-tls");
  ASSERT_TRUE(again.ok());
  absl::StatusOr<TlsFiles> same = LoadTlsFiles(*again);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->cert_chain_pem, files->cert_chain_pem);
  EXPECT_EQ(same->private_key_pem, files->private_key_pem);

  auto self_signed = TlsContext::Create(*files, /*verify_clients=*/false,
                                        /*verify_servers=*/false);
  ASSERT_TRUE(self_signed.ok()) << self_signed.status();
  // Two --peer-auto-tls members talk, unverified.
  auto client = TlsSession::Client(*self_signed, "127.0.0.1");
  auto server = TlsSession::Server(*self_signed);
  ASSERT_TRUE(client.ok() && server.ok());
  ASSERT_TRUE((*client)->Send("hello").ok());
  std::string to_client, to_server;
  ASSERT_TRUE(Pump(**client, **server, &to_client, &to_server).ok());
  EXPECT_EQ(to_server, "hello");
  // A verifying client refuses the self-signed server.
  auto verifying = TlsSession::Client(ClientContext(), "127.0.0.1");
  auto server2 = TlsSession::Server(*self_signed);
  ASSERT_TRUE(verifying.ok() && server2.ok());
  absl::Status s = Pump(**verifying, **server2, &to_client, &to_server);
  EXPECT_NE(s.message().find("certificate verify failed"), std::string::npos)
      << s;
}

// TcpConnection with a session on each end: 5 MiB echoed through a small
// high-water mark, so backpressure and partial writes are exercised.
TEST_F(TlsTest, TcpConnectionsEchoThroughTls) {
  std::unique_ptr<EventLoop> loop = LoopWithWatchdog();
  ASSERT_NE(loop, nullptr);
  EventLoop* raw_loop = loop.get();
  std::shared_ptr<TlsContext> server_context = ServerContext(true);
  std::shared_ptr<TcpConnection> server_conn;
  auto listener = TcpListener::Listen(
      raw_loop, "127.0.0.1", 0, [&](int fd) {
        auto session = TlsSession::Server(server_context);
        ASSERT_TRUE(session.ok());
        TcpConnection::Callbacks echo;
        echo.on_data = [&](std::string_view data) { server_conn->Send(data); };
        echo.on_close = [&](const absl::Status& s) {
          if (!s.ok()) ADD_FAILURE() << "server closed: " << s;
        };
        auto conn = TcpConnection::Adopt(raw_loop, fd, echo, 64 * 1024,
                                         *std::move(session));
        ASSERT_TRUE(conn.ok());
        server_conn = *conn;
      });
  ASSERT_TRUE(listener.ok());

  std::string sent;
  for (int i = 0; sent.size() < (5 << 20); ++i) sent += std::to_string(i) + ",";
  std::string received;
  std::shared_ptr<TcpConnection> client;
  TcpConnect(raw_loop, "127.0.0.1", (*listener)->port(),
             [&](absl::StatusOr<int> fd) {
               ASSERT_TRUE(fd.ok()) << fd.status();
               auto session = TlsSession::Client(ClientContext(), "127.0.0.1");
               ASSERT_TRUE(session.ok());
               TcpConnection::Callbacks cb;
               cb.on_data = [&](std::string_view data) {
                 received.append(data);
                 if (received.size() == sent.size()) raw_loop->Stop();
               };
               cb.on_close = [&](const absl::Status& s) {
                 if (received.size() < sent.size()) {
                   ADD_FAILURE() << "closed after " << received.size()
                                 << " of " << sent.size() << " bytes: " << s;
                 }
                 raw_loop->Stop();
               };
               auto conn = TcpConnection::Adopt(raw_loop, *fd, cb, 64 * 1024,
                                                *std::move(session));
               ASSERT_TRUE(conn.ok());
               client = *conn;
               client->Send(sent);
             });
  raw_loop->Run();
  EXPECT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent);
  if (client) client->Close();
  if (server_conn) server_conn->Close();
}

// A plaintext client against a TLS server: the server closes with the
// handshake's reason, and delivers nothing.
TEST_F(TlsTest, PlaintextToATlsConnectionClosesIt) {
  std::unique_ptr<EventLoop> loop = LoopWithWatchdog();
  ASSERT_NE(loop, nullptr);
  EventLoop* raw_loop = loop.get();
  std::shared_ptr<TlsContext> server_context = ServerContext(false);
  std::shared_ptr<TcpConnection> server_conn;
  absl::Status closed_with = absl::OkStatus();
  std::string delivered;
  auto listener = TcpListener::Listen(
      raw_loop, "127.0.0.1", 0, [&](int fd) {
        TcpConnection::Callbacks cb;
        cb.on_data = [&](std::string_view data) { delivered.append(data); };
        cb.on_close = [&](const absl::Status& s) {
          closed_with = s;
          raw_loop->Stop();
        };
        auto conn = TcpConnection::Adopt(raw_loop, fd, cb, 64 * 1024,
                                         *TlsSession::Server(server_context));
        ASSERT_TRUE(conn.ok());
        server_conn = *conn;
      });
  ASSERT_TRUE(listener.ok());
  std::shared_ptr<TcpConnection> client;
  TcpConnect(raw_loop, "127.0.0.1", (*listener)->port(),
             [&](absl::StatusOr<int> fd) {
               ASSERT_TRUE(fd.ok());
               auto conn = TcpConnection::Adopt(raw_loop, *fd, {});
               ASSERT_TRUE(conn.ok());
               client = *conn;
               client->Send(std::string(100, 'p'));
             });
  raw_loop->Run();
  EXPECT_FALSE(closed_with.ok());
  EXPECT_NE(closed_with.message().find("TLS handshake"), std::string::npos)
      << closed_with;
  EXPECT_EQ(delivered, "");
  if (client) client->Close();
}

}  // namespace
}  // namespace etcdpp::net
