#include "kv/alarm.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::AlarmMember;
using etcdserverpb::AlarmRequest;
using etcdserverpb::AlarmType;

uint64_t PutCost(const etcdserverpb::PutRequest& put) {
  return kKvOverheadBytes + put.key().size() + put.value().size();
}

uint64_t TxnCost(const etcdserverpb::TxnRequest& txn) {
  auto branch = [](const auto& ops) {
    uint64_t cost = 0;
    for (const etcdserverpb::RequestOp& op : ops) {
      if (op.has_request_put()) cost += PutCost(op.request_put());
      if (op.has_request_txn()) cost += TxnCost(op.request_txn());
    }
    return cost;
  };
  return std::max(branch(txn.success()), branch(txn.failure()));
}

AlarmMember Member(uint64_t member_id, int type) {
  AlarmMember m;
  m.set_memberid(member_id);
  m.set_alarm(static_cast<AlarmType>(type));
  return m;
}

}  // namespace

uint64_t QuotaCost(const kvpb::InternalRequest& request) {
  switch (request.request_case()) {
    case kvpb::InternalRequest::kPut:
      return PutCost(request.put());
    case kvpb::InternalRequest::kTxn:
      return TxnCost(request.txn());
    case kvpb::InternalRequest::kLeaseGrant:
      return kLeaseOverheadBytes;
    default:
      return 0;
  }
}

std::optional<AlarmMember> AlarmStore::Activate(uint64_t member_id,
                                                AlarmType type) {
  if (type == etcdserverpb::NONE) return std::nullopt;
  alarms_.insert({type, member_id});
  return Member(member_id, type);
}

std::optional<AlarmMember> AlarmStore::Deactivate(uint64_t member_id,
                                                  AlarmType type) {
  if (alarms_.erase({type, member_id}) == 0) return std::nullopt;
  return Member(member_id, type);
}

std::vector<AlarmMember> AlarmStore::Get(AlarmType type) const {
  std::vector<AlarmMember> out;
  for (const auto& [t, member] : alarms_) {
    if (type == etcdserverpb::NONE || t == type) {
      out.push_back(Member(member, t));
    }
  }
  return out;
}

bool AlarmStore::IsActive(AlarmType type) const {
  auto it = alarms_.lower_bound({type, 0});
  return it != alarms_.end() && it->first == type;
}

etcdserverpb::AlarmResponse AlarmStore::Apply(const AlarmRequest& request) {
  etcdserverpb::AlarmResponse response;
  std::optional<AlarmMember> changed;
  switch (request.action()) {
    case AlarmRequest::GET:
      for (AlarmMember& m : Get(request.alarm())) {
        *response.add_alarms() = std::move(m);
      }
      return response;
    case AlarmRequest::ACTIVATE:
      changed = Activate(request.memberid(), request.alarm());
      break;
    case AlarmRequest::DEACTIVATE:
      changed = Deactivate(request.memberid(), request.alarm());
      break;
    default:
      return response;
  }
  if (changed.has_value()) *response.add_alarms() = *std::move(changed);
  return response;
}

absl::Status AlarmStore::Restore(uint64_t member_id, int type) {
  if (type != etcdserverpb::NOSPACE && type != etcdserverpb::CORRUPT) {
    return absl::DataLossError(
        absl::StrCat("kv snapshot: alarm of unknown type ", type));
  }
  if (!alarms_.empty() && std::make_pair(type, member_id) <= *alarms_.rbegin()) {
    return absl::DataLossError(absl::StrCat("kv snapshot: alarm ", type,
                                            " of member ", member_id,
                                            " out of order"));
  }
  alarms_.insert({type, member_id});
  return absl::OkStatus();
}

}  // namespace etcdpp::kv
