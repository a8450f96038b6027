// Applier: the replicated state machine. The node hands it each committed
// InternalRequest, in log order; it answers with the response and the watch
// events the request caused.
//
// Pure: the same state and the same request give the same result and the
// same new state on every replica -- no clock, randomness, I/O or hash-table
// order is involved. A request that fails changes nothing, and fails the
// same way on every replica, so the node just reports the status.
//
// It applies range, put, delete_range, txn and compaction, leases (grant,
// revoke, checkpoint: kv/lease.h, wired in applier_lease.cc), alarms with
// the space quota (kv/alarm.h) and the auth requests (kv/auth.h). A put
// (alone or in a txn) naming a lease that does not exist fails with
// "etcdserver: requested lease not found".
//
// Auth: while auth is enabled every request first passes the permission
// check of kv/auth_apply.h against its header's username and auth_revision;
// a refused request changes nothing.
//
// Deduplication: a request with a nonzero header().id() (the node's proposal
// id, unique per proposal) whose id is among the last
// ApplierOptions::applied_id_window ids applied is skipped -- the network
// may deliver a forwarded proposal twice, and raft then commits it twice.
// The window is replicated state: every replica applies the same log, so
// every replica skips the same entries, and the window is in the snapshot.
// Id 0 (a request not proposed through the node) is never deduplicated.
//
// Remembered results: the outcome of each of the last
// ApplierOptions::result_window requests with an id (status and serialized
// response, when the response fits kMaxRememberedResponseBytes) is kept,
// in the snapshot too, so a member that catches up by snapshot past its own
// clients' proposals can still answer them (the Raft thesis, §6.3: the
// state machine keeps each client's last response). etcd has no such table:
// there those clients time out with the write applied.
// Not thread-safe.
#ifndef ETCDPP_KV_APPLIER_H_
#define ETCDPP_KV_APPLIER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/alarm.h"
#include "kv/lease.h"
#include "kv/auth.h"
#include "kv/mvcc_store.h"
#include "kv/planted_bugs.h"
#include "kv/request.pb.h"
#include "kv/txn.h"

namespace etcdpp::kv {

inline constexpr size_t kDefaultAppliedIdWindow = 65536;
inline constexpr size_t kDefaultResultWindow = 1024;
// A response longer than this (a txn's ranges, a put's big prev_kv) is not
// remembered: its client times out if the member installs a snapshot past
// it, as in etcd.
inline constexpr size_t kMaxRememberedResponseBytes = 4096;

// The outcome of one applied request, by its header id.
struct RememberedResult {
  uint64_t id = 0;
  // The store's revision right after the request applied: its reply
  // header's revision.
  int64_t revision = 0;
  absl::Status status;
  // kvpb::InternalResponse in wire format; empty when status is an error.
  std::string response;
};

struct ApplierOptions {
  TxnOptions txn;
  // How many of the most recently applied request ids are remembered to skip
  // a duplicate; 0 turns deduplication off. Every replica must use the same.
  size_t applied_id_window = kDefaultAppliedIdWindow;
  // How many of the last applied requests' results are remembered (see
  // above); 0 turns it off. Every replica must use the same.
  size_t result_window = kDefaultResultWindow;
  LessorOptions lessor = {};
  // etcd's --quota-backend-bytes, against EstimatedSizeBytes(). Every
  // replica must use the same.
  uint64_t quota_backend_bytes = kDefaultQuotaBackendBytes;
  // etcd's --auth-token-ttl, in ticks. Member-local: may differ between
  // replicas.
  uint64_t auth_token_ttl_ticks = kDefaultTokenTtlTicks;
  // Set only by tests and the simulator.
  PlantedBugs bugs = {};
};

struct ApplyResult {
  // OK, or etcd's error (see kv/errors.h); on error `response` is empty.
  absl::Status status;
  kvpb::InternalResponse response;
  // The changes made, in revision order, for watchers.
  std::vector<mvccpb::Event> events;
  // The request's id was already applied: nothing changed, status is OK and
  // response and events are empty. The original's result was the answer.
  bool duplicate = false;
};

class Applier {
 public:
  explicit Applier(ApplierOptions options = {});
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  ApplyResult Apply(const kvpb::InternalRequest& request);

