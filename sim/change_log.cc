#include "sim/change_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/revision.h"

namespace etcdpp::sim {
namespace {

std::string Describe(const std::vector<mvccpb::Event>& events) {
  std::string out;
  for (const mvccpb::Event& e : events) {
    const mvccpb::KeyValue& kv = e.kv();
    absl::StrAppend(&out, out.empty() ? "" : ", ",
                    e.type() == mvccpb::Event::DELETE ? "DELETE " : "PUT ",
                    kv.key(),
                    e.type() == mvccpb::Event::DELETE
                        ? ""
                        : absl::StrCat("='", kv.value(), "' v", kv.version(),
                                       " c", kv.create_revision()),
                    kv.lease() == 0 ? "" : absl::StrCat(" lease=", kv.lease()));
  }
  return out;
}

bool SameChanges(const std::vector<mvccpb::Event>& a,
                 const std::vector<mvccpb::Event>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

}  // namespace

ChangeLog::ChangeLog(World* world) : world_(world) {
  world_->add_node_observer(this);
}

void ChangeLog::OnNodeEvents(uint64_t id, const server::Node& /*node*/,
                             bool /*store_replaced*/,
                             std::vector<mvccpb::Event> events) {
  // Only what the member applied after any restore in this output: the
  // rest was another member's to report.
  size_t i = 0;
  while (i < events.size()) {
    const int64_t revision = events[i].kv().mod_revision();
    std::vector<mvccpb::Event> group;
    for (; i < events.size() && events[i].kv().mod_revision() == revision;
         ++i) {
      group.push_back(std::move(events[i]));
    }
    Record(id, std::move(group));
  }
}

void ChangeLog::Record(uint64_t id, std::vector<mvccpb::Event> events) {
  const int64_t revision = events.front().kv().mod_revision();
  auto [it, inserted] = changes_.try_emplace(revision);
  if (inserted) {
    it->second.reported_by = id;
    it->second.events = std::move(events);
    return;
  }
  if (SameChanges(it->second.events, events)) return;
  world_->AddViolation(absl::StrCat(
      "state machine safety: members applied different changes at revision ",
      revision, ": n", it->second.reported_by, " [",
      Describe(it->second.events), "], n", id, " [", Describe(events), "]"));
}

std::unique_ptr<kv::MvccStore> ChangeLog::Store(
    int64_t current_revision) const {
  auto store = std::make_unique<kv::MvccStore>();
  int64_t expected = 2;  // the first revision a write makes
  for (const auto& [revision, r] : changes_) {
    if (revision > current_revision) break;
    if (revision != expected) return nullptr;  // a revision nobody reported
    ++expected;
    for (size_t sub = 0; sub < r.events.size(); ++sub) {
      const kv::Revision rev{revision, static_cast<int64_t>(sub)};
      if (!store->RestoreChange(rev, r.events[sub].kv()).ok()) return nullptr;
    }
  }
  if (expected != current_revision + 1) return nullptr;
  if (!store->FinishRestore(current_revision, -1).ok()) return nullptr;
  return store;
}

}  // namespace etcdpp::sim
