#include "server/rpc/auth_service.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/auth_errors.h"
#include "server/node/errors.h"
#include "server/rpc/auth_context.h"
#include "server/rpc/errors.h"

namespace etcdpp::rpc {
namespace {

// How often a waiting handler looks whether its client went away.
constexpr auto kCancelPollInterval = std::chrono::milliseconds(100);
// Authenticate retries while the auth store moved between the password
// check and the apply (etcd loops until the revisions match).
constexpr int kAuthenticateAttempts = 5;

// Waits on a gRPC handler thread for one callback of a Backend. If the
// backend drops the callback without calling it (its loop went away), or
// the client cancels, the wait ends with nothing.
template <typename T>
class Waiter {
 public:
  Waiter() : state_(std::make_shared<State>()) {}

  // The callback to hand to the backend; call it at most once.
  std::function<void(T)> Callback() {
    auto guard = std::make_shared<Guard>(state_);
    return [guard](T value) {
      std::lock_guard<std::mutex> lock(guard->state->mu);
      guard->state->value = std::move(value);
      guard->state->cv.notify_all();
    };
  }

  std::optional<T> Wait(grpc::ServerContext* context) {
    std::unique_lock<std::mutex> lock(state_->mu);
    while (!state_->value.has_value() && !state_->dropped) {
      if (context->IsCancelled()) return std::nullopt;
      state_->cv.wait_for(lock, kCancelPollInterval);
    }
    return std::move(state_->value);
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> value;
    bool dropped = false;
  };
  // Lives as long as the last copy of the callback: its end without a
  // value means the backend dropped the callback.
  struct Guard {
    explicit Guard(std::shared_ptr<State> s) : state(std::move(s)) {}
    ~Guard() {
      std::lock_guard<std::mutex> lock(state->mu);
      if (!state->value.has_value()) state->dropped = true;
      state->cv.notify_all();
    }
    std::shared_ptr<State> state;
  };

  std::shared_ptr<State> state_;
};

grpc::Status Stopped() { return ToGrpcStatus(server::StoppingError()); }

// etcd's GenTokenPrefix (16 random letters) joined with a counter, as
// etcd's simple tokens end in "." and the raft index: unique per member.
std::string NewSimpleToken() {
  static constexpr char kLetters[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  std::string token;
  for (int i = 0; i < 16; ++i) token.push_back(kLetters[random() % 52]);
  return absl::StrCat(token, ".", counter.fetch_add(1) + 1);
}

}  // namespace

Reply AuthService::ProposeAndWait(grpc::ServerContext* context,
                                  kvpb::InternalRequest request) {
  Waiter<Reply> waiter;
  WriteAs(backend_, TokenOf(*context), std::move(request), waiter.Callback());
  std::optional<Reply> reply = waiter.Wait(context);
  if (!reply.has_value()) return Reply{server::StoppingError(), {}, {}};
  return *std::move(reply);
}

template <typename Response>
grpc::Status AuthService::Propose(
    grpc::ServerContext* context, kvpb::InternalRequest request, Response* out,
    const Response& (kvpb::InternalResponse::*field)() const) {
  Reply reply = ProposeAndWait(context, std::move(request));
  if (!reply.status.ok()) return ToGrpcStatus(reply.status);
  *out = (reply.response.*field)();
  *out->mutable_header() = reply.header;
  return grpc::Status::OK;
}

grpc::Status AuthService::AuthEnable(
    grpc::ServerContext* context, const etcdserverpb::AuthEnableRequest* request,
    etcdserverpb::AuthEnableResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_enable() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_enable);
}

grpc::Status AuthService::AuthDisable(
    grpc::ServerContext* context,
    const etcdserverpb::AuthDisableRequest* request,
    etcdserverpb::AuthDisableResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_disable() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_disable);
}

grpc::Status AuthService::AuthStatus(
    grpc::ServerContext* context, const etcdserverpb::AuthStatusRequest* request,
    etcdserverpb::AuthStatusResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_status() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_status);
}

grpc::Status AuthService::Authenticate(
    grpc::ServerContext* context,
    const etcdserverpb::AuthenticateRequest* request,
    etcdserverpb::AuthenticateResponse* response) {
  // etcd's linearizableReadNotify first: a member that just restarted, or
  // fell behind, must not answer from an old auth state (say "not enabled",
  // or check an old password). A linearizable read waits until this member
  // applied everything committed when it began.
  {
    etcdserverpb::RangeRequest barrier;
    barrier.set_key(std::string(1, '\0'));
    barrier.set_count_only(true);
    Waiter<Reply> read;
    backend_->Read(std::move(barrier), read.Callback());
    std::optional<Reply> reply = read.Wait(context);
    if (!reply.has_value()) return Stopped();
    if (!reply->status.ok()) return ToGrpcStatus(reply->status);
  }
  for (int attempt = 1;; ++attempt) {
    Waiter<absl::StatusOr<kv::StoredPassword>> stored_waiter;
    backend_->PasswordOf(request->name(), stored_waiter.Callback());
    std::optional<absl::StatusOr<kv::StoredPassword>> stored =
        stored_waiter.Wait(context);
    if (!stored.has_value()) return Stopped();
    if (!stored->ok()) return ToGrpcStatus(stored->status());
    // The slow part, here on the handler thread.
    if (!BcryptVerify(request->password(), (*stored)->hashed_password)) {
      return ToGrpcStatus(kv::AuthFailedError());
    }
    kvpb::InternalRequest internal;
    internal.mutable_header()->set_auth_revision((*stored)->auth_revision);
    internal.mutable_authenticate()->set_name(request->name());
    internal.mutable_authenticate()->set_simple_token(NewSimpleToken());
    // Proposed without the caller's token: Authenticate needs none.
    Waiter<Reply> waiter;
    backend_->Write(std::move(internal), waiter.Callback());
    std::optional<Reply> reply = waiter.Wait(context);
    if (!reply.has_value()) return Stopped();
    // The password or the roles changed since the check: check again.
    if (reply->status == kv::AuthOldRevisionError() &&
        attempt < kAuthenticateAttempts) {
      continue;
    }
    if (!reply->status.ok()) return ToGrpcStatus(reply->status);
    *response = reply->response.authenticate();
    *response->mutable_header() = reply->header;
    return grpc::Status::OK;
  }
}

