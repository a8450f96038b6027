// DiscoverClusterId: how a member joining a running cluster
// (--initial-cluster-state=existing) learns the cluster id it must present
// in every handshake, as etcd's joining member learns the cluster from its
// peers. Blocking; used once at start, before the event loop runs.
#ifndef ETCDPP_SERVER_PEER_DISCOVER_H_
#define ETCDPP_SERVER_PEER_DISCOVER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace etcdpp::peer {

// Connects to the member `peer_id` at host:port, sends a hello with cluster
// id 0 from `self`, and returns the cluster id of the acknowledgement.
// Unavailable if the peer cannot be reached or does not answer within
// timeout_ms; FailedPrecondition if it refuses.
absl::StatusOr<uint64_t> DiscoverClusterId(const std::string& host,
                                           uint16_t port, uint64_t self,
                                           uint64_t peer_id, int timeout_ms);

}  // namespace etcdpp::peer

#endif  // ETCDPP_SERVER_PEER_DISCOVER_H_
