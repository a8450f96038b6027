#include "kv/simple_token.h"

#include <vector>

#include "base/check.h"

namespace etcdpp::kv {

SimpleTokenTable::SimpleTokenTable(uint64_t ttl_ticks) : ttl_ticks_(ttl_ticks) {
  CHECK_GT(ttl_ticks_, 0u) << "a token lives at least one tick";
}

void SimpleTokenTable::set_ttl_ticks(uint64_t ticks) {
  CHECK_GT(ticks, 0u) << "a token lives at least one tick";
  ttl_ticks_ = ticks;
}

void SimpleTokenTable::Drop(const std::string& token, uint64_t expiry) {
  by_expiry_.erase({expiry, token});
  tokens_.erase(token);
}

void SimpleTokenTable::Assign(std::string token, std::string user) {
  if (auto it = tokens_.find(token); it != tokens_.end()) {
    Drop(it->first, it->second.expiry);
  }
  const uint64_t expiry = now_ + ttl_ticks_;
  by_expiry_.insert({expiry, token});
  tokens_.emplace(std::move(token), Entry{std::move(user), expiry});
}

std::optional<std::string> SimpleTokenTable::Lookup(std::string_view token) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  CHECK_GT(it->second.expiry, now_) << "an expired token was dropped at Tick";
  by_expiry_.erase({it->second.expiry, it->first});
  it->second.expiry = now_ + ttl_ticks_;
  by_expiry_.insert({it->second.expiry, it->first});
  return it->second.user;
}

void SimpleTokenTable::Tick(uint64_t ticks) {
  now_ += ticks;
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_) {
    const auto [expiry, token] = *by_expiry_.begin();
    Drop(token, expiry);
  }
}

void SimpleTokenTable::InvalidateUser(std::string_view user) {
  std::vector<std::pair<std::string, uint64_t>> doomed;
  for (const auto& [token, entry] : tokens_) {
    if (entry.user == user) doomed.push_back({token, entry.expiry});
  }
  for (const auto& [token, expiry] : doomed) Drop(token, expiry);
}

std::vector<std::string> SimpleTokenTable::Users() const {
  absl::btree_set<std::string> users;
  for (const auto& [token, entry] : tokens_) users.insert(entry.user);
  return std::vector<std::string>(users.begin(), users.end());
}

void SimpleTokenTable::Clear() {
  tokens_.clear();
  by_expiry_.clear();
}

void SimpleTokenTable::CheckInvariants() const {
  CHECK_EQ(tokens_.size(), by_expiry_.size())
      << "every token is indexed once by its expiry";
  for (const auto& [token, entry] : tokens_) {
    CHECK_GT(entry.expiry, now_) << "no expired token is kept";
    CHECK(by_expiry_.contains({entry.expiry, token}))
        << "token indexed by its expiry";
  }
}

}  // namespace etcdpp::kv
