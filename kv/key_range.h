// KeyRange: the keys a request names with etcd's (key, range_end) pair.
//
//   range_end empty       the single key `key`
//   range_end == "\0"     every key >= key (with key "\0": every key)
//   otherwise             the half-open interval [key, range_end); empty when
//                         range_end <= key
//
// A KeyRange views the request's bytes; it must not outlive them.
#ifndef ETCDPP_KV_KEY_RANGE_H_
#define ETCDPP_KV_KEY_RANGE_H_

#include <string_view>

namespace etcdpp::kv {

struct KeyRange {
  enum class Kind { kSingle, kInterval, kFromKey };

  Kind kind = Kind::kSingle;
  std::string_view key;
  // Exclusive end; meaningful for kInterval only.
  std::string_view end;

  static KeyRange FromRequest(std::string_view key,
                              std::string_view range_end) {
    if (range_end.empty()) return {Kind::kSingle, key, {}};
    if (range_end == std::string_view("\0", 1)) {
      return {Kind::kFromKey, key, {}};
    }
    return {Kind::kInterval, key, range_end};
  }
  static KeyRange Single(std::string_view key) {
    return {Kind::kSingle, key, {}};
  }

  bool Contains(std::string_view k) const {
    switch (kind) {
      case Kind::kSingle:
        return k == key;
      case Kind::kInterval:
        return key <= k && k < end;
      case Kind::kFromKey:
        return key <= k;
    }
    return false;
  }
  // True when no key after `k` (in key order) can be in the range.
  bool EndsBefore(std::string_view k) const {
    switch (kind) {
      case Kind::kSingle:
        return k > key;
      case Kind::kInterval:
        return k >= end;
      case Kind::kFromKey:
        return false;
    }
    return true;
  }
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_KEY_RANGE_H_
