// The gRPC layer against the real client: Debian's etcdctl talks to our KV
// and Maintenance services over a single unreplicated kv::Applier. The same
// commands run against a replicated cluster in tests/.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/rpc/client_server.h"
#include "server/rpc/local_backend.h"
#include "tests/etcdctl.h"

namespace etcdpp::rpc {
namespace {

using tests::CommandResult;
using tests::Etcdctl;

constexpr uint64_t kClusterId = 0xabc;
constexpr uint64_t kMemberId = 0x123;

class EtcdctlLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = std::make_unique<LocalBackend>(kClusterId, kMemberId);
    ClientServerOptions options;
    options.listen_addresses = {{"127.0.0.1:0"}};
    options.limits.max_request_bytes = 64 * 1024;
    options.limits.max_txn_ops = 4;
    auto server = ClientServer::Start(backend_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    etcdctl_ = std::make_unique<Etcdctl>(
        absl::StrCat("127.0.0.1:", server_->ports()[0]));
  }

  void Put(const std::string& key, const std::string& value) {
    CommandResult r = etcdctl_->Run(absl::StrCat("put ", key, " ", value));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(r.output, "OK\n");
  }

  etcdserverpb::RangeResponse Get(const std::string& args) {
    auto r = etcdctl_->Json<etcdserverpb::RangeResponse>("get " + args);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : etcdserverpb::RangeResponse();
  }

  std::unique_ptr<LocalBackend> backend_;
  std::unique_ptr<ClientServer> server_;
  std::unique_ptr<Etcdctl> etcdctl_;
};

TEST_F(EtcdctlLocalTest, PutGetWithHeader) {
  Put("foo", "bar");
  etcdserverpb::RangeResponse r = Get("foo");
  ASSERT_EQ(r.kvs_size(), 1);
  EXPECT_EQ(r.kvs(0).key(), "foo");
  EXPECT_EQ(r.kvs(0).value(), "bar");
  EXPECT_EQ(r.kvs(0).create_revision(), 2);
  EXPECT_EQ(r.kvs(0).mod_revision(), 2);
  EXPECT_EQ(r.kvs(0).version(), 1);
  EXPECT_EQ(r.header().cluster_id(), kClusterId);
  EXPECT_EQ(r.header().member_id(), kMemberId);
  EXPECT_EQ(r.header().revision(), 2);
  EXPECT_EQ(r.count(), 1);
  // The plain output is key and value lines.
  CommandResult plain = etcdctl_->Run("get foo");
  EXPECT_EQ(plain.output, "foo\nbar\n");
}

TEST_F(EtcdctlLocalTest, PrefixLimitKeysOnlyCountOnlyAndSort) {
  Put("a1", "x");
  Put("a2", "yy");
  Put("a3", "z");
  Put("b1", "w");
  EXPECT_EQ(Get("a --prefix").kvs_size(), 3);

  etcdserverpb::RangeResponse limited = Get("a --prefix --limit=2");
  EXPECT_EQ(limited.kvs_size(), 2);
  EXPECT_TRUE(limited.more());
  EXPECT_EQ(limited.count(), 3);

  etcdserverpb::RangeResponse keys = Get("a --prefix --keys-only");
  ASSERT_EQ(keys.kvs_size(), 3);
  EXPECT_EQ(keys.kvs(1).key(), "a2");
  EXPECT_EQ(keys.kvs(1).value(), "");

  // etcdctl 3.4 has no --count-only (3.5 added it): ask over gRPC.
  auto channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->ports()[0]),
      grpc::InsecureChannelCredentials());
  auto stub = etcdserverpb::KV::NewStub(channel);
  etcdserverpb::RangeRequest count_only;
  count_only.set_key("a");
  count_only.set_range_end("b");
  count_only.set_count_only(true);
  etcdserverpb::RangeResponse counted;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->Range(&context, count_only, &counted).ok());
  EXPECT_EQ(counted.kvs_size(), 0);
  EXPECT_EQ(counted.count(), 3);

  etcdserverpb::RangeResponse sorted =
      Get("a --prefix --sort-by=MODIFY --order=DESCEND");
  ASSERT_EQ(sorted.kvs_size(), 3);
  EXPECT_EQ(sorted.kvs(0).key(), "a3");
  EXPECT_EQ(sorted.kvs(2).key(), "a1");

  // "a" to "b" as an explicit range.
  EXPECT_EQ(Get("a b").kvs_size(), 3);
  // --from-key: every key from "a2" on.
  EXPECT_EQ(Get("a2 --from-key").kvs_size(), 3);
}

