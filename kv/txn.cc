#include "kv/txn.h"

#include <string>
#include <utility>

#include "base/check.h"
#include "kv/errors.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using mvccpb::KeyValue;

template <typename T>
int ThreeWay(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// etcd's compareKV. A target_union holding another field than the target
// reads as 0 / empty, which proto3's accessors already give.
bool CompareKv(const Compare& c, const KeyValue& kv) {
  int result = 0;
  switch (c.target()) {
    case Compare::VALUE:
      result = ThreeWay(kv.value(), c.value());
      break;
    case Compare::CREATE:
      result = ThreeWay(kv.create_revision(), c.create_revision());
      break;
    case Compare::MOD:
      result = ThreeWay(kv.mod_revision(), c.mod_revision());
      break;
    case Compare::VERSION:
      result = ThreeWay(kv.version(), c.version());
      break;
    case Compare::LEASE:
      result = ThreeWay(kv.lease(), c.lease());
      break;
    default:
      break;
  }
  switch (c.result()) {
    case Compare::EQUAL:
      return result == 0;
    case Compare::NOT_EQUAL:
      return result != 0;
    case Compare::GREATER:
      return result > 0;
    case Compare::LESS:
      return result < 0;
    default:
      return true;  // etcd lets an unknown result pass
  }
}

const google::protobuf::RepeatedPtrField<RequestOp>& Branch(
    const TxnRequest& txn, bool succeeded) {
  return succeeded ? txn.success() : txn.failure();
}

// etcd's compareToPath: the outcome of every txn on the path taken, in
// pre-order, all decided against the pre-txn store.
void ComparePath(const MvccStore& store, const TxnRequest& txn,
                 std::vector<bool>* path) {
  bool succeeded = true;
  for (const Compare& c : txn.compare()) {
    if (!EvaluateCompare(store, c)) {
      succeeded = false;
      break;
    }
  }
  path->push_back(succeeded);
  for (const RequestOp& op : Branch(txn, succeeded)) {
    if (op.has_request_txn()) ComparePath(store, op.request_txn(), path);
  }
}

absl::Status CheckPut(const MvccStore& store,
                      const etcdserverpb::PutRequest& put,
                      const LeaseExists& lease_exists) {
  if (put.lease() != 0 && lease_exists && !lease_exists(put.lease())) {
    return absl::NotFoundError("etcdserver: requested lease not found");
  }
  if (!put.ignore_value() && !put.ignore_lease()) return absl::OkStatus();
  etcdserverpb::RangeRequest get;
  get.set_key(put.key());
  get.set_count_only(true);
  absl::StatusOr<etcdserverpb::RangeResponse> found = store.Range(get);
  if (!found.ok()) return found.status();
  return found->count() == 0 ? KeyNotFoundError() : absl::OkStatus();
}

absl::Status CheckRange(const MvccStore& store,
                        const etcdserverpb::RangeRequest& range) {
  if (range.revision() == 0) return absl::OkStatus();
  if (range.revision() > store.current_revision()) {
    return FutureRevisionError();
  }
  if (range.revision() < store.compact_revision()) return CompactedError();
  return absl::OkStatus();
}

// etcd's checkRequests: one check over the ops on the path taken, before
// any write.
template <typename Check>
absl::Status CheckPath(const TxnRequest& txn, const std::vector<bool>& path,
                       size_t* at, const Check& check) {
  const bool succeeded = path[(*at)++];
  for (const RequestOp& op : Branch(txn, succeeded)) {
    absl::Status s = op.has_request_txn()
                         ? CheckPath(op.request_txn(), path, at, check)
                         : check(op);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// etcd checks every put on the path first, then every range, so a put's
// error wins over an earlier range's.
absl::Status CheckRequests(const MvccStore& store, const TxnRequest& txn,
                           const std::vector<bool>& path,
                           const LeaseExists& lease_exists) {
  size_t at = 0;
  absl::Status s = CheckPath(txn, path, &at, [&](const RequestOp& op) {
    return op.has_request_put()
               ? CheckPut(store, op.request_put(), lease_exists)
                                : absl::OkStatus();
  });
  if (!s.ok()) return s;
  CHECK_EQ(at, path.size()) << "the checks walk the whole path";
  at = 0;
  return CheckPath(txn, path, &at, [&](const RequestOp& op) {
    return op.has_request_range() ? CheckRange(store, op.request_range())
                                  : absl::OkStatus();
  });
}

void ApplyPath(WriteTxn* write, const TxnRequest& txn,
               const std::vector<bool>& path, size_t* at,
               etcdserverpb::TxnResponse* response) {
  const bool succeeded = path[(*at)++];
  response->set_succeeded(succeeded);
  response->mutable_header();  // etcd's nested responses carry {} headers
  for (const RequestOp& op : Branch(txn, succeeded)) {
    etcdserverpb::ResponseOp* out = response->add_responses();
    switch (op.request_case()) {
      case RequestOp::kRequestRange: {
        auto range = write->Range(op.request_range());
        CHECK(range.ok()) << "checked txn ranges succeed: " << range.status();
        *out->mutable_response_range() = *std::move(range);
        break;
      }
      case RequestOp::kRequestPut: {
        auto put = write->Put(op.request_put());
        CHECK(put.ok()) << "checked txn puts succeed: " << put.status();
        *out->mutable_response_put() = *std::move(put);
        break;
      }
      case RequestOp::kRequestDeleteRange:
        *out->mutable_response_delete_range() =
            write->DeleteRange(op.request_delete_range());
        break;
      case RequestOp::kRequestTxn:
        ApplyPath(write, op.request_txn(), path, at,
                  out->mutable_response_txn());
        break;
      case RequestOp::REQUEST_NOT_SET:
        CHECK(false) << "validated txns have no empty ops";
    }
  }
}

}  // namespace

bool EvaluateCompare(const MvccStore& store, const Compare& compare) {
  etcdserverpb::RangeRequest range;
  range.set_key(compare.key());
  range.set_range_end(compare.range_end());
  absl::StatusOr<etcdserverpb::RangeResponse> found = store.Range(range);
  if (!found.ok()) return false;
  if (found->kvs().empty()) {
    // A missing key has no value to compare: nil and "" look the same on the
    // wire, so etcd fails every VALUE compare on one.
    if (compare.target() == Compare::VALUE) return false;
    return CompareKv(compare, KeyValue());
  }
  for (const KeyValue& kv : found->kvs()) {
    if (!CompareKv(compare, kv)) return false;
  }
  return true;
}

absl::StatusOr<etcdserverpb::TxnResponse> Txn(
    MvccStore* store, const TxnRequest& request, const TxnOptions& options,
    std::vector<mvccpb::Event>* events, const LeaseExists& lease_exists) {
  if (absl::Status s = ValidateTxnRequest(request, options.max_txn_ops);
      !s.ok()) {
    return s;
  }
  std::vector<bool> path;
  ComparePath(*store, request, &path);
  if (absl::Status s = CheckRequests(*store, request, path, lease_exists);
      !s.ok()) {
    return s;
  }

  etcdserverpb::TxnResponse response;
  WriteTxn write(store);
  size_t at = 0;
  ApplyPath(&write, request, path, &at, &response);
  response.mutable_header()->set_revision(write.End());
  write.MoveEventsTo(events);
  return response;
}

}  // namespace etcdpp::kv