grpc::Status AuthService::UserAdd(
    grpc::ServerContext* context, const etcdserverpb::AuthUserAddRequest* request,
    etcdserverpb::AuthUserAddResponse* response) {
  kvpb::InternalRequest internal;
  etcdserverpb::AuthUserAddRequest* add = internal.mutable_auth_user_add();
  *add = *request;
  // etcd's UserAdd: hashed before proposing, unless the user has none.
  if (!request->options().no_password()) {
    absl::StatusOr<std::string> hash =
        BcryptHash(request->password(), bcrypt_cost_);
    if (!hash.ok()) return ToGrpcStatus(hash.status());
    add->set_hashedpassword(*std::move(hash));
  }
  add->clear_password();
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_user_add);
}

grpc::Status AuthService::UserGet(
    grpc::ServerContext* context, const etcdserverpb::AuthUserGetRequest* request,
    etcdserverpb::AuthUserGetResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_user_get() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_user_get);
}

grpc::Status AuthService::UserList(
    grpc::ServerContext* context,
    const etcdserverpb::AuthUserListRequest* request,
    etcdserverpb::AuthUserListResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_user_list() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_user_list);
}

grpc::Status AuthService::UserDelete(
    grpc::ServerContext* context,
    const etcdserverpb::AuthUserDeleteRequest* request,
    etcdserverpb::AuthUserDeleteResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_user_delete() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_user_delete);
}

grpc::Status AuthService::UserChangePassword(
    grpc::ServerContext* context,
    const etcdserverpb::AuthUserChangePasswordRequest* request,
    etcdserverpb::AuthUserChangePasswordResponse* response) {
  kvpb::InternalRequest internal;
  etcdserverpb::AuthUserChangePasswordRequest* change =
      internal.mutable_auth_user_change_password();
  *change = *request;
  absl::StatusOr<std::string> hash =
      BcryptHash(request->password(), bcrypt_cost_);
  if (!hash.ok()) return ToGrpcStatus(hash.status());
  change->set_hashedpassword(*std::move(hash));
  change->clear_password();
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_user_change_password);
}

grpc::Status AuthService::UserGrantRole(
    grpc::ServerContext* context,
    const etcdserverpb::AuthUserGrantRoleRequest* request,
    etcdserverpb::AuthUserGrantRoleResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_user_grant_role() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_user_grant_role);
}

grpc::Status AuthService::UserRevokeRole(
    grpc::ServerContext* context,
    const etcdserverpb::AuthUserRevokeRoleRequest* request,
    etcdserverpb::AuthUserRevokeRoleResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_user_revoke_role() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_user_revoke_role);
}

grpc::Status AuthService::RoleAdd(
    grpc::ServerContext* context, const etcdserverpb::AuthRoleAddRequest* request,
    etcdserverpb::AuthRoleAddResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_role_add() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_role_add);
}

grpc::Status AuthService::RoleGet(
    grpc::ServerContext* context, const etcdserverpb::AuthRoleGetRequest* request,
    etcdserverpb::AuthRoleGetResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_role_get() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_role_get);
}

grpc::Status AuthService::RoleList(
    grpc::ServerContext* context,
    const etcdserverpb::AuthRoleListRequest* request,
    etcdserverpb::AuthRoleListResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_role_list() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_role_list);
}

grpc::Status AuthService::RoleDelete(
    grpc::ServerContext* context,
    const etcdserverpb::AuthRoleDeleteRequest* request,
    etcdserverpb::AuthRoleDeleteResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_role_delete() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_role_delete);
}

grpc::Status AuthService::RoleGrantPermission(
    grpc::ServerContext* context,
    const etcdserverpb::AuthRoleGrantPermissionRequest* request,
    etcdserverpb::AuthRoleGrantPermissionResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_role_grant_permission() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_role_grant_permission);
}

grpc::Status AuthService::RoleRevokePermission(
    grpc::ServerContext* context,
    const etcdserverpb::AuthRoleRevokePermissionRequest* request,
    etcdserverpb::AuthRoleRevokePermissionResponse* response) {
  kvpb::InternalRequest internal;
  *internal.mutable_auth_role_revoke_permission() = *request;
  return Propose(context, std::move(internal), response,
                 &kvpb::InternalResponse::auth_role_revoke_permission);
}

}  // namespace etcdpp::rpc
