#include "kv/auth_apply.h"

#include <utility>

#include "base/check.h"

namespace etcdpp::kv {
namespace {

using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using kvpb::InternalRequest;
using kvpb::InternalResponse;

absl::Status CheckRange(const AuthStore& auth, const AuthInfo& info,
                        const etcdserverpb::RangeRequest& r) {
  return auth.IsRangePermitted(info, r.key(), r.range_end());
}

absl::Status CheckPut(const AuthStore& auth, const AuthInfo& info,
                      const etcdserverpb::PutRequest& r) {
  if (absl::Status s = auth.IsPutPermitted(info, r.key()); !s.ok()) return s;
  if (r.prev_kv()) return auth.IsRangePermitted(info, r.key(), "");
  return absl::OkStatus();
}

absl::Status CheckDeleteRange(const AuthStore& auth, const AuthInfo& info,
                              const etcdserverpb::DeleteRangeRequest& r) {
  if (absl::Status s = auth.IsDeleteRangePermitted(info, r.key(), r.range_end());
      !s.ok()) {
    return s;
  }
  if (r.prev_kv()) return auth.IsRangePermitted(info, r.key(), r.range_end());
  return absl::OkStatus();
}

absl::Status CheckTxn(const AuthStore& auth, const AuthInfo& info,
                      const TxnRequest& txn);

absl::Status CheckOps(const AuthStore& auth, const AuthInfo& info,
                      const google::protobuf::RepeatedPtrField<RequestOp>& ops) {
  for (const RequestOp& op : ops) {
    absl::Status s;
    switch (op.request_case()) {
      case RequestOp::kRequestRange:
        s = CheckRange(auth, info, op.request_range());
        break;
      case RequestOp::kRequestPut:
        s = CheckPut(auth, info, op.request_put());
        break;
      case RequestOp::kRequestDeleteRange:
        s = CheckDeleteRange(auth, info, op.request_delete_range());
        break;
      case RequestOp::kRequestTxn:
        s = CheckTxn(auth, info, op.request_txn());
        break;
      case RequestOp::REQUEST_NOT_SET:
        break;
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckTxn(const AuthStore& auth, const AuthInfo& info,
                      const TxnRequest& txn) {
  for (const etcdserverpb::Compare& c : txn.compare()) {
    if (absl::Status s = auth.IsRangePermitted(info, c.key(), c.range_end());
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = CheckOps(auth, info, txn.success()); !s.ok()) return s;
  return CheckOps(auth, info, txn.failure());
}

// etcd's checkLeasePuts: a user may attach a key to a lease, or revoke it,
// only with write permission on every key the lease already holds.
absl::Status CheckLeasePuts(const AuthStore& auth, const AuthInfo& info,
                            const Lessor* lessor, int64_t id) {
  if (lessor == nullptr || id == 0) return absl::OkStatus();
  const Lessor::Lease* lease = lessor->Find(id);
  if (lease == nullptr) return absl::OkStatus();  // apply says not found
  for (const std::string& key : lease->keys) {
    if (absl::Status s = auth.IsPutPermitted(info, key); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Moves an operation's outcome into the response's field.
template <typename T, typename Field>
absl::StatusOr<InternalResponse> Respond(absl::StatusOr<T> outcome,
                                         Field field) {
  if (!outcome.ok()) return outcome.status();
  InternalResponse response;
  *(response.*field)() = *std::move(outcome);
  return response;
}

}  // namespace

bool IsAuthRequest(const InternalRequest& request) {
  switch (request.request_case()) {
    case InternalRequest::kAuthEnable:
    case InternalRequest::kAuthDisable:
    case InternalRequest::kAuthenticate:
    case InternalRequest::kAuthStatus:
    case InternalRequest::kAuthUserAdd:
    case InternalRequest::kAuthUserDelete:
    case InternalRequest::kAuthUserGet:
    case InternalRequest::kAuthUserChangePassword:
    case InternalRequest::kAuthUserGrantRole:
    case InternalRequest::kAuthUserRevokeRole:
    case InternalRequest::kAuthUserList:
    case InternalRequest::kAuthRoleList:
    case InternalRequest::kAuthRoleAdd:
    case InternalRequest::kAuthRoleDelete:
    case InternalRequest::kAuthRoleGet:
    case InternalRequest::kAuthRoleGrantPermission:
    case InternalRequest::kAuthRoleRevokePermission:
      return true;
    default:
      return false;
  }
}

absl::Status CheckPermission(const AuthStore& auth,
                             const InternalRequest& request,
                             const Lessor* lessor) {
  if (!auth.enabled()) return absl::OkStatus();
  const AuthInfo info{request.header().username(),
                      request.header().auth_revision()};
  switch (request.request_case()) {
    case InternalRequest::kRange:
      return CheckRange(auth, info, request.range());
    case InternalRequest::kPut:
      if (absl::Status s = CheckPut(auth, info, request.put()); !s.ok()) {
        return s;
      }
      return CheckLeasePuts(auth, info, lessor, request.put().lease());
    case InternalRequest::kDeleteRange:
      return CheckDeleteRange(auth, info, request.delete_range());
    case InternalRequest::kTxn:
      return CheckTxn(auth, info, request.txn());
    case InternalRequest::kLeaseRevoke:
      return CheckLeasePuts(auth, info, lessor, request.lease_revoke().id());
    case InternalRequest::kAuthUserGet: {
      absl::Status s = auth.IsAdminPermitted(info);
      if (!s.ok() && request.auth_user_get().name() != info.username) return s;
      return absl::OkStatus();
    }
    case InternalRequest::kAuthRoleGet: {
      absl::Status s = auth.IsAdminPermitted(info);
      if (!s.ok() && !auth.HasRole(info.username, request.auth_role_get().role()))
        return s;
      return absl::OkStatus();
    }
    case InternalRequest::kAuthenticate:
      return absl::OkStatus();
    default:
      if (IsAuthRequest(request)) return auth.IsAdminPermitted(info);
      return absl::OkStatus();
  }
}

absl::StatusOr<InternalResponse> ApplyAuth(AuthStore* auth,
                                           const InternalRequest& request) {
  using R = InternalResponse;
  switch (request.request_case()) {
    case InternalRequest::kAuthEnable:
      return Respond(auth->AuthEnable(), &R::mutable_auth_enable);
    case InternalRequest::kAuthDisable:
      return Respond(auth->AuthDisable(), &R::mutable_auth_disable);
    case InternalRequest::kAuthenticate:
      return Respond(auth->Authenticate(request.authenticate(),
                                        request.header().auth_revision()),
                     &R::mutable_authenticate);
    case InternalRequest::kAuthStatus:
      return Respond(absl::StatusOr<etcdserverpb::AuthStatusResponse>(
                         auth->AuthStatus()),
                     &R::mutable_auth_status);
    case InternalRequest::kAuthUserAdd:
      return Respond(auth->UserAdd(request.auth_user_add()),
                     &R::mutable_auth_user_add);
    case InternalRequest::kAuthUserDelete:
      return Respond(auth->UserDelete(request.auth_user_delete()),
                     &R::mutable_auth_user_delete);
    case InternalRequest::kAuthUserGet:
      return Respond(auth->UserGet(request.auth_user_get()),
                     &R::mutable_auth_user_get);
    case InternalRequest::kAuthUserChangePassword:
      return Respond(
          auth->UserChangePassword(request.auth_user_change_password()),
          &R::mutable_auth_user_change_password);
    case InternalRequest::kAuthUserGrantRole:
      return Respond(auth->UserGrantRole(request.auth_user_grant_role()),
                     &R::mutable_auth_user_grant_role);
    case InternalRequest::kAuthUserRevokeRole:
      return Respond(auth->UserRevokeRole(request.auth_user_revoke_role()),
                     &R::mutable_auth_user_revoke_role);
    case InternalRequest::kAuthUserList:
      return Respond(absl::StatusOr<etcdserverpb::AuthUserListResponse>(
                         auth->UserList()),
                     &R::mutable_auth_user_list);
    case InternalRequest::kAuthRoleList:
      return Respond(absl::StatusOr<etcdserverpb::AuthRoleListResponse>(
                         auth->RoleList()),
                     &R::mutable_auth_role_list);
    case InternalRequest::kAuthRoleAdd:
      return Respond(auth->RoleAdd(request.auth_role_add()),
                     &R::mutable_auth_role_add);
    case InternalRequest::kAuthRoleDelete:
      return Respond(auth->RoleDelete(request.auth_role_delete()),
                     &R::mutable_auth_role_delete);
    case InternalRequest::kAuthRoleGet:
      return Respond(auth->RoleGet(request.auth_role_get()),
                     &R::mutable_auth_role_get);
    case InternalRequest::kAuthRoleGrantPermission:
      return Respond(
          auth->RoleGrantPermission(request.auth_role_grant_permission()),
          &R::mutable_auth_role_grant_permission);
    case InternalRequest::kAuthRoleRevokePermission:
      return Respond(
          auth->RoleRevokePermission(request.auth_role_revoke_permission()),
          &R::mutable_auth_role_revoke_permission);
    default:
      break;
  }
  CHECK(false) << "ApplyAuth is given auth requests only, not case "
               << request.request_case();
  return absl::InternalError("unreachable");
}

}  // namespace etcdpp::kv
