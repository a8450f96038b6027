#include "kv/auth.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/auth_errors.h"

namespace etcdpp::kv {
namespace {

using authpb::Permission;

// etcd's selectPassword, minus the hashing: kv stores what the server
// hashed. A plain password without a hash would have to be hashed here,
// which the apply path never does, so such a proposal is refused.
absl::StatusOr<std::string> SelectPassword(const std::string& password,
                                           const std::string& hashed) {
  if (!password.empty() && hashed.empty()) {
    return absl::InvalidArgumentError(
        "kv: a password must be hashed by the server before it is proposed");
  }
  return hashed;
}

bool SortedDistinct(const google::protobuf::RepeatedPtrField<std::string>& v) {
  for (int i = 1; i < v.size(); ++i) {
    if (!(v[i - 1] < v[i])) return false;
  }
  return true;
}

bool PermsSortedAndValid(const authpb::Role& role) {
  for (int i = 0; i < role.keypermission_size(); ++i) {
    const Permission& p = role.keypermission(i);
    if (!IsValidPermissionRange(p.key(), p.range_end())) return false;
    if (i > 0 && p.key() < role.keypermission(i - 1).key()) return false;
  }
  return true;
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("kv snapshot: auth: ", what));
}

}  // namespace

bool HasRootRole(const authpb::User& user) {
  return std::binary_search(user.roles().begin(), user.roles().end(),
                            std::string(kRootRole));
}

AuthStore::AuthStore(AuthOptions options) : tokens_(options.token_ttl_ticks) {}

