#include "net/tls_files.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "net/openssl_ptr.h"

namespace etcdpp::net {
namespace {

absl::Status Bad(const std::string& flag, const std::string& path,
                 const std::string& why) {
  // OpenSSL queues its reasons per thread; they add nothing to ours.
  ERR_clear_error();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " ", path, ": ", why));
}

absl::StatusOr<std::string> ReadWhole(const std::string& flag,
                                      const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad(flag, path, std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Bad(flag, path, "read failed");
  return out.str();
}

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM text, or null.
Cert FirstCertificate(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

absl::StatusOr<TlsFiles> LoadTlsFiles(const TlsPaths& paths) {
  const std::string cert_flag = paths.flag_prefix + "cert-file";
  const std::string key_flag = paths.flag_prefix + "key-file";
  const std::string ca_flag = paths.flag_prefix + "trusted-ca-file";
  TlsFiles files;

  absl::StatusOr<std::string> cert = ReadWhole(cert_flag, paths.cert_file);
  if (!cert.ok()) return cert.status();
  files.cert_chain_pem = *std::move(cert);
  Cert leaf = FirstCertificate(files.cert_chain_pem);
  if (leaf == nullptr) {
    return Bad(cert_flag, paths.cert_file, "holds no PEM certificate");
  }

  absl::StatusOr<std::string> key = ReadWhole(key_flag, paths.key_file);
  if (!key.ok()) return key.status();
  files.private_key_pem = *std::move(key);
  Bio key_bio = MemoryBio(files.private_key_pem);
  // A null passphrase callback with no user data: an encrypted key fails
  // here instead of prompting on the terminal.
  Key private_key(PEM_read_bio_PrivateKey(
      key_bio.get(), nullptr, [](char*, int, int, void*) { return 0; },
      nullptr));
  if (private_key == nullptr) {
    return Bad(key_flag, paths.key_file,
               "holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(leaf.get(), private_key.get()) != 1) {
    return Bad(key_flag, paths.key_file,
               absl::StrCat("does not match the certificate in --", cert_flag,
                            " ", paths.cert_file));
  }

  if (!paths.trusted_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadWhole(ca_flag, paths.trusted_ca_file);
    if (!ca.ok()) return ca.status();
    files.trusted_ca_pem = *std::move(ca);
    if (FirstCertificate(files.trusted_ca_pem) == nullptr) {
      return Bad(ca_flag, paths.trusted_ca_file, "holds no PEM certificate");
    }
  }
  return files;
}

}  // namespace etcdpp::net
