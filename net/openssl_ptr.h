// Owning pointers to OpenSSL objects, freed with OpenSSL's own functions.
#ifndef ETCDPP_NET_OPENSSL_PTR_H_
#define ETCDPP_NET_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace etcdpp::net {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_OPENSSL_PTR_H_
