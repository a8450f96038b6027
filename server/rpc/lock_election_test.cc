// The Lock and Election services against one real member: a server::Node
// driven by the production runner (its event loop, ticks, watch hub and
// lessor) on a posix disk under TEST_TMPDIR, behind the KV, Lease, Watch
// and Auth services on a grpc::Server, which the two services reach
// through its in-process channel as the server will wire them.
// LocalBackend cannot host these: it has no watches and no lessor beyond
// grant and revoke, and waiting for a lock is a watch.
//
// Waits are checked with futures and deadlines: a call that must wait is
// seen still pending after a short while, and must complete within a
// generous deadline once what it waits for happens.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "api/v3electionpb/v3election.grpc.pb.h"
#include "api/v3lockpb/v3lock.grpc.pb.h"
#include "base/log.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "net/event_loop.h"
#include "server/node/node.h"
#include "server/rpc/auth_service.h"
#include "server/rpc/bcrypt.h"
#include "server/rpc/election_service.h"
#include "server/rpc/kv_service.h"
#include "server/rpc/lease_service.h"
#include "server/rpc/lock_service.h"
#include "server/rpc/watch_service.h"
#include "server/runner/runner.h"
#include "server/runner/threaded_disk.h"
#include "server/storage/posix_test_disk.h"

namespace etcdpp::rpc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using v3electionpb::LeaderKey;

constexpr uint64_t kMemberId = 1;
constexpr uint64_t kClusterId = 0x1000;
constexpr uint64_t kTickMs = 10;
// How long a call that must wait is watched for still waiting.
constexpr milliseconds kStillWaiting(300);
// Everything that must happen does within this.
constexpr seconds kPatience(10);

std::chrono::system_clock::time_point Deadline(
    std::chrono::system_clock::duration d = kPatience) {
  return std::chrono::system_clock::now() + d;
}

// Outcome of a unary call.
template <typename Response>
struct Result {
  grpc::Status status;
  Response response;
};

