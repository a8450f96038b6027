#include "kv/mvcc_store.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/crc32c.h"
#include "kv/errors.h"
#include "kv/key_range.h"
#include "kv/validate.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::RangeRequest;
using mvccpb::KeyValue;

// etcd fetches everything when it must filter or sort before cutting at the
// limit, and otherwise one more than the limit to learn `more`.
int64_t FetchLimit(const RangeRequest& r) {
  if (r.sort_order() != RangeRequest::NONE || r.min_mod_revision() != 0 ||
      r.max_mod_revision() != 0 || r.min_create_revision() != 0 ||
      r.max_create_revision() != 0) {
    return 0;
  }
  return r.limit() > 0 ? r.limit() + 1 : 0;
}

void ApplyRevisionFilters(const RangeRequest& r, std::vector<KeyValue>* kvs) {
  auto drop = [&](const KeyValue& kv) {
    return (r.max_mod_revision() != 0 &&
            kv.mod_revision() > r.max_mod_revision()) ||
           (r.min_mod_revision() != 0 &&
            kv.mod_revision() < r.min_mod_revision()) ||
           (r.max_create_revision() != 0 &&
            kv.create_revision() > r.max_create_revision()) ||
           (r.min_create_revision() != 0 &&
            kv.create_revision() < r.min_create_revision());
  };
  kvs->erase(std::remove_if(kvs->begin(), kvs->end(), drop), kvs->end());
}

// Three-way comparison of two kvs on the request's sort target.
int CompareOnTarget(RangeRequest::SortTarget target, const KeyValue& a,
                    const KeyValue& b) {
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (target) {
    case RangeRequest::VERSION:
      return cmp(a.version(), b.version());
    case RangeRequest::CREATE:
      return cmp(a.create_revision(), b.create_revision());
    case RangeRequest::MOD:
      return cmp(a.mod_revision(), b.mod_revision());
    case RangeRequest::VALUE:
      return a.value().compare(b.value());
    default:
      return a.key().compare(b.key());
  }
}

// etcd sorts ASCEND by default for any target but KEY, and never re-sorts
// by key ascending since ranges come in key order. The sort is stable, so
// ties stay in key order in both directions (what etcd's insertion sort does
// for the small results where ties are common).
void SortKvs(const RangeRequest& r, std::vector<KeyValue>* kvs) {
  RangeRequest::SortOrder order = r.sort_order();
  if (r.sort_target() != RangeRequest::KEY && order == RangeRequest::NONE) {
    order = RangeRequest::ASCEND;
  } else if (r.sort_target() == RangeRequest::KEY &&
             order == RangeRequest::ASCEND) {
    order = RangeRequest::NONE;
  }
  if (order == RangeRequest::NONE) return;
  const int sign = order == RangeRequest::DESCEND ? -1 : 1;
  std::stable_sort(kvs->begin(), kvs->end(),
                   [&](const KeyValue& a, const KeyValue& b) {
                     return sign * CompareOnTarget(r.sort_target(), a, b) < 0;
                   });
}

uint64_t ChangeBytes(const KeyValue& kv) {
  return kChangeOverheadBytes + kv.key().size() + kv.value().size();
}

}  // namespace

absl::StatusOr<etcdserverpb::RangeResponse> MvccStore::Range(
    const RangeRequest& request) const {
  CHECK(!write_open_) << "reads from outside a write wait for its end";
  if (absl::Status s = ValidateRangeRequest(request); !s.ok()) return s;
  return RangeAt(request, current_revision_);
}

absl::StatusOr<etcdserverpb::RangeResponse> MvccStore::RangeAt(
    const RangeRequest& request, int64_t current) const {
  int64_t rev = request.revision();
  if (rev > current) return FutureRevisionError();
  if (rev <= 0) rev = current;
  if (rev < compact_revision_) return CompactedError();

  etcdserverpb::RangeResponse response;
  response.mutable_header()->set_revision(current);
  const KeyRange range =
      KeyRange::FromRequest(request.key(), request.range_end());
  if (request.count_only()) {
    response.set_count(index_.CountRevisions(range, rev));
    return response;
  }
  Index::RevisionsResult found =
      index_.Revisions(range, rev, FetchLimit(request));
  response.set_count(found.total);
  std::vector<KeyValue> kvs = ReadChanges(found.revisions);
  ApplyRevisionFilters(request, &kvs);
  SortKvs(request, &kvs);
  if (request.limit() > 0 &&
      static_cast<int64_t>(kvs.size()) > request.limit()) {
    kvs.resize(request.limit());
    response.set_more(true);
  }
  for (KeyValue& kv : kvs) {
    if (request.keys_only()) kv.clear_value();
    *response.add_kvs() = std::move(kv);
  }
  return response;
}

