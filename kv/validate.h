// Request checks etcd makes before a request is proposed (etcd's
// api/v3rpc/key.go: checkRangeRequest, checkPutRequest, checkDeleteRequest,
// checkTxnRequest and checkIntervals), with etcd's errors.
//
// server/rpc calls them to refuse bad requests without a raft round trip; the
// store and the applier call them again, which is safe because they are pure
// functions of the request: every replica refuses the same entries.
#ifndef ETCDPP_KV_VALIDATE_H_
#define ETCDPP_KV_VALIDATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "api/etcdserverpb/rpc.pb.h"

namespace etcdpp::kv {

// etcd's default --max-txn-ops.
inline constexpr int64_t kDefaultMaxTxnOps = 128;

absl::Status ValidateRangeRequest(const etcdserverpb::RangeRequest& request);
absl::Status ValidatePutRequest(const etcdserverpb::PutRequest& request);
absl::Status ValidateDeleteRangeRequest(
    const etcdserverpb::DeleteRangeRequest& request);

// Checks the sizes (compares and each branch at most max_txn_ops, nested
// txns against what the outer level leaves), every op, and that no key is
// written twice in one branch: two puts of one key, or a put of a key that a
// delete of the same branch covers. Puts in the success and failure branches
// of one nested txn may share keys, since only one branch runs.
//
// One deliberate difference from etcd: etcd's interval tree sees a delete
// whose range_end is "\0" as an empty interval, so it accepts a txn that
// deletes every key from "a" on and then puts "b" -- and panics applying it
// when that put has ignore_value or ignore_lease. Here such a delete covers
// every key from its key on, so those txns are refused as duplicate keys and
// a validated txn never fails halfway.
absl::Status ValidateTxnRequest(const etcdserverpb::TxnRequest& request,
                                int64_t max_txn_ops = kDefaultMaxTxnOps);

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_VALIDATE_H_
