// Lease property test: random grants, revokes, puts with and without
// leases, deletes, keepalives, clock advances, expiry (the leader revoking
// what TakeExpired hands out), leader changes and snapshot round trips,
// against a small model of leases and keys. Checked after every step: the
// store's keys and their leases are the model's, every lease's attached
// keys are the model's, no key outlives its lease's revoke, and a restored
// snapshot holds the same leases and attachments.
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/lease.h"
#include "kv/request_gen.h"
#include "kv/snapshot.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::kv {
namespace {

using testing::Uniform;

constexpr int64_t kMinTtl = 2;

struct ModelLease {
  int64_t ttl_seconds;
  int64_t expiry_ms;
};

class World {
 public:
  explicit World(const PlantedBugs& bugs) {
    options_.lessor.min_ttl_seconds = kMinTtl;
    options_.lessor.checkpoint_interval_ms = 0;
    options_.bugs = bugs;
    applier_ = std::make_unique<Applier>(options_);
    applier_->lessor().Promote(0);
  }

  void Step() {
    switch (Uniform(0, 10)) {
      case 0:
        return Grant(Uniform(1, 5), Uniform(0, 8));
      case 1:
        return Revoke(Uniform(1, 5));
      case 2:
      case 3:
        return Put(testing::OneOf(kKeys), Uniform(0, 5));
      case 4:
        return Delete(testing::OneOf(kKeys));
      case 5:
        return KeepAlive(Uniform(1, 5));
      case 6:
        return Advance(Uniform(0, 4000));
      case 7:
        return Expire();
      case 8:
        return ChangeLeader(Uniform(0, 2000));
      default:
        return SnapshotRoundTrip();
    }
  }

  void Check() const {
    applier_->CheckInvariants();
    const Lessor& lessor = applier_->lessor();
    // The store's live keys and the leases they name are the model's.
    etcdserverpb::RangeRequest all;
    all.set_key("a");
    all.set_range_end("z");
    const etcdserverpb::RangeResponse got = *applier_->store().Range(all);
    std::map<std::string, int64_t> live;
    for (const mvccpb::KeyValue& kv : got.kvs()) {
      live[kv.key()] = kv.lease();
      // No key outlives its lease's revoke.
      if (kv.lease() != kNoLease) RC_ASSERT(lessor.Find(kv.lease()) != nullptr);
    }
    RC_ASSERT(live == keys_);
    RC_ASSERT(lessor.leases().size() == leases_.size());
    for (const auto& [id, model] : leases_) {
      const Lessor::Lease* lease = lessor.Find(id);
      RC_ASSERT(lease != nullptr);
      RC_ASSERT(lease->ttl_seconds == model.ttl_seconds);
      RC_ASSERT(lease->expiry_ms == model.expiry_ms);
      std::vector<std::string> want;
      for (const auto& [key, l] : keys_) {
        if (l == id) want.push_back(key);
      }
      RC_ASSERT(std::vector<std::string>(lease->keys.begin(),
                                         lease->keys.end()) == want);
    }
  }

 private:
  static inline const std::vector<std::string> kKeys = {"a", "b", "c", "d"};

  ApplyResult Apply(const kvpb::InternalRequest& request) {
    RC_LOG() << "now=" << now_ms_ << " " << request.ShortDebugString() << "\n";
    return applier_->Apply(request);
  }

  void Grant(int64_t id, int64_t ttl) {
    kvpb::InternalRequest r;
    r.mutable_lease_grant()->set_id(id);
    r.mutable_lease_grant()->set_ttl(ttl);
    const ApplyResult got = Apply(r);
    if (leases_.contains(id)) {
      RC_ASSERT(got.status == LeaseExistsError());
      return;
    }
    RC_ASSERT(got.status.ok());
    const int64_t granted = std::max(ttl, kMinTtl);
    RC_ASSERT(got.response.lease_grant().ttl() == granted);
    leases_[id] = ModelLease{granted, now_ms_ + granted * 1000};
  }

