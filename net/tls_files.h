// TLS key material read from the files an operator names in flags, checked
// with OpenSSL before anything is served, so that a wrong path, a file that
// is not PEM, or a key that does not belong to its certificate is one clear
// line naming the flag, never an opaque handshake failure later.
#ifndef ETCDPP_NET_TLS_FILES_H_
#define ETCDPP_NET_TLS_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace etcdpp::net {

struct TlsPaths {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;  // may be empty
  // Prefix of the flag names in error messages: "" for --cert-file,
  // "peer-" for --peer-cert-file.
  std::string flag_prefix;
};

struct TlsFiles {
  std::string cert_chain_pem;
  std::string private_key_pem;
  std::string trusted_ca_pem;  // empty when no CA file was named
};

// Reads and checks the files: the cert file holds at least one
// certificate, the key file a private key matching the first certificate,
// and the CA file (when named) at least one certificate. Errors are
// InvalidArgument naming the flag and the path.
absl::StatusOr<TlsFiles> LoadTlsFiles(const TlsPaths& paths);

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_TLS_FILES_H_
