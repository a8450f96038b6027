// MvccStore: etcd's multi-version key-value store.
//
// Every change (put or delete) is kept under its Revision in an ordered map,
// and an Index says which change of each key is visible at each revision, so
// a read can be served at any revision not yet compacted. Requests and
// responses are etcd's own messages; the semantics are those of etcd's
// applier over its mvcc store (server/etcdserver/apply.go, mvcc/kvstore*.go):
//
//  - A fresh store is at revision 1; each write transaction that changes
//    something adds 1, and its changes are numbered by sub-revision.
//  - Range: a single key, [key, range_end), or all keys >= key (range_end
//    "\0"), at the newest or a historic revision; limit with `more`; count
//    (every visible key, ignoring limit and the revision filters, as etcd);
//    sort by key, version, create, mod or value; keys_only; count_only;
//    min/max mod and create revision filters. etcd's quirk is kept: with
//    sort_order NONE and a target other than KEY the result is sorted
//    ascending, but (without revision filters) only the first limit+1 keys
//    in key order are read before sorting, so the answer is not the `limit`
//    smallest by target.
//  - Compaction at r drops the changes no read at r or later can see; reads
//    below r fail with CompactedError.
//
// Header fields other than `revision` (cluster, member, raft term) belong to
// the server and are left unset. Leases are stored as plain numbers here:
// whether a lease exists is the applier's question (a later slice).
//
// Deterministic and single-threaded; not thread-safe.
#ifndef ETCDPP_KV_MVCC_STORE_H_
#define ETCDPP_KV_MVCC_STORE_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/index.h"
#include "kv/key_range.h"
#include "kv/revision.h"

namespace etcdpp::kv {

class WriteTxn;

// What one kept change adds to MvccStore::size_bytes() besides its key and
// value: etcd's quota estimate of a key's metadata (kvOverhead).
inline constexpr uint64_t kChangeOverheadBytes = 256;

// The answer to HashKV: etcd's KeyValueHash.
struct KeyValueHash {
  uint32_t hash = 0;
  // The store's compact revision when the hash was taken.
  int64_t compact_revision = 0;
  // The revision hashed up to (the current one when asked for 0).
  int64_t hash_revision = 0;

  friend bool operator==(const KeyValueHash&, const KeyValueHash&) = default;
};

class MvccStore {
 public:
  MvccStore() = default;
  MvccStore(const MvccStore&) = delete;
  MvccStore& operator=(const MvccStore&) = delete;

  // The revision of the newest write transaction (1 in a fresh store).
  int64_t current_revision() const { return current_revision_; }
  // The revision of the last compaction; -1 before any, as in etcd, so a
  // compaction at 0 is allowed once.
  int64_t compact_revision() const { return compact_revision_; }

  // Reads at the current revision, or at request.revision when > 0.
  // Validates the request first (empty key, sort options).
  absl::StatusOr<etcdserverpb::RangeResponse> Range(
      const etcdserverpb::RangeRequest& request) const;
  // Each write below is one transaction of its own. When `events` is given,
  // the changes made are appended to it as watch events.
  absl::StatusOr<etcdserverpb::PutResponse> Put(
      const etcdserverpb::PutRequest& request,
      std::vector<mvccpb::Event>* events = nullptr);
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> DeleteRange(
      const etcdserverpb::DeleteRangeRequest& request,
      std::vector<mvccpb::Event>* events = nullptr);
  // Fails with CompactedError when revision <= compact_revision() and with
  // FutureRevisionError when revision > current_revision().
  absl::StatusOr<etcdserverpb::CompactionResponse> Compact(
      const etcdserverpb::CompactionRequest& request);

  // etcd's HashKV (mvcc store.HashByRev): the CRC-32C of the bucket name
  // "key" followed by the backend key (AppendBucketKey) and the marshalled
  // KeyValue of every kept change with main revision <= `revision` (0: the
  // current revision), in revision order. A change at or below the compact
  // revision counts only if a compaction at `revision` would keep it, so
  // replicas that compacted at different points still agree. A tombstone's
  // value is the KeyValue holding only its key, as etcd stores it.
  //
  // Fails with CompactedError when 0 < revision <= compact_revision() and
  // FutureRevisionError when revision > current_revision(). Reads only.
  absl::StatusOr<KeyValueHash> HashKV(int64_t revision) const;

