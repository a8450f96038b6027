// The auth side of applying a committed InternalRequest: the permission
// check every request passes before it is applied, and the auth operations
// themselves. Kept out of kv/applier.cc so the applier only dispatches.
#ifndef ETCDPP_KV_AUTH_APPLY_H_
#define ETCDPP_KV_AUTH_APPLY_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/auth.h"
#include "kv/lease.h"
#include "kv/request.pb.h"

namespace etcdpp::kv {

// Whether the request's header (username, auth_revision) may make this
// request, as etcd's authApplierV3 decides at apply time. OK whenever auth
// is disabled. Per case:
//   range                 read on [key, range_end)
//   put                   write on key; with prev_kv also read on key
//   delete_range          write on the range; with prev_kv also read on it
//   txn                   read on every compare's range, then every op of
//                         success and failure as above, nested txns
//                         included (etcd 3.5 skips nested txns and a txn
//                         put's prev_kv; both are checked here)
//   put with a lease, lease_revoke
//                         also write on every key already attached to the
//                         lease (etcd's checkLeasePuts), when `lessor` is
//                         given
//   compaction, lease grant/checkpoint, alarm, authenticate
//                         nothing here (etcd 3.5 checks none at apply)
//   auth_user_get         root, or the user asking about itself
//   auth_role_get         root, or a user holding that role
//   other auth requests   root (etcd's IsAdminPermitted)
absl::Status CheckPermission(const AuthStore& auth,
                             const kvpb::InternalRequest& request,
                             const Lessor* lessor = nullptr);

// True for the auth cases of InternalRequest (authenticate included).
bool IsAuthRequest(const kvpb::InternalRequest& request);

// Applies an auth request (IsAuthRequest) to `auth`.
absl::StatusOr<kvpb::InternalResponse> ApplyAuth(
    AuthStore* auth, const kvpb::InternalRequest& request);

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_AUTH_APPLY_H_
