#include "kv/watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "google/protobuf/io/coded_stream.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::WatchCreateRequest;
using etcdserverpb::WatchResponse;
using mvccpb::Event;

// What one more event adds to a WatchResponse's encoded size: the tag of
// field 11, the length, and the event.
size_t EventWireBytes(const Event& e) {
  const size_t n = e.ByteSizeLong();
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(n) + n;
}

}  // namespace

struct WatchHub::Watcher {
  enum class State { kSynced, kUnsynced, kCanceled };

  int64_t id = 0;
  std::string key;
  std::string range_end;  // as etcd's watch stream reads it: see MakeWatcher
  // etcd's minRev: no event below it is delivered.
  int64_t start_revision = 0;
  bool no_put = false;
  bool no_delete = false;
  bool prev_kv = false;
  bool progress_notify = false;
  bool fragment = false;

  State state = State::kUnsynced;  // until it joins a group
  // While unsynced: every matching event below it has been queued, none at
  // or above it.
  int64_t next_revision = 0;
  std::deque<WatchResponse> out;
  size_t pending_events = 0;  // events in `out`
  bool events_since_progress = false;

  KeyRange range() const { return KeyRange::FromRequest(key, range_end); }
  bool single_key() const { return range_end.empty(); }
};

WatchHub::WatchHub(const MvccStore* store, WatchHubOptions options)
    : store_(store), options_(options) {
  CHECK(store_ != nullptr) << "a hub watches a store";
  heard_revision_ = store_->current_revision();
}

WatchHub::~WatchHub() = default;

std::unique_ptr<WatchHub::Watcher> WatchHub::MakeWatcher(
    int64_t watch_id, const WatchCreateRequest& request) const {
  auto w = std::make_unique<Watcher>();
  w->id = watch_id;
  // etcd's watch stream: an empty key is "\0", the smallest key.
  w->key = request.key().empty() ? std::string(1, '\0') : request.key();
  w->range_end = request.range_end();
  for (int f : request.filters()) {
    if (f == WatchCreateRequest::NOPUT) w->no_put = true;
    if (f == WatchCreateRequest::NODELETE) w->no_delete = true;
  }
  w->prev_kv = request.prev_kv();
  w->progress_notify = request.progress_notify();
  w->fragment = request.fragment();
  return w;
}

absl::Status WatchHub::Watch(int64_t watch_id,
                             const WatchCreateRequest& request) {
  if (watchers_.contains(watch_id)) {
    return absl::AlreadyExistsError(
        "mvcc: duplicate watch ID provided on the WatchStream");
  }
  if (request.start_revision() < 0) {
    return absl::InvalidArgumentError("kv: negative watch start revision");
  }
  std::unique_ptr<Watcher> owned = MakeWatcher(watch_id, request);
  Watcher* w = owned.get();
  const KeyRange range = w->range();
  if (range.kind == KeyRange::Kind::kInterval && range.end <= range.key) {
    return absl::InvalidArgumentError("mvcc: watcher range is empty");
  }
  watchers_.emplace(watch_id, std::move(owned));
  WatchResponse created = NewResponse(*w);
  created.set_created(true);
  w->out.push_back(std::move(created));

  const int64_t current = store_->current_revision();
  const int64_t start = request.start_revision();
  if (start == 0 || start > current) {
    w->start_revision = start == 0 ? current + 1 : start;
    AddSynced(w);
  } else {
    w->start_revision = start;
    MoveToUnsynced(w, start);
  }
  return absl::OkStatus();
}

absl::Status WatchHub::Cancel(int64_t watch_id) {
  auto it = watchers_.find(watch_id);
  if (it == watchers_.end() || it->second->state == Watcher::State::kCanceled) {
    return absl::NotFoundError("mvcc: watcher does not exist");
  }
  Watcher* w = it->second.get();
  if (w->state == Watcher::State::kSynced) RemoveSynced(w);
  unsynced_.erase(w->id);
  w->state = Watcher::State::kCanceled;
  // The client asked to stop: the events and notifications it has not taken
  // are not owed. An untaken created response stays, so the client always
  // hears of the watch before its end.
  std::erase_if(w->out, [](const WatchResponse& r) { return !r.created(); });
  w->pending_events = 0;
  WatchResponse canceled = NewResponse(*w);
  canceled.set_canceled(true);
  w->out.push_back(std::move(canceled));
  return absl::OkStatus();
}