  // The kept changes of keys in `range` with main revision >= `revision`,
  // in revision order (watch replay reads them with FindChange).
  std::vector<Revision> ChangesSince(const KeyRange& range,
                                     int64_t revision) const {
    return index_.RangeSince(range, revision);
  }

  // The change stored at `rev`, or nullptr (never written, or compacted).
  // A delete is a KeyValue with only key and mod_revision set.
  const mvccpb::KeyValue* FindChange(Revision rev) const;
  size_t change_count() const { return changes_.size(); }
  // A deterministic estimate of the space the kept history takes: for each
  // kept change, kChangeOverheadBytes + key + value. The same on every
  // replica with the same history (the space quota is checked against it);
  // it shrinks when a compaction drops changes.
  uint64_t size_bytes() const { return size_bytes_; }
  // The first kept change after `after`, in revision order, or nullopt. A
  // snapshot walks the history with it, holding no iterator between calls;
  // the pointer is valid until the store changes.
  std::optional<std::pair<Revision, const mvccpb::KeyValue*>> NextChange(
      Revision after) const;

  // Rebuilding from a snapshot: a fresh store takes every kept change, in
  // revision order, then FinishRestore once. The input comes from outside
  // (a file, a peer), so each call checks that the change could have been
  // kept by a store and answers DataLoss, naming the revision, when not.
  absl::Status RestoreChange(Revision rev, mvccpb::KeyValue kv);
  absl::Status FinishRestore(int64_t current_revision,
                             int64_t compact_revision);
  size_t key_count() const { return index_.key_count(); }

  // Cheap structural checks plus the index's own (O(keys + changes)).
  void CheckInvariants() const;

 private:
  friend class WriteTxn;

  // etcd's Range over a read view whose newest revision is `current`.
  absl::StatusOr<etcdserverpb::RangeResponse> RangeAt(
      const etcdserverpb::RangeRequest& request, int64_t current) const;
  // The values of the visible changes `revisions`, in the same order.
  std::vector<mvccpb::KeyValue> ReadChanges(
      const std::vector<Revision>& revisions) const;

  Index index_;
  // Every change not compacted away, by revision.
  absl::btree_map<Revision, mvccpb::KeyValue> changes_;
  int64_t current_revision_ = 1;
  int64_t compact_revision_ = -1;
  // Sum of ChangeBytes over changes_.
  uint64_t size_bytes_ = 0;
  // At most one WriteTxn at a time; reads from outside wait for its End.
  bool write_open_ = false;
};

// One write transaction: every change it makes shares main revision
// begin_revision() + 1, ordered by sub-revision, and its reads see its own
// earlier changes (as etcd's storeTxnWrite). The store's revision advances in
// End(), and only if something changed. Requests are not validated here: the
// caller (MvccStore's one-shot writes, Txn) has validated them.
class WriteTxn {
 public:
  explicit WriteTxn(MvccStore* store);
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  ~WriteTxn();

  int64_t begin_revision() const { return begin_revision_; }
  // The revision reads inside this transaction see.
  int64_t read_revision() const;

  absl::StatusOr<etcdserverpb::RangeResponse> Range(
      const etcdserverpb::RangeRequest& request) const;
  // Fails with KeyNotFoundError for ignore_value/ignore_lease on a missing
  // key, changing nothing.
  absl::StatusOr<etcdserverpb::PutResponse> Put(
      const etcdserverpb::PutRequest& request);
  etcdserverpb::DeleteRangeResponse DeleteRange(
      const etcdserverpb::DeleteRangeRequest& request);

  // The changes so far, as watch events, in sub-revision order.
  const std::vector<mvccpb::Event>& events() const { return events_; }
  // Appends the changes to `out` (if not null); for use after End().
  void MoveEventsTo(std::vector<mvccpb::Event>* out);

  // Commits; returns the store's revision after this transaction.
  int64_t End();

 private:
  Revision NextRevision() const;
  void PutChange(const std::string& key, const std::string& value,
                 int64_t lease);
  void DeleteChange(const std::string& key);

  MvccStore* store_;
  int64_t begin_revision_;
  std::vector<mvccpb::Event> events_;
  bool ended_ = false;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_MVCC_STORE_H_
