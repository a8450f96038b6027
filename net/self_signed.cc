#include "net/self_signed.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/openssl_ptr.h"

namespace etcdpp::net {
namespace {

absl::Status Failed(const std::string& flag, const std::string& what) {
  return absl::InternalError(absl::StrCat("--", flag, ": ", what));
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

absl::Status MakeDirs(const std::string& dir, const std::string& flag) {
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/') continue;
    const std::string part = dir.substr(0, at);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      return Failed(flag, absl::StrCat("mkdir ", part, ": ",
                                       std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// Writes `data` to `path` (mode 0600) through a temporary file and a rename.
absl::Status WriteFile(const std::string& path, const std::string& data,
                       const std::string& flag) {
  const std::string temp = path + ".tmp";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0600);
  if (fd < 0) {
    return Failed(flag, absl::StrCat("open ", temp, ": ", std::strerror(errno)));
  }
  const bool ok =
      write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
      fsync(fd) == 0;
  const int err = errno;
  close(fd);
  if (!ok || rename(temp.c_str(), path.c_str()) != 0) {
    return Failed(flag, absl::StrCat("write ", path, ": ",
                                     std::strerror(ok ? errno : err)));
  }
  return absl::OkStatus();
}

std::string Pem(int (*write)(BIO*, void*), void* object) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (write(bio.get(), object) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

absl::StatusOr<TlsPaths> SelfSignedCert(const std::string& dir,
                                        const std::vector<std::string>& hosts,
                                        const std::string& flag) {
  TlsPaths paths{dir + "/cert.pem", dir + "/key.pem", "", ""};
  if (Exists(paths.cert_file) && Exists(paths.key_file)) return paths;
  if (absl::Status s = MakeDirs(dir, flag); !s.ok()) return s;

  Key key(EVP_EC_gen("P-256"));
  Cert cert(X509_new());
  if (key == nullptr || cert == nullptr) return Failed(flag, "out of memory");
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return Failed(flag, "no random bytes for a serial number");
  }
  serial[0] &= 0x7f;  // positive
  uint64_t number = 0;
  for (unsigned char b : serial) number = number << 8 | b;
  std::vector<std::string> names;
  for (const std::string& host : hosts) {
    in_addr ip;
    names.push_back(inet_pton(AF_INET, host.c_str(), &ip) == 1
                        ? "IP:" + host
                        : "DNS:" + host);
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const bool ok =
      X509_set_version(cert.get(), 2) == 1 &&
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), number) ==
          1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600) !=
          nullptr &&
      X509_set_pubkey(cert.get(), key.get()) == 1 &&
      X509_NAME_add_entry_by_txt(
          subject, "O", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>("etcd"), -1, -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), subject) == 1 &&
      (names.empty() || AddExtension(cert.get(), NID_subject_alt_name,
                                     absl::StrJoin(names, ","))) &&
      AddExtension(cert.get(), NID_key_usage,
                   "critical,digitalSignature,keyEncipherment") &&
      AddExtension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth") &&
      X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) return Failed(flag, "cannot make a self-signed certificate");

  const std::string key_pem = Pem(
      [](BIO* bio, void* k) {
        return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(k),
                                        nullptr, nullptr, 0, nullptr, nullptr);
      },
      key.get());
  const std::string cert_pem = Pem(
      [](BIO* bio, void* x) {
        return PEM_write_bio_X509(bio, static_cast<X509*>(x));
      },
      cert.get());
  if (key_pem.empty() || cert_pem.empty()) {
    return Failed(flag, "cannot encode the certificate");
  }
  // The key first: a cert without its key is made again next time.
  if (absl::Status s = WriteFile(paths.key_file, key_pem, flag); !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(paths.cert_file, cert_pem, flag); !s.ok()) {
    return s;
  }
  return paths;
}

}  // namespace etcdpp::net
