// Discover: how a member joining a running cluster
// (--initial-cluster-state=existing) learns the cluster id it must present
// in every handshake and the cluster's member list, as etcd's joining
// member fetches the cluster from its peers. Blocking; used once at start,
// before the event loop runs.
#ifndef ETCDPP_SERVER_PEER_DISCOVER_H_
#define ETCDPP_SERVER_PEER_DISCOVER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "net/tls.h"

namespace etcdpp::peer {

struct Discovery {
  uint64_t cluster_id = 0;
  // The peer's member list as its TransportCallbacks::member_list gave it
  // (empty if it sends none).
  std::string members;
};

// Connects to the member `peer_id` at host:port, sends a hello with cluster
// id 0 from `self`, and returns the acknowledgement's cluster id and the
// member list after it. Unavailable if the peer cannot be reached or does
// not answer within timeout_ms; FailedPrecondition if it refuses. With
// `tls` (peer TLS), the exchange runs over TLS and the peer's certificate
// must name `host`.
absl::StatusOr<Discovery> Discover(const std::string& host, uint16_t port,
                                   uint64_t self, uint64_t peer_id,
                                   int timeout_ms,
                                   std::shared_ptr<net::TlsContext> tls);

}  // namespace etcdpp::peer

#endif  // ETCDPP_SERVER_PEER_DISCOVER_H_
