// TLS as a transform between plaintext and ciphertext buffers (OpenSSL with
// memory BIOs), so that TcpConnection keeps its own non-blocking socket
// code and only passes bytes through a session, and a blocking caller can
// drive the same session over a plain socket.
//
// A TlsContext holds one side's key pair and the CA that verifies the other
// side; the same context serves accepted connections and dials out, as a
// member's peer certificate does in etcd. Threading: a context may be shared
// across threads; a session belongs to one thread.
#ifndef ETCDPP_NET_TLS_H_
#define ETCDPP_NET_TLS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/tls_files.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace etcdpp::net {

class TlsContext {
 public:
  // files.trusted_ca_pem verifies the other side's certificate (empty: the
  // system's default roots). verify_clients: accepted connections must
  // present a certificate that CA signed (etcd's --peer-client-cert-auth).
  // verify_servers false: dialed servers are not verified at all (etcd's
  // --peer-auto-tls, whose self-signed certificates nobody can verify).
  static absl::StatusOr<std::shared_ptr<TlsContext>> Create(
      const TlsFiles& files, bool verify_clients, bool verify_servers = true);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool verify_servers() const { return verify_servers_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  bool verify_servers_ = true;
};

class TlsSession {
 public:
  // Dials out: the server's certificate must name `expected_host` (an IPv4
  // address or a DNS name).
  static absl::StatusOr<std::unique_ptr<TlsSession>> Client(
      std::shared_ptr<TlsContext> context, const std::string& expected_host);
  // Accepted a connection.
  static absl::StatusOr<std::unique_ptr<TlsSession>> Server(
      std::shared_ptr<TlsContext> context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext that arrived from the other side; the plaintext it yields is
  // appended to *plaintext. An error (a failed handshake, a certificate the
  // CA did not sign, a corrupt record) ends the session: Unavailable with
  // OpenSSL's reason.
  absl::Status Receive(std::string_view ciphertext, std::string* plaintext);
  // Plaintext to send; held until the handshake is done.
  absl::Status Send(std::string_view plaintext);
  // Moves the ciphertext ready for the socket (handshake records included)
  // to the end of *out.
  void TakeOutput(std::string* out);

  bool handshake_done() const { return handshake_done_; }
  // Plaintext given to Send and not yet encrypted (waiting for the
  // handshake).
  size_t held_bytes() const { return held_.size(); }

 private:
  TlsSession(std::shared_ptr<TlsContext> context, SSL* ssl)
      : context_(std::move(context)), ssl_(ssl) {}
  static absl::StatusOr<std::unique_ptr<TlsSession>> Make(
      std::shared_ptr<TlsContext> context);
  // Advances the handshake; once done, encrypts what Send held.
  absl::Status Progress();
  absl::Status Failed(int rc, const char* what);

  std::shared_ptr<TlsContext> context_;
  SSL* ssl_;
  bool handshake_done_ = false;
  std::string held_;
};

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_TLS_H_