const authpb::User* AuthStore::FindUser(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------
// Enable, disable, status, authenticate

absl::StatusOr<etcdserverpb::AuthEnableResponse> AuthStore::AuthEnable() {
  // Enabling twice is ignored, as in etcd.
  if (enabled_) return etcdserverpb::AuthEnableResponse();
  const authpb::User* root = FindUser(kRootUser);
  if (root == nullptr) return RootUserNotExistError();
  if (!HasRootRole(*root)) return RootRoleNotExistError();
  enabled_ = true;
  tokens_.Clear();
  return etcdserverpb::AuthEnableResponse();
}

absl::StatusOr<etcdserverpb::AuthDisableResponse> AuthStore::AuthDisable() {
  if (!enabled_) return etcdserverpb::AuthDisableResponse();
  enabled_ = false;
  CommitRevision();
  tokens_.Clear();
  return etcdserverpb::AuthDisableResponse();
}

etcdserverpb::AuthStatusResponse AuthStore::AuthStatus() const {
  etcdserverpb::AuthStatusResponse response;
  response.set_enabled(enabled_);
  response.set_authrevision(revision_);
  return response;
}

absl::StatusOr<etcdserverpb::AuthenticateResponse> AuthStore::Authenticate(
    const kvpb::InternalAuthenticateRequest& request,
    uint64_t header_revision) {
  if (!enabled_) return AuthNotEnabledError();
  const authpb::User* user = FindUser(request.name());
  if (user == nullptr) return AuthFailedError();
  if (user->options().no_password()) return AuthFailedError();
  // etcd re-checks the password when the revision moved between the check
  // and the proposal; refusing here closes the window between proposal and
  // apply too, so a changed password never yields a token.
  if (header_revision != 0 && header_revision < revision_) {
    return AuthOldRevisionError();
  }
  if (request.simple_token().empty()) {
    return absl::InvalidArgumentError(
        "kv: an authenticate proposal must carry the token the server chose");
  }
  tokens_.Assign(request.simple_token(), request.name());
  etcdserverpb::AuthenticateResponse response;
  response.set_token(request.simple_token());
  return response;
}

// ---------------------------------------------------------------------------
// Users

absl::StatusOr<etcdserverpb::AuthUserAddResponse> AuthStore::UserAdd(
    const etcdserverpb::AuthUserAddRequest& request) {
  if (request.name().empty()) return UserEmptyError();
  if (FindUser(request.name()) != nullptr) return UserAlreadyExistError();
  authpb::User user;
  user.set_name(request.name());
  *user.mutable_options() = request.options();
  if (!request.options().no_password()) {
    absl::StatusOr<std::string> password =
        SelectPassword(request.password(), request.hashedpassword());
    if (!password.ok()) return password.status();
    user.set_password(*std::move(password));
  }
  users_.emplace(request.name(), std::move(user));
  CommitRevision();
  return etcdserverpb::AuthUserAddResponse();
}

absl::StatusOr<etcdserverpb::AuthUserDeleteResponse> AuthStore::UserDelete(
    const etcdserverpb::AuthUserDeleteRequest& request) {
  if (enabled_ && request.name() == kRootUser) return InvalidAuthMgmtError();
  auto it = users_.find(request.name());
  if (it == users_.end()) return UserNotFoundError();
  users_.erase(it);
  CommitRevision();
  tokens_.InvalidateUser(request.name());
  return etcdserverpb::AuthUserDeleteResponse();
}

absl::StatusOr<etcdserverpb::AuthUserChangePasswordResponse>
AuthStore::UserChangePassword(
    const etcdserverpb::AuthUserChangePasswordRequest& request) {
  auto it = users_.find(request.name());
  if (it == users_.end()) return UserNotFoundError();
  std::string password;
  if (!it->second.options().no_password()) {
    absl::StatusOr<std::string> selected =
        SelectPassword(request.password(), request.hashedpassword());
    if (!selected.ok()) return selected.status();
    password = *std::move(selected);
  }
  it->second.set_password(std::move(password));
  CommitRevision();
  tokens_.InvalidateUser(request.name());
  return etcdserverpb::AuthUserChangePasswordResponse();
}

absl::StatusOr<etcdserverpb::AuthUserGrantRoleResponse>
AuthStore::UserGrantRole(const etcdserverpb::AuthUserGrantRoleRequest& request) {
  auto it = users_.find(request.user());
  if (it == users_.end()) return UserNotFoundError();
  // The root role may be granted before it is created, as in etcd.
  if (request.role() != kRootRole && !roles_.contains(request.role())) {
    return RoleNotFoundError();
  }
  auto* roles = it->second.mutable_roles();
  auto at = std::lower_bound(roles->begin(), roles->end(), request.role());
  // Granting a role twice is ignored and changes nothing, as in etcd.
  if (at != roles->end() && *at == request.role()) {
    return etcdserverpb::AuthUserGrantRoleResponse();
  }
  const int index = static_cast<int>(at - roles->begin());
  roles->Add(std::string(request.role()));
  for (int i = roles->size() - 1; i > index; --i) roles->SwapElements(i, i - 1);
  CommitRevision();
  return etcdserverpb::AuthUserGrantRoleResponse();
}

absl::StatusOr<etcdserverpb::AuthUserRevokeRoleResponse>
AuthStore::UserRevokeRole(
    const etcdserverpb::AuthUserRevokeRoleRequest& request) {
  if (enabled_ && request.name() == kRootUser && request.role() == kRootRole) {
    return InvalidAuthMgmtError();
  }
  auto it = users_.find(request.name());
  if (it == users_.end()) return UserNotFoundError();
  auto* roles = it->second.mutable_roles();
  auto at = std::find(roles->begin(), roles->end(), request.role());
  if (at == roles->end()) return RoleNotGrantedError();
  roles->erase(at);
  CommitRevision();
  return etcdserverpb::AuthUserRevokeRoleResponse();
}

absl::StatusOr<etcdserverpb::AuthUserGetResponse> AuthStore::UserGet(
    const etcdserverpb::AuthUserGetRequest& request) const {
  const authpb::User* user = FindUser(request.name());
  if (user == nullptr) return UserNotFoundError();
  etcdserverpb::AuthUserGetResponse response;
  *response.mutable_roles() = user->roles();
  return response;
}

etcdserverpb::AuthUserListResponse AuthStore::UserList() const {
  etcdserverpb::AuthUserListResponse response;
  for (const auto& [name, user] : users_) response.add_users(name);
  return response;
}

// ---------------------------------------------------------------------------
// Roles

absl::StatusOr<etcdserverpb::AuthRoleAddResponse> AuthStore::RoleAdd(
    const etcdserverpb::AuthRoleAddRequest& request) {
  if (request.name().empty()) return RoleEmptyError();
  if (roles_.contains(request.name())) return RoleAlreadyExistError();
  authpb::Role role;
  role.set_name(request.name());
  roles_.emplace(request.name(), std::move(role));
  CommitRevision();
  return etcdserverpb::AuthRoleAddResponse();
}

absl::StatusOr<etcdserverpb::AuthRoleDeleteResponse> AuthStore::RoleDelete(
    const etcdserverpb::AuthRoleDeleteRequest& request) {
  if (enabled_ && request.role() == kRootRole) return InvalidAuthMgmtError();
  auto it = roles_.find(request.role());
  if (it == roles_.end()) return RoleNotFoundError();
  roles_.erase(it);
  // The role is revoked from every user holding it.
  for (auto& [name, user] : users_) {
    auto* roles = user.mutable_roles();
    auto at = std::find(roles->begin(), roles->end(), request.role());
    if (at != roles->end()) roles->erase(at);
  }
  CommitRevision();
  return etcdserverpb::AuthRoleDeleteResponse();
}

absl::StatusOr<etcdserverpb::AuthRoleGetResponse> AuthStore::RoleGet(
    const etcdserverpb::AuthRoleGetRequest& request) const {
  auto it = roles_.find(request.role());
  if (it == roles_.end()) return RoleNotFoundError();
  etcdserverpb::AuthRoleGetResponse response;
  if (request.role() == kRootRole) {
    // etcd shows the root role as read-write over every key.
    Permission* all = response.add_perm();
    all->set_permtype(Permission::READWRITE);
    all->set_key("");
    all->set_range_end(std::string("\0", 1));
    return response;
  }
  *response.mutable_perm() = it->second.keypermission();
  return response;
}

etcdserverpb::AuthRoleListResponse AuthStore::RoleList() const {
  etcdserverpb::AuthRoleListResponse response;
  for (const auto& [name, role] : roles_) response.add_roles(name);
  return response;
}

absl::StatusOr<etcdserverpb::AuthRoleGrantPermissionResponse>
AuthStore::RoleGrantPermission(
    const etcdserverpb::AuthRoleGrantPermissionRequest& request) {
  if (!request.has_perm()) return PermissionNotGivenError();
  const Permission& perm = request.perm();
  if (!IsValidPermissionRange(perm.key(), perm.range_end())) {
    return InvalidAuthMgmtError();
  }
  auto it = roles_.find(request.name());
  if (it == roles_.end()) return RoleNotFoundError();
  auto* perms = it->second.mutable_keypermission();
  // The same (key, range_end) is updated in place; anything else is added
  // after the permissions with a key <= its own, keeping them sorted by key
  // and equal keys in grant order. etcd looks only at the first permission
  // whose key is >= the new one, so re-granting (k, e) when (k, e') precedes
  // it appends a duplicate there; here it updates, so a role never holds
  // one range twice.
  auto same = std::find_if(perms->begin(), perms->end(), [&](const Permission& p) {
    return p.key() == perm.key() && p.range_end() == perm.range_end();
  });
  if (same != perms->end()) {
    same->set_permtype(perm.permtype());
  } else {
    Permission* added = perms->Add();
    added->set_key(perm.key());
    added->set_range_end(perm.range_end());
    added->set_permtype(perm.permtype());
    // Move it left past every permission with a larger key.
    for (int i = perms->size() - 1;
         i > 0 && perms->Get(i - 1).key() > perms->Get(i).key(); --i) {
      perms->SwapElements(i, i - 1);
    }
  }
  CommitRevision();
  return etcdserverpb::AuthRoleGrantPermissionResponse();
}

absl::StatusOr<etcdserverpb::AuthRoleRevokePermissionResponse>
AuthStore::RoleRevokePermission(
    const etcdserverpb::AuthRoleRevokePermissionRequest& request) {
  auto it = roles_.find(request.role());
  if (it == roles_.end()) return RoleNotFoundError();
  auto* perms = it->second.mutable_keypermission();
  const int before = perms->size();
  perms->erase(std::remove_if(perms->begin(), perms->end(),
                              [&](const Permission& p) {
                                return p.key() == request.key() &&
                                       p.range_end() == request.range_end();
                              }),
               perms->end());
  if (perms->size() == before) return PermissionNotGrantedError();
  CommitRevision();
  return etcdserverpb::AuthRoleRevokePermissionResponse();
}

// ---------------------------------------------------------------------------
// Checks

std::vector<PermInterval> AuthStore::MergedPerms(const authpb::User& user,
                                                 bool write) const {
  std::vector<PermInterval> merged;
  for (const std::string& role_name : user.roles()) {
    auto it = roles_.find(role_name);
    if (it == roles_.end()) continue;  // "root" granted before it was made
    for (const Permission& p : it->second.keypermission()) {
      const bool grants =
          p.permtype() == Permission::READWRITE ||
          p.permtype() == (write ? Permission::WRITE : Permission::READ);
      if (grants) merged.push_back(PermissionInterval(p.key(), p.range_end()));
    }
  }
  return merged;
}

absl::Status AuthStore::IsOpPermitted(const AuthInfo& info,
                                      std::string_view key,
                                      std::string_view range_end,
                                      bool write) const {
  if (!enabled_) return absl::OkStatus();
  // Revision 0 only comes with no user at all (no token given).
  if (info.revision == 0) return UserEmptyError();
  if (info.revision < revision_) return AuthOldRevisionError();
  const authpb::User* user = FindUser(info.username);
  if (user == nullptr) return PermissionDeniedError();
  if (HasRootRole(*user)) return absl::OkStatus();
  if (RangePermitted(MergedPerms(*user, write), key, range_end)) {
    return absl::OkStatus();
  }
  return PermissionDeniedError();
}

absl::Status AuthStore::IsRangePermitted(const AuthInfo& info,
                                         std::string_view key,
                                         std::string_view range_end) const {
  return IsOpPermitted(info, key, range_end, /*write=*/false);
}

absl::Status AuthStore::IsPutPermitted(const AuthInfo& info,
                                       std::string_view key) const {
  return IsOpPermitted(info, key, "", /*write=*/true);
}

absl::Status AuthStore::IsDeleteRangePermitted(
    const AuthInfo& info, std::string_view key,
    std::string_view range_end) const {
  return IsOpPermitted(info, key, range_end, /*write=*/true);
}

absl::Status AuthStore::IsAdminPermitted(const AuthInfo& info) const {
  if (!enabled_) return absl::OkStatus();
  if (info.username.empty()) return UserEmptyError();
  const authpb::User* user = FindUser(info.username);
  if (user == nullptr) return UserNotFoundError();
  if (!HasRootRole(*user)) return PermissionDeniedError();
  return absl::OkStatus();
}

bool AuthStore::HasRole(std::string_view user, std::string_view role) const {
  const authpb::User* u = FindUser(user);
  if (u == nullptr) return false;
  return std::find(u->roles().begin(), u->roles().end(), role) !=
         u->roles().end();
}

absl::StatusOr<StoredPassword> AuthStore::PasswordOf(
    std::string_view name) const {
  if (!enabled_) return AuthNotEnabledError();
  const authpb::User* user = FindUser(name);
  if (user == nullptr) return AuthFailedError();
  if (user->options().no_password()) return NoPasswordUserError();
  return StoredPassword{user->password(), revision_};
}

void AuthStore::TakeTokens(AuthStore& previous) {
  tokens_ = std::move(previous.tokens_);
  previous.tokens_.Clear();
  if (!enabled_) {
    tokens_.Clear();
    return;
  }
  std::vector<std::string> gone;
  for (const std::string& user : tokens_.Users()) {
    if (!users_.contains(user)) gone.push_back(user);
  }
  for (const std::string& user : gone) tokens_.InvalidateUser(user);
}

absl::StatusOr<AuthInfo> AuthStore::AuthInfoFromToken(std::string_view token) {
  if (!enabled_) return AuthInfo();
  std::optional<std::string> user = tokens_.Lookup(token);
  if (!user.has_value()) return InvalidAuthTokenError();
  return AuthInfo{*std::move(user), revision_};
}

// ---------------------------------------------------------------------------
// Restore and invariants

absl::Status AuthStore::RestoreBegin(bool enabled, uint64_t revision) {
  CHECK(users_.empty() && roles_.empty()) << "restore starts from empty";
  if (revision == 0) return Corrupt("revision 0");
  enabled_ = enabled;
  revision_ = revision;
  return absl::OkStatus();
}

absl::Status AuthStore::RestoreUser(authpb::User user) {
  if (user.name().empty()) return Corrupt("a user without a name");
  if (!users_.empty() && !(users_.rbegin()->first < user.name())) {
    return Corrupt(absl::StrCat("user ", user.name(), " out of order"));
  }
  if (!SortedDistinct(user.roles())) {
    return Corrupt(absl::StrCat("user ", user.name(), "'s roles unsorted"));
  }
  std::string name = user.name();
  users_.emplace_hint(users_.end(), std::move(name), std::move(user));
  return absl::OkStatus();
}

absl::Status AuthStore::RestoreRole(authpb::Role role) {
  if (role.name().empty()) return Corrupt("a role without a name");
  if (!roles_.empty() && !(roles_.rbegin()->first < role.name())) {
    return Corrupt(absl::StrCat("role ", role.name(), " out of order"));
  }
  if (!PermsSortedAndValid(role)) {
    return Corrupt(absl::StrCat("role ", role.name(), "'s permissions"));
  }
  std::string name = role.name();
  roles_.emplace_hint(roles_.end(), std::move(name), std::move(role));
  return absl::OkStatus();
}

absl::Status AuthStore::RestoreFinish() { return Validate(); }

absl::Status AuthStore::Validate() const {
  if (revision_ == 0) return Corrupt("revision 0");
  for (const auto& [name, user] : users_) {
    if (name != user.name() || !SortedDistinct(user.roles())) {
      return Corrupt(absl::StrCat("user ", name));
    }
    for (const std::string& role : user.roles()) {
      if (role != kRootRole && !roles_.contains(role)) {
        return Corrupt(absl::StrCat("user ", name, " has missing role ", role));
      }
    }
  }
  for (const auto& [name, role] : roles_) {
    if (name != role.name() || !PermsSortedAndValid(role)) {
      return Corrupt(absl::StrCat("role ", name));
    }
  }
  if (enabled_) {
    const authpb::User* root = FindUser(kRootUser);
    if (root == nullptr || !HasRootRole(*root)) {
      return Corrupt("enabled without a root user having the root role");
    }
  }
  return absl::OkStatus();
}

void AuthStore::CheckInvariants() const {
  const absl::Status s = Validate();
  CHECK(s.ok()) << "auth store invariants: " << s.message();
  tokens_.CheckInvariants();
  if (!enabled_) CHECK_EQ(tokens_.size(), 0u) << "no tokens while disabled";
}

}  // namespace etcdpp::kv
