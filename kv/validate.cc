#include "kv/validate.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "kv/errors.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::RequestOp;

absl::Status ValidateTxnSizes(const etcdserverpb::TxnRequest& request,
                              int64_t max_txn_ops);

absl::Status ValidateRequestOp(const RequestOp& op, int64_t max_txn_ops) {
  switch (op.request_case()) {
    case RequestOp::kRequestRange:
      return ValidateRangeRequest(op.request_range());
    case RequestOp::kRequestPut:
      return ValidatePutRequest(op.request_put());
    case RequestOp::kRequestDeleteRange:
      return ValidateDeleteRangeRequest(op.request_delete_range());
    case RequestOp::kRequestTxn:
      return ValidateTxnSizes(op.request_txn(), max_txn_ops);
    case RequestOp::REQUEST_NOT_SET:
      break;
  }
  // etcd answers an empty op with "key not found".
  return KeyNotFoundError();
}

// etcd's checkTxnRequest: a nested txn may use only the ops its parent's
// largest list leaves.
absl::Status ValidateTxnSizes(const etcdserverpb::TxnRequest& request,
                              int64_t max_txn_ops) {
  const int64_t ops = std::max(
      {request.compare_size(), request.success_size(), request.failure_size()});
  if (ops > max_txn_ops) return TooManyOpsError();
  for (const etcdserverpb::Compare& compare : request.compare()) {
    if (compare.key().empty()) return EmptyKeyError();
  }
  for (const RequestOp& op : request.success()) {
    if (absl::Status s = ValidateRequestOp(op, max_txn_ops - ops); !s.ok()) {
      return s;
    }
  }
  for (const RequestOp& op : request.failure()) {
    if (absl::Status s = ValidateRequestOp(op, max_txn_ops - ops); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// The keys deleted by a branch: a point when range_end is empty, all keys >=
// key when it is "\0", otherwise [key, range_end) compared as strings (empty
// when range_end <= key).
struct Deletes {
  std::vector<std::pair<std::string, std::string>> intervals;
  absl::btree_set<std::string> points;

  // An empty end stands for range_end "\0": every key from begin on.
  bool Covers(const std::string& key) const {
    if (points.contains(key)) return true;
    for (const auto& [begin, end] : intervals) {
      if (begin <= key && (end.empty() || key < end)) return true;
    }
    return false;
  }
  void Add(const Deletes& other) {
    intervals.insert(intervals.end(), other.intervals.begin(),
                     other.intervals.end());
    points.insert(other.points.begin(), other.points.end());
  }
};

struct Writes {
  absl::btree_set<std::string> puts;
  Deletes deletes;
};

absl::Status CheckIntervals(
    const google::protobuf::RepeatedPtrField<RequestOp>& ops, Writes* out);

// Merges the puts of one nested txn (etcd's checkIntervals, middle loop).
absl::Status MergeNested(const etcdserverpb::TxnRequest& txn, Writes* out) {
  Writes then_writes, else_writes;
  if (absl::Status s = CheckIntervals(txn.success(), &then_writes); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckIntervals(txn.failure(), &else_writes); !s.ok()) {
    return s;
  }
  for (const std::string& key : then_writes.puts) {
    if (out->puts.contains(key) || out->deletes.Covers(key)) {
      return DuplicateKeyError();
    }
    out->puts.insert(key);
  }
  for (const std::string& key : else_writes.puts) {
    // Sharing a key with the same txn's success branch is safe: only one of
    // the two runs.
    if (out->puts.contains(key) && !then_writes.puts.contains(key)) {
      return DuplicateKeyError();
    }
    if (out->deletes.Covers(key)) return DuplicateKeyError();
    out->puts.insert(key);
  }
  out->deletes.Add(then_writes.deletes);
  out->deletes.Add(else_writes.deletes);
  return absl::OkStatus();
}

absl::Status CheckIntervals(
    const google::protobuf::RepeatedPtrField<RequestOp>& ops, Writes* out) {
  // This level's deletes first, so puts in nested txns are checked against
  // them whatever the order of the ops.
  for (const RequestOp& op : ops) {
    if (!op.has_request_delete_range()) continue;
    const auto& del = op.request_delete_range();
    if (del.range_end().empty()) {
      out->deletes.points.insert(del.key());
    } else if (del.range_end() == std::string(1, '\0')) {
      out->deletes.intervals.emplace_back(del.key(), std::string());
    } else {
      out->deletes.intervals.emplace_back(del.key(), del.range_end());
    }
  }
  for (const RequestOp& op : ops) {
    if (!op.has_request_txn()) continue;
    if (absl::Status s = MergeNested(op.request_txn(), out); !s.ok()) return s;
  }
  for (const RequestOp& op : ops) {
    if (!op.has_request_put()) continue;
    const std::string& key = op.request_put().key();
    if (out->puts.contains(key) || out->deletes.Covers(key)) {
      return DuplicateKeyError();
    }
    out->puts.insert(key);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRangeRequest(const etcdserverpb::RangeRequest& request) {
  if (request.key().empty()) return EmptyKeyError();
  if (!etcdserverpb::RangeRequest::SortOrder_IsValid(request.sort_order()) ||
      !etcdserverpb::RangeRequest::SortTarget_IsValid(request.sort_target())) {
    return InvalidSortOptionError();
  }
  return absl::OkStatus();
}

absl::Status ValidatePutRequest(const etcdserverpb::PutRequest& request) {
  if (request.key().empty()) return EmptyKeyError();
  if (request.ignore_value() && !request.value().empty()) {
    return ValueProvidedError();
  }
  if (request.ignore_lease() && request.lease() != 0) {
    return LeaseProvidedError();
  }
  return absl::OkStatus();
}

absl::Status ValidateDeleteRangeRequest(
    const etcdserverpb::DeleteRangeRequest& request) {
  if (request.key().empty()) return EmptyKeyError();
  return absl::OkStatus();
}

absl::Status ValidateTxnRequest(const etcdserverpb::TxnRequest& request,
                                int64_t max_txn_ops) {
  if (absl::Status s = ValidateTxnSizes(request, max_txn_ops); !s.ok()) {
    return s;
  }
  // After the size checks, so a huge request cannot make this quadratic.
  Writes success, failure;
  if (absl::Status s = CheckIntervals(request.success(), &success); !s.ok()) {
    return s;
  }
  return CheckIntervals(request.failure(), &failure);
}

}  // namespace etcdpp::kv
