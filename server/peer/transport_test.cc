#include "server/peer/transport.h"

#include <atomic>
#include <thread>

#include "server/peer/discover.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "net/event_loop.h"
#include "net/tls.h"
#include "net/tls_files.h"
#include "tests/test_certs.h"

namespace etcdpp::peer {
namespace {

constexpr uint64_t kCluster = 0xc1;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

raftpb::Message Msg(uint64_t from, uint64_t to, uint64_t index) {
  raftpb::Message m;
  m.set_type(raftpb::MsgApp);
  m.set_from(from);
  m.set_to(to);
  m.set_term(1);
  m.set_index(index);
  return m;
}

// What one member's transport delivered.
struct Inbox {
  std::vector<raftpb::Message> messages;
  std::vector<std::pair<raftpb::Message, std::string>> snapshots;
  std::vector<uint64_t> unreachable;
  std::vector<std::pair<uint64_t, bool>> snapshot_status;
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = net::EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    ASSERT_TRUE(loop_->AddTimer(15000, 0, [this] {
                        ADD_FAILURE() << "watchdog fired";
                        loop_->Stop();
                      }).ok());
  }

  void TearDown() override {
    members_.clear();
    // Let posted closes run.
    loop_->Stop();
    loop_->Run();
  }

  PeerTransport* Start(
      uint64_t id, uint64_t cluster = kCluster,
      std::shared_ptr<net::TlsContext> tls = nullptr,
      std::function<void(TransportOptions*, TransportCallbacks*)> configure =
          nullptr) {
    TransportOptions options;
    options.tls = std::move(tls);
    options.cluster_id = cluster;
    options.member_id = id;
    options.snapshot_dir = TempDir();
    options.reconnect_min_ms = 10;
    options.reconnect_max_ms = 40;
    options.snapshot_chunk_bytes = 64 << 10;
    options.snapshot_window_bytes = 128 << 10;
    Inbox* inbox = &inboxes_[id];
    TransportCallbacks callbacks;
    callbacks.on_message = [inbox](raftpb::Message m) {
      inbox->messages.push_back(std::move(m));
    };
    callbacks.on_snapshot = [inbox](raftpb::Message m, std::string path) {
      inbox->snapshots.emplace_back(std::move(m), std::move(path));
    };
    callbacks.on_unreachable = [inbox](uint64_t peer) {
      inbox->unreachable.push_back(peer);
    };
    callbacks.on_snapshot_status = [inbox](uint64_t peer, bool ok) {
      inbox->snapshot_status.emplace_back(peer, ok);
    };
    callbacks.member_list = [id] {
      return "the member list of " + std::to_string(id);
    };
    if (configure) configure(&options, &callbacks);
    auto transport = PeerTransport::Start(loop_.get(), options, callbacks);
    EXPECT_TRUE(transport.ok()) << transport.status();
    PeerTransport* raw = transport->get();
    members_[id] = std::move(*transport);
    return raw;
  }

  // Runs the loop until `done` holds, checking every few milliseconds.
  void RunUntil(std::function<bool()> done) {
    auto timer = loop_->AddTimer(1, 2, [&] {
      if (done()) loop_->Stop();
    });
    ASSERT_TRUE(timer.ok());
    loop_->Run();
    loop_->CancelTimer(*timer);
    EXPECT_TRUE(done());
  }

  void Connect(uint64_t a, uint64_t b) {
    members_[a]->AddPeer(b, "127.0.0.1", members_[b]->port());
    members_[b]->AddPeer(a, "127.0.0.1", members_[a]->port());
  }

  std::unique_ptr<net::EventLoop> loop_;
  std::map<uint64_t, std::unique_ptr<PeerTransport>> members_;
  std::map<uint64_t, Inbox> inboxes_;
};

TEST_F(TransportTest, MessagesFlowBothWaysOnOneConnection) {
  PeerTransport* one = Start(1);
  PeerTransport* two = Start(2);
  Connect(1, 2);
  RunUntil([&] { return one->Connected(2) && two->Connected(1); });
  for (uint64_t i = 1; i <= 100; ++i) one->Send(Msg(1, 2, i));
  two->Send(Msg(2, 1, 7));
  RunUntil([&] {
    return inboxes_[2].messages.size() == 100 &&
           inboxes_[1].messages.size() == 1;
  });
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(inboxes_[2].messages[i].index(), i + 1) << "in order";
  }
  EXPECT_EQ(inboxes_[1].messages[0].index(), 7u);
  // 100 messages queued in one loop iteration leave as one frame.
  EXPECT_EQ(one->stats().frames_sent, 1u);
  EXPECT_EQ(one->stats().messages_sent, 100u);
}