// One member serving the services, and a client of them over TCP.
class LockElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartMember();
    StartServer();
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                       grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel);
    lease_ = etcdserverpb::Lease::NewStub(channel);
    auth_ = etcdserverpb::Auth::NewStub(channel);
    lock_ = v3lockpb::Lock::NewStub(channel);
    election_ = v3electionpb::Election::NewStub(channel);
    WaitForLeader();
  }

  void TearDown() override {
    lock_service_.Disconnect();
    election_service_.Disconnect();
    if (server_ != nullptr) server_->Shutdown(Deadline(seconds(2)));
    // The runner goes on its own loop thread, then the loop stops.
    if (loop_thread_.joinable()) {
      loop_->Post([this] {
        runner_slot_.store(nullptr);
        runner_.reset();
        loop_->Stop();
      });
      loop_thread_.join();
    }
  }

  void StartMember() {
    absl::StatusOr<std::unique_ptr<net::EventLoop>> loop =
        net::EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    const std::string name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string dir =
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
    auto disk = std::make_unique<runner::ThreadedDisk>(
        storage::testing::NewPosixTestDisk(name), [this] {
          loop_->Post([this] {
            if (runner::Runner* r = runner_slot_.load()) r->Poke();
          });
        });
    server::NodeOptions options;
    options.member_id = kMemberId;
    options.cluster_id = kClusterId;
    options.initial_voters = {kMemberId};
    options.tick_ms = kTickMs;
    options.request_timeout_ticks = 500;
    options.seed = 7;
    options.log = &log_;
    absl::StatusOr<std::unique_ptr<server::Node>> node =
        server::Node::Open(options, disk.get());
    ASSERT_TRUE(node.ok()) << node.status();
    runner::RunnerOptions runner_options;
    runner_options.tick_ms = kTickMs;
    runner_options.transport.cluster_id = kClusterId;
    runner_options.transport.member_id = kMemberId;
    runner_options.transport.snapshot_dir = dir;
    runner_options.data_dir = dir;
    absl::StatusOr<std::unique_ptr<runner::Runner>> runner =
        runner::Runner::Start(loop_.get(), std::move(disk), *std::move(node),
                              runner_options, &log_,
                              [](const absl::Status& status) {
                                ADD_FAILURE() << "node halted: " << status;
                              });
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = *std::move(runner);
    runner_slot_.store(runner_.get());
    loop_thread_ = std::thread([this] { loop_->Run(); });
  }

  void StartServer() {
    kv_service_ = std::make_unique<KvService>(runner_.get(), Limits{});
    lease_service_ = std::make_unique<LeaseService>(runner_.get());
    watch_service_ = std::make_unique<WatchService>(runner_.get());
    auth_service_ =
        std::make_unique<AuthService>(runner_.get(), kMinBcryptCost);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(kv_service_.get());
    builder.RegisterService(lease_service_.get());
    builder.RegisterService(watch_service_.get());
    builder.RegisterService(auth_service_.get());
    builder.RegisterService(&lock_service_);
    builder.RegisterService(&election_service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    lock_service_.Connect(server_->InProcessChannel(grpc::ChannelArguments()));
    election_service_.Connect(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }

  // The single member elects itself after an election timeout.
  void WaitForLeader() {
    const auto give_up = Deadline();
    while (std::chrono::system_clock::now() < give_up) {
      grpc::ClientContext context;
      context.set_deadline(Deadline(seconds(1)));
      etcdserverpb::PutRequest put;
      put.set_key("ready");
      etcdserverpb::PutResponse response;
      if (kv_->Put(&context, put, &response).ok()) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
    FAIL() << "no leader";
  }

  // ---- Client calls, each with a deadline. ----

  int64_t Grant(int64_t ttl = 60) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    etcdserverpb::LeaseGrantResponse response;
    grpc::Status status = lease_->LeaseGrant(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.id();
  }

  void Revoke(int64_t lease) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(lease);
    etcdserverpb::LeaseRevokeResponse response;
    grpc::Status status = lease_->LeaseRevoke(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The keys under `prefix`, in key order.
  std::vector<std::string> Keys(const std::string& prefix) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    etcdserverpb::RangeRequest request;
    request.set_key(prefix);
    request.set_range_end(prefix.substr(0, prefix.size() - 1) +
                          static_cast<char>(prefix.back() + 1));
    etcdserverpb::RangeResponse response;
    grpc::Status status = kv_->Range(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> keys;
    for (const auto& kv : response.kvs()) keys.push_back(kv.key());
    return keys;
  }

  // Polls until the keys under `prefix` are `want`.
  void AwaitKeys(const std::string& prefix,
                 const std::vector<std::string>& want) {
    const auto give_up = Deadline();
    while (Keys(prefix) != want && std::chrono::system_clock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    EXPECT_EQ(Keys(prefix), want);
  }

  Result<v3lockpb::LockResponse> Lock(
      const std::string& name, int64_t lease,
      std::chrono::system_clock::duration deadline = kPatience,
      const std::string& token = "") {
    grpc::ClientContext context;
    context.set_deadline(Deadline(deadline));
    if (!token.empty()) context.AddMetadata("token", token);
    v3lockpb::LockRequest request;
    request.set_name(name);
    request.set_lease(lease);
    Result<v3lockpb::LockResponse> result;
    result.status = lock_->Lock(&context, request, &result.response);
    return result;
  }

  std::future<Result<v3lockpb::LockResponse>> LockAsync(const std::string& name,
                                                        int64_t lease) {
    return std::async(std::launch::async,
                      [this, name, lease] { return Lock(name, lease); });
  }

  Result<v3lockpb::UnlockResponse> Unlock(const std::string& key) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v3lockpb::UnlockRequest request;
    request.set_key(key);
    Result<v3lockpb::UnlockResponse> result;
    result.status = lock_->Unlock(&context, request, &result.response);
    return result;
  }

  Result<v3electionpb::CampaignResponse> Campaign(
      const std::string& name, int64_t lease, const std::string& value,
      std::chrono::system_clock::duration deadline = kPatience) {
    grpc::ClientContext context;
    context.set_deadline(Deadline(deadline));
    v3electionpb::CampaignRequest request;
    request.set_name(name);
    request.set_lease(lease);
    request.set_value(value);
    Result<v3electionpb::CampaignResponse> result;
    result.status = election_->Campaign(&context, request, &result.response);
    return result;
  }

  std::future<Result<v3electionpb::CampaignResponse>> CampaignAsync(
      const std::string& name, int64_t lease, const std::string& value) {
    return std::async(std::launch::async, [this, name, lease, value] {
      return Campaign(name, lease, value);
    });
  }

  Result<v3electionpb::LeaderResponse> Leader(const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v3electionpb::LeaderRequest request;
    request.set_name(name);
    Result<v3electionpb::LeaderResponse> result;
    result.status = election_->Leader(&context, request, &result.response);
    return result;
  }

  grpc::Status Proclaim(const LeaderKey& leader, const std::string& value) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v3electionpb::ProclaimRequest request;
    *request.mutable_leader() = leader;
    request.set_value(value);
    v3electionpb::ProclaimResponse response;
    return election_->Proclaim(&context, request, &response);
  }

  grpc::Status Resign(const LeaderKey& leader) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v3electionpb::ResignRequest request;
    *request.mutable_leader() = leader;
    v3electionpb::ResignResponse response;
    return election_->Resign(&context, request, &response);
  }

  base::NullLogSink log_;
  std::unique_ptr<net::EventLoop> loop_;
  std::atomic<runner::Runner*> runner_slot_{nullptr};
  std::unique_ptr<runner::Runner> runner_;
  std::thread loop_thread_;

  std::unique_ptr<KvService> kv_service_;
  std::unique_ptr<LeaseService> lease_service_;
  std::unique_ptr<WatchService> watch_service_;
  std::unique_ptr<AuthService> auth_service_;
  LockService lock_service_;
  ElectionService election_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth_;
  std::unique_ptr<v3lockpb::Lock::Stub> lock_;
  std::unique_ptr<v3electionpb::Election::Stub> election_;
};

std::string Hex(int64_t lease) {
  return absl::StrCat(absl::Hex(static_cast<uint64_t>(lease)));
}

// ---- Lock ----

TEST_F(LockElectionTest, SecondLockWaitsForTheFirstUnlock) {
  const int64_t a = Grant();
  const int64_t b = Grant();
  Result<v3lockpb::LockResponse> first = Lock("mutex", a);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.response.key(), "mutex/" + Hex(a));
  EXPECT_EQ(first.response.header().member_id(), kMemberId);

  auto second = LockAsync("mutex", b);
  ASSERT_EQ(second.wait_for(kStillWaiting), std::future_status::timeout);
  Result<v3lockpb::UnlockResponse> unlocked = Unlock(first.response.key());
  ASSERT_TRUE(unlocked.status.ok()) << unlocked.status.error_message();

  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  Result<v3lockpb::LockResponse> got = second.get();
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.response.key(), "mutex/" + Hex(b));
  // Acquired after the unlock, and said so by the header.
  EXPECT_GE(got.response.header().revision(),
            unlocked.response.header().revision());
  EXPECT_EQ(Keys("mutex/"), std::vector<std::string>{"mutex/" + Hex(b)});
}

