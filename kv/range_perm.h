// The key-range arithmetic of etcd's permission checks
// (server/auth/range_perm_cache.go), as pure functions over the permissions
// of one kind (read or write) that a user's roles grant.
//
// etcd orders keys "affinely": bytewise, except that the empty string is
// larger than every key, so it stands for "no upper bound". A permission
// (key, range_end) is
//   range_end empty      the single key `key`, i.e. [key, key + "\0")
//   range_end == "\0"    every key >= key, i.e. [key, +inf)
//   otherwise            [key, range_end)
// and a request's (key, range_end) is read the same way, except that an
// empty range_end asks about the one key.
//
// A single key is permitted when some permission contains it. A range is
// permitted when the permissions overlapping it, merged, cover it without a
// gap -- so two roles granting [a, c) and [c, e) together permit [a, e).
// This is etcd's interval-tree walk (adt.IntervalTree.Contains), including
// its answer for a range whose end is not after its start: permitted when
// some permission contains the start.
#ifndef ETCDPP_KV_RANGE_PERM_H_
#define ETCDPP_KV_RANGE_PERM_H_

#include <string>
#include <string_view>
#include <vector>

namespace etcdpp::kv {

// A half-open interval [begin, end) in affine order: an empty `end` is +inf.
struct PermInterval {
  std::string begin;
  std::string end;
};

// etcd's affine comparison: <0, 0, >0; the empty string is the largest.
int AffineCompare(std::string_view a, std::string_view b);

// The interval a stored permission grants.
PermInterval PermissionInterval(std::string_view key,
                                std::string_view range_end);

// etcd's isValidPermissionRange: a non-empty key, and a range_end that is
// empty, "\0", or after the key. Grants of anything else are refused.
bool IsValidPermissionRange(std::string_view key, std::string_view range_end);

// Whether `perms` permit the request's (key, range_end), as described above.
bool RangePermitted(const std::vector<PermInterval>& perms,
                    std::string_view key, std::string_view range_end);

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_RANGE_PERM_H_
