// Wire compatibility of our etcd protos, proven with the real client: a
// throwaway in-test gRPC server implements KV.Put and KV.Range on the
// generated code, and Debian's etcdctl (3.4, ETCDCTL_API=3) talks to it.
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/etcdctl.h"

namespace etcdpp::tests {
namespace {

constexpr uint64_t kClusterId = 0x1234;
constexpr uint64_t kMemberId = 0x42;

// A map with a revision counter: only what the smoke test needs.
class ThrowawayKv final : public etcdserverpb::KV::Service {
 public:
  grpc::Status Put(grpc::ServerContext*, const etcdserverpb::PutRequest* req,
                   etcdserverpb::PutResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++revision_;
    mvccpb::KeyValue& kv = store_[req->key()];
    if (kv.create_revision() == 0) kv.set_create_revision(revision_);
    kv.set_key(req->key());
    kv.set_value(req->value());
    kv.set_mod_revision(revision_);
    kv.set_version(kv.version() + 1);
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  grpc::Status Range(grpc::ServerContext*,
                     const etcdserverpb::RangeRequest* req,
                     etcdserverpb::RangeResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = store_.find(req->key()); it != store_.end()) {
      *resp->add_kvs() = it->second;
    }
    resp->set_count(resp->kvs_size());
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

 private:
  void FillHeader(etcdserverpb::ResponseHeader* header) {
    header->set_cluster_id(kClusterId);
    header->set_member_id(kMemberId);
    header->set_revision(revision_);
    header->set_raft_term(1);
  }

  std::mutex mu_;
  int64_t revision_ = 1;
  std::map<std::string, mvccpb::KeyValue> store_;
};

class EtcdctlSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  void TearDown() override { server_->Shutdown(); }

  CommandResult Etcdctl(const std::string& args) {
    return tests::Etcdctl(absl::StrCat("127.0.0.1:", port_)).Run(args);
  }

  ThrowawayKv service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(EtcdctlSmokeTest, PutThenGetAsJson) {
  CommandResult put = Etcdctl("put foo bar");
  ASSERT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(put.output, "OK\n");

  CommandResult get = Etcdctl("get foo -w json");
  ASSERT_EQ(get.exit_code, 0) << get.output;
  // etcdctl prints bytes fields base64-encoded and numbers from our header.
  EXPECT_NE(get.output.find(absl::StrCat("\"key\":\"",
                                         absl::Base64Escape("foo"), "\"")),
            std::string::npos)
      << get.output;
  EXPECT_NE(get.output.find(absl::StrCat("\"value\":\"",
                                         absl::Base64Escape("bar"), "\"")),
            std::string::npos)
      << get.output;
  EXPECT_NE(get.output.find("\"cluster_id\":4660"), std::string::npos)
      << get.output;
  EXPECT_NE(get.output.find("\"member_id\":66"), std::string::npos)
      << get.output;
  EXPECT_NE(get.output.find("\"mod_revision\":2"), std::string::npos)
      << get.output;
  EXPECT_NE(get.output.find("\"count\":1"), std::string::npos) << get.output;
}

TEST_F(EtcdctlSmokeTest, GetOfMissingKeyPrintsNothing) {
  CommandResult get = Etcdctl("get missing");
  ASSERT_EQ(get.exit_code, 0) << get.output;
  EXPECT_EQ(get.output, "");
}

}  // namespace
}  // namespace etcdpp::tests