TEST_F(LockElectionTest, WaitersAreServedInOrder) {
  const int64_t a = Grant(), b = Grant(), c = Grant();
  ASSERT_TRUE(Lock("fifo", a).status.ok());
  auto second = LockAsync("fifo", b);
  AwaitKeys("fifo/", {"fifo/" + Hex(a), "fifo/" + Hex(b)});
  auto third = LockAsync("fifo", c);
  AwaitKeys("fifo/", {"fifo/" + Hex(a), "fifo/" + Hex(b), "fifo/" + Hex(c)});

  ASSERT_TRUE(Unlock("fifo/" + Hex(a)).status.ok());
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(second.get().status.ok());
  EXPECT_EQ(third.wait_for(kStillWaiting), std::future_status::timeout);
  ASSERT_TRUE(Unlock("fifo/" + Hex(b)).status.ok());
  ASSERT_EQ(third.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(third.get().status.ok());
}

TEST_F(LockElectionTest, RevokingTheHoldersLeaseHandsTheLockOver) {
  const int64_t a = Grant();
  const int64_t b = Grant();
  ASSERT_TRUE(Lock("leased", a).status.ok());
  auto second = LockAsync("leased", b);
  ASSERT_EQ(second.wait_for(kStillWaiting), std::future_status::timeout);
  Revoke(a);
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  Result<v3lockpb::LockResponse> got = second.get();
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.response.key(), "leased/" + Hex(b));
}

TEST_F(LockElectionTest, LockingAgainWithTheSameLeaseIsANoOp) {
  const int64_t a = Grant();
  Result<v3lockpb::LockResponse> first = Lock("again", a);
  ASSERT_TRUE(first.status.ok());
  Result<v3lockpb::LockResponse> second = Lock("again", a, seconds(2));
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.response.key(), first.response.key());
}

