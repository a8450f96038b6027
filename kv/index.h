// Index: every key's KeyIndex, in key order.
//
// The index answers "which change of which key is visible at revision r"
// without touching values; the store keeps the values by revision. Keys are
// in an absl::btree_map so every range is produced in key order, which is the
// order etcd returns and the order hashes and snapshots iterate.
// Mirrors etcd's treeIndex (server/storage/mvcc/index.go). Not thread-safe.
#ifndef ETCDPP_KV_INDEX_H_
#define ETCDPP_KV_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "kv/key_index.h"
#include "kv/key_range.h"
#include "kv/revision.h"

namespace etcdpp::kv {

class Index {
 public:
  // One key visible at the revision asked for.
  struct Entry {
    std::string_view key;  // valid until the index changes
    KeyAt at;
  };
  struct RevisionsResult {
    std::vector<Revision> revisions;  // in key order, at most `limit`
    int64_t total = 0;                // every visible key, ignoring limit
  };

  std::optional<KeyAt> Get(std::string_view key, int64_t at_rev) const;
  // The keys of `range` visible at `at_rev`, in key order.
  std::vector<Entry> Range(const KeyRange& range, int64_t at_rev) const;
  // The visible changes of `range` at `at_rev`; limit <= 0 means no limit.
  RevisionsResult Revisions(const KeyRange& range, int64_t at_rev,
                            int64_t limit) const;
  int64_t CountRevisions(const KeyRange& range, int64_t at_rev) const;
  // Every change in `range` with main revision >= rev, in revision order
  // (every change of a transaction, as KeyIndex::Since).
  std::vector<Revision> RangeSince(const KeyRange& range, int64_t rev) const;

  void Put(std::string_view key, Revision rev);
  // KeyIndex::Restore of a key not in the index yet.
  void Restore(std::string_view key, Revision created, Revision modified,
               int64_t version);
  // True when `key` has any history left (alive or deleted).
  bool Contains(std::string_view key) const { return tree_.contains(key); }
  // The key must be visible (exist) at the newest revision.
  void Tombstone(std::string_view key, Revision rev);

  // Compacts every key at `at_rev` and returns the changes the store must
  // keep; keys left with no history are removed.
  absl::btree_set<Revision> Compact(int64_t at_rev);
  // What Compact(at_rev) would keep, changing nothing.
  absl::btree_set<Revision> Keep(int64_t at_rev) const;

  size_t key_count() const { return tree_.size(); }
  void CheckInvariants() const;

 private:
  // Calls visit(key_index) for each key in `range`, in key order.
  template <typename Fn>
  void ForEach(const KeyRange& range, Fn visit) const;

  absl::btree_map<std::string, KeyIndex, std::less<>> tree_;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_INDEX_H_
