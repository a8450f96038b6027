#include "kv/lease.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::kv {
namespace {

// etcd's leaseRevokeRate: expired leases revoked per second at most.
constexpr int64_t kLeaseRevokeRate = 1000;

int64_t CeilSeconds(int64_t ms) { return ms <= 0 ? 0 : (ms + 999) / 1000; }

}  // namespace

Lessor::Lessor(LessorOptions options) : options_(options) {
  CHECK_GE(options_.min_ttl_seconds, 0) << "a minimum TTL is not negative";
  CHECK_GE(options_.checkpoint_interval_ms, 0)
      << "a checkpoint interval is not negative";
}

// ---- Replicated --------------------------------------------------------------

absl::StatusOr<const Lessor::Lease*> Lessor::Grant(int64_t id,
                                                   int64_t ttl_seconds) {
  if (id == kNoLease) return LeaseNotFoundError();
  if (ttl_seconds > kMaxLeaseTtlSeconds) return LeaseTtlTooLargeError();
  auto [it, inserted] = leases_.try_emplace(id);
  if (!inserted) return LeaseExistsError();
  Lease& lease = it->second;
  lease.id = id;
  lease.ttl_seconds = std::max(ttl_seconds, options_.min_ttl_seconds);
  if (primary_) {
    Refresh(&lease, 0);
    ScheduleCheckpoint(&lease);
  }
  return &lease;
}

absl::Status Lessor::Remove(int64_t id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return LeaseNotFoundError();
  for (const std::string& key : it->second.keys) key_lease_.erase(key);
  leases_.erase(it);
  return absl::OkStatus();
}

void Lessor::Checkpoint(int64_t id, int64_t remaining_ttl_seconds) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  it->second.remaining_ttl_seconds = std::max<int64_t>(remaining_ttl_seconds, 0);
  // The leader schedules the next one; everyone else only records it, and
  // Promote counts from it.
  if (primary_) ScheduleCheckpoint(&it->second);
}

void Lessor::OnEvents(const std::vector<mvccpb::Event>& events) {
  for (const mvccpb::Event& event : events) {
    const std::string& key = event.kv().key();
    if (event.type() == mvccpb::Event::PUT && event.kv().lease() != kNoLease) {
      Attach(key, event.kv().lease());
    } else {
      Detach(key);
    }
  }
}

const Lessor::Lease* Lessor::Find(int64_t id) const {
  auto it = leases_.find(id);
  return it == leases_.end() ? nullptr : &it->second;
}

int64_t Lessor::LeaseOf(const std::string& key) const {
  auto it = key_lease_.find(key);
  return it == key_lease_.end() ? kNoLease : it->second;
}

void Lessor::Attach(const std::string& key, int64_t id) {
  auto lease = leases_.find(id);
  if (lease == leases_.end()) {
    // Only an ignore_lease put of a key whose lease is gone names a missing
    // lease, and only when a revoke left the key behind (the planted bug
    // lease_outlives_revoke): the key is attached to nothing.
    Detach(key);
    return;
  }
  auto [it, inserted] = key_lease_.try_emplace(key, id);
  if (!inserted) {
    if (it->second == id) return;
    auto old = leases_.find(it->second);
    if (old != leases_.end()) old->second.keys.erase(key);
    it->second = id;
  }
  lease->second.keys.insert(key);
}

void Lessor::Detach(const std::string& key) {
  auto it = key_lease_.find(key);
  if (it == key_lease_.end()) return;
  auto lease = leases_.find(it->second);
  if (lease != leases_.end()) lease->second.keys.erase(key);
  key_lease_.erase(it);
}

// ---- Restore -------------------------------------------------------------------

void Lessor::RestoreChange(const mvccpb::KeyValue& kv) {
  // Leases come after the changes, so only the key -> lease map is kept
  // now; FinishRestore fills the leases' key sets.
  if (kv.create_revision() != 0 && kv.lease() != kNoLease) {
    key_lease_[kv.key()] = kv.lease();
  } else {
    key_lease_.erase(kv.key());
  }
}

absl::Status Lessor::RestoreLease(int64_t id, int64_t ttl_seconds,
                                  int64_t remaining_ttl_seconds) {
  if (id == kNoLease || ttl_seconds < 0 || ttl_seconds > kMaxLeaseTtlSeconds ||
      remaining_ttl_seconds < 0) {
    return absl::DataLossError(
        absl::StrCat("kv snapshot: lease ", id, " is malformed"));
  }
  if (!leases_.empty() && id <= leases_.rbegin()->first) {
    return absl::DataLossError(
        absl::StrCat("kv snapshot: lease ", id, " out of order"));
  }
  Lease& lease = leases_[id];
  lease.id = id;
  lease.ttl_seconds = ttl_seconds;
  lease.remaining_ttl_seconds = remaining_ttl_seconds;
  return absl::OkStatus();
}

