// Member and cluster ids, derived exactly as etcd derives them, so the same
// flags give the same ids as etcd would print.
//
//   member id  = first 8 bytes (big-endian) of
//                sha1(sorted peer URLs joined ‖ cluster token [‖ unix time])
//   cluster id = first 8 bytes (big-endian) of
//                sha1(sorted member ids, 8 bytes big-endian each)
//
// A member added to a running cluster mixes in the time (etcd does the same)
// so that a re-added member never reuses an old id.
#ifndef ETCDPP_SERVER_CONFIG_IDS_H_
#define ETCDPP_SERVER_CONFIG_IDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace etcdpp::config {

uint64_t ComputeMemberId(std::vector<std::string> peer_urls,
                         const std::string& cluster_token,
                         std::optional<int64_t> unix_seconds = std::nullopt);

uint64_t ComputeClusterId(std::vector<uint64_t> member_ids);

}  // namespace etcdpp::config

#endif  // ETCDPP_SERVER_CONFIG_IDS_H_
