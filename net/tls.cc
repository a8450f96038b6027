#include "net/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"

namespace etcdpp::net {
namespace {

// OpenSSL's queued reasons for the last failure on this thread, joined, and
// cleared so they never leak into an unrelated later error.
std::string DrainErrors() {
  std::string reasons;
  while (unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof(buffer));
    if (!reasons.empty()) reasons += "; ";
    reasons += buffer;
  }
  return reasons;
}

absl::Status LoadCertificates(SSL_CTX* ctx, const TlsFiles& files) {
  BIO* bio = BIO_new_mem_buf(files.cert_chain_pem.data(),
                             static_cast<int>(files.cert_chain_pem.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  // The rest of the file is the chain up to the CA.
  while (ok) {
    X509* link = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (link == nullptr) break;
    if (SSL_CTX_add_extra_chain_cert(ctx, link) != 1) {  // takes ownership
      X509_free(link);
      ok = false;
    }
  }
  BIO_free(bio);
  ERR_clear_error();  // the end of the chain reads as an error
  if (!ok) return absl::InvalidArgumentError("bad certificate chain");

  bio = BIO_new_mem_buf(files.private_key_pem.data(),
                        static_cast<int>(files.private_key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
       SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad private key: ", DrainErrors()));
  }

  if (files.trusted_ca_pem.empty()) {
    SSL_CTX_set_default_verify_paths(ctx);
    return absl::OkStatus();
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  bio = BIO_new_mem_buf(files.trusted_ca_pem.data(),
                        static_cast<int>(files.trusted_ca_pem.size()));
  int added = 0;
  while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, ca) == 1) ++added;
    X509_free(ca);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (added == 0) return absl::InvalidArgumentError("no CA certificate");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(
    const TlsFiles& files, bool verify_clients, bool verify_servers) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  std::shared_ptr<TlsContext> context(new TlsContext(ctx));
  context->verify_servers_ = verify_servers;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (absl::Status s = LoadCertificates(ctx, files); !s.ok()) return s;
  // Servers verify clients only when asked; clients always verify servers
  // (set per session in Client()).
  SSL_CTX_set_verify(ctx,
                     verify_clients
                         ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                         : SSL_VERIFY_NONE,
                     nullptr);
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Make(
    std::shared_ptr<TlsContext> context) {
  SSL* ssl = SSL_new(context->get());
  if (ssl == nullptr) return absl::InternalError("SSL_new failed");
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);  // the session owns both
  return std::unique_ptr<TlsSession>(new TlsSession(std::move(context), ssl));
}

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Client(
    std::shared_ptr<TlsContext> context, const std::string& expected_host) {
  absl::StatusOr<std::unique_ptr<TlsSession>> session =
      Make(std::move(context));
  if (!session.ok()) return session;
  SSL* ssl = (*session)->ssl_;
  SSL_set_connect_state(ssl);
  if ((*session)->context_->verify_servers()) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    in_addr ip;
    const bool is_ip = inet_pton(AF_INET, expected_host.c_str(), &ip) == 1;
    const int named =
        is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, expected_host.c_str())
              : X509_VERIFY_PARAM_set1_host(param, expected_host.c_str(), 0);
    if (named != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot verify TLS peers as ", expected_host));
    }
    if (!is_ip) SSL_set_tlsext_host_name(ssl, expected_host.c_str());
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  }
  if (absl::Status s = (*session)->Progress(); !s.ok()) return s;
  return session;
}

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Server(
    std::shared_ptr<TlsContext> context) {
  absl::StatusOr<std::unique_ptr<TlsSession>> session =
      Make(std::move(context));
  if (!session.ok()) return session;
  SSL_set_accept_state((*session)->ssl_);
  return session;
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

absl::Status TlsSession::Failed(int rc, const char* what) {
  const int error = SSL_get_error(ssl_, rc);
  std::string why = DrainErrors();
  if (const long verify = SSL_get_verify_result(ssl_);
      verify != X509_V_OK && SSL_get_verify_mode(ssl_) != SSL_VERIFY_NONE) {
    why = absl::StrCat("certificate verify failed: ",
                       X509_verify_cert_error_string(verify));
  } else if (why.empty()) {
    why = error == SSL_ERROR_ZERO_RETURN ? "closed by the peer"
                                         : absl::StrCat("error ", error);
  }
  return absl::UnavailableError(absl::StrCat("TLS ", what, ": ", why));
}

absl::Status TlsSession::Progress() {
  if (!handshake_done_) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        return absl::OkStatus();
      }
      return Failed(rc, "handshake");
    }
    handshake_done_ = true;
  }
  if (held_.empty()) return absl::OkStatus();
  std::string held = std::move(held_);
  held_.clear();
  return Send(held);
}

absl::Status TlsSession::Receive(std::string_view ciphertext,
                                 std::string* plaintext) {
  if (!ciphertext.empty() &&
      BIO_write(SSL_get_rbio(ssl_), ciphertext.data(),
                static_cast<int>(ciphertext.size())) !=
          static_cast<int>(ciphertext.size())) {
    return absl::InternalError("TLS: cannot buffer received bytes");
  }
  if (absl::Status s = Progress(); !s.ok() || !handshake_done_) return s;
  char buffer[16 * 1024];
  for (;;) {
    const int n = SSL_read(ssl_, buffer, sizeof(buffer));
    if (n > 0) {
      plaintext->append(buffer, static_cast<size_t>(n));
      continue;
    }
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      return absl::OkStatus();
    }
    return Failed(n, "read");
  }
}

absl::Status TlsSession::Send(std::string_view plaintext) {
  if (!handshake_done_) {
    held_.append(plaintext);
    return absl::OkStatus();
  }
  while (!plaintext.empty()) {
    // Memory BIOs grow as needed, so a write takes all it is given.
    const int n = SSL_write(ssl_, plaintext.data(),
                            static_cast<int>(std::min<size_t>(
                                plaintext.size(), 1 << 30)));
    if (n <= 0) return Failed(n, "write");
    plaintext.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void TlsSession::TakeOutput(std::string* out) {
  BIO* bio = SSL_get_wbio(ssl_);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  if (n <= 0) return;
  out->append(data, static_cast<size_t>(n));
  (void)BIO_reset(bio);
}

}  // namespace etcdpp::net