TEST_F(TransportTest, DifferentClusterIsRefused) {
  PeerTransport* one = Start(1, kCluster);
  PeerTransport* two = Start(2, kCluster + 1);
  Connect(1, 2);
  RunUntil([&] { return two->stats().handshakes_rejected >= 2; });
  EXPECT_FALSE(one->Connected(2));
  EXPECT_FALSE(two->Connected(1));
  one->Send(Msg(1, 2, 1));
  RunUntil([&] { return !inboxes_[1].unreachable.empty(); });
  EXPECT_EQ(inboxes_[1].unreachable[0], 2u);
  EXPECT_TRUE(inboxes_[2].messages.empty());
}

TEST_F(TransportTest, WrongMemberIdIsRefused) {
  PeerTransport* one = Start(1);
  PeerTransport* three = Start(3);
  // Member 1 believes member 2 lives at member 3's address.
  one->AddPeer(2, "127.0.0.1", three->port());
  three->AddPeer(1, "127.0.0.1", one->port());
  RunUntil([&] { return three->stats().handshakes_rejected >= 1; });
  EXPECT_FALSE(one->Connected(2));
}

TEST_F(TransportTest, ReconnectsAfterThePeerRestarts) {
  PeerTransport* one = Start(1);
  PeerTransport* two = Start(2);
  Connect(1, 2);
  RunUntil([&] { return one->Connected(2); });
  const uint16_t port = two->port();
  members_.erase(2);  // member 2 goes away
  RunUntil([&] { return !one->Connected(2); });
  // A new member 2 on the same port: member 1 redials and reconnects.
  TransportOptions options;
  options.cluster_id = kCluster;
  options.member_id = 2;
  options.listen_port = port;
  options.snapshot_dir = TempDir();
  Inbox* inbox = &inboxes_[2];
  inbox->messages.clear();
  TransportCallbacks callbacks;
  callbacks.on_message = [inbox](raftpb::Message m) {
    inbox->messages.push_back(std::move(m));
  };
  auto restarted = PeerTransport::Start(loop_.get(), options, callbacks);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  (*restarted)->AddPeer(1, "127.0.0.1", one->port());
  members_[2] = std::move(*restarted);
  RunUntil([&] { return one->Connected(2); });
  one->Send(Msg(1, 2, 42));
  RunUntil([&] { return inboxes_[2].messages.size() == 1; });
  EXPECT_EQ(inboxes_[2].messages[0].index(), 42u);
}

TEST_F(TransportTest, SnapshotStreamsInChunksBesideMessages) {
  PeerTransport* one = Start(1);
  Start(2);
  Connect(1, 2);
  RunUntil([&] { return one->Connected(2); });

  // A 3 MiB snapshot file with a recognizable pattern.
  const std::string path = TempDir() + "/snap-to-send";
  std::string body;
  for (int i = 0; body.size() < (3u << 20); ++i) {
    body += absl::StrCat("chunk-", i, ";");
  }
  {
    std::ofstream out(path, std::ios::binary);
    out << body;
  }
  raftpb::Message snap;
  snap.set_type(raftpb::MsgSnap);
  snap.set_from(1);
  snap.set_to(2);
  snap.set_term(3);
  snap.mutable_snapshot()->mutable_metadata()->set_index(1000);
  one->SendSnapshot(snap, path);
  // A message sent after the snapshot started arrives before it ends.
  one->Send(Msg(1, 2, 5));
  RunUntil([&] { return inboxes_[2].snapshots.size() == 1; });
  ASSERT_EQ(inboxes_[2].messages.size(), 1u);
  const auto& [message, received_path] = inboxes_[2].snapshots[0];
  EXPECT_EQ(message.snapshot().metadata().index(), 1000u);
  std::ifstream in(received_path, std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), body);
  ASSERT_EQ(inboxes_[1].snapshot_status.size(), 1u);
  EXPECT_EQ(inboxes_[1].snapshot_status[0], std::make_pair(uint64_t{2}, true));
  unlink(received_path.c_str());
  unlink(path.c_str());
}

TEST_F(TransportTest, SnapshotOfMissingFileFails) {
  PeerTransport* one = Start(1);
  Start(2);
  Connect(1, 2);
  RunUntil([&] { return one->Connected(2); });
  raftpb::Message snap;
  snap.set_type(raftpb::MsgSnap);
  snap.set_from(1);
  snap.set_to(2);
  one->SendSnapshot(snap, TempDir() + "/no-such-snapshot");
  RunUntil([&] { return !inboxes_[1].snapshot_status.empty(); });
  EXPECT_EQ(inboxes_[1].snapshot_status[0], std::make_pair(uint64_t{2}, false));
}

