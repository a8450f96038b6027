// Lessor: etcd's leases (server/lease/lessor.go), made deterministic.
//
// Two kinds of state, kept apart on purpose:
//
//  - Replicated state, changed only by the Applier in log order, the same on
//    every replica and in the snapshot: each lease's id, granted TTL and the
//    remaining TTL of its last checkpoint, and the keys attached to it. A key
//    is attached to the lease its newest value names; the Applier reports
//    every write's events (OnEvents), so the attachments follow the store.
//
//  - Leader-local state ("primary" in etcd), never replicated, never in a
//    snapshot: each lease's expiry and checkpoint schedule. Only the primary
//    expires leases; elsewhere every lease lives forever, as etcd's
//    forever(). The node calls Promote when it becomes leader and Demote
//    when it stops being one; the leader proposes LeaseRevoke for what
//    TakeExpired returns and LeaseCheckpoint for what TakeCheckpoints does.
//
// Time: a monotonic "now" in milliseconds that the caller advances
// (AdvanceTo); the node passes ticks x tick duration. No clock is read.
//
// Deterministic and single-threaded: leases and keys are kept in ordered
// containers and every list comes out sorted. Not thread-safe.
#ifndef ETCDPP_KV_LEASE_H_
#define ETCDPP_KV_LEASE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"

namespace etcdpp::kv {

inline constexpr int64_t kNoLease = 0;
// etcd's MaxLeaseTTL.
inline constexpr int64_t kMaxLeaseTtlSeconds = 9000000000;
inline constexpr int64_t kForeverMs = std::numeric_limits<int64_t>::max();
// etcd's minimum TTL with its default timing: ceil(1.5 * election timeout)
// = ceil(1.5 * 1000 ms) seconds.
inline constexpr int64_t kDefaultMinLeaseTtlSeconds = 2;
// etcd's defaultLeaseCheckpointInterval.
inline constexpr int64_t kDefaultLeaseCheckpointIntervalMs = 5 * 60 * 1000;
// etcd's expiredLeaseRetryInterval: an expired lease handed out for revoking
// is handed out again after this long if it is still there.
inline constexpr int64_t kExpiredLeaseRetryMs = 3000;

struct LessorOptions {
  // A grant's TTL is raised to this (etcd's minTTL). Part of the replicated
  // behaviour: every member must use the same.
  int64_t min_ttl_seconds = kDefaultMinLeaseTtlSeconds;
  // The leader checkpoints the remaining TTL of a lease at this interval
  // when it is longer (0: never).
  int64_t checkpoint_interval_ms = kDefaultLeaseCheckpointIntervalMs;
};

inline absl::Status LeaseNotFoundError() {
  return absl::NotFoundError("etcdserver: requested lease not found");
}
inline absl::Status LeaseExistsError() {
  return absl::FailedPreconditionError("etcdserver: lease already exists");
}
inline absl::Status LeaseTtlTooLargeError() {
  return absl::OutOfRangeError("etcdserver: too large lease TTL");
}
// etcd's lease.ErrNotPrimary: only the leader renews. The node answers it
// as "etcdserver: not leader" so the caller forwards to the leader.
inline absl::Status NotPrimaryError() {
  return absl::FailedPreconditionError("etcdserver: not leader");
}

class Lessor {
 public:
  struct Lease {
    int64_t id = kNoLease;
    // Granted, after the minimum-TTL rule; in seconds.
    int64_t ttl_seconds = 0;
    // From the last checkpoint; 0: none (the full TTL counts).
    int64_t remaining_ttl_seconds = 0;
    // The keys whose newest value names this lease, sorted.
    absl::btree_set<std::string> keys;

    // Leader-local. kForeverMs when not primary.
    int64_t expiry_ms = kForeverMs;
    int64_t next_checkpoint_ms = kForeverMs;
    // A renewal made the checkpointed remaining TTL stale: checkpoint 0.
    bool clear_checkpoint = false;
    // TakeExpired handed it out; not again before this time.
    int64_t revoke_retry_ms = 0;
  };

  explicit Lessor(LessorOptions options = {});
  Lessor(const Lessor&) = delete;
  Lessor& operator=(const Lessor&) = delete;

  // ---- Replicated: called by the Applier, in log order. -----------------

