// The pieces of etcd's clientv3/concurrency recipes (session, key.go) that
// the Lock and Election services share, over a SelfSession: etcd's words
// for their errors, key naming and the wait for earlier keys to go.
#ifndef ETCDPP_SERVER_RPC_CONCURRENCY_H_
#define ETCDPP_SERVER_RPC_CONCURRENCY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/etcdserverpb/rpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/rpc/self_client.h"

namespace etcdpp::rpc::concurrency {

// concurrency.NewSession's TTL for a lease it grants itself.
inline constexpr int64_t kDefaultSessionTtlSeconds = 60;

// etcd's words. The recipes' own errors are plain Go errors in etcd, which
// gRPC sends as UNKNOWN.
grpc::Status ElectionNotLeaderError();  // "election: not leader"
grpc::Status ElectionNoLeaderError();   // "election: no leader"
grpc::Status MissingLeaderKeyError();   // "\"leader\" field must be provided"
grpc::Status SessionExpiredError();     // "mutex: session is expired"

// `prefix` followed by `lease` as Go's "%x" prints an int64: the key a
// mutex or a campaign holds.
std::string LeaseKey(const std::string& prefix, int64_t lease);
// The range_end that makes a range of every key starting with `prefix`
// (clientv3.GetPrefixRangeEnd).
std::string PrefixEnd(const std::string& prefix);
// clientv3's Get(prefix, WithFirstCreate()): the key under `prefix` that
// was created first.
etcdserverpb::RangeRequest FirstCreate(const std::string& prefix);

// An election or mutex key compared to its create revision: 0 asks that
// the key does not exist.
etcdserverpb::Compare CreateRevisionIs(const std::string& key,
                                       int64_t revision);

using LeaseFn = std::function<void(grpc::Status, int64_t lease)>;
// concurrency.NewSession(WithLease(lease)): lease 0 grants a new lease of
// kDefaultSessionTtlSeconds, as etcd's session does; any other lease is
// used as given. etcd's session also starts keeping the lease alive and
// orphans it at once (the server never keeps a lease alive); that
// keepalive is skipped.
void SessionLease(const std::shared_ptr<SelfSession>& session, int64_t lease,
                  LeaseFn done);

using StatusFn = std::function<void(grpc::Status)>;
// etcd's waitDeletes: returns once no key under `prefix` has a create
// revision of at most `max_create_revision`. Looks up the last such key,
// watches it from the look-up's revision until it is deleted, and again.
void WaitDeletes(std::shared_ptr<SelfSession> session, std::string prefix,
                 int64_t max_create_revision, StatusFn done);

}  // namespace etcdpp::rpc::concurrency

#endif  // ETCDPP_SERVER_RPC_CONCURRENCY_H_
