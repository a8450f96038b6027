// SimpleTokenTable: etcd's "simple" auth tokens (server/auth/simple_token.go)
// held by one member, each valid for a time-to-live counted in ticks.
//
// As in etcd, tokens are assigned when an Authenticate entry is applied, so
// every member learns every token, but they are not replicated state: they
// live in memory only, are not in the snapshot, and expire by each member's
// own ticks. A lookup renews the token's TTL (etcd's resetSimpleToken).
// Deleting a user or changing its password drops its tokens; disabling auth
// drops them all.
//
// Deterministic: time is the ticks given to Tick(); no clock is read. Not
// thread-safe.
#ifndef ETCDPP_KV_SIMPLE_TOKEN_H_
#define ETCDPP_KV_SIMPLE_TOKEN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"

namespace etcdpp::kv {

// etcd's --auth-token-ttl default is 300 s; at the default 100 ms heartbeat
// tick that is 3000 ticks.
inline constexpr uint64_t kDefaultTokenTtlTicks = 3000;

class SimpleTokenTable {
 public:
  explicit SimpleTokenTable(uint64_t ttl_ticks = kDefaultTokenTtlTicks);

  // Adds (or replaces) `token` for `user`, valid for ttl_ticks from now.
  void Assign(std::string token, std::string user);
  // The token's user, renewing its TTL; nullopt when unknown or expired.
  std::optional<std::string> Lookup(std::string_view token);
  // Advances time; tokens whose TTL ran out are dropped.
  void Tick(uint64_t ticks = 1);
  void InvalidateUser(std::string_view user);
  // The distinct users holding tokens, sorted.
  std::vector<std::string> Users() const;
  void Clear();

  size_t size() const { return tokens_.size(); }
  uint64_t now_ticks() const { return now_; }
  uint64_t ttl_ticks() const { return ttl_ticks_; }
  // Applies to tokens assigned or renewed from now on.
  void set_ttl_ticks(uint64_t ticks);

  void CheckInvariants() const;

 private:
  struct Entry {
    std::string user;
    uint64_t expiry;  // the tick at which the token stops being valid
  };

  void Drop(const std::string& token, uint64_t expiry);

  uint64_t ttl_ticks_;
  uint64_t now_ = 0;
  absl::btree_map<std::string, Entry, std::less<>> tokens_;
  // The same tokens by expiry, so Tick drops the expired ones in order.
  absl::btree_set<std::pair<uint64_t, std::string>> by_expiry_;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_SIMPLE_TOKEN_H_