  void Revoke(int64_t id) {
    kvpb::InternalRequest r;
    r.mutable_lease_revoke()->set_id(id);
    const ApplyResult got = Apply(r);
    if (!leases_.contains(id)) {
      RC_ASSERT(got.status == LeaseNotFoundError());
      return;
    }
    RC_ASSERT(got.status.ok());
    leases_.erase(id);
    const int64_t before = revision_;
    size_t deleted = 0;
    for (auto it = keys_.begin(); it != keys_.end();) {
      if (it->second == id) {
        it = keys_.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    // Every attached key goes, in one revision.
    if (deleted > 0) ++revision_;
    RC_ASSERT(applier_->store().current_revision() == revision_);
    RC_ASSERT(got.events.size() == deleted);
    for (const mvccpb::Event& e : got.events) {
      RC_ASSERT(e.kv().mod_revision() == before + 1);
    }
  }

  void Put(const std::string& key, int64_t lease) {
    kvpb::InternalRequest r;
    r.mutable_put()->set_key(key);
    r.mutable_put()->set_value("v");
    r.mutable_put()->set_lease(lease);
    const ApplyResult got = Apply(r);
    if (lease != kNoLease && !leases_.contains(lease)) {
      RC_ASSERT(got.status == LeaseNotFoundError());
      return;
    }
    RC_ASSERT(got.status.ok());
    keys_[key] = lease;
    ++revision_;
  }

  void Delete(const std::string& key) {
    kvpb::InternalRequest r;
    r.mutable_delete_range()->set_key(key);
    RC_ASSERT(Apply(r).status.ok());
    if (keys_.erase(key) > 0) ++revision_;
  }

  void KeepAlive(int64_t id) {
    RC_LOG() << "now=" << now_ms_ << " keepalive " << id << "\n";
    const absl::StatusOr<int64_t> ttl = applier_->lessor().Renew(id);
    auto it = leases_.find(id);
    if (it == leases_.end() || it->second.expiry_ms <= now_ms_) {
      RC_ASSERT(ttl.status() == LeaseNotFoundError());
      return;
    }
    RC_ASSERT(ttl.ok());
    RC_ASSERT(*ttl == it->second.ttl_seconds);
    it->second.expiry_ms = now_ms_ + it->second.ttl_seconds * 1000;
  }

  void Advance(int64_t ms) {
    now_ms_ += ms;
    applier_->lessor().AdvanceTo(now_ms_);
  }

  // What the leader does each tick: revoke what has expired.
  void Expire() {
    const std::vector<int64_t> expired = applier_->lessor().TakeExpired(100);
    std::vector<std::pair<int64_t, int64_t>> want;  // (expiry, id)
    for (const auto& [id, lease] : leases_) {
      if (lease.expiry_ms <= now_ms_) want.push_back({lease.expiry_ms, id});
    }
    std::sort(want.begin(), want.end());
    RC_ASSERT(expired.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      RC_ASSERT(expired[i] == want[i].second);
    }
    for (int64_t id : expired) Revoke(id);
  }

  // Another leader: expiries restart from now, extended.
  void ChangeLeader(int64_t extend_ms) {
    RC_LOG() << "now=" << now_ms_ << " new leader, extend " << extend_ms
             << "\n";
    applier_->lessor().Demote();
    applier_->lessor().Promote(extend_ms);
    for (auto& [id, lease] : leases_) {
      lease.expiry_ms = now_ms_ + extend_ms + lease.ttl_seconds * 1000;
    }
  }

  // A member restored from a snapshot that then becomes leader.
  void SnapshotRoundTrip() {
    RC_LOG() << "now=" << now_ms_ << " snapshot round trip\n";
    absl::StatusOr<RestoredState> restored =
        RestoreSnapshot(WriteSnapshot(*applier_, 1), options_);
    RC_ASSERT(restored.ok());
    for (const auto& [id, lease] : applier_->lessor().leases()) {
      const Lessor::Lease* copy = restored->applier->lessor().Find(id);
      RC_ASSERT(copy != nullptr);
      RC_ASSERT(copy->ttl_seconds == lease.ttl_seconds);
      RC_ASSERT(copy->keys == lease.keys);
    }
    RC_ASSERT(restored->applier->lessor().leases().size() ==
              applier_->lessor().leases().size());
    applier_ = std::move(restored->applier);
    applier_->lessor().AdvanceTo(now_ms_);
    applier_->lessor().Promote(0);
    for (auto& [id, lease] : leases_) {
      lease.expiry_ms = now_ms_ + lease.ttl_seconds * 1000;
    }
  }

  ApplierOptions options_;
  std::unique_ptr<Applier> applier_;
  std::map<int64_t, ModelLease> leases_;
  std::map<std::string, int64_t> keys_;  // live key -> its lease
  int64_t revision_ = 1;
  int64_t now_ms_ = 0;
};

void LeasePropertyBody(const PlantedBugs& bugs) {
  World world(bugs);
  const int steps = Uniform(1, 80);
  for (int i = 0; i < steps; ++i) {
    world.Step();
    world.Check();
  }
}

RC_GTEST_PROP(LeaseProperty, LeasesAndKeysFollowTheModel, ()) {
  LeasePropertyBody(PlantedBugs{});
}

// The planted bug has teeth: the same property fails with it on.
TEST(LeaseProperty, CatchesPlantedLeaseOutlivesRevoke) {
  PlantedBugs bugs;
  bugs.lease_outlives_revoke = true;
  EXPECT_FALSE(rc::check("lease outlives revoke",
                         [&] { LeasePropertyBody(bugs); }));
}

}  // namespace
}  // namespace etcdpp::kv
