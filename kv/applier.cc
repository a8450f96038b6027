#include "kv/applier.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/validate.h"
#include "kv/auth_apply.h"

namespace etcdpp::kv {
namespace {

using kvpb::InternalRequest;

// Moves a StatusOr's value into the response's field, or its error into the
// result.
template <typename T, typename Setter>
ApplyResult Finish(absl::StatusOr<T> outcome, Setter set,
                   std::vector<mvccpb::Event> events) {
  ApplyResult result;
  if (!outcome.ok()) {
    result.status = outcome.status();
    return result;
  }
  *set(&result.response) = *std::move(outcome);
  result.events = std::move(events);
  return result;
}

ApplyResult Unimplemented(const char* what) {
  ApplyResult result;
  result.status = absl::UnimplementedError(
      absl::StrCat("kv: ", what, " requests are not applied yet"));
  return result;
}

}  // namespace

Applier::Applier(ApplierOptions options)
    : options_(std::move(options)),
      lessor_(options_.lessor),
      auth_(AuthOptions{options_.auth_token_ttl_ticks}) {}

void Applier::RememberId(uint64_t id) {
  if (options_.applied_id_window == 0) return;
  applied_ids_.push_back(id);
  applied_id_set_.insert(id);
  while (applied_ids_.size() > options_.applied_id_window) {
    applied_id_set_.erase(applied_ids_.front());
    applied_ids_.pop_front();
  }
}

void Applier::RememberResult(uint64_t id, const ApplyResult& result) {
  if (options_.result_window == 0) return;
  RememberedResult r;
  r.id = id;
  r.revision = store_.current_revision();
  r.status = result.status;
  if (result.status.ok()) {
    CHECK(result.response.SerializeToString(&r.response))
        << "a response serializes";
    if (r.response.size() > kMaxRememberedResponseBytes) return;
  }
  RememberResult(std::move(r));
}

void Applier::RememberResult(RememberedResult result) {
  if (options_.result_window == 0) return;
  results_.push_back(std::move(result));
  while (results_.size() > options_.result_window) results_.pop_front();
}

const RememberedResult* Applier::FindResult(uint64_t id) const {
  // Newest first: a member looks up the proposals it just lost to a
  // snapshot, and the window is small.
  for (auto it = results_.rbegin(); it != results_.rend(); ++it) {
    if (it->id == id) return &*it;
  }
  return nullptr;
}

void Applier::CheckInvariants() const {
  store_.CheckInvariants();
  lessor_.CheckInvariants();
  auth_.CheckInvariants();
  CheckLeaseAttachments();
  CHECK_LE(applied_ids_.size(), options_.applied_id_window)
      << "the applied-id window holds at most its size";
  CHECK_EQ(applied_ids_.size(), applied_id_set_.size())
      << "the applied-id window and its set hold the same distinct ids";
  for (uint64_t id : applied_ids_) {
    CHECK_NE(id, 0u) << "id 0 is never remembered";
    CHECK(applied_id_set_.contains(id)) << "window id " << id << " not in set";
  }
  CHECK_LE(results_.size(), options_.result_window)
      << "the remembered results hold at most their window";
  for (const RememberedResult& r : results_) {
    CHECK_NE(r.id, 0u) << "id 0 has no remembered result";
    CHECK(r.status.ok() || r.response.empty())
        << "a failed request's remembered response is empty";
  }
}

ApplyResult Applier::Apply(const InternalRequest& request) {
  const uint64_t id = request.header().id();
  if (id != 0) {
    if (applied_id_set_.contains(id)) {
      ApplyResult result;
      result.duplicate = true;
      return result;
    }
    // Remembered whatever the outcome: a failed request is decided too, and
    // a later copy must not succeed where the original failed.
    RememberId(id);
  }
  ApplyResult result;
  if (absl::Status s = CheckAlarmsAndQuota(request); !s.ok()) {
    result.status = std::move(s);
  } else {
    result = ApplyRequest(request);
  }
  if (id != 0) RememberResult(id, result);
  return result;
}

ApplyResult Applier::ApplyRequest(const InternalRequest& request) {
  if (absl::Status s = CheckPermission(auth_, request, &lessor_); !s.ok()) {
    ApplyResult refused;
    refused.status = std::move(s);
    return refused;
  }
  switch (request.request_case()) {
    case InternalRequest::kRange:
      return ApplyRange(request.range());
    case InternalRequest::kPut:
      return ApplyPut(request.put());
    case InternalRequest::kDeleteRange:
      return ApplyDeleteRange(request.delete_range());
    case InternalRequest::kTxn:
      return ApplyTxn(request.txn());
    case InternalRequest::kCompaction:
      return ApplyCompaction(request.compaction());
    case InternalRequest::kLeaseGrant:
      return ApplyLeaseGrant(request.lease_grant());
    case InternalRequest::kLeaseRevoke:
      return ApplyLeaseRevoke(request.lease_revoke());
    case InternalRequest::kLeaseCheckpoint:
      return ApplyLeaseCheckpoint(request.lease_checkpoint());
    case InternalRequest::kAlarm:
      return ApplyAlarm(request.alarm());
    case InternalRequest::REQUEST_NOT_SET: {
      ApplyResult result;
      result.status = absl::InvalidArgumentError("kv: empty internal request");
      return result;
    }
    default:
      break;
  }
  if (IsAuthRequest(request)) {
    ApplyResult result;
    absl::StatusOr<kvpb::InternalResponse> outcome = ApplyAuth(&auth_, request);
    if (outcome.ok()) {
      result.response = *std::move(outcome);
    } else {
      result.status = outcome.status();
    }
    return result;
  }
  return Unimplemented("unknown");
}

ApplyResult Applier::ApplyRange(
    const etcdserverpb::RangeRequest& request) const {
  return Finish(store_.Range(request),
                [](kvpb::InternalResponse* r) { return r->mutable_range(); },
                {});
}

ApplyResult Applier::ApplyPut(const etcdserverpb::PutRequest& request) {
  std::vector<mvccpb::Event> events;
  // etcd looks the lease up after validating and before the write.
  if (absl::Status s = ValidatePutRequest(request);
      s.ok() && request.lease() != kNoLease && !LeaseExists(request.lease())) {
    ApplyResult result;
    result.status = LeaseNotFoundError();
    return result;
  }
  auto outcome = store_.Put(request, &events);
  lessor_.OnEvents(events);
  return Finish(
      std::move(outcome),
      [](kvpb::InternalResponse* r) { return r->mutable_put(); },
      std::move(events));
}

ApplyResult Applier::ApplyDeleteRange(
    const etcdserverpb::DeleteRangeRequest& request) {
  std::vector<mvccpb::Event> events;
  auto outcome = store_.DeleteRange(request, &events);
  lessor_.OnEvents(events);
  return Finish(
      std::move(outcome),
      [](kvpb::InternalResponse* r) { return r->mutable_delete_range(); },
      std::move(events));
}

ApplyResult Applier::ApplyTxn(const etcdserverpb::TxnRequest& request) {
  std::vector<mvccpb::Event> events;
  auto outcome =
      Txn(&store_, request, options_.txn, &events,
          [this](int64_t id) { return LeaseExists(id); });
  lessor_.OnEvents(events);
  return Finish(
      std::move(outcome),
      [](kvpb::InternalResponse* r) { return r->mutable_txn(); },
      std::move(events));
}

ApplyResult Applier::ApplyCompaction(
    const etcdserverpb::CompactionRequest& request) {
  return Finish(
      store_.Compact(request),
      [](kvpb::InternalResponse* r) { return r->mutable_compaction(); }, {});
}

}  // namespace etcdpp::kv
