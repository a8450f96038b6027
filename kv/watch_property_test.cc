// Watch property: random writes (the model test's generators, compactions
// included), watchers with random ranges, start revisions, filters and
// prev_kv, slow consumers that take their output rarely, cancels and
// progress requests. Each watcher must receive exactly the history's
// matching events, in order, each once -- or a prefix of them and then a
// cancel (by the client, or by compaction with a justified compact
// revision). Every progress notification must come after every event at or
// below its revision.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/key_range.h"
#include "kv/request_gen.h"
#include "kv/watch.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::WatchCreateRequest;
using etcdserverpb::WatchResponse;
using mvccpb::Event;
using mvccpb::KeyValue;
using testing::Uniform;
using testing::Uniform64;

struct HistoryEvent {
  Event event;
  std::optional<KeyValue> prev;  // the key just before this change
};

struct Spec {
  WatchCreateRequest request;
  int64_t start = 0;  // effective: the first revision owed
  bool canceled_by_client = false;
};

class World {
 public:
  explicit World(WatchHubOptions options)
      : applier_(ApplierOptions{.txn = {.max_txn_ops = testing::kMaxTxnOps}}),
        hub_(&applier_.store(), options) {
    for (const auto& grant : testing::GrantGeneratedLeases()) {
      RC_ASSERT(applier_.Apply(grant).status.ok());
    }
  }

  void Write() {
    const ApplyResult r = applier_.Apply(
        testing::GenRequest(applier_.store().current_revision()));
    if (r.events.empty()) return;
    // etcd reads an event's prev_kv at mod_revision - 1: the key as it was
    // before the whole request. It differs from the change just before only
    // for a delete after a put of the same key in one txn, which etcd's
    // duplicate-key check lets through when the two sit in sibling nested
    // txns, put first.
    for (const Event& e : r.events) {
      HistoryEvent& h = history_.emplace_back();
      h.event = e;
      auto it = live_.find(e.kv().key());
      if (it != live_.end()) h.prev = it->second;
    }
    for (const Event& e : r.events) {
      if (e.type() == Event::PUT) {
        live_[e.kv().key()] = e.kv();
      } else {
        live_.erase(e.kv().key());
      }
    }
    hub_.OnApplied(r.events, applier_.store().current_revision());
  }

  void NewWatcher() {
    const int64_t id = next_id_++;
    Spec spec;
    WatchCreateRequest& req = spec.request;
    req.set_key(testing::GenKey());
    req.set_range_end(testing::GenRangeEnd(req.key()));
    const int64_t current = applier_.store().current_revision();
    if (Uniform(0, 3) > 0) req.set_start_revision(Uniform64(1, current + 3));
    if (Uniform(0, 4) == 0) req.add_filters(WatchCreateRequest::NOPUT);
    if (Uniform(0, 4) == 0) req.add_filters(WatchCreateRequest::NODELETE);
    req.set_prev_kv(Uniform(0, 2) == 0);
    req.set_fragment(Uniform(0, 2) == 0);
    spec.start = req.start_revision() == 0 ? current + 1 : req.start_revision();
    const absl::Status s = hub_.Watch(id, req);
    const KeyRange range = KeyRange::FromRequest(req.key(), req.range_end());
    const bool empty =
        range.kind == KeyRange::Kind::kInterval && range.end <= range.key;
    RC_ASSERT(s.ok() == !empty);
    if (s.ok()) specs_[id] = spec;
  }

  void TakeOne() {
    const std::vector<int64_t> ids = hub_.WatchersWithOutput();
    if (ids.empty()) return;
    const int64_t id = ids[Uniform(0, static_cast<int>(ids.size()))];
    for (WatchResponse& r : hub_.Take(id)) got_[id].push_back(std::move(r));
  }

  void CancelOne() {
    if (specs_.empty()) return;
    const int64_t id = Uniform64(0, next_id_);
    if (hub_.Cancel(id).ok()) specs_.at(id).canceled_by_client = true;
  }

  void Step() {
    switch (Uniform(0, 12)) {
      case 0:
      case 1:
        NewWatcher();
        break;
      case 2:
      case 3:
        TakeOne();
        break;
      case 4:
        hub_.SyncUnsynced();
        break;
      case 5:
        CancelOne();
        break;
      case 6:
        hub_.Progress();
        break;
      default:
        Write();
    }
    hub_.CheckInvariants();
  }

  // Takes everything and lets every watcher catch up.
  void Drain() {
    for (int round = 0; round < 1000; ++round) {
      for (int64_t id : hub_.WatchersWithOutput()) {
        for (WatchResponse& r : hub_.Take(id)) got_[id].push_back(std::move(r));
      }
      hub_.SyncUnsynced();
      hub_.CheckInvariants();
      if (hub_.unsynced_count() == 0 && hub_.WatchersWithOutput().empty()) {
        return;
      }
    }
    RC_FAIL("watchers never caught up");
  }

  void Check() const {
    for (const auto& [id, spec] : specs_) CheckWatcher(id, spec);
  }