  // etcd's Grant: id 0 is LeaseNotFoundError (the proposer picks an id),
  // a TTL above kMaxLeaseTtlSeconds LeaseTtlTooLargeError, an existing id
  // LeaseExistsError. Returns the lease (TTL raised to the minimum). On the
  // primary it expires TTL from now.
  absl::StatusOr<const Lease*> Grant(int64_t id, int64_t ttl_seconds);
  // Forgets lease `id` and its attachments; the caller has deleted its keys
  // (or, with a planted bug, has not). LeaseNotFoundError if unknown.
  absl::Status Remove(int64_t id);
  // Records a checkpointed remaining TTL; an unknown id is ignored, as in
  // etcd (the lease was revoked after the checkpoint was proposed).
  void Checkpoint(int64_t id, int64_t remaining_ttl_seconds);
  // Follows the attachments through one write's events: a put attaches its
  // key to the lease its value names (detaching it from another), a delete
  // detaches it. A put naming a lease that does not exist attaches nothing
  // (the Applier refuses such puts; only a planted bug leaves such a key).
  void OnEvents(const std::vector<mvccpb::Event>& events);

  const Lease* Find(int64_t id) const;
  const absl::btree_map<int64_t, Lease>& leases() const { return leases_; }
  // The lease `key` is attached to, or kNoLease.
  int64_t LeaseOf(const std::string& key) const;

  // ---- Restoring from a snapshot (a fresh lessor). ----------------------

  // Each kv change, in revision order, before the leases: tracks which
  // lease each key's newest value names.
  void RestoreChange(const mvccpb::KeyValue& kv);
  // Each lease of the snapshot, in increasing id order. DataLoss for a bad
  // record (id 0, TTL out of range, out of order).
  absl::Status RestoreLease(int64_t id, int64_t ttl_seconds,
                            int64_t remaining_ttl_seconds);
  // Attaches the keys. A key naming a lease that is not there is DataLoss,
  // unless `drop_orphans` (set only with the planted bug that leaves such
  // keys behind), which detaches them.
  absl::Status FinishRestore(bool drop_orphans);

  // ---- Leader-local. ------------------------------------------------------

  // Moves "now" forward (never back).
  void AdvanceTo(int64_t now_ms);
  int64_t now_ms() const { return now_ms_; }
  bool primary() const { return primary_; }
  // etcd's Promote: becomes primary; every lease expires `extend_ms` plus
  // its remaining TTL (checkpointed, else granted) from now. With many
  // leases, expiries are spread so revokes keep under the revoke rate.
  void Promote(int64_t extend_ms);
  // etcd's Demote: leases live forever until the next Promote.
  void Demote();
  // etcd's Renew (a keepalive): the lease expires its TTL from now; returns
  // the TTL. NotPrimaryError off the leader; LeaseNotFoundError for an
  // unknown lease or one already past its expiry (its revoke is on the way).
  absl::StatusOr<int64_t> Renew(int64_t id);
  // Leases past their expiry, soonest first (then by id), at most `limit`.
  // Each is handed out again only after kExpiredLeaseRetryMs, should its
  // revoke get lost. Empty when not primary.
  std::vector<int64_t> TakeExpired(size_t limit);
  // Due checkpoints, by lease id, at most `limit`: each names the lease's
  // remaining TTL in whole seconds rounded up (0 after a renewal). A lease
  // is scheduled again when its checkpoint is applied. Empty when not
  // primary or checkpoints are off.
  std::vector<etcdserverpb::LeaseCheckpoint> TakeCheckpoints(size_t limit);
  // etcd's LeaseTimeToLive answer: TTL is the whole seconds left (0 once
  // expired, -1 for an unknown lease); off the primary, the checkpointed
  // or granted TTL.
  etcdserverpb::LeaseTimeToLiveResponse TimeToLive(int64_t id,
                                                   bool with_keys) const;
  // etcd's LeaseLeases: every lease, soonest expiry first, then by id.
  etcdserverpb::LeaseLeasesResponse Leases() const;

  // Attachments agree both ways; followers hold no expiry.
  void CheckInvariants() const;

 private:
  // The remaining TTL a refresh counts from: checkpointed, else granted.
  static int64_t RemainingOrGranted(const Lease& lease);
  void Refresh(Lease* lease, int64_t extend_ms);
  void ScheduleCheckpoint(Lease* lease);
  void SpreadExpiries();
  void Attach(const std::string& key, int64_t id);
  void Detach(const std::string& key);

  const LessorOptions options_;
  absl::btree_map<int64_t, Lease> leases_;
  // Every attached key and its lease; the inverse of the Lease::keys sets.
  absl::btree_map<std::string, int64_t> key_lease_;
  int64_t now_ms_ = 0;
  bool primary_ = false;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_LEASE_H_
