// etcd's --auto-tls and --peer-auto-tls: a self-signed certificate for the
// hosts a member listens on, made once and kept in a directory of the data
// dir (etcd keeps them under <data-dir>/fixtures/{client,peer}), so a
// restart presents the same one. Encryption without authentication: the
// other side cannot verify it (etcdctl --insecure-skip-tls-verify; peers
// with --peer-auto-tls skip verification).
#ifndef ETCDPP_NET_SELF_SIGNED_H_
#define ETCDPP_NET_SELF_SIGNED_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "net/tls_files.h"

namespace etcdpp::net {

// The paths of cert.pem and key.pem in `dir`, made (with the directory)
// when either is missing: an ECDSA P-256 key and a certificate valid for a
// year naming `hosts` (IPv4 literals as IP addresses, anything else as DNS
// names). `flag` names the flag in errors ("auto-tls").
absl::StatusOr<TlsPaths> SelfSignedCert(const std::string& dir,
                                        const std::vector<std::string>& hosts,
                                        const std::string& flag);

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_SELF_SIGNED_H_
