// Client TLS end to end: real etcdpp processes started with etcd's
// --cert-file/--key-file/--trusted-ca-file/--client-cert-auth and https://
// client URLs, driven by Debian's etcdctl with --cacert/--cert/--key.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/etcdctl.h"
#include "tests/local_cluster.h"
#include "tests/test_certs.h"

namespace etcdpp::tests {
namespace {

std::string Binary() { return "server/etcdpp"; }

std::string TempRoot(const std::string& name) {
  const std::string root =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  RunCommand("rm -rf '" + root + "' && mkdir -p '" + root + "'");
  return root;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TestCerts> certs = MakeTestCerts(TempRoot("pki"));
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = new TestCerts(*std::move(certs));
  }

  static std::vector<std::string> ServerFlags() {
    return {"--cert-file=" + certs_->server_cert,
            "--key-file=" + certs_->server_key,
            "--trusted-ca-file=" + certs_->ca_cert, "--client-cert-auth"};
  }
  static std::string ClientFlags() {
    return absl::StrCat("--cacert=", certs_->ca_cert,
                        " --cert=", certs_->client_cert,
                        " --key=", certs_->client_key);
  }

  static TestCerts* certs_;
};

TestCerts* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, ClusterServesEtcdctlOverTlsWithClientCertificates) {
  LocalCluster cluster(Binary(), TempRoot("cluster"), 3);
  cluster.UseClientTls(ServerFlags(), ClientFlags());
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(20)).ok())
      << cluster.LogTail(0);

  CommandResult r = Etcdctl(cluster.member(0).endpoint())
                        .Run(ClientFlags() + " put greeting hello");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "OK\n");
  // Linearizable reads through the other members see it.
  for (int i = 1; i < 3; ++i) {
    r = Etcdctl(cluster.member(i).endpoint())
            .Run(ClientFlags() + " get greeting --print-value-only");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "hello\n") << "member " << i;
  }
  // Members advertise their https:// client URLs.
  r = Etcdctl(cluster.Endpoints()).Run(ClientFlags() + " member list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(r.output.find(absl::StrCat("https://127.0.0.1:",
                                         cluster.member(i).client_port)),
              std::string::npos)
        << r.output;
  }
  // No client certificate: refused.
  r = Etcdctl(cluster.member(1).endpoint())
          .Run(absl::StrCat("--cacert=", certs_->ca_cert,
                            " --dial-timeout=2s --command-timeout=3s "
                            "put greeting unsigned"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  r = Etcdctl(cluster.member(2).endpoint())
          .Run(ClientFlags() + " get greeting --print-value-only");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello\n");
}

TEST_F(TlsTest, BadTlsFlagsAreOneClearLineBeforeTheDataDirIsTouched) {
  const std::string root = TempRoot("bad");
  const std::string data_dir = root + "/data";
  struct Case {
    std::string flags;
    std::string error;
  } cases[] = {
      {"--listen-client-urls=https://127.0.0.1:0 "
       "--advertise-client-urls=https://127.0.0.1:2379",
       "etcdpp: error: TLS key/cert (--cert-file, --key-file) must be "
       "provided for client url https://127.0.0.1:0 with HTTPS scheme\n"},
      {absl::StrCat("--cert-file=", certs_->server_cert,
                    " --key-file=", certs_->client_key),
       absl::StrCat("etcdpp: error: --key-file ", certs_->client_key,
                    ": does not match the certificate in --cert-file ",
                    certs_->server_cert, "\n")},
      {absl::StrCat("--cert-file=", root, "/missing.crt --key-file=",
                    certs_->server_key),
       absl::StrCat("etcdpp: error: --cert-file ", root,
                    "/missing.crt: No such file or directory\n")},
      {"--listen-peer-urls=https://127.0.0.1:0 "
       "--initial-advertise-peer-urls=https://127.0.0.1:2380",
       "etcdpp: error: peer url https://127.0.0.1:0 has HTTPS scheme, but "
       "peer TLS is not supported yet: use http:// peer URLs on a trusted "
       "network\n"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand(absl::StrCat(
        Binary(), " --data-dir=", data_dir, " ", c.flags));
    EXPECT_EQ(r.exit_code, 1) << c.flags;
    EXPECT_EQ(r.output, c.error) << c.flags;
  }
  EXPECT_NE(RunCommand("test -e " + data_dir).exit_code, 0)
      << "a failed start created the data dir";
}

}  // namespace
}  // namespace etcdpp::tests
