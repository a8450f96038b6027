#include "net/tcp.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace etcdpp::net {
namespace {

class TcpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    // A watchdog: a hung test fails instead of timing out silently.
    ASSERT_TRUE(loop_->AddTimer(10000, 0, [this] {
                        ADD_FAILURE() << "watchdog fired";
                        loop_->Stop();
                      }).ok());
  }

  // Accepts connections into server_conns_ with the given callbacks.
  void ListenWith(TcpConnection::Callbacks callbacks, size_t high_water) {
    auto listener = TcpListener::Listen(
        loop_.get(), "127.0.0.1", 0, [this, callbacks, high_water](int fd) {
          auto conn =
              TcpConnection::Adopt(loop_.get(), fd, callbacks, high_water);
          ASSERT_TRUE(conn.ok());
          server_conns_.push_back(*conn);
        });
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = std::move(*listener);
    ASSERT_GT(listener_->port(), 0);
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<TcpListener> listener_;
  std::vector<std::shared_ptr<TcpConnection>> server_conns_;
};

TEST_F(TcpTest, EchoRoundTrip) {
  // The server echoes whatever arrives.
  TcpConnection::Callbacks echo;
  echo.on_data = [this](std::string_view data) {
    server_conns_.back()->Send(data);
  };
  ListenWith(echo, TcpConnection::kDefaultHighWaterBytes);

  std::string received;
  std::shared_ptr<TcpConnection> client;
  TcpConnect(loop_.get(), "127.0.0.1", listener_->port(),
             [&](absl::StatusOr<int> fd) {
               ASSERT_TRUE(fd.ok()) << fd.status();
               TcpConnection::Callbacks cb;
               cb.on_data = [&](std::string_view data) {
                 received.append(data);
                 if (received.size() == 11) loop_->Stop();
               };
               client = *TcpConnection::Adopt(loop_.get(), *fd, cb);
               client->Send("hello");
               client->Send(" world");
             });
  loop_->Run();
  EXPECT_EQ(received, "hello world");
  client->Close();
  for (auto& c : server_conns_) c->Close();
}

TEST_F(TcpTest, ConnectToClosedPortFails) {
  // Bind a port, then close it, so nothing listens there.
  uint16_t port;
  {
    auto listener = TcpListener::Listen(loop_.get(), "127.0.0.1", 0,
                                        [](int fd) { close(fd); });
    ASSERT_TRUE(listener.ok());
    port = (*listener)->port();
  }
  absl::Status result;
  TcpConnect(loop_.get(), "127.0.0.1", port, [&](absl::StatusOr<int> fd) {
    result = fd.status();
    if (fd.ok()) close(*fd);
    loop_->Stop();
  });
  loop_->Run();
  EXPECT_EQ(result.code(), absl::StatusCode::kUnavailable) << result;
}

TEST_F(TcpTest, BusyPortIsAClearError) {
  ListenWith({}, 1024);
  auto second = TcpListener::Listen(loop_.get(), "127.0.0.1",
                                    listener_->port(), [](int fd) { close(fd); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find("listen on 127.0.0.1:"),
            std::string::npos)
      << second.status();
}

TEST_F(TcpTest, BadAddressIsInvalidArgument) {
  auto listener =
      TcpListener::Listen(loop_.get(), "not-an-ip", 0, [](int fd) { close(fd); });
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TcpTest, SendAsksToPauseWhileThePeerDoesNotRead) {
  // The server never reads, so the kernel buffers fill and then ours does.
  ListenWith({}, TcpConnection::kDefaultHighWaterBytes);
  std::shared_ptr<TcpConnection> client;
  size_t accepted_sends = 0;
  TcpConnect(loop_.get(), "127.0.0.1", listener_->port(),
             [&](absl::StatusOr<int> fd) {
               ASSERT_TRUE(fd.ok());
               client = *TcpConnection::Adopt(loop_.get(), *fd, {}, 1 << 20);
               const std::string chunk(256 * 1024, 'x');
               while (client->Send(chunk)) {
                 ASSERT_LT(++accepted_sends, 10000u) << "never paused";
               }
               EXPECT_GT(client->buffered_bytes(), 1u << 20);
               loop_->Stop();
             });
  loop_->Run();
  ASSERT_NE(client, nullptr);
  EXPECT_GT(accepted_sends, 0u);
  EXPECT_FALSE(client->closed());
  client->Close();
  EXPECT_FALSE(client->Send("after close")) << "sends after Close are dropped";
  for (auto& c : server_conns_) c->Close();
}

TEST_F(TcpTest, DrainedFiresWhenAReaderCatchesUp) {
  size_t server_got = 0;
  size_t sent = 0;
  bool drained = false;
  TcpConnection::Callbacks reader;
  reader.on_data = [&](std::string_view data) {
    server_got += data.size();
    if (drained && server_got == sent) loop_->Stop();
  };
  ListenWith(reader, TcpConnection::kDefaultHighWaterBytes);
  std::shared_ptr<TcpConnection> client;
  const std::string chunk(512 * 1024, 'y');
  TcpConnect(loop_.get(), "127.0.0.1", listener_->port(),
             [&](absl::StatusOr<int> fd) {
               ASSERT_TRUE(fd.ok());
               TcpConnection::Callbacks cb;
               cb.on_drained = [&] {
                 drained = true;
                 if (server_got == sent) loop_->Stop();
               };
               client = *TcpConnection::Adopt(loop_.get(), *fd, cb, 256 * 1024);
               // Sending 8 MiB in one go exceeds 256 KiB of buffer space.
               bool below = true;
               for (int i = 0; i < 16; ++i) {
                 below = client->Send(chunk);
                 sent += chunk.size();
               }
               EXPECT_FALSE(below) << "8 MiB at once is above the mark";
             });
  loop_->Run();
  EXPECT_TRUE(drained);
  EXPECT_EQ(server_got, sent);
  EXPECT_EQ(client->buffered_bytes(), 0u);
  client->Close();
  for (auto& c : server_conns_) c->Close();
}

TEST_F(TcpTest, PeerCloseIsReportedOnceAsOk) {
  ListenWith({}, 1024);
  int closes = 0;
  absl::Status status = absl::UnknownError("never");
  std::shared_ptr<TcpConnection> client;
  TcpConnect(loop_.get(), "127.0.0.1", listener_->port(),
             [&](absl::StatusOr<int> fd) {
               ASSERT_TRUE(fd.ok());
               TcpConnection::Callbacks cb;
               cb.on_close = [&](const absl::Status& s) {
                 ++closes;
                 status = s;
                 loop_->Stop();
               };
               client = *TcpConnection::Adopt(loop_.get(), *fd, cb);
             });
  ASSERT_TRUE(loop_->AddTimer(20, 0, [&] {
                      ASSERT_EQ(server_conns_.size(), 1u);
                      server_conns_[0]->CloseAfterFlush();
                    }).ok());
  loop_->Run();
  EXPECT_EQ(closes, 1);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(client->closed());
  client->Close();  // idempotent
  EXPECT_EQ(closes, 1);
}

}  // namespace
}  // namespace etcdpp::net
