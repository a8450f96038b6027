// ReferenceModel: a naive model of etcd's KV semantics (range, put,
// delete_range, txn, compaction), for tests and fuzzers to compare the
// Applier with.
//
// It is written from etcd's documented behaviour, not from our code: it
// keeps the whole history as a flat list of changes and answers every
// question by scanning it, keeps no index and no generations, and never
// forgets history on compaction (it only refuses reads below the compact
// revision), so a comparison checks that compaction keeps every later read
// intact. Leases, auth and alarms are outside it: a put's lease is stored
// as given (callers grant the leases they name), and Handles() tells which
// requests it models.
#ifndef ETCDPP_KV_REFERENCE_MODEL_H_
#define ETCDPP_KV_REFERENCE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/request.pb.h"

namespace etcdpp::kv {

struct ModelOutcome {
  absl::Status status;
  kvpb::InternalResponse response;
  std::vector<mvccpb::Event> events;
};

class ReferenceModel {
 public:
  explicit ReferenceModel(int64_t max_txn_ops) : max_txn_ops_(max_txn_ops) {}

  // Whether the model answers this kind of request.
  static bool Handles(const kvpb::InternalRequest& request) {
    return request.has_range() || request.has_put() ||
           request.has_delete_range() || request.has_txn() ||
           request.has_compaction();
  }

  // Applies one request Handles() accepts, as the Applier would.
  ModelOutcome Apply(const kvpb::InternalRequest& request);

 private:
  struct Change {
    int64_t main;
    std::string key;
    bool deleted;
    std::string value;
    int64_t lease;
  };

  // The key as of main revision `rev`, scanning the whole history.
  std::optional<mvccpb::KeyValue> Get(const std::string& key,
                                      int64_t rev) const;
  std::vector<mvccpb::KeyValue> Live(const std::string& key,
                                     const std::string& end, int64_t rev) const;
  // The revision a read inside the open write sees.
  int64_t ReadRev() const { return pending_ ? current_ + 1 : current_; }

  absl::StatusOr<etcdserverpb::RangeResponse> Range(
      const etcdserverpb::RangeRequest& r, int64_t cur) const;
  absl::StatusOr<etcdserverpb::PutResponse> Put(
      const etcdserverpb::PutRequest& r);
  etcdserverpb::DeleteRangeResponse Delete(
      const etcdserverpb::DeleteRangeRequest& r);
  absl::Status CheckTxn(const etcdserverpb::TxnRequest& t) const;
  etcdserverpb::TxnResponse RunTxn(const etcdserverpb::TxnRequest& t);
  bool Holds(const etcdserverpb::Compare& c) const;
  void Record(Change change);
  void Commit() {
    if (pending_) ++current_;
    pending_ = false;
  }

  const int64_t max_txn_ops_;
  std::vector<Change> history_;
  std::vector<mvccpb::Event> events_;
  int64_t current_ = 1;
  int64_t compact_ = -1;
  bool pending_ = false;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_REFERENCE_MODEL_H_
