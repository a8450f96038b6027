// The lease checker: what lease clients (sim/lease_clients.h) did and saw,
// against the final store and lessor of a converged member.
//
//  1. No key outlives the revoke of its lease: at the end every key naming
//     a lease names one that still exists; at the revision a revoke
//     returned, no key is attached to the lease any more; and no
//     linearizable read invoked after a revoke returned, or after a member
//     applied the deletion of the lease's keys, returns a key of that lease.
//  2. No lease expires early: the deletion of a lease's keys that no client
//     revoke asked for (an expiry) is applied nowhere before
//       last refresh + TTL - slack,
//     where the last refresh is the invocation of the grant or of the last
//     keepalive that returned OK -- the leader renewed after it -- and TTL
//     is measured the way the leader measures it: in its ticks, each of
//     which may be as short as heartbeat x (1 - drift_permille_max/1000).
//     The slack is one tick period at its longest: the leader's lease clock
//     reads the time of its last tick, which lags real time by up to one
//     period. A leader change only extends a lease (the new leader restarts
//     every TTL and adds an election timeout); a paused leader's ticks are
//     lost, so its clock falls behind, never ahead.
#ifndef ETCDPP_SIM_LEASE_CHECKER_H_
#define ETCDPP_SIM_LEASE_CHECKER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kv/lease.h"
#include "kv/mvcc_store.h"
#include "sim/lease_clients.h"
#include "sim/scenario.h"

namespace etcdpp::sim {

// Violations, one line each.
std::vector<std::string> CheckLeases(const LeaseHistory& history,
                                     const kv::MvccStore& store,
                                     const kv::Lessor& lessor,
                                     const Scenario& scenario);

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_LEASE_CHECKER_H_
