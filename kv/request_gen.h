// RapidCheck generators of kv requests, shared by the property tests (the
// model test, the snapshot and watch properties): a few short keys, so
// operations collide often, and revisions near the interesting ones.
// Call them only inside a RapidCheck property.
#ifndef ETCDPP_KV_REQUEST_GEN_H_
#define ETCDPP_KV_REQUEST_GEN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/request.pb.h"
#include "rapidcheck.h"

namespace etcdpp::kv::testing {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;

inline const std::string kNul(1, '\0');
// Small, so the "too many operations" path is taken often.
inline constexpr int64_t kMaxTxnOps = 3;

// RapidCheck scales inRange by the test case's size, which would skew every
// choice toward its first options in small cases; pin the size so choices
// are uniform (shrinking still works).
inline int Uniform(int lo, int hi) {
  return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange(lo, hi));
}
inline int64_t Uniform64(int64_t lo, int64_t hi) {
  return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange(lo, hi));
}
template <typename T>
inline T OneOf(const std::vector<T>& options) {
  return options[Uniform(0, static_cast<int>(options.size()))];
}

inline const std::vector<std::string> kKeys = {"a",  "aa", "ab", "b",
                                               "ba", "c",  "d"};

inline std::string GenKey() { return OneOf(kKeys); }

inline std::string GenRangeEnd(const std::string& key) {
  switch (Uniform(0, 5)) {
    case 0:
      return "";
    case 1:
      return kNul;
    case 2: {  // the prefix end of key
      std::string end = key;
      ++end.back();
      return end;
    }
    case 3:
      return GenKey();  // maybe <= key: an empty range
    default:
      return "";
  }
}

// A revision near the interesting ones: 0, negative, compacted, future.
inline int64_t GenRevision(int64_t current) {
  if (Uniform(0, 3) == 0) return 0;
  return Uniform64(-1, current + 3);
}

inline RangeRequest GenRange(int64_t current) {
  RangeRequest r;
  r.set_key(GenKey());
  r.set_range_end(GenRangeEnd(r.key()));
  if (Uniform(0, 3) == 0) r.set_revision(GenRevision(current));
  r.set_limit(OneOf(std::vector<int64_t>{0, 0, 1, 2, 3}));
  r.set_sort_order(static_cast<RangeRequest::SortOrder>(Uniform(0, 3)));
  r.set_sort_target(static_cast<RangeRequest::SortTarget>(Uniform(0, 5)));
  r.set_keys_only(Uniform(0, 4) == 0);
  r.set_count_only(Uniform(0, 6) == 0);
  if (Uniform(0, 4) == 0) {
    auto rev = [&] { return Uniform64(0, current + 2); };
    r.set_min_mod_revision(rev());
    r.set_max_mod_revision(Uniform(0, 2) ? 0 : rev());
    r.set_min_create_revision(Uniform(0, 2) ? 0 : rev());
    r.set_max_create_revision(Uniform(0, 2) ? 0 : rev());
  }
  return r;
}

inline etcdserverpb::PutRequest GenPut() {
  etcdserverpb::PutRequest p;
  p.set_key(GenKey());
  p.set_value(OneOf(std::vector<std::string>{"", "x", "y", "zz"}));
  p.set_lease(Uniform64(0, 3));
  p.set_prev_kv(Uniform(0, 2) == 0);
  if (Uniform(0, 8) == 0) {
    p.set_ignore_value(true);
    if (Uniform(0, 4)) p.clear_value();  // else: value provided
  }
  if (Uniform(0, 8) == 0) {
    p.set_ignore_lease(true);
    if (Uniform(0, 4)) p.clear_lease();  // else: lease provided
  }
  return p;
}

inline etcdserverpb::DeleteRangeRequest GenDelete() {
  etcdserverpb::DeleteRangeRequest d;
  d.set_key(GenKey());
  d.set_range_end(GenRangeEnd(d.key()));
  d.set_prev_kv(Uniform(0, 2) == 0);
  return d;
}

inline Compare GenCompare(int64_t current) {
  Compare c;
  c.set_key(GenKey());
  if (Uniform(0, 4) == 0) c.set_range_end(GenRangeEnd(c.key()));
  c.set_result(static_cast<Compare::CompareResult>(Uniform(0, 4)));
  c.set_target(static_cast<Compare::CompareTarget>(Uniform(0, 5)));
  const int64_t n = Uniform64(0, current + 2);
  // Mostly the target's own union member; sometimes another, read as zero.
  const int member =
      Uniform(0, 4) ? static_cast<int>(c.target()) : Uniform(0, 5);
  switch (member) {
    case Compare::VERSION:
      c.set_version(n % 4);
      break;
    case Compare::CREATE:
      c.set_create_revision(n);
      break;
    case Compare::MOD:
      c.set_mod_revision(n);
      break;
    case Compare::VALUE:
      c.set_value(OneOf(std::vector<std::string>{"", "x", "y"}));
      break;
    default:
      c.set_lease(n % 3);
      break;
  }
  return c;
}

inline TxnRequest GenTxn(int64_t current, int depth) {
  TxnRequest t;
  const int compares = Uniform(0, 3);
  for (int i = 0; i < compares; ++i) *t.add_compare() = GenCompare(current);
  for (auto* ops : {t.mutable_success(), t.mutable_failure()}) {
    // Now and then one more op than kMaxTxnOps allows.
    const int n = Uniform(0, 8) == 0 ? kMaxTxnOps + 1 : Uniform(0, 3);
    for (int i = 0; i < n; ++i) {
      RequestOp* op = ops->Add();
      switch (Uniform(0, depth > 0 ? 4 : 3)) {
        case 0:
          *op->mutable_request_range() = GenRange(current);
          break;
        case 1:
          *op->mutable_request_put() = GenPut();
          break;
        case 2:
          *op->mutable_request_delete_range() = GenDelete();
          break;
        default:
          *op->mutable_request_txn() = GenTxn(current, depth - 1);
          break;
      }
    }
  }
  return t;
}

// The leases GenPut names (1 and 2), granted: apply these first, or every
// put naming a lease fails with "requested lease not found".
inline std::vector<kvpb::InternalRequest> GrantGeneratedLeases() {
  std::vector<kvpb::InternalRequest> grants(2);
  for (int i = 0; i < 2; ++i) {
    grants[i].mutable_lease_grant()->set_id(i + 1);
    grants[i].mutable_lease_grant()->set_ttl(60);
  }
  return grants;
}

inline kvpb::InternalRequest GenRequest(int64_t current) {
  kvpb::InternalRequest request;
  switch (Uniform(0, 10)) {
    case 0:
    case 1:
      *request.mutable_range() = GenRange(current);
      break;
    case 2:
    case 3:
    case 4:
      *request.mutable_put() = GenPut();
      break;
    case 5:
      *request.mutable_delete_range() = GenDelete();
      break;
    case 6:
    case 7:
    case 8:
      *request.mutable_txn() = GenTxn(current, 1);
      break;
    default:
      request.mutable_compaction()->set_revision(Uniform64(-1, current + 2));
  }
  return request;
}

inline bool SameEvents(const std::vector<mvccpb::Event>& a,
                       const std::vector<mvccpb::Event>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

}  // namespace etcdpp::kv::testing

#endif  // ETCDPP_KV_REQUEST_GEN_H_
