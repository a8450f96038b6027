// AuthStore: etcd's auth state (server/auth/store.go) -- users, roles, key
// permissions, the enabled flag and the auth revision -- plus the simple
// tokens this member holds.
//
// Pure and deterministic. Users hold password *hashes* only: server/rpc
// hashes a new password with a random salt (bcrypt, as etcd 3.5 does) before
// it proposes AuthUserAdd/ChangePassword with `hashedPassword` filled, and
// verifies a password against PasswordOf() before it proposes an
// Authenticate. The store keeps and returns those bytes unchanged and never
// runs a hash, so every replica stores the same bytes and applying stays
// fast.
//
// The auth revision starts at 1 (etcd's NewAuthStore commits it once) and is
// bumped by every change of users, roles or permissions and by disabling
// auth; enabling auth does not bump it, as in etcd. A request's header
// carries the revision its permission check was made against; Is*Permitted
// refuse an older one with "etcdserver: revision of auth store is old".
//
// Errors are etcd's words and gRPC codes (kv/auth_errors.h). A failed
// operation changes nothing. Not thread-safe.
#ifndef ETCDPP_KV_AUTH_H_
#define ETCDPP_KV_AUTH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/authpb/auth.pb.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "kv/range_perm.h"
#include "kv/request.pb.h"
#include "kv/simple_token.h"

namespace etcdpp::kv {

inline constexpr std::string_view kRootUser = "root";
inline constexpr std::string_view kRootRole = "root";

struct AuthOptions {
  // How long a simple token stays valid without use. Member-local: need not
  // be equal on every replica.
  uint64_t token_ttl_ticks = kDefaultTokenTtlTicks;
};

// Who a request acts for: the header's username and auth_revision, or what
// a token resolves to. Empty (revision 0) when no token was given.
struct AuthInfo {
  std::string username;
  uint64_t revision = 0;
};

// What the server needs to verify a password outside kv.
struct StoredPassword {
  // The bytes proposed as hashedPassword (e.g. a bcrypt hash, which embeds
  // its salt), unchanged.
  std::string hashed_password;
  // The auth revision the answer reflects; the server puts it in the
  // Authenticate proposal's header, so a password changed in between makes
  // the Authenticate fail with "revision of auth store is old" (retry).
  uint64_t auth_revision = 0;
};

class AuthStore {
 public:
  explicit AuthStore(AuthOptions options = {});
  AuthStore(const AuthStore&) = delete;
  AuthStore& operator=(const AuthStore&) = delete;

  // ---- Replicated operations, applied in log order. ----
  absl::StatusOr<etcdserverpb::AuthEnableResponse> AuthEnable();
  absl::StatusOr<etcdserverpb::AuthDisableResponse> AuthDisable();
  etcdserverpb::AuthStatusResponse AuthStatus() const;
  // Assigns the token the server chose. `header_revision`: the revision the
  // server checked the password at (0: not checked against one).
  absl::StatusOr<etcdserverpb::AuthenticateResponse> Authenticate(
      const kvpb::InternalAuthenticateRequest& request,
      uint64_t header_revision);

  absl::StatusOr<etcdserverpb::AuthUserAddResponse> UserAdd(
      const etcdserverpb::AuthUserAddRequest& request);
  absl::StatusOr<etcdserverpb::AuthUserDeleteResponse> UserDelete(
      const etcdserverpb::AuthUserDeleteRequest& request);
  absl::StatusOr<etcdserverpb::AuthUserChangePasswordResponse>
  UserChangePassword(const etcdserverpb::AuthUserChangePasswordRequest& request);
  absl::StatusOr<etcdserverpb::AuthUserGrantRoleResponse> UserGrantRole(
      const etcdserverpb::AuthUserGrantRoleRequest& request);
  absl::StatusOr<etcdserverpb::AuthUserRevokeRoleResponse> UserRevokeRole(
      const etcdserverpb::AuthUserRevokeRoleRequest& request);
  absl::StatusOr<etcdserverpb::AuthUserGetResponse> UserGet(
      const etcdserverpb::AuthUserGetRequest& request) const;
  etcdserverpb::AuthUserListResponse UserList() const;