  // Reads (serializable or after a ReadIndex) go to the store directly.
  const MvccStore& store() const { return store_; }
  // Permission checks outside the applier (serializable reads, Watch,
  // Lease) and PasswordOf go to the auth store directly.
  const AuthStore& auth() const { return auth_; }
  // Member-local token state, not replicated (kv/simple_token.h): the server
  // resolves a request's token, and the node advances token time each tick.
  absl::StatusOr<AuthInfo> AuthInfoFromToken(std::string_view token) {
    return auth_.AuthInfoFromToken(token);
  }
  void TickAuthTokens(uint64_t ticks = 1) { auth_.TickTokens(ticks); }
  // etcd's --auth-token-ttl, in ticks (kDefaultTokenTtlTicks until set).
  void SetAuthTokenTtl(uint64_t ticks) { auth_.SetTokenTtl(ticks); }
  // After a snapshot install: keep the replaced applier's tokens and token
  // settings (member-local, never in the snapshot), as etcd does.
  void TakeAuthTokens(Applier& previous) { auth_.TakeTokens(previous.auth_); }

  // The leases. The non-const access is for the lessor's leader-local
  // state only (AdvanceTo, Promote, Demote, Renew, Take*): replicated lease
  // state changes only through Apply.
  const Lessor& lessor() const { return lessor_; }
  Lessor& lessor() { return lessor_; }
  const AlarmStore& alarms() const { return alarms_; }
  // What the space quota is checked against: the store's size estimate
  // plus kLeaseOverheadBytes per lease.
  uint64_t EstimatedSizeBytes() const;

  // The ids of the last applied requests (nonzero ids only, whether the
  // request succeeded or failed), oldest first; at most applied_id_window.
  const std::deque<uint64_t>& applied_ids() const { return applied_ids_; }
  // The remembered results, oldest first; at most result_window.
  const std::deque<RememberedResult>& remembered_results() const {
    return results_;
  }
  // The remembered result of request `id`, or null (never applied, applied
  // too long ago, or its response too long to keep).
  const RememberedResult* FindResult(uint64_t id) const;

  void CheckInvariants() const;

 private:
  // Rebuilds a fresh applier's state from a snapshot stream.
  friend class SnapshotReader;

  ApplyResult ApplyRequest(const kvpb::InternalRequest& request);
  ApplyResult ApplyPut(const etcdserverpb::PutRequest& request);
  ApplyResult ApplyDeleteRange(const etcdserverpb::DeleteRangeRequest& request);
  ApplyResult ApplyTxn(const etcdserverpb::TxnRequest& request);
  ApplyResult ApplyCompaction(const etcdserverpb::CompactionRequest& request);
  ApplyResult ApplyRange(const etcdserverpb::RangeRequest& request) const;

  // Leases, alarms and the quota: applier_lease.cc.
  ApplyResult ApplyLeaseGrant(const etcdserverpb::LeaseGrantRequest& request);
  ApplyResult ApplyLeaseRevoke(
      const etcdserverpb::LeaseRevokeRequest& request);
  ApplyResult ApplyLeaseCheckpoint(
      const etcdserverpb::LeaseCheckpointRequest& request);
  ApplyResult ApplyAlarm(const etcdserverpb::AlarmRequest& request);
  // The active alarms' and the quota's verdict on `request`, before it is
  // applied: OK, or the error it fails with (hitting the quota activates
  // NOSPACE for the proposing member first).
  absl::Status CheckAlarmsAndQuota(const kvpb::InternalRequest& request);
  bool LeaseExists(int64_t id) const { return lessor_.Find(id) != nullptr; }
  // Every attached key is live and its newest value names its lease.
  void CheckLeaseAttachments() const;

  // Appends `id` (nonzero, not remembered yet) to the window, evicting the
  // oldest past the window's size.
  void RememberId(uint64_t id);
  // Appends the outcome of request `id` to the results, evicting the oldest
  // past the window's size; a response too long to keep is skipped.
  void RememberResult(uint64_t id, const ApplyResult& result);
  void RememberResult(RememberedResult result);

  ApplierOptions options_;
  MvccStore store_;
  Lessor lessor_;
  AlarmStore alarms_;
  AuthStore auth_;
  // The window, in apply order, and the same ids for lookup. The set is only
  // looked up, never iterated, so its order never reaches any output.
  std::deque<uint64_t> applied_ids_;
  absl::flat_hash_set<uint64_t> applied_id_set_;
  std::deque<RememberedResult> results_;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_APPLIER_H_
