// KeyIndex: the revisions of one key, grouped into generations.
//
// A generation is one life of the key: it begins with the put that creates
// the key and ends with the tombstone that deletes it. The last generation is
// the current one; it is empty while the key does not exist. For the history
//
//   put(2.0) put(3.0) tombstone(4.0) put(6.0) tombstone(7.0)
//
// the generations are {created 2.0, revs [2.0 3.0 4.0]},
// {created 6.0, revs [6.0 7.0]}, {empty}. A key whose every generation was
// compacted away is "empty" and its owner (Index) drops it.
//
// Mirrors etcd's mvcc keyIndex (server/storage/mvcc/key_index.go), including
// its compaction rule, because HashKV and the revisions kept by a compaction
// must match etcd's. Not thread-safe; plain value type.
#ifndef ETCDPP_KV_KEY_INDEX_H_
#define ETCDPP_KV_KEY_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "kv/revision.h"

namespace etcdpp::kv {

// What a key looked like at one revision.
struct KeyAt {
  Revision modified;    // the change that wrote the value seen
  Revision created;     // the put that began the key's generation
  int64_t version = 0;  // 1 for the creating put, +1 per later put
};

class KeyIndex {
 public:
  explicit KeyIndex(std::string key);

  const std::string& key() const { return key_; }
  // The newest change (put or tombstone) of this key.
  Revision modified() const { return modified_; }

  // Records a put at `rev`, which must be newer than every change so far.
  void Put(Revision rev);
  // Rebuilds a key from a snapshot: its first kept change is the put at
  // `modified`, `version` changes into a generation created at `created`
  // (etcd's keyIndex.restore). Only on a key with no history yet.
  void Restore(Revision created, Revision modified, int64_t version);
  // Records a delete at `rev`: the key must exist (its current generation is
  // not empty). Ends the generation and opens an empty one.
  void Tombstone(Revision rev);

  // The key as of main revision `at_rev`, or nullopt when it did not exist
  // then (never created, deleted, or compacted away).
  std::optional<KeyAt> Get(int64_t at_rev) const;

  // Every change with main revision >= `rev`, oldest first, each change of
  // one transaction too: a watcher catching up from history gets the events
  // a synced one got (etcd's syncWatchers reads every sub-revision from the
  // backend), such as a put and then a delete of the key in one txn.
  std::vector<Revision> Since(int64_t rev) const;

  // Drops the changes older than `at_rev` that no read at or after `at_rev`
  // can see, and adds the change each kept read sees at `at_rev` to
  // `available` (the revisions the store must keep). A key deleted at or
  // before `at_rev` keeps nothing and becomes empty.
  void Compact(int64_t at_rev, absl::btree_set<Revision>* available);
  // Adds to `available` what Compact(at_rev) would keep, changing nothing.
  void Keep(int64_t at_rev, absl::btree_set<Revision>* available) const;

  // True when no generation holds a revision.
  bool IsEmpty() const;

  // Revisions strictly increase across generations; only the last generation
  // may be empty; a generation never holds more revs than its version.
  void CheckInvariants() const;
  std::string DebugString() const;

 private:
  struct Generation {
    // Changes ever recorded in this generation (the tombstone included, as
    // etcd counts). Compaction drops old revs but keeps the count, so the
    // version seen at revs[n] is version - (revs.size() - 1 - n).
    int64_t version = 0;
    Revision created;  // first revision of the generation
    // Changes in order; in every generation but the last, the final entry is
    // the tombstone.
    std::vector<Revision> revs;

    bool empty() const { return revs.empty(); }
  };

  // The generation alive at `rev`, or nullptr.
  const Generation* FindGeneration(int64_t rev) const;
  // etcd's doCompact: the first generation not wholly at or before `at_rev`
  // and, in it, the index of the newest revision <= at_rev (or -1), which is
  // added to `available`.
  std::pair<size_t, int> FindCompactPoint(
      int64_t at_rev, absl::btree_set<Revision>* available) const;

  std::string key_;
  Revision modified_;
  // Never empty: a fresh key has one empty generation.
  std::vector<Generation> generations_;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_KEY_INDEX_H_
