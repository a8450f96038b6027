// kv_apply_fuzzer: arbitrary kvpb::InternalRequests applied to kv::Applier.
//
// The input is one or more serialized InternalRequests separated by
// kSeparator (an input without it is a single request), applied in order to
// a store that already holds a little history (puts, an overwrite, a
// delete, a compaction), so reads at old revisions, compaction errors and
// txn compares have something to find. A chunk that does not parse is
// skipped.
//
// What is asserted after every request:
//   - no crash or sanitizer report, and Applier::CheckInvariants();
//   - determinism: a second Applier fed the same requests gives the same
//     status, response and events (replicas must not diverge);
//   - one request is one revision: with events, the revision went up by
//     exactly one and every event carries it as mod_revision; without, the
//     revision did not move;
//   - a request that fails changes nothing (applier.h) and has no events;
//   - the compact revision never goes down.
//   - the naive reference model (kv/reference_model.h) answers every
//     request it models exactly as a third Applier does: same status,
//     response and events. It is fed the requests it models (range, put,
//     delete_range, txn, compaction) whose puts name no lease or one of
//     the two leases granted at the start, among those that pass the API's
//     validation; the others skip it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/check.h"
#include "kv/applier.h"
#include "kv/reference_model.h"
#include "kv/validate.h"
#include "kv/request.pb.h"

namespace etcdpp::kv {
namespace {

// Rare in protobuf encodings and easy for the mutator to copy around; the
// dictionary holds it.
constexpr absl::string_view kSeparator = "\xE7\xF0\x9F\xA9";
// Bounds the work of one input.
constexpr size_t kMaxRequests = 64;

kvpb::InternalRequest Put(const char* key, const char* value) {
  kvpb::InternalRequest r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value(value);
  return r;
}

// A little history: revisions 2..7, compacted at 2.
std::vector<kvpb::InternalRequest> History() {
  std::vector<kvpb::InternalRequest> out = {
      Put("a", "1"), Put("b", "2"), Put("foo", "3"), Put("foo/bar", "4"),
      Put("a", "5")};
  kvpb::InternalRequest del;
  del.mutable_delete_range()->set_key("b");
  out.push_back(del);
  kvpb::InternalRequest compact;
  compact.mutable_compaction()->set_revision(2);
  out.push_back(compact);
  return out;
}

std::string Serialize(const ApplyResult& r) {
  std::string out = r.status.ToString();
  out += '|';
  out += r.response.SerializeAsString();
  for (const mvccpb::Event& e : r.events) {
    out += '|';
    out += e.SerializeAsString();
  }
  return out;
}

struct Revisions {
  int64_t current;
  int64_t compact;
  size_t changes;
};

Revisions Snapshot(const Applier& a) {
  return {a.store().current_revision(), a.store().compact_revision(),
          a.store().change_count()};
}

void CheckOne(const Revisions& before, const Applier& applier,
              const ApplyResult& result) {
  const Revisions after = Snapshot(applier);
  CHECK_GE(after.compact, before.compact) << "compaction never goes back";
  if (!result.status.ok()) {
    CHECK(result.events.empty()) << "a failed request has no events";
    CHECK_EQ(after.current, before.current) << "a failed request changes "
                                               "nothing";
    CHECK_EQ(after.compact, before.compact);
    CHECK_EQ(after.changes, before.changes);
    return;
  }
  if (result.events.empty()) {
    CHECK_EQ(after.current, before.current)
        << "a request without changes keeps the revision";
    return;
  }
  CHECK_EQ(after.current, before.current + 1) << "one request, one revision";
  for (const mvccpb::Event& e : result.events) {
    CHECK_EQ(e.kv().mod_revision(), after.current)
        << "events carry the request's revision";
  }
}

void ApplyBoth(Applier& a, Applier& b, const kvpb::InternalRequest& r) {
  const Revisions before = Snapshot(a);
  const ApplyResult ra = a.Apply(r);
  a.CheckInvariants();
  CheckOne(before, a, ra);
  const ApplyResult rb = b.Apply(r);
  b.CheckInvariants();
  CHECK_EQ(Serialize(ra), Serialize(rb)) << "two replicas answer alike";
  CHECK_EQ(a.store().current_revision(), b.store().current_revision());
}

// The leases granted to the modelled Applier before any input.
constexpr int64_t kModelLeases = 2;

bool LeasesModelled(const etcdserverpb::TxnRequest& txn);

bool PutLeaseModelled(const etcdserverpb::PutRequest& put) {
  return put.lease() >= 0 && put.lease() <= kModelLeases;
}

bool LeasesModelled(const etcdserverpb::TxnRequest& txn) {
  for (const auto* ops : {&txn.success(), &txn.failure()}) {
    for (const etcdserverpb::RequestOp& op : *ops) {
      if (op.has_request_put() && !PutLeaseModelled(op.request_put())) {
        return false;
      }
      if (op.has_request_txn() && !LeasesModelled(op.request_txn())) {
        return false;
      }
    }
  }
  return true;
}

// The model covers requests that pass the API's validation (kv/validate.h,
// which server/rpc runs before anything reaches the log): it knows etcd's
// semantics, not its refusals of malformed enums and the like.
bool Modelled(const kvpb::InternalRequest& r) {
  if (!ReferenceModel::Handles(r)) return false;
  if (r.has_range()) return ValidateRangeRequest(r.range()).ok();
  if (r.has_put()) {
    return ValidatePutRequest(r.put()).ok() && PutLeaseModelled(r.put());
  }
  if (r.has_delete_range()) {
    return ValidateDeleteRangeRequest(r.delete_range()).ok();
  }
  if (r.has_txn()) {
    return ValidateTxnRequest(r.txn(), ApplierOptions{}.txn.max_txn_ops)
               .ok() &&
           LeasesModelled(r.txn());
  }
  return true;
}

std::string SerializeModel(const ModelOutcome& o) {
  ApplyResult r;
  r.status = o.status;
  r.response = o.response;
  r.events = o.events;
  return Serialize(r);
}

class ModelPair {
 public:
  ModelPair() : model_(ApplierOptions{}.txn.max_txn_ops) {
    for (int64_t id = 1; id <= kModelLeases; ++id) {
      kvpb::InternalRequest grant;
      grant.mutable_lease_grant()->set_id(id);
      grant.mutable_lease_grant()->set_ttl(600);
      CHECK_OK(applier_.Apply(grant).status);
    }
  }

  void Apply(const kvpb::InternalRequest& r) {
    if (!Modelled(r)) return;
    const ApplyResult got = applier_.Apply(r);
    const ModelOutcome want = model_.Apply(r);
    CHECK_EQ(Serialize(got), SerializeModel(want))
        << "the Applier and the reference model disagree on "
        << r.ShortDebugString();
  }

 private:
  Applier applier_;
  ReferenceModel model_;
};

}  // namespace
}  // namespace etcdpp::kv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace etcdpp::kv;
  Applier a;
  Applier b;
  ModelPair model;
  for (const kvpb::InternalRequest& r : History()) {
    CHECK_OK(a.Apply(r).status);
    CHECK_OK(b.Apply(r).status);
    model.Apply(r);
  }
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  size_t applied = 0;
  for (absl::string_view chunk : absl::StrSplit(input, kSeparator)) {
    if (applied++ == kMaxRequests) break;
    kvpb::InternalRequest r;
    if (!r.ParseFromArray(chunk.data(), static_cast<int>(chunk.size()))) {
      continue;
    }
    ApplyBoth(a, b, r);
    model.Apply(r);
  }
  return 0;
}
