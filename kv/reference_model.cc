// A naive reference model of etcd's KV semantics; see reference_model.h.
#include "kv/reference_model.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kv/errors.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using mvccpb::KeyValue;

const std::string kNul(1, '\0');

bool InRange(const std::string& k, const std::string& key,
             const std::string& end) {
  if (end.empty()) return k == key;
  if (end == kNul) return k >= key;
  return k >= key && k < end;
}

int64_t SortField(const KeyValue& kv, RangeRequest::SortTarget t) {
  switch (t) {
    case RangeRequest::VERSION:
      return kv.version();
    case RangeRequest::CREATE:
      return kv.create_revision();
    case RangeRequest::MOD:
      return kv.mod_revision();
    default:
      return 0;
  }
}

// Sorted by target, ties in key order, in both directions.
void ModelSort(const RangeRequest& r, std::vector<KeyValue>* kvs) {
  const bool descend = r.sort_order() == RangeRequest::DESCEND;
  if (r.sort_order() == RangeRequest::NONE &&
      r.sort_target() == RangeRequest::KEY) {
    return;
  }
  std::stable_sort(
      kvs->begin(), kvs->end(), [&](const KeyValue& a, const KeyValue& b) {
        if (r.sort_target() == RangeRequest::KEY) {
          return descend ? a.key() > b.key() : a.key() < b.key();
        }
        if (r.sort_target() == RangeRequest::VALUE) {
          return descend ? a.value() > b.value() : a.value() < b.value();
        }
        const int64_t x = SortField(a, r.sort_target());
        const int64_t y = SortField(b, r.sort_target());
        return descend ? x > y : x < y;
      });
}

