// TLS end to end: real etcdpp processes started with etcd's
// --cert-file/--key-file/--trusted-ca-file/--client-cert-auth (and the
// --peer-* ones) and https:// URLs, driven by Debian's etcdctl with
// --cacert/--cert/--key.
#include <signal.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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
    absl::StatusOr<const TestCerts*> certs = SharedTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
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

  static const TestCerts* certs_;
};

const TestCerts* TlsTest::certs_ = nullptr;

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

// kubeadm's layout: TLS on both sides, client and peer certificates
// required. Peers replicate, a killed member catches up by snapshot over
// TLS, and a member added later discovers the cluster over TLS.
TEST_F(TlsTest, PeerTlsClusterReplicatesCatchesUpAndJoins) {
  LocalCluster cluster(Binary(), TempRoot("peer"), 3, {"--snapshot-count=20"});
  cluster.UseClientTls(ServerFlags(), ClientFlags());
  cluster.UsePeerTls({"--peer-cert-file=" + certs_->server_cert,
                      "--peer-key-file=" + certs_->server_key,
                      "--peer-trusted-ca-file=" + certs_->ca_cert,
                      "--peer-client-cert-auth"});
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(20)).ok())
      << cluster.LogTail(0);
  auto through = [&](int i) {
    return Etcdctl(cluster.member(i).endpoint());
  };
  // A write through a member may time out while a killed leader is
  // replaced (as with etcd); clients retry.
  auto put = [&](int i, const std::string& key) {
    CommandResult r;
    for (int attempt = 0; attempt < 5; ++attempt) {
      r = through(i).Run(ClientFlags() + " put " + key + " v");
      if (r.exit_code == 0) return;
    }
    ADD_FAILURE() << r.output << cluster.LogTail(i);
  };

  // Serializable reads show what reached each member.
  auto has = [&](int i, const std::string& key) {
    CommandResult r = through(i).Run(
        ClientFlags() + " get " + key + " --consistency=s --keys-only");
    return r.exit_code == 0 && r.output.find(key) != std::string::npos;
  };
  auto eventually = [](const std::function<bool()>& done) {
    for (int i = 0; i < 150; ++i) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  };

  put(0, "first");
  ASSERT_TRUE(eventually([&] { return has(1, "first") && has(2, "first"); }))
      << cluster.LogTail(1);

  cluster.Signal(1, SIGKILL);
  for (int i = 0; i < 50; ++i) put(0, absl::StrCat("while_down", i));
  ASSERT_TRUE(cluster.Start(1).ok());
  ASSERT_TRUE(eventually([&] { return has(1, "while_down49"); }))
      << cluster.LogTail(1);
  // By snapshot (a snapshot every 20 entries): streamed over peer TLS.
  EXPECT_EQ(RunCommand("grep -q 'restored received snapshot' '" +
                       cluster.member(1).log_path + "'")
                .exit_code,
            0)
      << cluster.LogTail(1);

  const int added = cluster.AddMember();
  CommandResult r = through(0).Run(absl::StrCat(
      ClientFlags(), " member add ", cluster.member(added).name,
      " --peer-urls=https://127.0.0.1:", cluster.member(added).peer_port));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(cluster.Start(added).ok());
  ASSERT_TRUE(eventually([&] { return has(added, "while_down49"); }))
      << cluster.LogTail(added);
  put(added, "from_the_new_member");
  ASSERT_TRUE(eventually([&] { return has(2, "from_the_new_member"); }))
      << cluster.LogTail(2);
}

// etcd's --auto-tls and --peer-auto-tls: self-signed certificates made in
// the data dir, encryption without verification; kept across a restart.
TEST_F(TlsTest, AutoTlsClusterServesAndKeepsItsCertificates) {
  LocalCluster cluster(Binary(), TempRoot("auto"), 3);
  // etcdctl 3.4 skips verification only with transport security on.
  const std::string insecure =
      "--insecure-skip-tls-verify --insecure-transport=false";
  cluster.UseClientTls({"--auto-tls"}, insecure);
  cluster.UsePeerTls({"--peer-auto-tls"});
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(20)).ok())
      << cluster.LogTail(0);
  CommandResult r =
      Etcdctl(cluster.member(0).endpoint()).Run(insecure + " put auto yes");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A client that insists on verifying cannot.
  r = Etcdctl(cluster.member(1).endpoint())
          .Run(absl::StrCat("--cacert=", certs_->ca_cert,
                            " --dial-timeout=2s --command-timeout=3s get auto"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  const std::string cert = cluster.member(2).data_dir + "/fixtures/peer/cert.pem";
  const std::string before = RunCommand("cat '" + cert + "'").output;
  ASSERT_NE(before.find("BEGIN CERTIFICATE"), std::string::npos) << before;
  cluster.Signal(2, SIGTERM);
  ASSERT_TRUE(cluster.Start(2).ok());
  bool caught_up = false;
  for (int i = 0; i < 100 && !caught_up; ++i) {
    r = Etcdctl(cluster.member(2).endpoint())
            .Run(insecure + " get auto --print-value-only --consistency=s");
    caught_up = r.output == "yes\n";
    if (!caught_up) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(caught_up) << r.output << cluster.LogTail(2);
  EXPECT_EQ(RunCommand("cat '" + cert + "'").output, before);
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
       "etcdpp: error: TLS key/cert (--peer-cert-file, --peer-key-file) must "
       "be provided for peer url https://127.0.0.1:0 with HTTPS scheme\n"},
      {absl::StrCat("--listen-peer-urls=https://127.0.0.1:0 "
                    "--initial-advertise-peer-urls=https://127.0.0.1:2380 "
                    "--peer-cert-file=",
                    certs_->server_cert, " --peer-key-file=", root,
                    "/missing.key"),
       absl::StrCat("etcdpp: error: --peer-key-file ", root,
                    "/missing.key: No such file or directory\n")},
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