TEST_F(LockElectionTest, LeaseZeroLocksWithASixtySecondLeaseOfItsOwn) {
  Result<v3lockpb::LockResponse> got = Lock("own", 0);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  ASSERT_TRUE(absl::StartsWith(got.response.key(), "own/"));
  uint64_t lease = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(got.response.key().substr(4), &lease));
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  etcdserverpb::LeaseTimeToLiveRequest request;
  request.set_id(static_cast<int64_t>(lease));
  etcdserverpb::LeaseTimeToLiveResponse ttl;
  ASSERT_TRUE(lease_->LeaseTimeToLive(&context, request, &ttl).ok());
  EXPECT_EQ(ttl.grantedttl(), 60);
}

TEST_F(LockElectionTest, LockWithAnUnknownLeaseFailsInEtcdsWords) {
  Result<v3lockpb::LockResponse> got = Lock("nolease", 0x1234);
  EXPECT_EQ(got.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(got.status.error_message(),
            "etcdserver: requested lease not found");
}

TEST_F(LockElectionTest, CancelledLockLeavesNoWaiterBehind) {
  const int64_t a = Grant(), b = Grant(), c = Grant();
  ASSERT_TRUE(Lock("gone", a).status.ok());
  // The client gives up while waiting: its key goes at once, not with its
  // lease, so it holds nobody up.
  Result<v3lockpb::LockResponse> impatient = Lock("gone", b, milliseconds(300));
  EXPECT_EQ(impatient.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  AwaitKeys("gone/", {"gone/" + Hex(a)});

  auto third = LockAsync("gone", c);
  AwaitKeys("gone/", {"gone/" + Hex(a), "gone/" + Hex(c)});
  ASSERT_TRUE(Unlock("gone/" + Hex(a)).status.ok());
  ASSERT_EQ(third.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(third.get().status.ok());
}

TEST_F(LockElectionTest, ServicesAnswerNotStartedBeforeConnect) {
  LockService lock;
  ElectionService election;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&lock);
  builder.RegisterService(&election);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());

  grpc::ClientContext lock_context;
  lock_context.set_deadline(Deadline());
  v3lockpb::LockResponse lock_response;
  grpc::Status s = v3lockpb::Lock::NewStub(channel)->Lock(
      &lock_context, v3lockpb::LockRequest(), &lock_response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "etcdserver: not started");

  grpc::ClientContext observe_context;
  observe_context.set_deadline(Deadline());
  auto reader = v3electionpb::Election::NewStub(channel)->Observe(
      &observe_context, v3electionpb::LeaderRequest());
  v3electionpb::LeaderResponse leader;
  EXPECT_FALSE(reader->Read(&leader));
  s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "etcdserver: not started");
  server->Shutdown(Deadline(seconds(1)));
}