TEST_F(TransportTest, MessagesToUnknownOrUnconnectedPeersAreDropped) {
  PeerTransport* one = Start(1);
  one->Send(Msg(1, 9, 1));  // unknown peer
  EXPECT_EQ(one->stats().messages_dropped, 1u);
  one->AddPeer(5, "127.0.0.1", 1);  // nothing listens on port 1
  one->Send(Msg(1, 5, 1));
  RunUntil([&] { return !inboxes_[1].unreachable.empty(); });
  EXPECT_EQ(inboxes_[1].unreachable[0], 5u);
}

}  // namespace
}  // namespace etcdpp::peer

namespace etcdpp::peer {
namespace {

TEST_F(TransportTest, JoiningMemberDiscoversTheClusterId) {
  PeerTransport* one = Start(1);
  const uint16_t port = one->port();
  absl::StatusOr<Discovery> got = absl::UnknownError("not run");
  absl::StatusOr<Discovery> wrong = absl::UnknownError("not run");
  std::atomic<bool> done{false};
  std::thread client([&] {
    got = Discover("127.0.0.1", port, /*self=*/9, /*peer_id=*/1, 2000,
                   nullptr);
    // Asking the wrong member id is an ordinary refused handshake.
    wrong = Discover("127.0.0.1", port, 9, /*peer_id=*/2, 2000, nullptr);
    done = true;
  });
  RunUntil([&] { return done.load(); });
  client.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->cluster_id, kCluster);
  EXPECT_EQ(got->members, "the member list of 1");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition)
      << wrong.status();
  // Nobody listening: unavailable.
  EXPECT_EQ(Discover("127.0.0.1", 1, 9, 1, 200, nullptr).status().code(),
            absl::StatusCode::kUnavailable);
}

// A member removed while it was down still lists its old peers; whichever
// of them it reaches tells it, even one it would wait to be dialed by.
TEST_F(TransportTest, ARemovedMemberIsToldByAPeerWhateverItsId) {
  auto removed_three = [](TransportOptions*, TransportCallbacks* callbacks) {
    callbacks->is_removed = [](uint64_t id) { return id == 3; };
  };
  PeerTransport* one = Start(1, kCluster, nullptr, removed_three);
  PeerTransport* two = Start(2, kCluster, nullptr, [&](TransportOptions* o,
                                                       TransportCallbacks* c) {
    removed_three(o, c);
    o->probe_after_ms = 20;
  });
  bool told = false;
  Start(3, kCluster, nullptr, [&](TransportOptions* o, TransportCallbacks* c) {
    o->probe_after_ms = 20;
    c->on_removed = [&told] { told = true; };
  });
  // 1 and 2 no longer list 3; 3 still lists both, and both have lower ids:
  // they would dial 3, so only 3's probe reaches them.
  Connect(1, 2);
  members_[3]->AddPeer(1, "127.0.0.1", one->port());
  members_[3]->AddPeer(2, "127.0.0.1", two->port());
  RunUntil([&] { return told; });
  EXPECT_FALSE(members_[3]->Connected(1));
  // A live member's probe is refused and changes nothing: 2 (a higher id
  // than 1) probes 1 only while 1 has not dialed it.
  RunUntil([&] { return one->Connected(2) && two->Connected(1); });
  one->Send(Msg(1, 2, 5));
  RunUntil([&] { return inboxes_[2].messages.size() == 1; });
  EXPECT_TRUE(one->Connected(2));
}

TEST_F(TransportTest, PeersAddedAndRemovedAtRunTime) {
  PeerTransport* one = Start(1);
  PeerTransport* two = Start(2);
  PeerTransport* four = Start(4);
  Connect(1, 2);
  RunUntil([&] { return one->Connected(2); });
  // A member added later: both sides learn of it, and they connect.
  Connect(1, 4);
  Connect(2, 4);
  RunUntil([&] { return one->Connected(4) && two->Connected(4); });
  one->Send(Msg(1, 4, 1));
  RunUntil([&] { return inboxes_[4].messages.size() == 1; });
  // Removed: the connection goes, and messages to it are dropped.
  one->RemovePeer(4);
  four->RemovePeer(1);
  RunUntil([&] { return !one->Connected(4); });
  one->Send(Msg(1, 4, 2));
  RunUntil([&] { return one->stats().messages_dropped >= 1; });
  EXPECT_EQ(inboxes_[4].messages.size(), 1u);
  EXPECT_TRUE(two->Connected(4));
}

// ---- Peer TLS ----------------------------------------------------------