 private:
  std::vector<const HistoryEvent*> Expected(const Spec& spec) const {
    const WatchCreateRequest& req = spec.request;
    const KeyRange range = KeyRange::FromRequest(req.key(), req.range_end());
    bool no_put = false, no_delete = false;
    for (int f : req.filters()) {
      no_put |= f == WatchCreateRequest::NOPUT;
      no_delete |= f == WatchCreateRequest::NODELETE;
    }
    std::vector<const HistoryEvent*> out;
    for (const HistoryEvent& h : history_) {
      if (h.event.kv().mod_revision() < spec.start) continue;
      if (!range.Contains(h.event.kv().key())) continue;
      if (h.event.type() == Event::PUT && no_put) continue;
      if (h.event.type() == Event::DELETE && no_delete) continue;
      out.push_back(&h);
    }
    return out;
  }

  void CheckPrevKv(const Spec& spec, const Event& got,
                   const HistoryEvent& want) const {
    if (!spec.request.prev_kv()) {
      RC_ASSERT(!got.has_prev_kv());
      return;
    }
    if (got.has_prev_kv()) {
      RC_ASSERT(want.prev.has_value());
      RC_ASSERT(got.prev_kv().SerializeAsString() ==
                want.prev->SerializeAsString());
      return;
    }
    // Missing only when there was none, or it was compacted before the
    // event was read from the store.
    RC_ASSERT(!want.prev.has_value() ||
              applier_.store().compact_revision() >= got.kv().mod_revision());
  }

  void CheckWatcher(int64_t id, const Spec& spec) const {
    RC_LOG() << "watcher " << id << " " << spec.request.ShortDebugString()
             << " start " << spec.start << "\n";
    const std::vector<const HistoryEvent*> expected = Expected(spec);
    auto it = got_.find(id);
    RC_ASSERT(it != got_.end());
    const std::vector<WatchResponse>& responses = it->second;
    for (const WatchResponse& r : responses) {
      RC_LOG() << "  got " << r.ShortDebugString() << "\n";
    }
    RC_ASSERT(!responses.empty());
    RC_ASSERT(responses.front().created());
    size_t delivered = 0;
    bool canceled = false;
    for (size_t i = 1; i < responses.size(); ++i) {
      const WatchResponse& r = responses[i];
      RC_ASSERT(r.watch_id() == id);
      RC_ASSERT(!canceled);  // the cancel is the last response
      RC_ASSERT(!r.created());
      for (const Event& e : r.events()) {
        RC_ASSERT(delivered < expected.size());
        const HistoryEvent& want = *expected[delivered++];
        Event bare = e;
        bare.clear_prev_kv();
        RC_ASSERT(bare.SerializeAsString() == want.event.SerializeAsString());
        CheckPrevKv(spec, e, want);
      }
      if (r.canceled()) {
        canceled = true;
        if (r.compact_revision() != 0) {
          RC_ASSERT(!spec.canceled_by_client);
          RC_ASSERT(r.compact_revision() <=
                    applier_.store().compact_revision());
          RC_ASSERT(spec.start <= r.compact_revision());
          if (delivered > 0) {
            RC_ASSERT(expected[delivered - 1]->event.kv().mod_revision() <
                      r.compact_revision());
          }
        } else {
          RC_ASSERT(spec.canceled_by_client);
        }
      } else if (r.events_size() == 0) {
        // A progress notification: everything at or below it was sent.
        size_t owed = 0;
        while (owed < expected.size() &&
               expected[owed]->event.kv().mod_revision() <=
                   r.header().revision()) {
          ++owed;
        }
        RC_ASSERT(delivered == owed);
      }
    }
    if (!canceled) {
      RC_ASSERT(!spec.canceled_by_client);
      RC_ASSERT(delivered == expected.size());
    }
  }

  Applier applier_;
  WatchHub hub_;
  std::vector<HistoryEvent> history_;
  std::map<std::string, KeyValue> live_;
  std::map<int64_t, Spec> specs_;
  std::map<int64_t, std::vector<WatchResponse>> got_;
  int64_t next_id_ = 0;
};

void WatchPropertyBody(const PlantedBugs& bugs) {
  WatchHubOptions options;
  options.bugs = bugs;
  options.max_pending_events = static_cast<size_t>(Uniform(1, 8));
  if (Uniform(0, 2) == 0) options.max_response_bytes = 120;
  World world(options);
  const int steps = Uniform(1, 120);
  for (int i = 0; i < steps; ++i) world.Step();
  world.Drain();
  world.Check();
}

RC_GTEST_PROP(WatchProperty, EveryWatcherGetsExactlyItsEventsInOrder, ()) {
  WatchPropertyBody(PlantedBugs{});
}

// The planted bug has teeth: the same property fails with it on.
TEST(WatchProperty, CatchesPlantedOutOfOrderEvents) {
  PlantedBugs bugs;
  bugs.watch_events_out_of_order = true;
  EXPECT_FALSE(rc::check("watch events out of order",
                         [&] { WatchPropertyBody(bugs); }));
}

}  // namespace
}  // namespace etcdpp::kv
