#include "kv/range_perm.h"

#include <algorithm>
#include <utility>

namespace etcdpp::kv {
namespace {

bool IsOpenEnded(std::string_view range_end) {
  return range_end == std::string_view("\0", 1);
}

// adt.Interval.Compare: true when [qb, qe) and the permission overlap, in
// etcd's exact terms (which give an inverted query the intervals holding
// its start).
bool Overlaps(std::string_view qb, std::string_view qe, const PermInterval& p) {
  const bool left_of = AffineCompare(qb, p.begin) < 0 &&
                       AffineCompare(qe, p.begin) <= 0;
  const bool right_of = AffineCompare(qb, p.end) >= 0;
  return !left_of && !right_of;
}

}  // namespace

int AffineCompare(std::string_view a, std::string_view b) {
  if (a.empty()) return b.empty() ? 0 : 1;
  if (b.empty()) return -1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

PermInterval PermissionInterval(std::string_view key,
                                std::string_view range_end) {
  if (range_end.empty()) {
    std::string end(key);
    end.push_back('\0');
    return {std::string(key), std::move(end)};
  }
  if (IsOpenEnded(range_end)) return {std::string(key), std::string()};
  return {std::string(key), std::string(range_end)};
}

bool IsValidPermissionRange(std::string_view key, std::string_view range_end) {
  if (key.empty()) return false;
  if (range_end.empty()) return true;
  if (AffineCompare(key, range_end) < 0) return true;
  return IsOpenEnded(range_end);
}

bool RangePermitted(const std::vector<PermInterval>& perms,
                    std::string_view key, std::string_view range_end) {
  if (range_end.empty()) {
    // A single key: adt.IntervalTree.Intersects with the point.
    const PermInterval point = PermissionInterval(key, range_end);
    return std::any_of(perms.begin(), perms.end(), [&](const PermInterval& p) {
      return Overlaps(point.begin, point.end, p);
    });
  }
  const std::string_view begin = key;
  const std::string_view end = IsOpenEnded(range_end) ? "" : range_end;
  // adt.IntervalTree.Contains: walk the overlapping intervals in order of
  // their start, demanding no gap, then that they reach both ends.
  std::vector<const PermInterval*> overlapping;
  for (const PermInterval& p : perms) {
    if (Overlaps(begin, end, p)) overlapping.push_back(&p);
  }
  if (overlapping.empty()) return false;
  std::stable_sort(overlapping.begin(), overlapping.end(),
                   [](const PermInterval* a, const PermInterval* b) {
                     return AffineCompare(a->begin, b->begin) < 0;
                   });
  std::string_view min_begin = overlapping.front()->begin;
  std::string_view max_end = overlapping.front()->end;
  for (const PermInterval* p : overlapping) {
    if (AffineCompare(max_end, p->begin) < 0) return false;
    if (AffineCompare(p->end, max_end) > 0) max_end = p->end;
  }
  return AffineCompare(max_end, end) >= 0 &&
         AffineCompare(min_begin, begin) <= 0;
}

}  // namespace etcdpp::kv