// etcd's size and op checks, naively.
absl::Status ValidateOps(const TxnRequest& t, int64_t max_ops) {
  const int64_t opc =
      std::max({t.compare_size(), t.success_size(), t.failure_size()});
  if (opc > max_ops) return TooManyOpsError();
  for (const Compare& c : t.compare()) {
    if (c.key().empty()) return EmptyKeyError();
  }
  for (const auto* ops : {&t.success(), &t.failure()}) {
    for (const RequestOp& op : *ops) {
      absl::Status s;
      if (op.has_request_range()) {
        if (op.request_range().key().empty()) s = EmptyKeyError();
      } else if (op.has_request_put()) {
        const auto& p = op.request_put();
        if (p.key().empty())
          s = EmptyKeyError();
        else if (p.ignore_value() && !p.value().empty())
          s = ValueProvidedError();
        else if (p.ignore_lease() && p.lease() != 0)
          s = LeaseProvidedError();
      } else if (op.has_request_delete_range()) {
        if (op.request_delete_range().key().empty()) s = EmptyKeyError();
      } else if (op.has_request_txn()) {
        s = ValidateOps(op.request_txn(), max_ops - opc);
      } else {
        s = KeyNotFoundError();
      }
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

struct Writes {
  std::set<std::string> puts;
  std::vector<std::pair<std::string, std::string>> dels;  // (key, range_end)
  bool Covered(const std::string& k) const {
    for (const auto& [key, end] : dels) {
      if (InRange(k, key, end)) return true;
    }
    return false;
  }
};

// No key written twice in a branch (see validate.h for the rule).
absl::Status Duplicates(
    const google::protobuf::RepeatedPtrField<RequestOp>& ops, Writes* w) {
  for (const RequestOp& op : ops) {
    if (op.has_request_delete_range()) {
      w->dels.emplace_back(op.request_delete_range().key(),
                           op.request_delete_range().range_end());
    }
  }
  for (const RequestOp& op : ops) {
    if (!op.has_request_txn()) continue;
    Writes then_w, else_w;
    if (auto s = Duplicates(op.request_txn().success(), &then_w); !s.ok())
      return s;
    if (auto s = Duplicates(op.request_txn().failure(), &else_w); !s.ok())
      return s;
    for (const std::string& k : then_w.puts) {
      if (w->puts.count(k) || w->Covered(k)) return DuplicateKeyError();
      w->puts.insert(k);
    }
    for (const std::string& k : else_w.puts) {
      if ((w->puts.count(k) && !then_w.puts.count(k)) || w->Covered(k)) {
        return DuplicateKeyError();
      }
      w->puts.insert(k);
    }
    w->dels.insert(w->dels.end(), then_w.dels.begin(), then_w.dels.end());
    w->dels.insert(w->dels.end(), else_w.dels.begin(), else_w.dels.end());
  }
  for (const RequestOp& op : ops) {
    if (!op.has_request_put()) continue;
    const std::string& k = op.request_put().key();
    if (w->puts.count(k) || w->Covered(k)) return DuplicateKeyError();
    w->puts.insert(k);
  }
  return absl::OkStatus();
}

template <typename T, typename Set>
void Fill(absl::StatusOr<T> r, ModelOutcome* o, Set set) {
  if (!r.ok()) {
    o->status = r.status();
    return;
  }
  *set(&o->response) = *std::move(r);
}

}  // namespace

std::optional<KeyValue> ReferenceModel::Get(const std::string& key,
                                            int64_t rev) const {
  std::optional<KeyValue> kv;
  for (const Change& c : history_) {
    if (c.key != key || c.main > rev) continue;
    if (c.deleted) {
      kv.reset();
      continue;
    }
    if (!kv) {
      kv.emplace();
      kv->set_key(key);
      kv->set_create_revision(c.main);
    }
    kv->set_mod_revision(c.main);
    kv->set_version(kv->version() + 1);
    kv->set_value(c.value);
    kv->set_lease(c.lease);
  }
  return kv;
}

std::vector<KeyValue> ReferenceModel::Live(const std::string& key,
                                           const std::string& end,
                                           int64_t rev) const {
  std::set<std::string> keys;
  for (const Change& c : history_) {
    if (InRange(c.key, key, end)) keys.insert(c.key);
  }
  std::vector<KeyValue> out;
  for (const std::string& k : keys) {
    if (auto kv = Get(k, rev)) out.push_back(*kv);
  }
  return out;
}

void ReferenceModel::Record(Change change) {
  change.main = current_ + 1;
  history_.push_back(change);
  pending_ = true;
  mvccpb::Event& e = events_.emplace_back();
  if (change.deleted) {
    e.set_type(mvccpb::Event::DELETE);
    e.mutable_kv()->set_key(change.key);
    e.mutable_kv()->set_mod_revision(change.main);
  } else {
    e.set_type(mvccpb::Event::PUT);
    *e.mutable_kv() = *Get(change.key, change.main);
  }
}

absl::StatusOr<etcdserverpb::RangeResponse> ReferenceModel::Range(
    const RangeRequest& r, int64_t cur) const {
  int64_t rev = r.revision() <= 0 ? cur : r.revision();
  if (r.revision() > cur) return FutureRevisionError();
  if (rev < compact_) return CompactedError();
  std::vector<KeyValue> kvs = Live(r.key(), r.range_end(), rev);
  etcdserverpb::RangeResponse out;
  out.mutable_header()->set_revision(cur);
  out.set_count(static_cast<int64_t>(kvs.size()));
  if (r.count_only()) return out;
  // etcd's quirk: with sort_order NONE (even when a non-KEY target makes it
  // sort ascending) and no filter, it reads only limit+1 keys, in key order,
  // before sorting them.
  const bool filtered = r.min_mod_revision() || r.max_mod_revision() ||
                        r.min_create_revision() || r.max_create_revision();
  if (r.sort_order() == RangeRequest::NONE && !filtered && r.limit() > 0 &&
      static_cast<int64_t>(kvs.size()) > r.limit() + 1) {
    kvs.resize(r.limit() + 1);
  }
  std::vector<KeyValue> kept;
  for (const KeyValue& kv : kvs) {
    if (r.min_mod_revision() && kv.mod_revision() < r.min_mod_revision())
      continue;
    if (r.max_mod_revision() && kv.mod_revision() > r.max_mod_revision())
      continue;
    if (r.min_create_revision() &&
        kv.create_revision() < r.min_create_revision())
      continue;
    if (r.max_create_revision() &&
        kv.create_revision() > r.max_create_revision())
      continue;
    kept.push_back(kv);
  }
  ModelSort(r, &kept);
  for (size_t i = 0; i < kept.size(); ++i) {
    if (r.limit() > 0 && static_cast<int64_t>(i) == r.limit()) {
      out.set_more(true);
      break;
    }
    KeyValue* kv = out.add_kvs();
    *kv = kept[i];
    if (r.keys_only()) kv->clear_value();
  }
  return out;
}

absl::StatusOr<etcdserverpb::PutResponse> ReferenceModel::Put(
    const etcdserverpb::PutRequest& r) {
  std::optional<KeyValue> prev = Get(r.key(), ReadRev());
  if ((r.ignore_value() || r.ignore_lease()) && !prev) {
    return KeyNotFoundError();
  }
  etcdserverpb::PutResponse out;
  if (r.prev_kv() && prev) *out.mutable_prev_kv() = *prev;
  Record({0, r.key(), false, r.ignore_value() ? prev->value() : r.value(),
          r.ignore_lease() ? prev->lease() : r.lease()});
  out.mutable_header()->set_revision(current_ + 1);
  return out;
}

etcdserverpb::DeleteRangeResponse ReferenceModel::Delete(
    const etcdserverpb::DeleteRangeRequest& r) {
  etcdserverpb::DeleteRangeResponse out;
  std::vector<KeyValue> live = Live(r.key(), r.range_end(), ReadRev());
  for (const KeyValue& kv : live) {
    if (r.prev_kv()) *out.add_prev_kvs() = kv;
    Record({0, kv.key(), true, "", 0});
  }
  out.set_deleted(static_cast<int64_t>(live.size()));
  out.mutable_header()->set_revision(ReadRev());
  return out;
}

bool ReferenceModel::Holds(const Compare& c) const {
  // Compares always see the store as it was before the txn.
  std::vector<KeyValue> kvs = Live(c.key(), c.range_end(), current_);
  if (kvs.empty()) {
    if (c.target() == Compare::VALUE) return false;
    kvs.emplace_back();
  }
  for (const KeyValue& kv : kvs) {
    int cmp = 0;
    auto three = [](auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); };
    switch (c.target()) {
      case Compare::VALUE:
        cmp = three(kv.value(), c.value());
        break;
      case Compare::VERSION:
        cmp = three(kv.version(), c.version());
        break;
      case Compare::CREATE:
        cmp = three(kv.create_revision(), c.create_revision());
        break;
      case Compare::MOD:
        cmp = three(kv.mod_revision(), c.mod_revision());
        break;
      case Compare::LEASE:
        cmp = three(kv.lease(), c.lease());
        break;
      default:
        break;
    }
    bool ok = true;
    switch (c.result()) {
      case Compare::EQUAL:
        ok = cmp == 0;
        break;
      case Compare::NOT_EQUAL:
        ok = cmp != 0;
        break;
      case Compare::GREATER:
        ok = cmp > 0;
        break;
      case Compare::LESS:
        ok = cmp < 0;
        break;
      default:
        break;
    }
    if (!ok) return false;
  }
  return true;
}

absl::Status ReferenceModel::CheckTxn(const TxnRequest& t) const {
  // Walks the path the compares choose; phase 0 checks puts, 1 ranges.
  auto walk = [&](auto& self, const TxnRequest& txn,
                  int phase) -> absl::Status {
    bool succeeded = true;
    for (const Compare& c : txn.compare()) succeeded = succeeded && Holds(c);
    for (const RequestOp& op : succeeded ? txn.success() : txn.failure()) {
      absl::Status s;
      if (op.has_request_txn()) s = self(self, op.request_txn(), phase);
      if (phase == 0 && op.has_request_put()) {
        const auto& p = op.request_put();
        if ((p.ignore_value() || p.ignore_lease()) && !Get(p.key(), current_)) {
          s = KeyNotFoundError();
        }
      }
      if (phase == 1 && op.has_request_range()) {
        const int64_t rev = op.request_range().revision();
        if (rev != 0 && rev > current_) s = FutureRevisionError();
        if (rev != 0 && rev <= current_ && rev < compact_) s = CompactedError();
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  };
  if (auto s = walk(walk, t, 0); !s.ok()) return s;
  return walk(walk, t, 1);
}

etcdserverpb::TxnResponse ReferenceModel::RunTxn(const TxnRequest& t) {
  etcdserverpb::TxnResponse out;
  bool succeeded = true;
  for (const Compare& c : t.compare()) succeeded = succeeded && Holds(c);
  out.set_succeeded(succeeded);
  out.mutable_header();
  for (const RequestOp& op : succeeded ? t.success() : t.failure()) {
    etcdserverpb::ResponseOp* r = out.add_responses();
    if (op.has_request_range()) {
      *r->mutable_response_range() = *Range(op.request_range(), ReadRev());
    } else if (op.has_request_put()) {
      *r->mutable_response_put() = *Put(op.request_put());
    } else if (op.has_request_delete_range()) {
      *r->mutable_response_delete_range() = Delete(op.request_delete_range());
    } else {
      *r->mutable_response_txn() = RunTxn(op.request_txn());
    }
  }
  return out;
}

ModelOutcome ReferenceModel::Apply(const kvpb::InternalRequest& request) {
  ModelOutcome o;
  events_.clear();
  using R = kvpb::InternalResponse;
  if (request.has_range()) {
    const RangeRequest& r = request.range();
    if (r.key().empty())
      o.status = EmptyKeyError();
    else
      Fill(Range(r, current_), &o, [](R* x) { return x->mutable_range(); });
  } else if (request.has_put()) {
    const auto& p = request.put();
    if (p.key().empty())
      o.status = EmptyKeyError();
    else if (p.ignore_value() && !p.value().empty())
      o.status = ValueProvidedError();
    else if (p.ignore_lease() && p.lease() != 0)
      o.status = LeaseProvidedError();
    else
      Fill(Put(p), &o, [](R* x) { return x->mutable_put(); });
  } else if (request.has_delete_range()) {
    if (request.delete_range().key().empty())
      o.status = EmptyKeyError();
    else
      *o.response.mutable_delete_range() = Delete(request.delete_range());
  } else if (request.has_txn()) {
    const TxnRequest& t = request.txn();
    Writes a, b;
    o.status = ValidateOps(t, max_txn_ops_);
    if (o.status.ok()) o.status = Duplicates(t.success(), &a);
    if (o.status.ok()) o.status = Duplicates(t.failure(), &b);
    if (o.status.ok()) o.status = CheckTxn(t);
    if (o.status.ok()) *o.response.mutable_txn() = RunTxn(t);
  } else if (request.has_compaction()) {
    const int64_t rev = request.compaction().revision();
    if (rev <= compact_)
      o.status = CompactedError();
    else if (rev > current_)
      o.status = FutureRevisionError();
    else
      compact_ = rev;
  }
  Commit();
  if (request.has_txn() && o.status.ok()) {
    o.response.mutable_txn()->mutable_header()->set_revision(current_);
  }
  if (request.has_compaction() && o.status.ok()) {
    o.response.mutable_compaction()->mutable_header()->set_revision(current_);
  }
  if (o.status.ok()) o.events = events_;
  return o;
}

}  // namespace etcdpp::kv
