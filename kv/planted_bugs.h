// Planted bugs of the kv state machine: deliberate mistakes the simulator
// and the property tests switch on to prove that their checkers catch them
// (STYLE.md, "Planted bugs"). All off by default; only tests and the
// simulator set them, never a flag of the server. A field set here changes
// behaviour only in the one place its comment names.
#ifndef ETCDPP_KV_PLANTED_BUGS_H_
#define ETCDPP_KV_PLANTED_BUGS_H_

namespace etcdpp::kv {

struct PlantedBugs {
  // Applier (ApplyLeaseRevoke): a LeaseRevoke removes the lease but forgets
  // to delete the keys attached to it, so they outlive their lease.
  bool lease_outlives_revoke = false;
  // WatchHub (Queue): a batch of two or more events is queued in reverse,
  // so a watcher sees them out of revision order.
  bool watch_events_out_of_order = false;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_PLANTED_BUGS_H_