TEST_F(EtcdctlLocalTest, HistoricRevisionsAndCompaction) {
  Put("k", "v1");  // revision 2
  Put("k", "v2");  // revision 3
  Put("k", "v3");  // revision 4
  etcdserverpb::RangeResponse old = Get("k --rev=2");
  ASSERT_EQ(old.kvs_size(), 1);
  EXPECT_EQ(old.kvs(0).value(), "v1");
  EXPECT_EQ(Get("k --rev=3").kvs(0).version(), 2);

  CommandResult future = etcdctl_->Run("get k --rev=99");
  EXPECT_NE(future.exit_code, 0);
  EXPECT_NE(future.output.find(
                "etcdserver: mvcc: required revision is a future revision"),
            std::string::npos)
      << future.output;

  CommandResult compact = etcdctl_->Run("compaction 3");
  ASSERT_EQ(compact.exit_code, 0) << compact.output;
  EXPECT_EQ(compact.output, "compacted revision 3\n");
  CommandResult compacted = etcdctl_->Run("get k --rev=2");
  EXPECT_NE(compacted.exit_code, 0);
  EXPECT_NE(compacted.output.find(
                "etcdserver: mvcc: required revision has been compacted"),
            std::string::npos)
      << compacted.output;
  EXPECT_EQ(Get("k --rev=3").kvs(0).value(), "v2");
  EXPECT_EQ(Get("k").kvs(0).value(), "v3");
}

TEST_F(EtcdctlLocalTest, DeletePrefixWithPrevKv) {
  Put("p/1", "one");
  Put("p/2", "two");
  Put("q", "other");
  CommandResult del = etcdctl_->Run("del p/ --prefix --prev-kv");
  ASSERT_EQ(del.exit_code, 0) << del.output;
  EXPECT_EQ(del.output, "2\np/1\none\np/2\ntwo\n");
  EXPECT_EQ(Get("p/ --prefix").kvs_size(), 0);
  EXPECT_EQ(Get("q").kvs_size(), 1);
  CommandResult none = etcdctl_->Run("del missing");
  EXPECT_EQ(none.output, "0\n");
}

TEST_F(EtcdctlLocalTest, TxnFromStdinTakesTheMatchingBranch) {
  Put("key1", "1");
  const std::string txn =
      "mod(\"key1\") > \"0\"\n\n"
      "put key1 \"overwrote-key1\"\n\n"
      "put key1 \"created-key1\"\nput key2 \"some extra key\"\n\n";
  CommandResult r = etcdctl_->Run("txn", txn);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "SUCCESS\n\nOK\n");
  EXPECT_EQ(Get("key1").kvs(0).value(), "overwrote-key1");

  const std::string failing =
      "value(\"key1\") = \"nope\"\n\n"
      "put key1 \"never\"\n\n"
      "get key1\n\n";
  r = etcdctl_->Run("txn", failing);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "FAILURE\n\nkey1\noverwrote-key1\n");
}

TEST_F(EtcdctlLocalTest, TxnErrorsUseEtcdWords) {
  // max-txn-ops is 4 in this server.
  std::string ops;
  for (int i = 0; i < 5; ++i) ops += absl::StrCat("put k", i, " v\n");
  CommandResult r = etcdctl_->Run("txn", "\n" + ops + "\n\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("etcdserver: too many operations in txn request"),
            std::string::npos)
      << r.output;
  r = etcdctl_->Run("txn", "\nput k v\nput k w\n\n\n");
  EXPECT_NE(r.output.find("etcdserver: duplicate key given in txn request"),
            std::string::npos)
      << r.output;
}

TEST_F(EtcdctlLocalTest, RequestTooLargeIsRefused) {
  // Above max-request-bytes (64 KiB here) but under gRPC's own limit.
  const std::string value(70 * 1024, 'v');
  CommandResult r = etcdctl_->Run("put big " + value);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("etcdserver: request is too large"),
            std::string::npos)
      << r.output.substr(0, 300);
}

TEST_F(EtcdctlLocalTest, EmptyKeyIsRefused) {
  CommandResult r = etcdctl_->Run("put '' v");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("etcdserver: key is not provided"), std::string::npos)
      << r.output;
}

TEST_F(EtcdctlLocalTest, EndpointStatus) {
  Put("a", "b");
  CommandResult r = etcdctl_->Run("endpoint status -w json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"member_id\":291"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"leader\":291"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"version\":\"3.5.0\""), std::string::npos)
      << r.output;
}

TEST_F(EtcdctlLocalTest, BusyPortIsAClearError) {
  ClientServerOptions options;
  options.listen_addresses = {
      {absl::StrCat("127.0.0.1:", server_->ports()[0])}};
  auto second = ClientServer::Start(backend_.get(), options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("Address already in use"),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace etcdpp::rpc
