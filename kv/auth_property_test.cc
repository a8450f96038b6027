// Property: random sequences of auth operations (users, roles, grants,
// revokes, enable, disable), applied through the Applier, agree with a naive
// model on every status, the auth revision and the enabled flag; and every
// permission question about random keys and ranges gets the model's answer,
// both from AuthStore's checks and from applying a range or put. Now and then
// the state goes through a snapshot round trip and the run goes on with the
// restored copy.
//
// The model decides range permissions differently from the implementation:
// a range [b, e) is covered iff b and every permission end inside [b, e) is
// held by some permission (the least uncovered key, if any, is one of
// those), instead of merging sorted intervals.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/auth_errors.h"
#include "kv/request_gen.h"
#include "kv/snapshot.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::kv {
namespace {

using authpb::Permission;
using kvpb::InternalRequest;
using testing::OneOf;
using testing::Uniform;

const std::string kNul(1, '\0');

struct PermModel {
  std::string key, end;  // end as granted: "", "\0" or a key
  bool Contains(const std::string& k) const {
    if (end.empty()) return k == key;
    if (end == kNul) return key <= k;
    return key <= k && k < end;
  }
  // The first key after the permission, if it has an end.
  std::optional<std::string> After() const {
    if (end.empty()) return key + kNul;
    if (end == kNul) return std::nullopt;
    return end;
  }
};

struct Model {
  bool enabled = false;
  uint64_t revision = 1;
  std::map<std::string, std::set<std::string>> users;
  // role -> (key, range_end) -> permission type
  std::map<std::string, std::map<std::pair<std::string, std::string>, int>>
      roles;

  std::vector<PermModel> Perms(const std::string& user, bool write) const {
    std::vector<PermModel> out;
    for (const std::string& role : users.at(user)) {
      auto it = roles.find(role);
      if (it == roles.end()) continue;
      for (const auto& [range, type] : it->second) {
        if (type == Permission::READWRITE ||
            type == (write ? Permission::WRITE : Permission::READ)) {
          out.push_back({range.first, range.second});
        }
      }
    }
    return out;
  }

