// Alarms and the space quota: etcd's AlarmStore (server/etcdserver/api/
// v3alarm) and backend quota (server/etcdserver/quota.go).
//
// An alarm is a (member, type) pair: NOSPACE when the space quota was hit,
// CORRUPT when the consistency checks found replicas that differ. Alarms
// are replicated state (applied through raft, in the snapshot). While an
// alarm of a type is active the Applier refuses requests as etcd does:
// NOSPACE refuses what would grow the store (puts, txns with a put, lease
// grants); CORRUPT refuses every kv and lease request. Alarm requests
// themselves always pass, so an operator can disarm.
//
// The quota is checked at apply time against a deterministic estimate of
// the store's size (MvccStore::size_bytes() plus kLeaseOverheadBytes per
// lease), so every replica decides alike and raises NOSPACE in the same
// entry. etcd checks the bolt file's size before proposing, which differs
// per member; the estimate here shrinks on compaction, which the file does
// not until a defragmentation.
#ifndef ETCDPP_KV_ALARM_H_
#define ETCDPP_KV_ALARM_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "kv/request.pb.h"

namespace etcdpp::kv {

// etcd's --quota-backend-bytes default.
inline constexpr uint64_t kDefaultQuotaBackendBytes = uint64_t{2} << 30;
// etcd's quota.go estimates: a put costs its key and value plus this...
inline constexpr uint64_t kKvOverheadBytes = 256;
// ...and a lease this.
inline constexpr uint64_t kLeaseOverheadBytes = 64;

inline absl::Status NoSpaceError() {
  // server/rpc adds etcd's "etcdserver: " prefix to mvcc words.
  return absl::ResourceExhaustedError("mvcc: database space exceeded");
}
inline absl::Status CorruptError() {
  return absl::DataLossError("etcdserver: corrupt cluster");
}

// etcd's backendQuota.Cost: what a request may add to the store. A put
// costs kKvOverheadBytes + key + value; a txn the costlier of its branches
// (counting nested txns, which etcd 3.5 forgets); a lease grant
// kLeaseOverheadBytes; anything else 0.
uint64_t QuotaCost(const kvpb::InternalRequest& request);

class AlarmStore {
 public:
  // etcd's Activate: the alarm, new or already active. NONE activates
  // nothing (nullopt).
  std::optional<etcdserverpb::AlarmMember> Activate(
      uint64_t member_id, etcdserverpb::AlarmType type);
  // etcd's Deactivate: the alarm removed, or nullopt if it was not active.
  std::optional<etcdserverpb::AlarmMember> Deactivate(
      uint64_t member_id, etcdserverpb::AlarmType type);
  // Active alarms of `type` (NONE: all), sorted by type then member.
  std::vector<etcdserverpb::AlarmMember> Get(etcdserverpb::AlarmType type) const;
  bool IsActive(etcdserverpb::AlarmType type) const;
  size_t size() const { return alarms_.size(); }
  bool empty() const { return alarms_.empty(); }

  // etcd's applier Alarm: GET lists, ACTIVATE and DEACTIVATE answer the
  // alarm they changed (or found). An unknown action answers nothing.
  etcdserverpb::AlarmResponse Apply(const etcdserverpb::AlarmRequest& request);

  // A snapshot's alarm, in sorted order; DataLoss for an unknown type or a
  // repeat.
  absl::Status Restore(uint64_t member_id, int type);

 private:
  // (type, member id): ordered, so lists come out sorted.
  absl::btree_set<std::pair<int, uint64_t>> alarms_;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_ALARM_H_