void WatchHub::AddSynced(Watcher* w) {
  w->state = Watcher::State::kSynced;
  if (w->single_key()) {
    synced_by_key_[w->key].insert(w->id);
  } else {
    synced_ranges_.insert(w->id);
  }
}

void WatchHub::RemoveSynced(Watcher* w) {
  CHECK(w->state == Watcher::State::kSynced) << "only a synced watcher leaves";
  if (!w->single_key()) {
    synced_ranges_.erase(w->id);
    return;
  }
  auto it = synced_by_key_.find(w->key);
  CHECK(it != synced_by_key_.end()) << "a synced key watcher is indexed";
  it->second.erase(w->id);
  if (it->second.empty()) synced_by_key_.erase(it);
}

void WatchHub::MoveToUnsynced(Watcher* w, int64_t next_revision) {
  if (w->state == Watcher::State::kSynced) RemoveSynced(w);
  w->state = Watcher::State::kUnsynced;
  w->next_revision = next_revision;
  unsynced_.insert(w->id);
}

WatchResponse WatchHub::NewResponse(const Watcher& w) const {
  WatchResponse r;
  r.mutable_header()->set_revision(store_->current_revision());
  r.set_watch_id(w.id);
  return r;
}

void WatchHub::FillPrevKv(Event* event) const {
  // etcd reads the key just before the change; a create has nothing there,
  // and a read below the compact revision fails, leaving prev_kv unset.
  if (event->type() == Event::PUT && event->kv().version() == 1) return;
  etcdserverpb::RangeRequest read;
  read.set_key(event->kv().key());
  read.set_revision(event->kv().mod_revision() - 1);
  absl::StatusOr<etcdserverpb::RangeResponse> r = store_->Range(read);
  if (r.ok() && r->kvs_size() > 0) *event->mutable_prev_kv() = r->kvs(0);
}

std::vector<Event> WatchHub::Select(const Watcher& w,
                                    const std::vector<Event>& events) const {
  std::vector<Event> out;
  for (const Event& e : events) {
    if (e.type() == Event::PUT && w.no_put) continue;
    if (e.type() == Event::DELETE && w.no_delete) continue;
    Event& copy = out.emplace_back(e);
    if (w.prev_kv) FillPrevKv(&copy);
  }
  return out;
}

void WatchHub::Queue(Watcher* w, std::vector<Event> events) {
  if (events.empty()) return;
  if (options_.bugs.watch_events_out_of_order) {
    std::reverse(events.begin(), events.end());  // planted bug
  }
  w->pending_events += events.size();
  w->events_since_progress = true;
  WatchResponse whole = NewResponse(*w);
  size_t total = whole.ByteSizeLong();
  for (const Event& e : events) total += EventWireBytes(e);
  // etcd's sendFragments: split only when asked, when too big, and when
  // there is more than one event; each fragment but the last says so.
  if (!w->fragment || total < options_.max_response_bytes ||
      events.size() < 2) {
    for (Event& e : events) *whole.add_events() = std::move(e);
    w->out.push_back(std::move(whole));
    return;
  }
  WatchResponse empty = NewResponse(*w);
  empty.set_fragment(true);
  const size_t base = empty.ByteSizeLong();
  size_t i = 0;
  while (i < events.size()) {
    WatchResponse part = empty;
    size_t size = base;
    for (; i < events.size(); ++i) {
      const size_t add = EventWireBytes(events[i]);
      if (part.events_size() > 0 && size + add >= options_.max_response_bytes)
        break;
      size += add;
      *part.add_events() = std::move(events[i]);
    }
    if (i == events.size()) part.set_fragment(false);
    w->out.push_back(std::move(part));
  }
}

void WatchHub::QueueHeaderOnly(Watcher* w) {
  w->out.push_back(NewResponse(*w));
}

