#include "net/tls_files.h"

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/test_certs.h"

namespace etcdpp::net {
namespace {

class TlsFilesTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::getenv("TEST_TMPDIR"));
    absl::StatusOr<const tests::TestCerts*> certs = tests::SharedTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }

  static std::string Write(const std::string& name, const std::string& text) {
    const std::string path = *dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  static std::string* dir_;
  static const tests::TestCerts* certs_;
};

std::string* TlsFilesTest::dir_ = nullptr;
const tests::TestCerts* TlsFilesTest::certs_ = nullptr;

TEST_F(TlsFilesTest, LoadsAMatchingPairAndItsCa) {
  absl::StatusOr<TlsFiles> files = LoadTlsFiles(
      {certs_->server_cert, certs_->server_key, certs_->ca_cert, ""});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_NE(files->cert_chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(files->private_key_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(files->trusted_ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);

  files = LoadTlsFiles({certs_->server_cert, certs_->server_key, "", ""});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->trusted_ca_pem.empty());
}

TEST_F(TlsFilesTest, BadFilesNameTheFlagAndWhatIsWrong) {
  const std::string not_pem = Write("not.pem", "hello\n");
  const std::string missing = *dir_ + "/missing.crt";
  struct Case {
    TlsPaths paths;
    std::string error;
  } cases[] = {
      {{missing, certs_->server_key, "", ""},
       "--cert-file " + missing + ": No such file or directory"},
      {{not_pem, certs_->server_key, "", ""},
       "--cert-file " + not_pem + ": holds no PEM certificate"},
      {{certs_->server_cert, missing, "", "peer-"},
       "--peer-key-file " + missing + ": No such file or directory"},
      {{certs_->server_cert, not_pem, "", ""},
       "--key-file " + not_pem + ": holds no unencrypted PEM private key"},
      // A certificate is not a key.
      {{certs_->server_cert, certs_->server_cert, "", ""},
       "holds no unencrypted PEM private key"},
      {{certs_->server_cert, certs_->client_key, "", ""},
       "--key-file " + certs_->client_key +
           ": does not match the certificate in --cert-file " +
           certs_->server_cert},
      {{certs_->server_cert, certs_->server_key, not_pem, ""},
       "--trusted-ca-file " + not_pem + ": holds no PEM certificate"},
      {{certs_->server_cert, certs_->server_key, missing, ""},
       "--trusted-ca-file " + missing + ": No such file"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TlsFiles> files = LoadTlsFiles(c.paths);
    ASSERT_FALSE(files.ok()) << c.error;
    EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(files.status().message().find(c.error), std::string::npos)
        << files.status() << "\nshould contain: " << c.error;
  }
}

}  // namespace
}  // namespace etcdpp::net
