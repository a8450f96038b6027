// The Auth service against the real client: Debian's etcdctl 3.4 manages
// users and roles, enables auth and logs in with --user, over a single
// unreplicated kv::Applier (LocalBackend). tests/cluster_test.cc runs the
// same against a replicated cluster, restart included.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/rpc/client_server.h"
#include "server/rpc/local_backend.h"
#include "tests/etcdctl.h"

namespace etcdpp::rpc {
namespace {

using tests::CommandResult;
using tests::Etcdctl;

class AuthEtcdctlLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = std::make_unique<LocalBackend>(0xabc, 0x123);
    ClientServerOptions options;
    options.listen_addresses = {{"127.0.0.1:0"}};
    options.bcrypt_cost = 4;  // the fastest etcd allows: tests stay quick
    auto server = ClientServer::Start(backend_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    endpoint_ = absl::StrCat("127.0.0.1:", server_->ports()[0]);
    etcdctl_ = std::make_unique<Etcdctl>(endpoint_);
  }

  // Runs etcdctl and expects it to succeed with exactly `want`.
  void Ok(const std::string& args, const std::string& want) {
    CommandResult r = etcdctl_->Run(args);
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.output;
    EXPECT_EQ(r.output, want) << args;
  }
  // Runs etcdctl and expects it to fail, saying `error`.
  void Fails(const std::string& args, const std::string& error) {
    CommandResult r = etcdctl_->Run(args);
    EXPECT_NE(r.exit_code, 0) << args << ": " << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, error))
        << args << ": " << r.output;
  }

  // root (role root) and alice (read-only on the prefix "foo"), auth on.
  void EnableWithRootAndAlice() {
    Ok("user add root:rootpw", "User root created\n");
    Ok("user grant-role root root", "Role root is granted to user root\n");
    Ok("role add reader", "Role reader created\n");
    Ok("role grant-permission reader read foo --prefix=true",
       "Role reader updated\n");
    Ok("user add alice:alicepw", "User alice created\n");
    Ok("user grant-role alice reader", "Role reader is granted to user alice\n");
    Ok("auth enable", "Authentication Enabled\n");
  }

  std::unique_ptr<LocalBackend> backend_;
  std::unique_ptr<ClientServer> server_;
  std::string endpoint_;
  std::unique_ptr<Etcdctl> etcdctl_;
};

TEST_F(AuthEtcdctlLocalTest, UsersRolesAndPermissions) {
  EnableWithRootAndAlice();
  // No user: refused at apply, in etcd's words.
  Fails("put foo bar", "etcdserver: user name is empty");
  Ok("--user root:rootpw put foo bar", "OK\n");
  Ok("--user root:rootpw put zzz 1", "OK\n");
  Ok("--user root:rootpw get foo", "foo\nbar\n");
  // alice reads under "foo", writes nowhere, reads nothing else.
  Ok("--user alice:alicepw get foo", "foo\nbar\n");
  Ok("--user alice:alicepw get --prefix foo", "foo\nbar\n");
  Fails("--user alice:alicepw get zzz", "Error: etcdserver: permission denied");
  Fails("--user alice:alicepw get --prefix fo",
        "Error: etcdserver: permission denied");
  Fails("--user alice:alicepw put foo x",
        "Error: etcdserver: permission denied");
  Fails("--user alice:alicepw del foo", "Error: etcdserver: permission denied");
  // Serializable reads are checked in the server, not at apply.
  Ok("--user alice:alicepw get foo --consistency=s", "foo\nbar\n");
  Fails("--user alice:alicepw get zzz --consistency=s",
        "Error: etcdserver: permission denied");
  // Managing auth and HashKV need the root role.
  Fails("--user alice:alicepw user add bob:pw",
        "Error: etcdserver: permission denied");
  Fails("--user alice:alicepw endpoint hashkv",
        "etcdserver: permission denied");
  Ok("--user root:rootpw user list", "alice\nroot\n");
  Ok("--user root:rootpw role get reader",
     "Role reader\nKV Read:\n\t[foo, fop) (prefix foo)\nKV Write:\n");
  Ok("--user root:rootpw put foo still-alices-to-read", "OK\n");
  Ok("--user alice:alicepw get foo --print-value-only",
     "still-alices-to-read\n");
}

