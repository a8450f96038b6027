// WatchHub: etcd's watchers over one MvccStore (server/storage/mvcc/
// watchable_store.go and the per-watcher half of api/v3rpc/watch.go).
//
// The hub lives beside the store and is told of every applied write with
// OnApplied. Each watcher covers a key, a range [key, range_end), or every
// key from key on (range_end "\0"), from a start revision (0: the next
// one), with the NOPUT/NODELETE filters, prev_kv, progress_notify and
// fragment options. Its output -- the created response, event responses,
// progress notifications and the final cancel -- waits in the hub until the
// caller takes it, so the hub never blocks and never calls out.
//
// Guarantees, for each watcher: events arrive in revision order, each
// matching event exactly once, or the watcher is canceled with
// compact_revision set when history it still needs was compacted. Every
// event of one revision is in one response unless `fragment` splits it.
//
// Slow watchers: a watcher holding more than max_pending_events untaken
// events stops receiving new ones -- it moves to the unsynced group, as in
// etcd -- and SyncUnsynced later replays what it missed from the store, as
// far as its buffer allows, until it is caught up and joins the synced group
// again. Writes and other watchers never wait for it.
//
// Differences from etcd, on purpose:
//  - Watch ids are chosen by the caller (the server maps each stream's ids
//    to hub ids and back), and a watch the hub refuses returns a Status; the
//    server answers it with etcd's created+canceled response carrying the
//    status message as cancel_reason.
//  - A watcher that needs history at or below the compact revision is
//    canceled. etcd serves start_revision == compact revision, but the
//    deletes at that revision were compacted away, so it silently skips
//    them; cancelling instead keeps "every matching event, exactly once".
//  - A negative start_revision is refused (etcd gives it no meaning).
//
// Deterministic and single-threaded: watchers are kept and visited in id
// order, never in hash order. The store must outlive the hub.
#ifndef ETCDPP_KV_WATCH_H_
#define ETCDPP_KV_WATCH_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/key_range.h"
#include "kv/mvcc_store.h"
#include "kv/planted_bugs.h"

namespace etcdpp::kv {

struct WatchHubOptions {
  // Untaken events a watcher may hold before it falls back to unsynced.
  // A single revision bigger than this is still delivered whole once the
  // watcher's buffer is empty, so every watcher makes progress.
  size_t max_pending_events = 1024;
  // With `fragment`, responses are split near this size (etcd's
  // --max-request-bytes, 1.5 MiB by default).
  size_t max_response_bytes = 1536 * 1024;
  // Only watch_events_out_of_order applies here. Tests and the simulator
  // only.
  PlantedBugs bugs = {};
};

class WatchHub {
 public:
  // `store` must outlive the hub.
  explicit WatchHub(const MvccStore* store, WatchHubOptions options = {});
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;
  ~WatchHub();

  // Creates watcher `watch_id` and queues its created response. A start
  // revision in the past is replayed by SyncUnsynced; one at or below the
  // compact revision ends in a compaction cancel there. Errors, with etcd's
  // words: AlreadyExists for an id in use (until its output is taken),
  // InvalidArgument for an empty range or a negative start revision.
  absl::Status Watch(int64_t watch_id,
                     const etcdserverpb::WatchCreateRequest& request);
  // Drops the watcher's untaken events and notifications (not an untaken
  // created response) and queues its canceled response.
  // NotFound for an unknown (or already canceled) id.
  absl::Status Cancel(int64_t watch_id);

  // After each applied request that wrote: `events` are its changes (all of
  // main revision `revision`, at most the store's current one: a driver may
  // apply a batch of requests first, then tell the hub of each in order).
  void OnApplied(const std::vector<mvccpb::Event>& events, int64_t revision);
  // Replays missed history to unsynced watchers from the store, in id order,
  // each as far as its buffer allows; the caught-up ones rejoin the synced
  // group, the compacted ones are canceled. Call after taking output.
  void SyncUnsynced();

  // A progress notification (a response with only the header revision) to
  // every synced watcher, behind its queued events: it tells the client it
  // has seen every change up to that revision. Unsynced watchers get none,
  // as in etcd, since they have not.
  void Progress();
  // After the node replaced its state with a restored snapshot: the hub
  // watches `store` from now on. Every synced watcher has seen every change
  // the hub heard of (OnApplied, up to heard_revision()) and catches up from
  // the new store from there (SyncUnsynced replays, or cancels when that
  // history was compacted), as etcd's watchableStore.Restore does. The old
  // store is not touched: it may be gone. Snapshots only move forward, so
  // the new store is at or past the heard revision.
  void Rebind(const MvccStore* store);
  // One batch of a node's output, as a driver takes it: `events` (revision
  // order) applied to `store`, and `store_replaced` when the node swapped
  // its store for a restored snapshot's before them. A replaced store is
  // rebound (its later events are in it already); otherwise each revision's
  // events go to OnApplied. Either way the hub has then heard of every
  // change `store` holds.
  void Feed(const MvccStore* store, bool store_replaced,
            std::vector<mvccpb::Event> events);
  // The newest revision the hub heard of.
  int64_t heard_revision() const { return heard_revision_; }

  // The periodic notification of progress_notify watchers: like Progress,
  // but only to the synced ones that got no events since the last call.
  void ProgressNotify();

  // Ids of watchers with queued output, ascending.
  std::vector<int64_t> WatchersWithOutput() const;
  // Takes the queued output of one watcher; a canceled watcher is forgotten
  // once its output is taken.
  std::vector<etcdserverpb::WatchResponse> Take(int64_t watch_id);
  // Takes everyone's output, by watcher id, then queue order.
  std::vector<etcdserverpb::WatchResponse> TakeAll();

  size_t watcher_count() const { return watchers_.size(); }
  size_t unsynced_count() const { return unsynced_.size(); }
  bool IsSynced(int64_t watch_id) const;

  void CheckInvariants() const;

 private:
  struct Watcher;

  std::unique_ptr<Watcher> MakeWatcher(
      int64_t watch_id, const etcdserverpb::WatchCreateRequest& request) const;
  void AddSynced(Watcher* w);
  void RemoveSynced(Watcher* w);
  void MoveToUnsynced(Watcher* w, int64_t next_revision);
  // The events (of one revision) that pass `w`'s filters, with prev_kv
  // filled when it asked.
  std::vector<mvccpb::Event> Select(
      const Watcher& w, const std::vector<mvccpb::Event>& events) const;
  void FillPrevKv(mvccpb::Event* event) const;
  // Queues `events` as one or more responses (fragmented if asked).
  void Queue(Watcher* w, std::vector<mvccpb::Event> events);
  void QueueHeaderOnly(Watcher* w);
  // One unsynced watcher's catch-up: synced again, still behind (its buffer
  // filled), or canceled by compaction.
  void CatchUp(Watcher* w);
  void CancelCompacted(Watcher* w);
  etcdserverpb::WatchResponse NewResponse(const Watcher& w) const;

  const MvccStore* store_;  // replaced only by Rebind
  int64_t heard_revision_;  // OnApplied told of every change up to it
  const WatchHubOptions options_;
  // Every watcher not yet forgotten, by id.
  absl::btree_map<int64_t, std::unique_ptr<Watcher>> watchers_;
  // The synced group, indexed for OnApplied: single-key watchers by key, the
  // others in one set scanned per write. Unsynced and canceled watchers are
  // in neither.
  absl::btree_map<std::string, absl::btree_set<int64_t>, std::less<>>
      synced_by_key_;
  absl::btree_set<int64_t> synced_ranges_;
  absl::btree_set<int64_t> unsynced_;
};

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_WATCH_H_
