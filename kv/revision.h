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

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_REVISION_H_