std::vector<KeyValue> MvccStore::ReadChanges(
    const std::vector<Revision>& revisions) const {
  std::vector<KeyValue> kvs;
  kvs.reserve(revisions.size());
  for (const Revision& rev : revisions) {
    auto it = changes_.find(rev);
    CHECK(it != changes_.end()) << "a change the index shows is kept " << rev;
    CHECK_NE(it->second.create_revision(), 0)
        << "the index never shows a delete as a value " << rev;
    kvs.push_back(it->second);
  }
  return kvs;
}

absl::StatusOr<etcdserverpb::PutResponse> MvccStore::Put(
    const etcdserverpb::PutRequest& request,
    std::vector<mvccpb::Event>* events) {
  if (absl::Status s = ValidatePutRequest(request); !s.ok()) return s;
  WriteTxn txn(this);
  absl::StatusOr<etcdserverpb::PutResponse> response = txn.Put(request);
  txn.End();
  txn.MoveEventsTo(events);
  return response;
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> MvccStore::DeleteRange(
    const etcdserverpb::DeleteRangeRequest& request,
    std::vector<mvccpb::Event>* events) {
  if (absl::Status s = ValidateDeleteRangeRequest(request); !s.ok()) return s;
  WriteTxn txn(this);
  etcdserverpb::DeleteRangeResponse response = txn.DeleteRange(request);
  txn.End();
  txn.MoveEventsTo(events);
  return response;
}

absl::StatusOr<etcdserverpb::CompactionResponse> MvccStore::Compact(
    const etcdserverpb::CompactionRequest& request) {
  CHECK(!write_open_) << "compaction runs between write transactions";
  const int64_t rev = request.revision();
  if (rev <= compact_revision_) return CompactedError();
  if (rev > current_revision_) return FutureRevisionError();
  compact_revision_ = rev;
  const absl::btree_set<Revision> keep = index_.Compact(rev);
  for (auto it = changes_.begin();
       it != changes_.end() && it->first.main <= rev;) {
    if (keep.contains(it->first)) {
      ++it;
    } else {
      size_bytes_ -= ChangeBytes(it->second);
      it = changes_.erase(it);
    }
  }
  etcdserverpb::CompactionResponse response;
  response.mutable_header()->set_revision(current_revision_);
  return response;
}

absl::StatusOr<KeyValueHash> MvccStore::HashKV(int64_t revision) const {
  CHECK(!write_open_) << "reads from outside a write wait for its end";
  if (revision > 0 && revision <= compact_revision_) return CompactedError();
  if (revision > current_revision_) return FutureRevisionError();
  if (revision == 0) revision = current_revision_;
  // Changes at or below the compact revision that a compaction at `revision`
  // would drop are left out; with nothing to keep, etcd skips none.
  const absl::btree_set<Revision> keep = index_.Keep(revision);
  uint32_t crc = base::crc32c::Value("key");
  std::string bytes;
  KeyValue tombstone;
  for (const auto& [rev, kv] : changes_) {
    if (rev.main > revision) break;
    if (rev.main <= compact_revision_ && !keep.empty() && !keep.contains(rev)) {
      continue;
    }
    const bool is_tombstone = kv.create_revision() == 0;
    bytes.clear();
    AppendBucketKey(rev, is_tombstone, &bytes);
    crc = base::crc32c::Extend(crc, bytes);
    bytes.clear();
    if (is_tombstone) {
      tombstone.set_key(kv.key());
      CHECK(tombstone.SerializeToString(&bytes)) << "a KeyValue serializes";
    } else {
      CHECK(kv.SerializeToString(&bytes)) << "a KeyValue serializes";
    }
    crc = base::crc32c::Extend(crc, bytes);
  }
  return KeyValueHash{crc, compact_revision_, revision};
}

std::optional<std::pair<Revision, const KeyValue*>> MvccStore::NextChange(
    Revision after) const {
  auto it = changes_.upper_bound(after);
  if (it == changes_.end()) return std::nullopt;
  return std::make_pair(it->first, &it->second);
}

namespace {

absl::Status BadChange(Revision rev, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("snapshot change at revision {",
                                          rev.main, ",", rev.sub, "}: ", what));
}

// The checks of one restored change that need no store state.
absl::Status CheckRestoredChange(Revision rev, const KeyValue& kv) {
  if (rev.main < 2 || rev.sub < 0) return BadChange(rev, "invalid revision");
  if (kv.key().empty()) return BadChange(rev, "empty key");
  if (kv.mod_revision() != rev.main) {
    return BadChange(rev, "mod_revision differs from its revision");
  }
  if (kv.create_revision() == 0) {
    if (kv.version() != 0 || !kv.value().empty() || kv.lease() != 0) {
      return BadChange(rev, "a tombstone holds more than its key");
    }
    return absl::OkStatus();
  }
  if (kv.create_revision() < 2 || kv.create_revision() > rev.main) {
    return BadChange(rev, "create_revision out of range");
  }
  if (kv.version() < 1) return BadChange(rev, "a put with version < 1");
  if ((kv.version() == 1) != (kv.create_revision() == rev.main)) {
    return BadChange(rev, "version 1 iff created by this put");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MvccStore::RestoreChange(Revision rev, KeyValue kv) {
  CHECK_EQ(current_revision_, 1) << "only a fresh store is restored";
  CHECK_EQ(compact_revision_, -1) << "only a fresh store is restored";
  if (!changes_.empty() && rev <= changes_.rbegin()->first) {
    return BadChange(rev, "revisions out of order");
  }
  if (absl::Status s = CheckRestoredChange(rev, kv); !s.ok()) return s;
  const std::optional<KeyAt> live = index_.Get(kv.key(), rev.main);
  if (kv.create_revision() == 0) {
    if (!live) return BadChange(rev, "tombstone of a key that is not alive");
    index_.Tombstone(kv.key(), rev);
  } else if (live) {
    if (kv.create_revision() != live->created.main ||
        kv.version() != live->version + 1) {
      return BadChange(rev, "put does not continue its key's generation");
    }
    index_.Put(kv.key(), rev);
  } else if (index_.Contains(kv.key())) {
    // A deleted key's next put begins a new generation.
    if (kv.version() != 1) return BadChange(rev, "recreated key's version");
    index_.Put(kv.key(), rev);
  } else {
    // The first kept change of a key: older ones may have been compacted,
    // so it may be a later put of its generation. etcd restores the
    // creation at sub-revision 0; only its main revision is ever read.
    const Revision created{kv.create_revision(),
                           kv.version() == 1 ? rev.sub : 0};
    index_.Restore(kv.key(), created, rev, kv.version());
  }
  size_bytes_ += ChangeBytes(kv);
  changes_.emplace(rev, std::move(kv));
  return absl::OkStatus();
}

absl::Status MvccStore::FinishRestore(int64_t current_revision,
                                      int64_t compact_revision) {
  CHECK_EQ(current_revision_, 1) << "a store is restored once";
  const int64_t newest = changes_.empty() ? 1 : changes_.rbegin()->first.main;
  if (current_revision < newest) {
    return absl::DataLossError(
        absl::StrCat("snapshot current revision ", current_revision,
                     " is older than its newest change ", newest));
  }
  if (compact_revision < -1 || compact_revision > current_revision) {
    return absl::DataLossError(absl::StrCat("snapshot compact revision ",
                                            compact_revision, " outside [-1, ",
                                            current_revision, "]"));
  }
  // At or below the compact revision only what a compaction keeps may be
  // left: each key's newest change there, unless it is a tombstone.
  const absl::btree_set<Revision> keep = index_.Keep(compact_revision);
  for (const auto& [rev, kv] : changes_) {
    if (rev.main > compact_revision) break;
    if (!keep.contains(rev)) {
      return BadChange(rev, "kept below the compact revision, but superseded");
    }
  }
  current_revision_ = current_revision;
  compact_revision_ = compact_revision;
  CheckInvariants();
  return absl::OkStatus();
}

const KeyValue* MvccStore::FindChange(Revision rev) const {
  auto it = changes_.find(rev);
  return it == changes_.end() ? nullptr : &it->second;
}

void MvccStore::CheckInvariants() const {
  CHECK_GE(current_revision_, 1) << "a store starts at revision 1";
  CHECK_LE(compact_revision_, current_revision_)
      << "compaction never passes the current revision";
  if (!changes_.empty()) {
    CHECK_LE(changes_.rbegin()->first.main, current_revision_)
        << "no change is newer than the current revision";
  }
  uint64_t size = 0;
  for (const auto& [rev, kv] : changes_) {
    CHECK_EQ(kv.mod_revision(), rev.main) << "a change is filed under its own "
                                             "revision";
    size += ChangeBytes(kv);
  }
  CHECK_EQ(size, size_bytes_) << "size_bytes sums the kept changes";
  index_.CheckInvariants();
}

// ---------------------------------------------------------------------------
// WriteTxn

WriteTxn::WriteTxn(MvccStore* store)
    : store_(store), begin_revision_(store->current_revision_) {
  CHECK(!store_->write_open_) << "one write transaction at a time";
  store_->write_open_ = true;
}

WriteTxn::~WriteTxn() { CHECK(ended_) << "a write transaction is ended"; }

int64_t WriteTxn::read_revision() const {
  return events_.empty() ? begin_revision_ : begin_revision_ + 1;
}

Revision WriteTxn::NextRevision() const {
  return Revision{begin_revision_ + 1, static_cast<int64_t>(events_.size())};
}

absl::StatusOr<etcdserverpb::RangeResponse> WriteTxn::Range(
    const RangeRequest& request) const {
  CHECK(!ended_) << "an ended transaction is not used";
  return store_->RangeAt(request, read_revision());
}

absl::StatusOr<etcdserverpb::PutResponse> WriteTxn::Put(
    const etcdserverpb::PutRequest& request) {
  CHECK(!ended_) << "an ended transaction is not used";
  const bool wants_prev =
      request.ignore_value() || request.ignore_lease() || request.prev_kv();
  std::optional<KeyValue> prev;
  if (wants_prev) {
    if (auto at = store_->index_.Get(request.key(), read_revision())) {
      prev = store_->ReadChanges({at->modified}).front();
    }
  }
  if ((request.ignore_value() || request.ignore_lease()) && !prev) {
    return KeyNotFoundError();
  }
  etcdserverpb::PutResponse response;
  if (request.prev_kv() && prev) *response.mutable_prev_kv() = *prev;
  PutChange(request.key(),
            request.ignore_value() ? prev->value() : request.value(),
            request.ignore_lease() ? prev->lease() : request.lease());
  response.mutable_header()->set_revision(begin_revision_ + 1);
  return response;
}

etcdserverpb::DeleteRangeResponse WriteTxn::DeleteRange(
    const etcdserverpb::DeleteRangeRequest& request) {
  CHECK(!ended_) << "an ended transaction is not used";
  const KeyRange range =
      KeyRange::FromRequest(request.key(), request.range_end());
  // Copy the keys out: they view the index, which the deletes change.
  std::vector<std::string> keys;
  std::vector<Revision> revisions;
  for (const Index::Entry& e : store_->index_.Range(range, read_revision())) {
    keys.emplace_back(e.key);
    revisions.push_back(e.at.modified);
  }
  etcdserverpb::DeleteRangeResponse response;
  if (request.prev_kv()) {
    for (KeyValue& kv : store_->ReadChanges(revisions)) {
      *response.add_prev_kvs() = std::move(kv);
    }
  }
  for (const std::string& key : keys) DeleteChange(key);
  response.set_deleted(static_cast<int64_t>(keys.size()));
  // A delete that finds nothing in an otherwise empty transaction does not
  // advance the revision.
  response.mutable_header()->set_revision(read_revision());
  return response;
}

void WriteTxn::PutChange(const std::string& key, const std::string& value,
                         int64_t lease) {
  const Revision rev = NextRevision();
  KeyValue kv;
  kv.set_key(key);
  kv.set_value(value);
  kv.set_mod_revision(rev.main);
  kv.set_lease(lease);
  // A live key keeps its creation and counts one more version; a new or
  // deleted one begins a generation here.
  if (auto at = store_->index_.Get(key, rev.main)) {
    kv.set_create_revision(at->created.main);
    kv.set_version(at->version + 1);
  } else {
    kv.set_create_revision(rev.main);
    kv.set_version(1);
  }
  store_->index_.Put(key, rev);
  store_->size_bytes_ += ChangeBytes(kv);
  auto [it, inserted] = store_->changes_.emplace(rev, kv);
  CHECK(inserted) << "each revision holds one change " << rev;
  mvccpb::Event& event = events_.emplace_back();
  event.set_type(mvccpb::Event::PUT);
  *event.mutable_kv() = std::move(kv);
}

void WriteTxn::DeleteChange(const std::string& key) {
  const Revision rev = NextRevision();
  // etcd's tombstone: the key alone; the event carries the delete's revision.
  KeyValue kv;
  kv.set_key(key);
  kv.set_mod_revision(rev.main);
  store_->index_.Tombstone(key, rev);
  store_->size_bytes_ += ChangeBytes(kv);
  auto [it, inserted] = store_->changes_.emplace(rev, kv);
  CHECK(inserted) << "each revision holds one change " << rev;
  mvccpb::Event& event = events_.emplace_back();
  event.set_type(mvccpb::Event::DELETE);
  *event.mutable_kv() = std::move(kv);
}

void WriteTxn::MoveEventsTo(std::vector<mvccpb::Event>* out) {
  CHECK(ended_) << "events leave a transaction once it has ended";
  if (out == nullptr) return;
  for (mvccpb::Event& event : events_) out->push_back(std::move(event));
  events_.clear();
}

int64_t WriteTxn::End() {
  CHECK(!ended_) << "a write transaction ends once";
  ended_ = true;
  store_->write_open_ = false;
  if (!events_.empty()) {
    CHECK_EQ(store_->current_revision_, begin_revision_)
        << "no other write ran inside this one";
    ++store_->current_revision_;
  }
  return store_->current_revision_;
}

}  // namespace etcdpp::kv
