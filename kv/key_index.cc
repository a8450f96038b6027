#include "kv/key_index.h"

#include <sstream>
#include <utility>

#include "base/check.h"

namespace etcdpp::kv {

KeyIndex::KeyIndex(std::string key) : key_(std::move(key)) {
  generations_.emplace_back();
}

void KeyIndex::Put(Revision rev) {
  CHECK_GT(rev, modified_) << "a key's changes are recorded in revision order";
  Generation& g = generations_.back();
  if (g.empty()) g.created = rev;
  g.revs.push_back(rev);
  ++g.version;
  modified_ = rev;
}

void KeyIndex::Restore(Revision created, Revision modified, int64_t version) {
  CHECK(IsEmpty()) << "only a key with no history is restored";
  CHECK_GE(version, 1) << "a restored put counts itself";
  CHECK_LE(created, modified) << "a generation is created by its first put";
  Generation& g = generations_.back();
  g.created = created;
  g.version = version;
  g.revs.push_back(modified);
  modified_ = modified;
}

void KeyIndex::Tombstone(Revision rev) {
  CHECK(!generations_.back().empty()) << "only an existing key is deleted";
  // The tombstone is the generation's last change; the empty generation after
  // it is where the key's next life will begin.
  Put(rev);
  generations_.emplace_back();
}

const KeyIndex::Generation* KeyIndex::FindGeneration(int64_t rev) const {
  const size_t last = generations_.size() - 1;
  for (size_t i = generations_.size(); i-- > 0;) {
    const Generation& g = generations_[i];
    if (g.empty()) continue;
    // A closed generation whose tombstone is at or before `rev`: the key was
    // deleted then, and every older generation is older still.
    if (i != last && g.revs.back().main <= rev) return nullptr;
    if (g.revs.front().main <= rev) return &g;
  }
  return nullptr;
}

std::optional<KeyAt> KeyIndex::Get(int64_t at_rev) const {
  const Generation* g = FindGeneration(at_rev);
  if (g == nullptr) return std::nullopt;
  // The newest change at or before at_rev.
  for (size_t n = g->revs.size(); n-- > 0;) {
    if (g->revs[n].main > at_rev) continue;
    const int64_t newer = static_cast<int64_t>(g->revs.size() - 1 - n);
    return KeyAt{g->revs[n], g->created, g->version - newer};
  }
  return std::nullopt;
}

std::vector<Revision> KeyIndex::Since(int64_t rev) const {
  const Revision since{rev, 0};
  std::vector<Revision> out;
  for (const Generation& g : generations_) {
    for (const Revision& r : g.revs) {
      if (r >= since) out.push_back(r);
    }
  }
  return out;
}

std::pair<size_t, int> KeyIndex::FindCompactPoint(
    int64_t at_rev, absl::btree_set<Revision>* available) const {
  // Skip the generations that were deleted at or before at_rev: no read at
  // or after at_rev sees them.
  size_t gen = 0;
  while (gen + 1 < generations_.size() &&
         generations_[gen].revs.back().main <= at_rev) {
    ++gen;
  }
  const Generation& g = generations_[gen];
  for (int n = static_cast<int>(g.revs.size()) - 1; n >= 0; --n) {
    if (g.revs[n].main <= at_rev) {
      available->insert(g.revs[n]);
      return {gen, n};
    }
  }
  return {gen, -1};
}

void KeyIndex::Compact(int64_t at_rev, absl::btree_set<Revision>* available) {
  CHECK(!IsEmpty()) << "empty keys are dropped from the index, never compacted";
  auto [gen, index] = FindCompactPoint(at_rev, available);
  Generation& g = generations_[gen];
  if (!g.empty()) {
    if (index != -1) g.revs.erase(g.revs.begin(), g.revs.begin() + index);
    // A closed generation left holding only its tombstone shows nothing to
    // any read, so it goes too (etcd's rule, kept for identical HashKV).
    if (g.revs.size() == 1 && gen + 1 != generations_.size()) {
      available->erase(g.revs.front());
      ++gen;
    }
  }
  generations_.erase(generations_.begin(), generations_.begin() + gen);
  CheckInvariants();
}

void KeyIndex::Keep(int64_t at_rev,
                    absl::btree_set<Revision>* available) const {
  if (IsEmpty()) return;
  auto [gen, index] = FindCompactPoint(at_rev, available);
  const Generation& g = generations_[gen];
  if (!g.empty() && index == static_cast<int>(g.revs.size()) - 1 &&
      gen + 1 != generations_.size()) {
    available->erase(g.revs[index]);
  }
}

bool KeyIndex::IsEmpty() const {
  return generations_.size() == 1 && generations_.front().empty();
}

void KeyIndex::CheckInvariants() const {
  CHECK(!generations_.empty()) << "a key index has a current generation";
  Revision previous;
  for (size_t i = 0; i < generations_.size(); ++i) {
    const Generation& g = generations_[i];
    if (i + 1 != generations_.size()) {
      CHECK(!g.empty()) << "only the current generation may be empty";
    }
    CHECK_LE(static_cast<int64_t>(g.revs.size()), g.version)
        << "a generation's version counts every change it ever held";
    if (!g.empty())
      CHECK_LE(g.created, g.revs.front())
          << "a generation is created by its first put";
    for (const Revision& r : g.revs) {
      CHECK_LT(previous, r) << "a key's revisions strictly increase";
      previous = r;
    }
  }
  CHECK_LE(previous, modified_) << "modified is the newest change";
}

std::string KeyIndex::DebugString() const {
  std::ostringstream out;
  out << "key " << key_ << " modified " << modified_ << " generations:";
  for (const Generation& g : generations_) {
    out << " {ver " << g.version << " created " << g.created << " revs";
    for (const Revision& r : g.revs) out << " " << r;
    out << "}";
  }
  return out.str();
}

}  // namespace etcdpp::kv