TEST_F(AuthEtcdctlLocalTest, WrongPasswordsAndUnknownUsersFail) {
  EnableWithRootAndAlice();
  const std::string kAuthFailed =
      "etcdserver: authentication failed, invalid user ID or password";
  Fails("--user root:wrong get foo", kAuthFailed);
  Fails("--user alice:rootpw get foo", kAuthFailed);
  Fails("--user nobody:pw get foo", kAuthFailed);
  Ok("--user root:rootpw get foo", "");
}

TEST_F(AuthEtcdctlLocalTest, ChangedPasswordReplacesTheOldOne) {
  EnableWithRootAndAlice();
  CommandResult r = etcdctl_->Run(
      "--user root:rootpw user passwd alice --interactive=false", "newpw\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "Password updated\n");
  Fails("--user alice:alicepw get foo",
        "etcdserver: authentication failed, invalid user ID or password");
  Ok("--user alice:newpw get foo", "");
  // Only root changes another user's password.
  r = etcdctl_->Run("--user alice:newpw user passwd root --interactive=false",
                    "stolen\n");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "etcdserver: permission denied"))
      << r.output;
  Ok("--user root:rootpw get foo", "");
}

TEST_F(AuthEtcdctlLocalTest, DisablingAuthRestoresOpenAccess) {
  EnableWithRootAndAlice();
  Fails("put foo bar", "etcdserver: user name is empty");
  Fails("auth disable", "etcdserver: user name is empty");
  Fails("--user alice:alicepw auth disable", "etcdserver: permission denied");
  Ok("--user root:rootpw auth disable", "Authentication Disabled\n");
  Ok("put foo bar", "OK\n");
  Ok("get foo", "foo\nbar\n");
  // --user still works: etcdctl logs the server's "authentication is not
  // enabled" and goes on without a token, as against etcd.
  CommandResult r = etcdctl_->Run("--user alice:alicepw put zzz 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::EndsWith(r.output, "OK\n")) << r.output;
  EXPECT_TRUE(absl::StrContains(
      r.output, "code = FailedPrecondition desc = etcdserver: "
                "authentication is not enabled"))
      << r.output;
  // And it can be enabled again: the users and roles are still there.
  Ok("auth enable", "Authentication Enabled\n");
  Fails("put foo bar", "etcdserver: user name is empty");
  Ok("--user alice:alicepw get foo", "foo\nbar\n");
}

TEST_F(AuthEtcdctlLocalTest, AnInvalidTokenIsRefusedWithEtcdsCode) {
  EnableWithRootAndAlice();
  auto channel =
      grpc::CreateChannel(endpoint_, grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("token", "not-a-token.1");
  etcdserverpb::RangeRequest request;
  request.set_key("foo");
  etcdserverpb::RangeResponse response;
  grpc::Status status = kv->Range(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "etcdserver: invalid auth token");

  // A real token from Authenticate works on the same stub.
  auto auth = etcdserverpb::Auth::NewStub(channel);
  grpc::ClientContext login_context;
  etcdserverpb::AuthenticateRequest login;
  login.set_name("root");
  login.set_password("rootpw");
  etcdserverpb::AuthenticateResponse token;
  ASSERT_TRUE(auth->Authenticate(&login_context, login, &token).ok());
  EXPECT_FALSE(token.token().empty());
  grpc::ClientContext context2;
  context2.AddMetadata("token", token.token());
  EXPECT_TRUE(kv->Range(&context2, request, &response).ok());
}

}  // namespace
}  // namespace etcdpp::rpc