  absl::StatusOr<etcdserverpb::AuthRoleAddResponse> RoleAdd(
      const etcdserverpb::AuthRoleAddRequest& request);
  absl::StatusOr<etcdserverpb::AuthRoleDeleteResponse> RoleDelete(
      const etcdserverpb::AuthRoleDeleteRequest& request);
  absl::StatusOr<etcdserverpb::AuthRoleGetResponse> RoleGet(
      const etcdserverpb::AuthRoleGetRequest& request) const;
  etcdserverpb::AuthRoleListResponse RoleList() const;
  absl::StatusOr<etcdserverpb::AuthRoleGrantPermissionResponse>
  RoleGrantPermission(
      const etcdserverpb::AuthRoleGrantPermissionRequest& request);
  absl::StatusOr<etcdserverpb::AuthRoleRevokePermissionResponse>
  RoleRevokePermission(
      const etcdserverpb::AuthRoleRevokePermissionRequest& request);

  // ---- Checks: at apply time, and by the server for serializable reads,
  // Watch and Lease requests. OK whenever auth is disabled. ----
  absl::Status IsRangePermitted(const AuthInfo& info, std::string_view key,
                                std::string_view range_end) const;
  absl::Status IsPutPermitted(const AuthInfo& info, std::string_view key) const;
  absl::Status IsDeleteRangePermitted(const AuthInfo& info,
                                      std::string_view key,
                                      std::string_view range_end) const;
  // Root role required (auth management, etcd's IsAdminPermitted); does not
  // look at the revision, as in etcd.
  absl::Status IsAdminPermitted(const AuthInfo& info) const;
  bool HasRole(std::string_view user, std::string_view role) const;

  // etcd's CheckPassword, minus the hash comparison the server makes:
  // AuthNotEnabled, AuthFailed (no such user) or NoPasswordUser.
  absl::StatusOr<StoredPassword> PasswordOf(std::string_view name) const;

  // ---- Tokens (member-local, see kv/simple_token.h). ----
  // Who the token stands for, at the current auth revision, renewing it.
  // Auth disabled: an empty AuthInfo (as etcd ignores tokens then); unknown
  // or expired token: "etcdserver: invalid auth token".
  absl::StatusOr<AuthInfo> AuthInfoFromToken(std::string_view token);
  void TickTokens(uint64_t ticks = 1) { tokens_.Tick(ticks); }
  void SetTokenTtl(uint64_t ticks) { tokens_.set_ttl_ticks(ticks); }
  // Moves `previous`'s tokens, token clock and TTL here, as etcd keeps its
  // tokens when a member installs a snapshot. Tokens of users this store
  // does not have are dropped; all of them when auth is disabled here.
  void TakeTokens(AuthStore& previous);
  const SimpleTokenTable& tokens() const { return tokens_; }

  bool enabled() const { return enabled_; }
  uint64_t revision() const { return revision_; }
  const absl::btree_map<std::string, authpb::User, std::less<>>& users() const {
    return users_;
  }
  const absl::btree_map<std::string, authpb::Role, std::less<>>& roles() const {
    return roles_;
  }

  // ---- Restore from a snapshot: Begin, then users and roles in name order,
  // then Finish. Anything a store could not have held is DataLoss. ----
  absl::Status RestoreBegin(bool enabled, uint64_t revision);
  absl::Status RestoreUser(authpb::User user);
  absl::Status RestoreRole(authpb::Role role);
  absl::Status RestoreFinish();

  void CheckInvariants() const;

 private:
  const authpb::User* FindUser(std::string_view name) const;
  absl::Status IsOpPermitted(const AuthInfo& info, std::string_view key,
                             std::string_view range_end, bool write) const;
  // The intervals of one kind (read or write) the user's roles grant.
  std::vector<PermInterval> MergedPerms(const authpb::User& user,
                                        bool write) const;
  void CommitRevision() { ++revision_; }
  // Returns the error state invariants would CHECK, for the restore path.
  absl::Status Validate() const;

  bool enabled_ = false;
  // Invariant: >= 1.
  uint64_t revision_ = 1;
  // Invariants: each user's roles are sorted, distinct, and each is "root"
  // or a role here; each role's permissions are valid ranges sorted by key;
  // while enabled, user "root" exists and has role "root".
  absl::btree_map<std::string, authpb::User, std::less<>> users_;
  absl::btree_map<std::string, authpb::Role, std::less<>> roles_;
  SimpleTokenTable tokens_;
};

bool HasRootRole(const authpb::User& user);

}  // namespace etcdpp::kv

#endif  // ETCDPP_KV_AUTH_H_