void WatchHub::OnApplied(const std::vector<Event>& events, int64_t revision) {
  // A driver may apply several requests before it tells the hub of them
  // (the production runner drains the node's output in batches).
  if (events.empty()) return;  // a request that changed nothing
  CHECK_LE(revision, store_->current_revision())
      << "the hub hears of a write once the store has applied it";
  CHECK_GT(revision, heard_revision_)
      << "the hub hears of each revision once, in order";
  heard_revision_ = revision;
  for (const Event& e : events) {
    CHECK_EQ(e.kv().mod_revision(), revision)
        << "one applied request writes one revision";
  }
  // Which events each synced watcher matches, in watcher id order.
  absl::btree_map<int64_t, std::vector<Event>> matched;
  for (const Event& e : events) {
    auto it = synced_by_key_.find(e.kv().key());
    if (it == synced_by_key_.end()) continue;
    for (int64_t id : it->second) matched[id].push_back(e);
  }
  for (int64_t id : synced_ranges_) {
    const KeyRange range = watchers_.at(id)->range();
    for (const Event& e : events) {
      if (range.Contains(e.kv().key())) matched[id].push_back(e);
    }
  }
  for (auto& [id, mine] : matched) {
    Watcher* w = watchers_.at(id).get();
    if (revision < w->start_revision) continue;
    // A watcher is in only one index, so `mine` is in sub-revision order.
    std::vector<Event> selected = Select(*w, mine);
    if (selected.empty()) continue;
    if (w->pending_events > 0 &&
        w->pending_events + selected.size() > options_.max_pending_events) {
      // Slow: stop feeding it; SyncUnsynced replays this revision on.
      MoveToUnsynced(w, revision);
      continue;
    }
    Queue(w, std::move(selected));
  }
}

void WatchHub::CancelCompacted(Watcher* w) {
  unsynced_.erase(w->id);
  w->state = Watcher::State::kCanceled;
  // The events already queued are owed and stay, before the cancel.
  WatchResponse r = NewResponse(*w);
  r.set_canceled(true);
  r.set_compact_revision(store_->compact_revision());
  w->out.push_back(std::move(r));
}

void WatchHub::CatchUp(Watcher* w) {
  CHECK(w->state == Watcher::State::kUnsynced) << "only unsynced catch up";
  if (w->next_revision <= store_->compact_revision()) {
    CancelCompacted(w);
    return;
  }
  const std::vector<Revision> revisions =
      store_->ChangesSince(w->range(), w->next_revision);
  std::vector<Event> batch;
  size_t i = 0;
  while (i < revisions.size()) {
    // One revision's changes at a time: a revision is never split.
    const int64_t main = revisions[i].main;
    std::vector<Event> group;
    for (; i < revisions.size() && revisions[i].main == main; ++i) {
      const mvccpb::KeyValue* kv = store_->FindChange(revisions[i]);
      CHECK(kv != nullptr) << "the index shows only kept changes";
      Event& e = group.emplace_back();
      e.set_type(kv->create_revision() == 0 ? Event::DELETE : Event::PUT);
      *e.mutable_kv() = *kv;
    }
    std::vector<Event> selected = Select(*w, group);
    const size_t pending = w->pending_events + batch.size();
    if (!selected.empty() && pending > 0 &&
        pending + selected.size() > options_.max_pending_events) {
      w->next_revision = main;
      Queue(w, std::move(batch));
      return;
    }
    for (Event& e : selected) batch.push_back(std::move(e));
  }
  Queue(w, std::move(batch));
  unsynced_.erase(w->id);
  w->next_revision = 0;
  AddSynced(w);
}

void WatchHub::SyncUnsynced() {
  // A copy: catching up changes the set.
  const std::vector<int64_t> ids(unsynced_.begin(), unsynced_.end());
  for (int64_t id : ids) CatchUp(watchers_.at(id).get());
}

void WatchHub::Rebind(const MvccStore* store) {
  CHECK(store != nullptr) << "a hub watches a store";
  CHECK_GE(store->current_revision(), heard_revision_)
      << "a restored snapshot never moves the revision back";
  for (auto& [id, w] : watchers_) {
    if (w->state != Watcher::State::kSynced) continue;
    MoveToUnsynced(w.get(), std::max(w->start_revision, heard_revision_ + 1));
  }
  store_ = store;
  heard_revision_ = store_->current_revision();
}

