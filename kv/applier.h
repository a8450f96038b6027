// Applier: the replicated state machine. The node hands it each committed
// InternalRequest, in log order; it answers with the response and the watch
// events the request caused.
//
// Pure: the same state and the same request give the same result and the
// same new state on every replica -- no clock, randomness, I/O or hash-table
// order is involved. A request that fails changes nothing, and fails the
// same way on every replica, so the node just reports the status.
//
// This slice applies range, put, delete_range, txn and compaction. Leases,
// alarms and auth requests answer absl::UnimplementedError for now (later
// slices of issue 5); in particular put's lease is stored as given, without
// checking that the lease exists, and the header's auth fields are ignored.
// Not thread-safe.
#ifndef ETCDPP_KV_APPLIER_H_
#define ETCDPP_KV_APPLIER_H_

#include <vector>

#include "absl/status/status.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/mvcc_store.h"
#include "kv/request.pb.h"
#include "kv/txn.h"

namespace etcdpp::kv {

struct ApplierOptions {
  TxnOptions txn;
};

struct ApplyResult {
  // OK, or etcd's error (see kv/errors.h); on error `response` is empty.
  absl::Status status;
  kvpb::InternalResponse response;
  // The changes made, in revision order, for watchers.
  std::vector<mvccpb::Event> events;
};

class Applier {
 public:
  explicit Applier(ApplierOptions options = {});
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  ApplyResult Apply(const kvpb::InternalRequest& request);

  // Reads (serializable or after a ReadIndex) go to the store directly.
  const MvccStore& store() const { return store_; }

  void CheckInvariants() const { store_.CheckInvariants(); }

 private:
  // Rebuilds a fresh applier's state from a snapshot stream.
  friend class SnapshotReader;

  ApplyResult ApplyPut(const etcdserverpb::PutRequest& request);
  ApplyResult ApplyDeleteRange(const etcdserverpb::DeleteRangeRequest& request);
  ApplyResult ApplyTxn(const etcdserverpb::TxnRequest& request);
  ApplyResult ApplyCompaction(const etcdserverpb::CompactionRequest& request);
  ApplyResult ApplyRange(const etcdserverpb::RangeRequest& request) const;

  ApplierOptions options_;
  MvccStore store_;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_APPLIER_H_
