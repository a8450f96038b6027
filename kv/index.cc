#include "kv/index.h"

#include <algorithm>

#include "base/check.h"

namespace etcdpp::kv {

template <typename Fn>
void Index::ForEach(const KeyRange& range, Fn visit) const {
  if (range.kind == KeyRange::Kind::kSingle) {
    auto it = tree_.find(range.key);
    if (it != tree_.end()) visit(it->second);
    return;
  }
  for (auto it = tree_.lower_bound(range.key); it != tree_.end(); ++it) {
    if (range.EndsBefore(it->first)) break;
    visit(it->second);
  }
}

std::optional<KeyAt> Index::Get(std::string_view key, int64_t at_rev) const {
  auto it = tree_.find(key);
  if (it == tree_.end()) return std::nullopt;
  return it->second.Get(at_rev);
}

std::vector<Index::Entry> Index::Range(const KeyRange& range,
                                       int64_t at_rev) const {
  std::vector<Entry> out;
  ForEach(range, [&](const KeyIndex& ki) {
    if (auto at = ki.Get(at_rev)) out.push_back({ki.key(), *at});
  });
  return out;
}

Index::RevisionsResult Index::Revisions(const KeyRange& range, int64_t at_rev,
                                        int64_t limit) const {
  RevisionsResult out;
  ForEach(range, [&](const KeyIndex& ki) {
    const std::optional<KeyAt> at = ki.Get(at_rev);
    if (!at.has_value()) return;
    if (limit <= 0 || static_cast<int64_t>(out.revisions.size()) < limit) {
      // By value: GCC 12 at -O2 mistakes a reference into `at` for a
      // dangling pointer.
      const Revision modified = at->modified;
      out.revisions.push_back(modified);
    }
    ++out.total;
  });
  return out;
}

int64_t Index::CountRevisions(const KeyRange& range, int64_t at_rev) const {
  int64_t total = 0;
  ForEach(range, [&](const KeyIndex& ki) {
    if (ki.Get(at_rev)) ++total;
  });
  return total;
}

std::vector<Revision> Index::RangeSince(const KeyRange& range,
                                        int64_t rev) const {
  std::vector<Revision> out;
  ForEach(range, [&](const KeyIndex& ki) {
    std::vector<Revision> since = ki.Since(rev);
    out.insert(out.end(), since.begin(), since.end());
  });
  std::sort(out.begin(), out.end());
  return out;
}

void Index::Put(std::string_view key, Revision rev) {
  auto it = tree_.find(key);
  if (it == tree_.end()) {
    it = tree_.emplace(std::string(key), KeyIndex(std::string(key))).first;
  }
  it->second.Put(rev);
}

void Index::Restore(std::string_view key, Revision created, Revision modified,
                    int64_t version) {
  auto [it, inserted] =
      tree_.emplace(std::string(key), KeyIndex(std::string(key)));
  CHECK(inserted) << "a key is restored once, before its later changes";
  it->second.Restore(created, modified, version);
}

void Index::Tombstone(std::string_view key, Revision rev) {
  auto it = tree_.find(key);
  CHECK(it != tree_.end()) << "only an indexed key is deleted";
  it->second.Tombstone(rev);
}

absl::btree_set<Revision> Index::Compact(int64_t at_rev) {
  absl::btree_set<Revision> available;
  for (auto it = tree_.begin(); it != tree_.end();) {
    it->second.Compact(at_rev, &available);
    if (it->second.IsEmpty()) {
      it = tree_.erase(it);
    } else {
      ++it;
    }
  }
  return available;
}

absl::btree_set<Revision> Index::Keep(int64_t at_rev) const {
  absl::btree_set<Revision> available;
  for (const auto& [key, ki] : tree_) ki.Keep(at_rev, &available);
  return available;
}

void Index::CheckInvariants() const {
  for (const auto& [key, ki] : tree_) {
    CHECK_EQ(key, ki.key()) << "a key index is filed under its own key";
    CHECK(!ki.IsEmpty()) << "keys with no history are removed";
    ki.CheckInvariants();
  }
}

}  // namespace etcdpp::kv