  bool Permitted(const std::string& user, const std::string& key,
                 const std::string& end, bool write) const {
    if (!enabled) return true;
    if (!users.contains(user)) return false;
    if (users.at(user).contains("root")) return true;
    const std::vector<PermModel> perms = Perms(user, write);
    const auto held = [&](const std::string& k) {
      for (const PermModel& p : perms) {
        if (p.Contains(k)) return true;
      }
      return false;
    };
    if (end.empty()) return held(key);
    const bool open = end == kNul;
    // etcd's answer for an inverted range: is its start held?
    if (!open && end <= key) return held(key);
    if (!held(key)) return false;
    for (const PermModel& p : perms) {
      const std::optional<std::string> after = p.After();
      if (after && key <= *after && (open || *after < end) && !held(*after)) {
        return false;
      }
    }
    return true;
  }
};

const std::vector<std::string> kUsers = {"root", "u1", "u2", ""};
const std::vector<std::string> kRoles = {"root", "r1", "r2", "r3", ""};
const std::vector<std::string> kKeys = {"a", "a" + kNul, "aa", "b", "ba", "c"};

std::string GenEnd() {
  switch (Uniform(0, 4)) {
    case 0:
    case 1:
      return "";
    case 2:
      return kNul;
    default:
      return OneOf(kKeys);
  }
}

struct AuthOp {
  int kind;  // 0..11, the cases below
  std::string user, role, key, end;
  int type = 0;
  bool enable = true;
};

AuthOp GenAuthOp() {
  AuthOp op{Uniform(0, 11), OneOf(kUsers), OneOf(kRoles),
            Uniform(0, 20) == 0 ? "" : OneOf(kKeys), GenEnd()};
  op.type = Uniform(0, 2);
  op.enable = Uniform(0, 1) == 0;
  return op;
}

// Builds the request of a user operation (kinds 0..5) and applies it to the
// model; returns the status the store must answer.
absl::Status UserOp(const AuthOp& op, Model& m, InternalRequest& r) {
  absl::Status want;
  const std::string& user = op.user;
  const std::string& role = op.role;
  switch (op.kind) {
    case 0: {
      r.mutable_auth_user_add()->set_name(user);
      r.mutable_auth_user_add()->set_hashedpassword("h:" + user);
      if (user.empty()) {
        want = UserEmptyError();
      } else if (m.users.contains(user)) {
        want = UserAlreadyExistError();
      } else {
        m.users[user];
        ++m.revision;
      }
      break;
    }
    case 1:
      r.mutable_auth_user_delete()->set_name(user);
      if (m.enabled && user == "root") {
        want = InvalidAuthMgmtError();
      } else if (!m.users.contains(user)) {
        want = UserNotFoundError();
      } else {
        m.users.erase(user);
        ++m.revision;
      }
      break;
    case 2:
      r.mutable_auth_user_change_password()->set_name(user);
      r.mutable_auth_user_change_password()->set_hashedpassword("h2");
      if (!m.users.contains(user)) {
        want = UserNotFoundError();
      } else {
        ++m.revision;
      }
      break;
    case 3:
    case 4:
      r.mutable_auth_user_grant_role()->set_user(user);
      r.mutable_auth_user_grant_role()->set_role(role);
      if (!m.users.contains(user)) {
        want = UserNotFoundError();
      } else if (role != "root" && !m.roles.contains(role)) {
        want = RoleNotFoundError();
      } else if (m.users[user].insert(role).second) {
        ++m.revision;
      }
      break;
    case 5:
      r.mutable_auth_user_revoke_role()->set_name(user);
      r.mutable_auth_user_revoke_role()->set_role(role);
      if (m.enabled && user == "root" && role == "root") {
        want = InvalidAuthMgmtError();
      } else if (!m.users.contains(user)) {
        want = UserNotFoundError();
      } else if (m.users[user].erase(role) == 0) {
        want = RoleNotGrantedError();
      } else {
        ++m.revision;
      }
      break;
  }
  return want;
}

// The same for role operations and enable/disable (kinds 6..11).
absl::Status RoleOp(const AuthOp& op, Model& m, InternalRequest& r) {
  absl::Status want;
  const std::string& role = op.role;
  switch (op.kind) {
    case 6:
      r.mutable_auth_role_add()->set_name(role);
      if (role.empty()) {
        want = RoleEmptyError();
      } else if (m.roles.contains(role)) {
        want = RoleAlreadyExistError();
      } else {
        m.roles[role];
        ++m.revision;
      }
      break;
    case 7:
      r.mutable_auth_role_delete()->set_role(role);
      if (m.enabled && role == "root") {
        want = InvalidAuthMgmtError();
      } else if (!m.roles.contains(role)) {
        want = RoleNotFoundError();
      } else {
        m.roles.erase(role);
        for (auto& [name, roles] : m.users) roles.erase(role);
        ++m.revision;
      }
      break;
    case 8:
    case 9: {
      const std::string& key = op.key;
      const std::string& end = op.end;
      const int type = op.type;
      auto* g = r.mutable_auth_role_grant_permission();
      g->set_name(role);
      g->mutable_perm()->set_key(key);
      g->mutable_perm()->set_range_end(end);
      g->mutable_perm()->set_permtype(static_cast<Permission::Type>(type));
      const bool valid =
          !key.empty() && (end.empty() || end == kNul || key < end);
      if (!valid) {
        want = InvalidAuthMgmtError();
      } else if (!m.roles.contains(role)) {
        want = RoleNotFoundError();
      } else {
        m.roles[role][{key, end}] = type;
        ++m.revision;
      }
      break;
    }
    case 10: {
      const std::string key = op.key.empty() ? "a" : op.key;
      const std::string& end = op.end;
      auto* v = r.mutable_auth_role_revoke_permission();
      v->set_role(role);
      v->set_key(key);
      v->set_range_end(end);
      if (!m.roles.contains(role)) {
        want = RoleNotFoundError();
      } else if (m.roles[role].erase({key, end}) == 0) {
        want = PermissionNotGrantedError();
      } else {
        ++m.revision;
      }
      break;
    }
    case 11:
      if (op.enable) {
        r.mutable_auth_enable();
        if (m.enabled) break;
        if (!m.users.contains("root")) {
          want = RootUserNotExistError();
        } else if (!m.users["root"].contains("root")) {
          want = RootRoleNotExistError();
        } else {
          m.enabled = true;
        }
      } else {
        r.mutable_auth_disable();
        if (m.enabled) {
          m.enabled = false;
          ++m.revision;
        }
      }
      break;
  }
  return want;
}

// Applies one auth operation to both; asserts they agree.
void StepAuth(Applier& applier, Model& m, const AuthOp& op) {
  InternalRequest r;
  const absl::Status want = op.kind < 6 ? UserOp(op, m, r) : RoleOp(op, m, r);
  // Management is done as root, who holds the root role whenever auth is
  // enabled, so the admin check always passes.
  r.mutable_header()->set_username("root");
  r.mutable_header()->set_auth_revision(applier.auth().revision());
  RC_LOG() << r.ShortDebugString() << "\n";
  const ApplyResult result = applier.Apply(r);
  applier.CheckInvariants();
  RC_ASSERT(result.status == want);
  RC_ASSERT(applier.auth().revision() == m.revision);
  RC_ASSERT(applier.auth().enabled() == m.enabled);
  // Users, their roles and the roles' permissions as the model has them.
  const AuthStore& auth = applier.auth();
  RC_ASSERT(auth.UserList().users_size() == static_cast<int>(m.users.size()));
  for (const auto& [name, roles] : m.users) {
    etcdserverpb::AuthUserGetRequest get;
    get.set_name(name);
    const auto got = auth.UserGet(get);
    RC_ASSERT(got.ok());
    RC_ASSERT(std::vector<std::string>(got->roles().begin(),
                                       got->roles().end()) ==
              std::vector<std::string>(roles.begin(), roles.end()));
  }
  RC_ASSERT(auth.RoleList().roles_size() == static_cast<int>(m.roles.size()));
  for (const auto& [name, perms] : m.roles) {
    if (name == "root") continue;  // shown as read-write on everything
    etcdserverpb::AuthRoleGetRequest get;
    get.set_role(name);
    const auto got = auth.RoleGet(get);
    RC_ASSERT(got.ok());
    std::map<std::pair<std::string, std::string>, int> seen;
    for (const Permission& p : got->perm()) {
      seen[{p.key(), p.range_end()}] = p.permtype();
    }
    RC_ASSERT(seen == perms);
    RC_ASSERT(got->perm_size() == static_cast<int>(perms.size()));
  }
}

// Asks one random permission question; asserts the answers agree. True when
// it asked about a user who is neither root nor unknown, with auth enabled.
bool StepCheck(Applier& applier, const Model& m) {
  const std::string user =
      OneOf(std::vector<std::string>{"root", "u1", "u1", "u2", "ghost"});
  const std::string key = OneOf(kKeys);
  const std::string end = GenEnd();
  const bool write = Uniform(0, 1) == 1;
  const AuthInfo info{user, applier.auth().revision()};
  const bool want = m.Permitted(user, key, end, write);
  const absl::Status got =
      write ? applier.auth().IsDeleteRangePermitted(info, key, end)
            : applier.auth().IsRangePermitted(info, key, end);
  RC_LOG() << (write ? "write " : "read ") << user << " [" << key << ", "
           << (end == kNul ? "\\0" : end) << ")\n";
  RC_ASSERT(got.ok() == want);
  if (!want) RC_ASSERT(got == PermissionDeniedError());
  if (write && end.empty()) {
    RC_ASSERT(applier.auth().IsPutPermitted(info, key).ok() == want);
  }
  // The applier's own check agrees.
  InternalRequest r;
  r.mutable_header()->set_username(user);
  r.mutable_header()->set_auth_revision(info.revision);
  if (write) {
    r.mutable_delete_range()->set_key(key);
    r.mutable_delete_range()->set_range_end(end);
  } else {
    r.mutable_range()->set_key(key);
    r.mutable_range()->set_range_end(end);
  }
  const ApplyResult result = applier.Apply(r);
  RC_ASSERT(result.status.ok() == want);
  return m.enabled && user != "root" && user != "ghost";
}

RC_GTEST_PROP(AuthProperty, PermissionsMatchTheModel, ()) {
  auto applier = std::make_unique<Applier>();
  Model m;
  // Usually start from users holding roles, so that most runs ask
  // permission questions of users who hold permissions.
  if (Uniform(0, 3) > 0) {
    const std::vector<AuthOp> setup = {
        {0, "root", "", "", ""}, {0, "u1", "", "", ""},
        {0, "u2", "", "", ""},   {6, "", "r1", "", ""},
        {6, "", "r2", "", ""},   {3, "root", "root", "", ""},
        {3, "u1", "r1", "", ""}, {3, "u1", "r2", "", ""},
        {3, "u2", "r2", "", ""}, {11, "", "", "", "", 0, true}};
    for (const AuthOp& op : setup) StepAuth(*applier, m, op);
    // A few permissions, biased to ranges that touch or overlap.
    const int grants = Uniform(1, 6);
    for (int i = 0; i < grants; ++i) {
      AuthOp op = GenAuthOp();
      op.kind = 8;
      op.role = Uniform(0, 1) ? "r1" : "r2";
      if (op.key.empty()) op.key = "a";
      StepAuth(*applier, m, op);
    }
  }
  const int steps = Uniform(1, 120);
  int user_checks = 0;
  for (int i = 0; i < steps; ++i) {
    const int what = Uniform(0, 19);
    if (what < 11) {
      StepAuth(*applier, m, GenAuthOp());
    } else if (what < 19) {
      if (StepCheck(*applier, m)) ++user_checks;
    } else {
      // Snapshot round trip; go on with the copy.
      absl::StatusOr<RestoredState> restored =
          RestoreSnapshot(WriteSnapshot(*applier, 1));
      RC_ASSERT(restored.ok());
      RC_ASSERT(absl::StrJoin(WriteSnapshot(*restored->applier, 1), "") ==
                absl::StrJoin(WriteSnapshot(*applier, 1), ""));
      applier = std::move(restored->applier);
    }
  }
  RC_CLASSIFY(user_checks > 0, "asked about a user holding roles");
}

}  // namespace
}  // namespace etcdpp::kv