absl::Status Lessor::FinishRestore(bool drop_orphans) {
  for (auto it = key_lease_.begin(); it != key_lease_.end();) {
    auto lease = leases_.find(it->second);
    if (lease != leases_.end()) {
      lease->second.keys.insert(it->first);
      ++it;
      continue;
    }
    if (!drop_orphans) {
      return absl::DataLossError(
          absl::StrCat("kv snapshot: key \"", it->first,
                       "\" is attached to lease ", it->second,
                       ", which the snapshot does not hold"));
    }
    it = key_lease_.erase(it);
  }
  CheckInvariants();
  return absl::OkStatus();
}

// ---- Leader-local ----------------------------------------------------------------

void Lessor::AdvanceTo(int64_t now_ms) {
  CHECK_GE(now_ms, now_ms_) << "the lessor's time never goes back";
  now_ms_ = now_ms;
}

int64_t Lessor::RemainingOrGranted(const Lease& lease) {
  return lease.remaining_ttl_seconds > 0 ? lease.remaining_ttl_seconds
                                         : lease.ttl_seconds;
}

void Lessor::Refresh(Lease* lease, int64_t extend_ms) {
  lease->expiry_ms = now_ms_ + extend_ms + RemainingOrGranted(*lease) * 1000;
  lease->revoke_retry_ms = 0;
}

// etcd's scheduleCheckpointIfNeeded: only leases that outlive an interval.
void Lessor::ScheduleCheckpoint(Lease* lease) {
  if (options_.checkpoint_interval_ms == 0) return;
  if (RemainingOrGranted(*lease) * 1000 > options_.checkpoint_interval_ms) {
    lease->next_checkpoint_ms = now_ms_ + options_.checkpoint_interval_ms;
  }
}

void Lessor::Promote(int64_t extend_ms) {
  CHECK_GE(extend_ms, 0) << "Promote extends, never shortens";
  primary_ = true;
  for (auto& [id, lease] : leases_) {
    Refresh(&lease, extend_ms);
    lease.next_checkpoint_ms = kForeverMs;
    lease.clear_checkpoint = false;
    ScheduleCheckpoint(&lease);
  }
  if (static_cast<int64_t>(leases_.size()) >= kLeaseRevokeRate) {
    SpreadExpiries();
  }
}

// etcd's Promote, second half: after a leader change many leases may expire
// at once; spread them so no second has more than 3/4 of the revoke rate.
// Each lease past the target in its one-second window is pushed back in
// proportion to how many came before it, less how far it already is from
// the window's start.
void Lessor::SpreadExpiries() {
  std::vector<Lease*> sorted;
  sorted.reserve(leases_.size());
  for (auto& [id, lease] : leases_) sorted.push_back(&lease);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Lease* a, const Lease* b) {
                     return a->expiry_ms < b->expiry_ms;
                   });
  const int64_t target = 3 * kLeaseRevokeRate / 4;
  int64_t base = sorted.front()->expiry_ms - now_ms_;
  int64_t next_window = base + 1000;
  int64_t expires = 0;
  for (Lease* lease : sorted) {
    const int64_t remaining = lease->expiry_ms - now_ms_;
    if (remaining > next_window) {
      base = remaining;
      next_window = base + 1000;
      expires = 1;
      continue;
    }
    if (++expires <= target) continue;
    const int64_t delay = 1000 * expires / target - (remaining - base);
    next_window = base + delay;
    lease->expiry_ms = remaining + now_ms_ + delay;
  }
}

void Lessor::Demote() {
  primary_ = false;
  for (auto& [id, lease] : leases_) {
    lease.expiry_ms = kForeverMs;
    lease.next_checkpoint_ms = kForeverMs;
    lease.clear_checkpoint = false;
    lease.revoke_retry_ms = 0;
  }
}

absl::StatusOr<int64_t> Lessor::Renew(int64_t id) {
  if (!primary_) return NotPrimaryError();
  auto it = leases_.find(id);
  if (it == leases_.end()) return LeaseNotFoundError();
  Lease& lease = it->second;
  // etcd waits for the pending revoke and then answers "not found"; the
  // revoke is already decided here, so the answer is given at once.
  if (lease.expiry_ms <= now_ms_) return LeaseNotFoundError();
  // The checkpointed remaining TTL is stale now; were the leader to change
  // before the next checkpoint, a new leader would expire the lease early.
  if (lease.remaining_ttl_seconds > 0 && options_.checkpoint_interval_ms > 0) {
    lease.clear_checkpoint = true;
  }
  lease.expiry_ms = now_ms_ + lease.ttl_seconds * 1000;
  lease.revoke_retry_ms = 0;
  return lease.ttl_seconds;
}

