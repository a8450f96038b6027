// The etcd Auth gRPC service (api/v3rpc/auth.go over etcdserver's
// v3_server.go), over a Backend.
//
// Every operation but Authenticate is proposed through the raft log as the
// caller (the token's user in the request header), and the applier checks
// the caller's role there (kv/auth_apply.h), as etcd does. Passwords never
// reach the log: UserAdd and UserChangePassword hash them here with bcrypt
// first, and Authenticate verifies the password against the stored hash
// here, then proposes only the user name and the token it chose.
//
// Unlike the other services this one uses gRPC's synchronous API: bcrypt
// is slow on purpose (~50 ms at cost 10), so it runs on gRPC's handler
// threads, never on the backend's (event loop) thread; a handler waits for
// the backend's reply. Auth operations are rare, so the threads they hold
// do not matter.
#ifndef ETCDPP_SERVER_RPC_AUTH_SERVICE_H_
#define ETCDPP_SERVER_RPC_AUTH_SERVICE_H_

#include <string>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "server/rpc/backend.h"
#include "server/rpc/bcrypt.h"

namespace etcdpp::rpc {

class AuthService final : public etcdserverpb::Auth::Service {
 public:
  // bcrypt_cost: etcd's --bcrypt-cost, already validated.
  AuthService(Backend* backend, int bcrypt_cost)
      : backend_(backend), bcrypt_cost_(bcrypt_cost) {}

  grpc::Status AuthEnable(grpc::ServerContext* context,
                          const etcdserverpb::AuthEnableRequest* request,
                          etcdserverpb::AuthEnableResponse* response) override;
  grpc::Status AuthDisable(
      grpc::ServerContext* context,
      const etcdserverpb::AuthDisableRequest* request,
      etcdserverpb::AuthDisableResponse* response) override;
  grpc::Status AuthStatus(grpc::ServerContext* context,
                          const etcdserverpb::AuthStatusRequest* request,
                          etcdserverpb::AuthStatusResponse* response) override;
  grpc::Status Authenticate(
      grpc::ServerContext* context,
      const etcdserverpb::AuthenticateRequest* request,
      etcdserverpb::AuthenticateResponse* response) override;
  grpc::Status UserAdd(grpc::ServerContext* context,
                       const etcdserverpb::AuthUserAddRequest* request,
                       etcdserverpb::AuthUserAddResponse* response) override;
  grpc::Status UserGet(grpc::ServerContext* context,
                       const etcdserverpb::AuthUserGetRequest* request,
                       etcdserverpb::AuthUserGetResponse* response) override;
  grpc::Status UserList(grpc::ServerContext* context,
                        const etcdserverpb::AuthUserListRequest* request,
                        etcdserverpb::AuthUserListResponse* response) override;
  grpc::Status UserDelete(
      grpc::ServerContext* context,
      const etcdserverpb::AuthUserDeleteRequest* request,
      etcdserverpb::AuthUserDeleteResponse* response) override;
  grpc::Status UserChangePassword(
      grpc::ServerContext* context,
      const etcdserverpb::AuthUserChangePasswordRequest* request,
      etcdserverpb::AuthUserChangePasswordResponse* response) override;
  grpc::Status UserGrantRole(
      grpc::ServerContext* context,
      const etcdserverpb::AuthUserGrantRoleRequest* request,
      etcdserverpb::AuthUserGrantRoleResponse* response) override;
  grpc::Status UserRevokeRole(
      grpc::ServerContext* context,
      const etcdserverpb::AuthUserRevokeRoleRequest* request,
      etcdserverpb::AuthUserRevokeRoleResponse* response) override;
  grpc::Status RoleAdd(grpc::ServerContext* context,
                       const etcdserverpb::AuthRoleAddRequest* request,
                       etcdserverpb::AuthRoleAddResponse* response) override;
  grpc::Status RoleGet(grpc::ServerContext* context,
                       const etcdserverpb::AuthRoleGetRequest* request,
                       etcdserverpb::AuthRoleGetResponse* response) override;
  grpc::Status RoleList(grpc::ServerContext* context,
                        const etcdserverpb::AuthRoleListRequest* request,
                        etcdserverpb::AuthRoleListResponse* response) override;
  grpc::Status RoleDelete(
      grpc::ServerContext* context,
      const etcdserverpb::AuthRoleDeleteRequest* request,
      etcdserverpb::AuthRoleDeleteResponse* response) override;
  grpc::Status RoleGrantPermission(
      grpc::ServerContext* context,
      const etcdserverpb::AuthRoleGrantPermissionRequest* request,
      etcdserverpb::AuthRoleGrantPermissionResponse* response) override;
  grpc::Status RoleRevokePermission(
      grpc::ServerContext* context,
      const etcdserverpb::AuthRoleRevokePermissionRequest* request,
      etcdserverpb::AuthRoleRevokePermissionResponse* response) override;

 private:
  // Proposes `request` as the caller and waits for the applied outcome;
  // on success copies the matching response case and the header to `out`.
  template <typename Response>
  grpc::Status Propose(grpc::ServerContext* context,
                       kvpb::InternalRequest request, Response* out,
                       const Response& (kvpb::InternalResponse::*field)()
                           const);
  // Proposes and waits: the reply, or why none came.
  Reply ProposeAndWait(grpc::ServerContext* context,
                       kvpb::InternalRequest request);

  Backend* const backend_;
  const int bcrypt_cost_;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_AUTH_SERVICE_H_
