// Throwaway certificates for TLS tests, made with the openssl command line
// tool (Debian's openssl package): a CA, a server certificate for
// 127.0.0.1 and localhost, a client certificate, and a second CA with a
// client certificate of its own that the first CA never signed.
#ifndef ETCDPP_TESTS_TEST_CERTS_H_
#define ETCDPP_TESTS_TEST_CERTS_H_

#include <string>

#include "absl/status/statusor.h"

namespace etcdpp::tests {

struct TestCerts {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  // Signed by another CA: a server trusting ca_cert must refuse it.
  std::string stranger_cert;
  std::string stranger_key;
};

// Writes the files under `dir` (created if missing). Fails naming the
// openssl command that failed, with its output.
absl::StatusOr<TestCerts> MakeTestCerts(const std::string& dir);

// This test process's certificates, made on first use under
// $TEST_TMPDIR/pki (or /tmp when unset) and the same for every later call.
absl::StatusOr<const TestCerts*> SharedTestCerts();

}  // namespace etcdpp::tests

#endif  // ETCDPP_TESTS_TEST_CERTS_H_
