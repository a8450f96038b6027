// Txn: etcd's transaction, "if all(compare) then success else failure",
// applied atomically at one revision.
//
// Semantics are etcd 3.5's (server/etcdserver/apply.go, txn.go):
//  - Every compare -- the top level's and every nested txn's on the path
//    taken -- is evaluated against the store as it was before the txn, so a
//    nested txn never sees the writes of the ops before it.
//  - A compare over a range holds only if it holds for every key in it. On
//    no key at all, a VALUE compare fails and the others compare a zero
//    KeyValue (version, create, mod and lease all 0).
//  - All writes of the txn share one main revision, ordered by sub-revision;
//    a range op sees the writes of the ops before it. The response header's
//    revision is the store's revision after the txn; nested txn responses
//    carry an empty header, as etcd's do.
//  - Before anything is written, the requests on the path taken are checked
//    against the pre-txn store, every put first and then every range:
//    ignore_value/ignore_lease puts need an existing key (KeyNotFoundError);
//    a range with a revision other than 0 needs it neither above the current
//    revision nor below the compact revision (so, as in etcd, a negative
//    revision counts as compacted inside a txn). A failed check writes
//    nothing.
#ifndef ETCDPP_KV_TXN_H_
#define ETCDPP_KV_TXN_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/mvcc_store.h"
#include "kv/validate.h"

namespace etcdpp::kv {

struct TxnOptions {
  // etcd's --max-txn-ops.
  int64_t max_txn_ops = kDefaultMaxTxnOps;
};

// Whether a lease exists. A put on the path taken whose lease it denies
// fails the txn with "etcdserver: requested lease not found" before
// anything is written (etcd's checkRequestPut). Null: leases are not
// checked.
using LeaseExists = std::function<bool(int64_t)>;

// Validates `request` (ValidateTxnRequest) and applies it to `store`. The
// changes made are appended to `events` when it is not null.
absl::StatusOr<etcdserverpb::TxnResponse> Txn(
    MvccStore* store, const etcdserverpb::TxnRequest& request,
    const TxnOptions& options = {},
    std::vector<mvccpb::Event>* events = nullptr,
    const LeaseExists& lease_exists = nullptr);

// One compare against the store's current state.
bool EvaluateCompare(const MvccStore& store,
                     const etcdserverpb::Compare& compare);

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_TXN_H_