TEST_F(LockElectionTest, ShutdownWithCallsWaitingIsClean) {
  const int64_t a = Grant(), b = Grant();
  ASSERT_TRUE(Lock("down", a).status.ok());
  auto waiting = LockAsync("down", b);
  AwaitKeys("down/", {"down/" + Hex(a), "down/" + Hex(b)});
  grpc::ClientContext observe_context;
  observe_context.set_deadline(Deadline());
  v3electionpb::LeaderRequest request;
  request.set_name("nobody-yet");
  auto observer = election_->Observe(&observe_context, request);

  // As the server will: disconnect, then shut down. The waiters are
  // cancelled by the shutdown and their clean-up finds the door shut.
  lock_service_.Disconnect();
  election_service_.Disconnect();
  Result<v3lockpb::LockResponse> late = Lock("down", 0);
  EXPECT_EQ(late.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(late.status.error_message(), "etcdserver: server stopped");
  server_->Shutdown(Deadline(milliseconds(200)));
  ASSERT_EQ(waiting.wait_for(kPatience), std::future_status::ready);
  EXPECT_FALSE(waiting.get().status.ok());
  v3electionpb::LeaderResponse seen;
  EXPECT_FALSE(observer->Read(&seen));
  EXPECT_FALSE(observer->Finish().ok());
}

TEST_F(LockElectionTest, TheCallersTokenReachesTheServices) {
  // Turn auth on with a root user.
  {
    grpc::ClientContext c1, c2, c3, c4;
    etcdserverpb::AuthUserAddRequest user;
    user.set_name("root");
    user.set_password("rootpw");
    etcdserverpb::AuthUserAddResponse user_added;
    ASSERT_TRUE(auth_->UserAdd(&c1, user, &user_added).ok());
    etcdserverpb::AuthRoleAddRequest role;
    role.set_name("root");
    etcdserverpb::AuthRoleAddResponse role_added;
    ASSERT_TRUE(auth_->RoleAdd(&c2, role, &role_added).ok());
    etcdserverpb::AuthUserGrantRoleRequest grant;
    grant.set_user("root");
    grant.set_role("root");
    etcdserverpb::AuthUserGrantRoleResponse granted;
    ASSERT_TRUE(auth_->UserGrantRole(&c3, grant, &granted).ok());
    etcdserverpb::AuthEnableResponse enabled;
    ASSERT_TRUE(
        auth_->AuthEnable(&c4, etcdserverpb::AuthEnableRequest(), &enabled)
            .ok());
  }
  grpc::ClientContext login_context;
  etcdserverpb::AuthenticateRequest login;
  login.set_name("root");
  login.set_password("rootpw");
  etcdserverpb::AuthenticateResponse token;
  ASSERT_TRUE(auth_->Authenticate(&login_context, login, &token).ok());

  // Without a token the txn is refused as a direct one would be.
  Result<v3lockpb::LockResponse> refused = Lock("authed", 0);
  EXPECT_FALSE(refused.status.ok());
  EXPECT_NE(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // With the token, under either metadata key, it is the caller's.
  Result<v3lockpb::LockResponse> got =
      Lock("authed", 0, kPatience, token.token());
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();

  grpc::ClientContext gateway_context;
  gateway_context.set_deadline(Deadline());
  gateway_context.AddMetadata("authorization", token.token());
  v3electionpb::LeaderRequest leader;
  leader.set_name("authed-election");
  v3electionpb::LeaderResponse response;
  grpc::Status s = election_->Leader(&gateway_context, leader, &response);
  EXPECT_EQ(s.error_message(), "election: no leader");
}

// ---- Election ----

TEST_F(LockElectionTest, CampaignProclaimLeaderResign) {
  const int64_t a = Grant();
  const int64_t b = Grant();
  Result<v3electionpb::CampaignResponse> first = Campaign("e", a, "alpha");
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  const LeaderKey& leader_a = first.response.leader();
  EXPECT_EQ(leader_a.name(), "e");
  EXPECT_EQ(leader_a.key(), "e/" + Hex(a));
  EXPECT_EQ(leader_a.lease(), a);
  EXPECT_EQ(leader_a.rev(), first.response.header().revision());

  Result<v3electionpb::LeaderResponse> leader = Leader("e");
  ASSERT_TRUE(leader.status.ok()) << leader.status.error_message();
  EXPECT_EQ(leader.response.kv().key(), leader_a.key());
  EXPECT_EQ(leader.response.kv().value(), "alpha");
  EXPECT_EQ(leader.response.kv().create_revision(), leader_a.rev());

  auto second = CampaignAsync("e", b, "beta");
  ASSERT_EQ(second.wait_for(kStillWaiting), std::future_status::timeout);

  ASSERT_TRUE(Proclaim(leader_a, "alpha2").ok());
  EXPECT_EQ(Leader("e").response.kv().value(), "alpha2");

  ASSERT_TRUE(Resign(leader_a).ok());
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  Result<v3electionpb::CampaignResponse> won = second.get();
  ASSERT_TRUE(won.status.ok()) << won.status.error_message();
  EXPECT_EQ(won.response.leader().key(), "e/" + Hex(b));
  EXPECT_EQ(Leader("e").response.kv().value(), "beta");

  // The old leader is not one any more.
  grpc::Status stale = Proclaim(leader_a, "alpha3");
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(stale.error_message(), "election: not leader");
  // Resigning as a former leader deletes nothing.
  ASSERT_TRUE(Resign(leader_a).ok());
  EXPECT_EQ(Leader("e").response.kv().value(), "beta");

  ASSERT_TRUE(Resign(won.response.leader()).ok());
  Result<v3electionpb::LeaderResponse> none = Leader("e");
  EXPECT_EQ(none.status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(none.status.error_message(), "election: no leader");
}

TEST_F(LockElectionTest, ProclaimWithAWrongRevisionIsNotLeader) {
  const int64_t a = Grant();
  Result<v3electionpb::CampaignResponse> won = Campaign("p", a, "v");
  ASSERT_TRUE(won.status.ok());
  LeaderKey forged = won.response.leader();
  forged.set_rev(forged.rev() + 1000);
  grpc::Status s = Proclaim(forged, "w");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "election: not leader");
  EXPECT_EQ(Leader("p").response.kv().value(), "v");
}

TEST_F(LockElectionTest, LeaderWithNoCandidateIsNoLeader) {
  Result<v3electionpb::LeaderResponse> none = Leader("nobody");
  EXPECT_EQ(none.status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(none.status.error_message(), "election: no leader");
}

TEST_F(LockElectionTest, ProclaimAndResignNeedTheLeaderField) {
  grpc::ClientContext proclaim_context;
  proclaim_context.set_deadline(Deadline());
  v3electionpb::ProclaimResponse proclaimed;
  grpc::Status s = election_->Proclaim(
      &proclaim_context, v3electionpb::ProclaimRequest(), &proclaimed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "\"leader\" field must be provided");

  grpc::ClientContext resign_context;
  resign_context.set_deadline(Deadline());
  v3electionpb::ResignResponse resigned;
  s = election_->Resign(&resign_context, v3electionpb::ResignRequest(),
                        &resigned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "\"leader\" field must be provided");
}

TEST_F(LockElectionTest, CampaigningAgainWithANewValueProclaimsIt) {
  const int64_t a = Grant();
  Result<v3electionpb::CampaignResponse> first = Campaign("re", a, "one");
  ASSERT_TRUE(first.status.ok());
  Result<v3electionpb::CampaignResponse> again = Campaign("re", a, "two");
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.response.leader().key(), first.response.leader().key());
  EXPECT_EQ(again.response.leader().rev(), first.response.leader().rev());
  EXPECT_EQ(Leader("re").response.kv().value(), "two");
}

TEST_F(LockElectionTest, CancelledCampaignResigns) {
  const int64_t a = Grant(), b = Grant();
  ASSERT_TRUE(Campaign("c", a, "x").status.ok());
  Result<v3electionpb::CampaignResponse> impatient =
      Campaign("c", b, "y", milliseconds(300));
  EXPECT_EQ(impatient.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  AwaitKeys("c/", {"c/" + Hex(a)});
}

TEST_F(LockElectionTest, ObserveStreamsEveryLeaderAndValue) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v3electionpb::LeaderRequest request;
  request.set_name("o");
  auto reader = election_->Observe(&context, request);
  v3electionpb::LeaderResponse seen;

  // No leader yet: the first campaign is the first thing seen.
  const int64_t a = Grant(), b = Grant();
  Result<v3electionpb::CampaignResponse> first = Campaign("o", a, "a1");
  ASSERT_TRUE(first.status.ok());
  ASSERT_TRUE(reader->Read(&seen));
  EXPECT_EQ(seen.kv().key(), "o/" + Hex(a));
  EXPECT_EQ(seen.kv().value(), "a1");
  EXPECT_EQ(seen.header().revision(), first.response.leader().rev());

  ASSERT_TRUE(Proclaim(first.response.leader(), "a2").ok());
  ASSERT_TRUE(reader->Read(&seen));
  EXPECT_EQ(seen.kv().value(), "a2");

  // A candidate waiting is not the leader; once the leader resigns it is.
  auto second = CampaignAsync("o", b, "b1");
  AwaitKeys("o/", {"o/" + Hex(a), "o/" + Hex(b)});
  ASSERT_TRUE(Resign(first.response.leader()).ok());
  ASSERT_TRUE(reader->Read(&seen));
  EXPECT_EQ(seen.kv().key(), "o/" + Hex(b));
  EXPECT_EQ(seen.kv().value(), "b1");
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  ASSERT_TRUE(second.get().status.ok());

  context.TryCancel();
  while (reader->Read(&seen)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(LockElectionTest, ObserveStartsWithTheCurrentLeader) {
  const int64_t a = Grant();
  Result<v3electionpb::CampaignResponse> won = Campaign("now", a, "here");
  ASSERT_TRUE(won.status.ok());
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v3electionpb::LeaderRequest request;
  request.set_name("now");
  auto reader = election_->Observe(&context, request);
  v3electionpb::LeaderResponse seen;
  ASSERT_TRUE(reader->Read(&seen));
  EXPECT_EQ(seen.kv().value(), "here");
  // The leader's lease goes: its key is deleted, and nothing follows until
  // a new leader is put.
  Revoke(a);
  const int64_t b = Grant();
  ASSERT_TRUE(Campaign("now", b, "next").status.ok());
  ASSERT_TRUE(reader->Read(&seen));
  EXPECT_EQ(seen.kv().value(), "next");
  context.TryCancel();
  while (reader->Read(&seen)) {
  }
  reader->Finish();
}

}  // namespace
}  // namespace etcdpp::rpc