class TransportTlsTest : public TransportTest {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<const tests::TestCerts*> certs = tests::SharedTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }

  // A member's peer TLS context: its key pair, trusting the test CA, and
  // verifying the certificates of members that dial it.
  static std::shared_ptr<net::TlsContext> Tls(const std::string& cert,
                                              const std::string& key) {
    absl::StatusOr<net::TlsFiles> files =
        net::LoadTlsFiles({cert, key, certs_->ca_cert, "peer-"});
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return nullptr;
    auto context = net::TlsContext::Create(*files, /*verify_clients=*/true);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? *context : nullptr;
  }
  static std::shared_ptr<net::TlsContext> MemberTls() {
    return Tls(certs_->server_cert, certs_->server_key);
  }

  // Runs the loop for `ms` milliseconds.
  void RunFor(int ms) {
    auto timer = loop_->AddTimer(ms, 0, [this] { loop_->Stop(); });
    ASSERT_TRUE(timer.ok());
    loop_->Run();
  }

  static const tests::TestCerts* certs_;
};

const tests::TestCerts* TransportTlsTest::certs_ = nullptr;

TEST_F(TransportTlsTest, MessagesAndSnapshotsFlowOverTls) {
  PeerTransport* one = Start(1, kCluster, MemberTls());
  PeerTransport* two = Start(2, kCluster, MemberTls());
  Connect(1, 2);
  RunUntil([&] { return one->Connected(2) && two->Connected(1); });
  for (uint64_t i = 1; i <= 100; ++i) one->Send(Msg(1, 2, i));
  two->Send(Msg(2, 1, 7));
  const std::string path = TempDir() + "/tls-snap-to-send";
  std::string body;
  for (int i = 0; body.size() < (2u << 20); ++i) {
    body += absl::StrCat("chunk-", i, ";");
  }
  std::ofstream(path, std::ios::binary) << body;
  raftpb::Message snap;
  snap.set_type(raftpb::MsgSnap);
  snap.set_from(1);
  snap.set_to(2);
  snap.mutable_snapshot()->mutable_metadata()->set_index(77);
  one->SendSnapshot(snap, path);
  RunUntil([&] {
    return inboxes_[2].messages.size() == 100 &&
           inboxes_[1].messages.size() == 1 &&
           inboxes_[2].snapshots.size() == 1;
  });
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(inboxes_[2].messages[i].index(), i + 1);
  }
  std::ifstream in(inboxes_[2].snapshots[0].second, std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_TRUE(got.str() == body) << "the snapshot arrived changed";
  unlink(inboxes_[2].snapshots[0].second.c_str());
  unlink(path.c_str());
}

TEST_F(TransportTlsTest, JoiningMemberDiscoversOverTls) {
  PeerTransport* one = Start(1, kCluster, MemberTls());
  const uint16_t port = one->port();
  absl::StatusOr<Discovery> got = absl::UnknownError("not run");
  absl::StatusOr<Discovery> plaintext = absl::UnknownError("not run");
  std::atomic<bool> done{false};
  std::thread client([&] {
    got = Discover("127.0.0.1", port, 9, 1, 2000, MemberTls());
    plaintext = Discover("127.0.0.1", port, 9, 1, 500, nullptr);
    done = true;
  });
  RunUntil([&] { return done.load(); });
  client.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->cluster_id, kCluster);
  EXPECT_EQ(got->members, "the member list of 1");
  EXPECT_EQ(plaintext.status().code(), absl::StatusCode::kUnavailable)
      << plaintext.status();
}

TEST_F(TransportTlsTest, PeersTheCaNeverSignedOrWithoutTlsNeverConnect) {
  PeerTransport* one = Start(1, kCluster, MemberTls());
  // Member 2 holds a certificate of another CA; member 3 speaks plaintext.
  PeerTransport* two =
      Start(2, kCluster, Tls(certs_->stranger_cert, certs_->stranger_key));
  PeerTransport* three = Start(3);
  Connect(1, 2);
  Connect(1, 3);
  RunFor(500);
  EXPECT_FALSE(one->Connected(2));
  EXPECT_FALSE(two->Connected(1));
  EXPECT_FALSE(one->Connected(3));
  EXPECT_FALSE(three->Connected(1));
  one->Send(Msg(1, 2, 1));
  one->Send(Msg(1, 3, 1));
  two->Send(Msg(2, 1, 1));
  RunFor(50);
  EXPECT_TRUE(inboxes_[1].messages.empty());
  EXPECT_TRUE(inboxes_[2].messages.empty());
  EXPECT_TRUE(inboxes_[3].messages.empty());
}

}  // namespace
}  // namespace etcdpp::peer