std::vector<int64_t> Lessor::TakeExpired(size_t limit) {
  std::vector<Lease*> expired;
  if (!primary_) return {};
  for (auto& [id, lease] : leases_) {
    if (lease.expiry_ms <= now_ms_ && lease.revoke_retry_ms <= now_ms_) {
      expired.push_back(&lease);
    }
  }
  std::stable_sort(expired.begin(), expired.end(),
                   [](const Lease* a, const Lease* b) {
                     return a->expiry_ms < b->expiry_ms;
                   });
  if (expired.size() > limit) expired.resize(limit);
  std::vector<int64_t> ids;
  ids.reserve(expired.size());
  for (Lease* lease : expired) {
    lease->revoke_retry_ms = now_ms_ + kExpiredLeaseRetryMs;
    ids.push_back(lease->id);
  }
  return ids;
}

std::vector<etcdserverpb::LeaseCheckpoint> Lessor::TakeCheckpoints(
    size_t limit) {
  std::vector<etcdserverpb::LeaseCheckpoint> due;
  if (!primary_ || options_.checkpoint_interval_ms == 0) return due;
  for (auto& [id, lease] : leases_) {
    if (due.size() >= limit) break;
    if (lease.clear_checkpoint) {
      lease.clear_checkpoint = false;
      etcdserverpb::LeaseCheckpoint& cp = due.emplace_back();
      cp.set_id(id);
      cp.set_remaining_ttl(0);
      continue;
    }
    if (lease.next_checkpoint_ms > now_ms_) continue;
    lease.next_checkpoint_ms = kForeverMs;
    const int64_t remaining = CeilSeconds(lease.expiry_ms - now_ms_);
    // etcd skips a lease with nothing to save yet.
    if (remaining >= lease.ttl_seconds) continue;
    etcdserverpb::LeaseCheckpoint& cp = due.emplace_back();
    cp.set_id(id);
    cp.set_remaining_ttl(remaining);
  }
  return due;
}

etcdserverpb::LeaseTimeToLiveResponse Lessor::TimeToLive(
    int64_t id, bool with_keys) const {
  etcdserverpb::LeaseTimeToLiveResponse response;
  response.set_id(id);
  const Lease* lease = Find(id);
  if (lease == nullptr) {
    response.set_ttl(-1);
    return response;
  }
  response.set_grantedttl(lease->ttl_seconds);
  if (primary_) {
    response.set_ttl(std::max<int64_t>(0, (lease->expiry_ms - now_ms_) / 1000));
  } else {
    response.set_ttl(RemainingOrGranted(*lease));
  }
  if (with_keys) {
    for (const std::string& key : lease->keys) response.add_keys(key);
  }
  return response;
}

etcdserverpb::LeaseLeasesResponse Lessor::Leases() const {
  std::vector<const Lease*> sorted;
  sorted.reserve(leases_.size());
  for (const auto& [id, lease] : leases_) sorted.push_back(&lease);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Lease* a, const Lease* b) {
                     return a->expiry_ms < b->expiry_ms;
                   });
  etcdserverpb::LeaseLeasesResponse response;
  for (const Lease* lease : sorted) response.add_leases()->set_id(lease->id);
  return response;
}

void Lessor::CheckInvariants() const {
  size_t attached = 0;
  for (const auto& [id, lease] : leases_) {
    CHECK_EQ(lease.id, id) << "a lease is filed under its id";
    CHECK_NE(id, kNoLease) << "no lease has id 0";
    CHECK_GE(lease.ttl_seconds, 0) << "a granted TTL is not negative";
    if (!primary_) {
      CHECK_EQ(lease.expiry_ms, kForeverMs) << "followers never expire";
    }
    for (const std::string& key : lease.keys) {
      auto it = key_lease_.find(key);
      CHECK(it != key_lease_.end()) << "an attached key is in the key map";
      CHECK_EQ(it->second, id) << "a key is attached to one lease";
    }
    attached += lease.keys.size();
  }
  CHECK_EQ(attached, key_lease_.size())
      << "every key in the key map is in its lease's set";
}

}  // namespace etcdpp::kv