void WatchHub::Feed(const MvccStore* store, bool store_replaced,
                    std::vector<Event> events) {
  if (store_replaced) {
    Rebind(store);
    return;
  }
  CHECK(store == store_)
      << "only a restored snapshot replaces the store a hub watches";
  size_t i = 0;
  while (i < events.size()) {
    const int64_t revision = events[i].kv().mod_revision();
    std::vector<Event> group;
    for (; i < events.size() && events[i].kv().mod_revision() == revision;
         ++i) {
      group.push_back(std::move(events[i]));
    }
    OnApplied(group, revision);
  }
  CHECK_EQ(heard_revision_, store_->current_revision())
      << "the hub hears of every change its store makes";
}

void WatchHub::Progress() {
  for (auto& [id, w] : watchers_) {
    if (w->state == Watcher::State::kSynced) QueueHeaderOnly(w.get());
  }
}

void WatchHub::ProgressNotify() {
  for (auto& [id, w] : watchers_) {
    if (!w->progress_notify) continue;
    if (w->state == Watcher::State::kSynced && !w->events_since_progress) {
      QueueHeaderOnly(w.get());
    }
    w->events_since_progress = false;
  }
}

std::vector<int64_t> WatchHub::WatchersWithOutput() const {
  std::vector<int64_t> ids;
  for (const auto& [id, w] : watchers_) {
    if (!w->out.empty()) ids.push_back(id);
  }
  return ids;
}

std::vector<WatchResponse> WatchHub::Take(int64_t watch_id) {
  auto it = watchers_.find(watch_id);
  if (it == watchers_.end()) return {};
  Watcher* w = it->second.get();
  std::vector<WatchResponse> out(std::make_move_iterator(w->out.begin()),
                                 std::make_move_iterator(w->out.end()));
  w->out.clear();
  w->pending_events = 0;
  if (w->state == Watcher::State::kCanceled) watchers_.erase(it);
  return out;
}

std::vector<WatchResponse> WatchHub::TakeAll() {
  std::vector<WatchResponse> out;
  for (int64_t id : WatchersWithOutput()) {
    std::vector<WatchResponse> mine = Take(id);
    for (WatchResponse& r : mine) out.push_back(std::move(r));
  }
  return out;
}

bool WatchHub::IsSynced(int64_t watch_id) const {
  auto it = watchers_.find(watch_id);
  return it != watchers_.end() && it->second->state == Watcher::State::kSynced;
}

void WatchHub::CheckInvariants() const {
  size_t synced = 0;
  size_t indexed = synced_ranges_.size();
  for (const auto& [key, ids] : synced_by_key_) {
    CHECK(!ids.empty()) << "no empty key entries in the synced index";
    indexed += ids.size();
  }
  for (const auto& [id, w] : watchers_) {
    CHECK_EQ(id, w->id) << "a watcher is filed under its id";
    size_t events = 0;
    for (const WatchResponse& r : w->out) events += r.events_size();
    CHECK_EQ(events, w->pending_events) << "pending_events counts the queue";
    const bool in_unsynced = unsynced_.contains(id);
    const bool in_ranges = synced_ranges_.contains(id);
    const auto key_it = synced_by_key_.find(w->key);
    const bool in_keys =
        key_it != synced_by_key_.end() && key_it->second.contains(id);
    switch (w->state) {
      case Watcher::State::kSynced:
        ++synced;
        CHECK(!in_unsynced) << "a synced watcher is not unsynced";
        CHECK(w->single_key() ? in_keys : in_ranges)
            << "a synced watcher is indexed";
        break;
      case Watcher::State::kUnsynced:
        CHECK(in_unsynced) << "an unsynced watcher is in the unsynced group";
        CHECK(!in_keys && !in_ranges) << "an unsynced watcher gets no events";
        CHECK_GE(w->next_revision, w->start_revision)
            << "replay never goes below the start";
        CHECK_LE(w->next_revision, store_->current_revision() + 1)
            << "replay never passes the store";
        break;
      case Watcher::State::kCanceled:
        CHECK(!in_unsynced && !in_keys && !in_ranges)
            << "a canceled watcher is in no group";
        CHECK(!w->out.empty()) << "a canceled watcher waits to be taken";
        break;
    }
  }
  CHECK_EQ(synced, indexed) << "the synced index holds the synced watchers";
}

}  // namespace etcdpp::kv
