// Revision: the position of one change in the store's history.
//
// Every write transaction gets one `main` revision (the number clients see as
// mod_revision, create_revision and header.revision); the changes inside one
// transaction are ordered by `sub`. Revisions order lexicographically, so the
// history is the sequence of changes sorted by Revision.
//
// A Revision is its own type, distinct from a raft LogIndex: a raft entry
// that carries no write (a range, a failed put, a no-op) does not advance the
// store's revision, so the two numbers drift apart from the first entry on.
#ifndef ETCDPP_KV_REVISION_H_
#define ETCDPP_KV_REVISION_H_

#include <compare>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

namespace etcdpp::kv {

struct Revision {
  // The store revision of the write transaction. etcd's fresh store is at
  // main revision 1, so the first write gets 2.
  int64_t main = 0;
  // The change's index within its transaction, from 0.
  int64_t sub = 0;

  friend constexpr auto operator<=>(const Revision&, const Revision&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const Revision& r) {
    return H::combine(std::move(h), r.main, r.sub);
  }

  friend std::ostream& operator<<(std::ostream& out, const Revision& r) {
    return out << "{" << r.main << "," << r.sub << "}";
  }
};

// etcd's backend key for a change (server/storage/mvcc/revision.go): main
// and sub as 8-byte big-endian integers joined by '_', and a 't' appended
// for a tombstone. HashKV hashes these exact bytes, so replicas -- and etcd
// itself -- agree on the hash of one history. Big-endian keeps byte order
// equal to revision order for the non-negative revisions a store holds.
inline constexpr size_t kBucketKeyBytes = 8 + 1 + 8;

inline void AppendBucketKey(const Revision& rev, bool tombstone,
                            std::string* out) {
  const auto append_be64 = [out](int64_t v) {
    const auto u = static_cast<uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out->push_back(static_cast<char>((u >> shift) & 0xFF));
    }
  };
  append_be64(rev.main);
  out->push_back('_');
  append_be64(rev.sub);
  if (tombstone) out->push_back('t');
}

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_REVISION_H_
