// Client TLS against the real client: Debian's etcdctl over https:// with
// etcd's --cacert/--cert/--key, against a ClientServer serving TLS and
// plaintext ports side by side, with and without client certificate auth.
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "net/tls_files.h"
#include "server/rpc/client_server.h"
#include "server/rpc/local_backend.h"
#include "tests/etcdctl.h"
#include "tests/test_certs.h"

namespace etcdpp::rpc {
namespace {

using tests::CommandResult;
using tests::Etcdctl;

class ClientTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<const tests::TestCerts*> certs = tests::SharedTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }

  // Starts a server with a TLS port and a plaintext port.
  void Start(bool client_cert_auth) {
    absl::StatusOr<net::TlsFiles> files = net::LoadTlsFiles(
        {certs_->server_cert, certs_->server_key, certs_->ca_cert, ""});
    ASSERT_TRUE(files.ok()) << files.status();
    backend_ = std::make_unique<LocalBackend>(0xabc, 0x123);
    ClientServerOptions options;
    options.listen_addresses = {{"127.0.0.1:0", /*tls=*/true},
                                {"127.0.0.1:0", /*tls=*/false}};
    options.tls = ClientTls{*std::move(files), client_cert_auth};
    options.limits.max_request_bytes = 64 * 1024;
    options.limits.max_txn_ops = 4;
    auto server = ClientServer::Start(backend_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string TlsEndpoint() const {
    return absl::StrCat("https://127.0.0.1:", server_->ports()[0]);
  }
  std::string PlainEndpoint() const {
    return absl::StrCat("http://127.0.0.1:", server_->ports()[1]);
  }

  // etcdctl with `tls_flags` against `endpoint`; failures give up fast.
  static CommandResult Run(const std::string& endpoint,
                           const std::string& tls_flags,
                           const std::string& command) {
    return Etcdctl(endpoint).Run(
        absl::StrCat(tls_flags, " --dial-timeout=2s --command-timeout=3s ",
                     command));
  }

  static const tests::TestCerts* certs_;
  std::unique_ptr<LocalBackend> backend_;
  std::unique_ptr<ClientServer> server_;
};

const tests::TestCerts* ClientTlsTest::certs_ = nullptr;

TEST_F(ClientTlsTest, EtcdctlTrustingTheCaReadsAndWritesOverTls) {
  Start(/*client_cert_auth=*/false);
  const std::string trust = "--cacert=" + certs_->ca_cert;
  CommandResult r = Run(TlsEndpoint(), trust, "put foo bar");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "OK\n");
  // The plaintext port serves the same store.
  r = Run(PlainEndpoint(), "", "get foo --print-value-only");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "bar\n");
  r = Run(TlsEndpoint(), trust, "get foo --print-value-only");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "bar\n");
  r = Run(TlsEndpoint(), trust, "endpoint health");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(ClientTlsTest, ClientsThatDoNotTrustTheServerOrSpeakPlaintextFail) {
  Start(/*client_cert_auth=*/false);
  // The system's roots do not hold the test CA.
  CommandResult r = Run(TlsEndpoint(), "", "put k v");
  EXPECT_NE(r.exit_code, 0) << r.output;
  // A CA that never signed the server's certificate.
  r = Run(TlsEndpoint(), "--cacert=" + certs_->stranger_cert, "put k v");
  EXPECT_NE(r.exit_code, 0) << r.output;
  // Plaintext to the TLS port.
  r = Run(absl::StrCat("http://127.0.0.1:", server_->ports()[0]), "",
          "put k v");
  EXPECT_NE(r.exit_code, 0) << r.output;
  // TLS to the plaintext port.
  r = Run(absl::StrCat("https://127.0.0.1:", server_->ports()[1]),
          "--cacert=" + certs_->ca_cert, "put k v");
  EXPECT_NE(r.exit_code, 0) << r.output;
  // None of them wrote.
  r = Run(PlainEndpoint(), "", "get k");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
}

TEST_F(ClientTlsTest, ClientCertAuthNeedsACertificateTheCaSigned) {
  Start(/*client_cert_auth=*/true);
  const std::string trust = "--cacert=" + certs_->ca_cert;
  CommandResult r = Run(TlsEndpoint(), trust, "put k without-cert");
  EXPECT_NE(r.exit_code, 0) << r.output;
  r = Run(TlsEndpoint(),
          absl::StrCat(trust, " --cert=", certs_->stranger_cert,
                       " --key=", certs_->stranger_key),
          "put k stranger");
  EXPECT_NE(r.exit_code, 0) << r.output;
  r = Run(TlsEndpoint(),
          absl::StrCat(trust, " --cert=", certs_->client_cert,
                       " --key=", certs_->client_key),
          "put k with-cert");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Run(PlainEndpoint(), "", "get k --print-value-only");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "with-cert\n");
}

TEST_F(ClientTlsTest, ATlsAddressWithoutAKeyPairIsRefused) {
  LocalBackend backend(0xabc, 0x123);
  ClientServerOptions options;
  options.listen_addresses = {{"127.0.0.1:0", /*tls=*/true}};
  auto server = ClientServer::Start(&backend, options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("TLS asked for but no key pair"),
            std::string::npos)
      << server.status();
}

}  // namespace
}  // namespace etcdpp::rpc
