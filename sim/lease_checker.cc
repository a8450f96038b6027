#include "sim/lease_checker.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "server/node/node.h"

namespace etcdpp::sim {
namespace {

// Every key of the store at `revision` (0: the current one).
std::vector<mvccpb::KeyValue> AllKeys(const kv::MvccStore& store,
                                      int64_t revision) {
  etcdserverpb::RangeRequest all;
  all.set_key(std::string(1, '\0'));
  all.set_range_end(std::string(1, '\0'));
  all.set_revision(revision);
  absl::StatusOr<etcdserverpb::RangeResponse> range = store.Range(all);
  CHECK_OK(range.status());
  return {range->kvs().begin(), range->kvs().end()};
}

void CheckKeysOutliveNoRevoke(
    const LeaseHistory& history, const kv::MvccStore& store,
    const kv::Lessor& lessor,
    const std::map<int64_t, const LeaseRecord*>& by_id,
    std::vector<std::string>& violations) {
  for (const mvccpb::KeyValue& kv : AllKeys(store, 0)) {
    if (kv.lease() == 0 || lessor.Find(kv.lease()) != nullptr) continue;
    auto it = by_id.find(kv.lease());
    violations.push_back(absl::StrCat(
        "lease: key ", kv.key(), " (rev ", kv.mod_revision(),
        ") outlives its lease ", kv.lease(), ", which the lessor no longer has",
        it == by_id.end() ? "" : absl::StrCat(": ", it->second->Describe())));
  }
  for (const LeaseRecord& lease : history.leases) {
    if (lease.revoke_ok_us == kNever || lease.revoke_revision <= 0) continue;
    for (const mvccpb::KeyValue& kv : AllKeys(store, lease.revoke_revision)) {
      if (kv.lease() != lease.id) continue;
      violations.push_back(absl::StrCat(
          "lease: key ", kv.key(), " is still attached at rev ",
          lease.revoke_revision,
          ", where the revoke of its lease returned: ", lease.Describe()));
    }
  }
  for (const LeaseRead& read : history.reads) {
    const LeaseRecord& lease = history.leases[read.lease];
    if (!read.ok || !read.found || read.found_lease != lease.id) continue;
    const int64_t gone = std::min(lease.revoke_ok_us, lease.deleted_applied_us);
    if (read.invoke_us <= gone) continue;
    violations.push_back(absl::StrCat(
        "lease: a read invoked at ", FormatTime(read.invoke_us), " found ",
        read.key, " (rev ", read.revision, ") after its lease was gone at ",
        FormatTime(gone), ": ", lease.Describe()));
  }
}

void CheckNoEarlyExpiry(const LeaseHistory& history, const Scenario& scenario,
                        std::vector<std::string>& violations) {
  const int64_t drift = scenario.drift_permille_max;
  const int64_t tick_min_us = scenario.heartbeat_us * (1000 - drift) / 1000;
  const int64_t tick_max_us = scenario.heartbeat_us * (1000 + drift) / 1000;
  // The node's lease clock: tick_ms per tick (node.h's default, which the
  // world does not change).
  const int64_t tick_ms = server::NodeOptions().tick_ms;
  for (const LeaseRecord& lease : history.leases) {
    if (lease.id == 0 || lease.deleted_applied_us == kNever) continue;
    // A client's revoke deleted them (or may have): not an expiry.
    if (lease.revoke_invoke_us <= lease.deleted_applied_us) continue;
    const int64_t ttl_ticks = lease.ttl_seconds * 1000 / tick_ms;
    const int64_t earliest =
        lease.last_refresh_invoke_us + ttl_ticks * tick_min_us - tick_max_us;
    if (lease.deleted_applied_us >= earliest) continue;
    violations.push_back(absl::StrCat(
        "lease: expired early: its keys were deleted at ",
        FormatTime(lease.deleted_applied_us), ", before ", FormatTime(earliest),
        " (last refresh + TTL - one tick): ", lease.Describe()));
  }
}

}  // namespace

std::vector<std::string> CheckLeases(const LeaseHistory& history,
                                     const kv::MvccStore& store,
                                     const kv::Lessor& lessor,
                                     const Scenario& scenario) {
  std::vector<std::string> violations;
  std::map<int64_t, const LeaseRecord*> by_id;
  for (const LeaseRecord& lease : history.leases) {
    if (lease.id != 0) by_id[lease.id] = &lease;
  }
  CheckKeysOutliveNoRevoke(history, store, lessor, by_id, violations);
  CheckNoEarlyExpiry(history, scenario, violations);
  return violations;
}

}  // namespace etcdpp::sim
