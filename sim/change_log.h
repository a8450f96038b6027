// ChangeLog: the whole history of the kv store, as the members applied it.
//
// Members compact their stores (auto-compaction), so no member's final
// store can tell what a watch or a read at an old revision had to see. The
// change log is the checkers' own record instead: every member's applied
// events (NodeOutput.events), kept per revision as the first member to
// apply it reported them. Every other member that applies the same
// revision must report the same changes -- a replica that applied
// something else at a revision is a safety violation, found at once.
//
// At the end, Store() rebuilds an uncompacted kv::MvccStore from the log
// (through the store's own restore path, which checks each change), for
// the watch, write, read and lease checkers.
#ifndef ETCDPP_SIM_CHANGE_LOG_H_
#define ETCDPP_SIM_CHANGE_LOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/mvccpb/kv.pb.h"
#include "kv/mvcc_store.h"
#include "sim/world.h"

namespace etcdpp::sim {

class ChangeLog final : public World::NodeObserver {
 public:
  // Registers as an observer of `world`, which must outlive it. Violations
  // go to the world as they are found.
  explicit ChangeLog(World* world);

  void OnNodeOpened(uint64_t, const server::Node&) override {}
  void OnNodeEvents(uint64_t id, const server::Node& node, bool store_replaced,
                    std::vector<mvccpb::Event> events) override;
  void OnNodeDown(uint64_t) override {}

  // The whole history up to `current_revision` (a final member store's),
  // uncompacted; nullptr when the log lacks a revision up to there (every
  // member that applied it restored a snapshot in the same output, so its
  // events were never seen) or a change does not restore.
  std::unique_ptr<kv::MvccStore> Store(int64_t current_revision) const;

  size_t revisions() const { return changes_.size(); }

 private:
  struct Revision {
    uint64_t reported_by = 0;
    std::vector<mvccpb::Event> events;
  };
  void Record(uint64_t id, std::vector<mvccpb::Event> events);

  World* world_;
  std::map<int64_t, Revision> changes_;  // by main revision
};

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_CHANGE_LOG_H_
