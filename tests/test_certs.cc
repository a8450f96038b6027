#include "tests/test_certs.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/etcdctl.h"

namespace etcdpp::tests {
namespace {

absl::Status Run(const std::string& command) {
  CommandResult r = RunCommand(command);
  if (r.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("`", command, "` failed: ", r.output));
  }
  return absl::OkStatus();
}

// A self-signed CA named `name`: <dir>/<name>.crt and .key.
absl::Status MakeCa(const std::string& dir, const std::string& name) {
  return Run(absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 2 -subj /CN=",
      name, " -keyout ", dir, "/", name, ".key -out ", dir, "/", name,
      ".crt"));
}

// A leaf certificate `name` signed by CA `ca`, usable by servers and
// clients, valid for 127.0.0.1 and localhost.
absl::Status MakeLeaf(const std::string& dir, const std::string& ca,
                      const std::string& name) {
  const std::string ext = absl::StrCat(dir, "/", name, ".ext");
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                        "extendedKeyUsage=serverAuth,clientAuth\n";
  const std::string base = absl::StrCat(dir, "/", name);
  if (absl::Status s = Run(absl::StrCat(
          "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
          "-nodes -subj /CN=",
          name, " -keyout ", base, ".key -out ", base, ".csr"));
      !s.ok()) {
    return s;
  }
  return Run(absl::StrCat("openssl x509 -req -days 2 -in ", base,
                          ".csr -CA ", dir, "/", ca, ".crt -CAkey ", dir, "/",
                          ca, ".key -CAcreateserial -extfile ", ext, " -out ",
                          base, ".crt"));
}

}  // namespace

absl::StatusOr<TestCerts> MakeTestCerts(const std::string& dir) {
  if (absl::Status s = Run("mkdir -p " + dir); !s.ok()) return s;
  for (absl::Status s :
       {MakeCa(dir, "ca"), MakeLeaf(dir, "ca", "server"),
        MakeLeaf(dir, "ca", "client"), MakeCa(dir, "other-ca"),
        MakeLeaf(dir, "other-ca", "stranger")}) {
    if (!s.ok()) return s;
  }
  TestCerts certs;
  certs.ca_cert = dir + "/ca.crt";
  certs.server_cert = dir + "/server.crt";
  certs.server_key = dir + "/server.key";
  certs.client_cert = dir + "/client.crt";
  certs.client_key = dir + "/client.key";
  certs.stranger_cert = dir + "/stranger.crt";
  certs.stranger_key = dir + "/stranger.key";
  return certs;
}

absl::StatusOr<const TestCerts*> SharedTestCerts() {
  static const absl::StatusOr<TestCerts>* made = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    return new absl::StatusOr<TestCerts>(MakeTestCerts(
        std::string(tmp != nullptr ? tmp : "/tmp") + "/pki"));
  }();
  if (!made->ok()) return made->status();
  return &**made;
}

}  // namespace etcdpp::tests
