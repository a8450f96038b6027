#include "kv/auth.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/auth_errors.h"
#include "kv/range_perm.h"
#include "kv/simple_token.h"
#include "kv/testing.h"

namespace etcdpp::kv {
namespace {

using authpb::Permission;
using kvpb::InternalRequest;
using testing::Parse;

etcdserverpb::AuthUserAddRequest UserAddReq(const std::string& name,
                                            const std::string& hash = "h") {
  etcdserverpb::AuthUserAddRequest r;
  r.set_name(name);
  r.set_hashedpassword(hash);
  return r;
}
etcdserverpb::AuthRoleAddRequest RoleAddReq(const std::string& name) {
  etcdserverpb::AuthRoleAddRequest r;
  r.set_name(name);
  return r;
}
etcdserverpb::AuthUserGrantRoleRequest GrantRoleReq(const std::string& user,
                                                    const std::string& role) {
  etcdserverpb::AuthUserGrantRoleRequest r;
  r.set_user(user);
  r.set_role(role);
  return r;
}
etcdserverpb::AuthUserRevokeRoleRequest RevokeRoleReq(const std::string& user,
                                                      const std::string& role) {
  etcdserverpb::AuthUserRevokeRoleRequest r;
  r.set_name(user);
  r.set_role(role);
  return r;
}
etcdserverpb::AuthRoleGrantPermissionRequest GrantPermReq(
    const std::string& role, Permission::Type type, const std::string& key,
    const std::string& range_end = "") {
  etcdserverpb::AuthRoleGrantPermissionRequest r;
  r.set_name(role);
  r.mutable_perm()->set_permtype(type);
  r.mutable_perm()->set_key(key);
  r.mutable_perm()->set_range_end(range_end);
  return r;
}
etcdserverpb::AuthRoleRevokePermissionRequest RevokePermReq(
    const std::string& role, const std::string& key,
    const std::string& range_end = "") {
  etcdserverpb::AuthRoleRevokePermissionRequest r;
  r.set_role(role);
  r.set_key(key);
  r.set_range_end(range_end);
  return r;
}
kvpb::InternalAuthenticateRequest AuthenticateReq(const std::string& name,
                                                  const std::string& token) {
  kvpb::InternalAuthenticateRequest r;
  r.set_name(name);
  r.set_simple_token(token);
  return r;
}

// A store with user root (role root), enabled.
void MakeRootAndEnable(AuthStore& auth) {
  ASSERT_TRUE(auth.UserAdd(UserAddReq("root")).ok());
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("root", "root")).ok());
  ASSERT_TRUE(auth.AuthEnable().ok());
  auth.CheckInvariants();
}

const std::string kAll("\0", 1);

// ---------------------------------------------------------------------------
// range_perm

TEST(RangePermTest, AffineOrderPutsTheEmptyStringLast) {
  EXPECT_LT(AffineCompare("a", "b"), 0);
  EXPECT_GT(AffineCompare("", "zzz"), 0);
  EXPECT_LT(AffineCompare("zzz", ""), 0);
  EXPECT_EQ(AffineCompare("", ""), 0);
  EXPECT_LT(AffineCompare("a", "a\xff"), 0);
  EXPECT_LT(AffineCompare("\x7f", "\x80"), 0) << "bytes compare unsigned";
}

TEST(RangePermTest, ValidPermissionRanges) {
  EXPECT_TRUE(IsValidPermissionRange("a", ""));
  EXPECT_TRUE(IsValidPermissionRange("a", "b"));
  EXPECT_TRUE(IsValidPermissionRange("a", kAll));
  EXPECT_TRUE(IsValidPermissionRange(kAll, kAll));
  EXPECT_FALSE(IsValidPermissionRange("", ""));
  EXPECT_FALSE(IsValidPermissionRange("", "b"));
  EXPECT_FALSE(IsValidPermissionRange("b", "a"));
  EXPECT_FALSE(IsValidPermissionRange("b", "b"));
}

TEST(RangePermTest, PointsRangesAndMerging) {
  const std::vector<PermInterval> perms = {
      PermissionInterval("k", ""),     // the key k
      PermissionInterval("a", "c"),    // [a, c)
      PermissionInterval("c", "e"),    // [c, e): merges with [a, c)
      PermissionInterval("x", kAll)};  // [x, +inf)
  struct Case {
    std::string key, end;
    bool want;
  };
  const Case cases[] = {
      {"k", "", true},        {"j", "", false},     {"k\x01", "", false},
      {"k", "k" + kAll, true}, {"k", "l", false},   {"a", "", true},
      {"b", "", true},        {"d", "", true},      {"e", "", false},
      {"a", "e", true},       {"a", "e\x01", false}, {"b", "d", true},
      {"0", "b", false},      {"x", kAll, true},    {"y", kAll, true},
      {"w", kAll, false},     {"x", "zz", true},    {"zzzz", "", true},
      // etcd's answer for an inverted range: does a permission hold its
      // start?
      {"b", "a", true},       {"f", "a", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RangePermitted(perms, c.key, c.end), c.want)
        << "key=" << c.key << " end=" << c.end;
  }
  EXPECT_FALSE(RangePermitted({}, "a", ""));
  EXPECT_FALSE(RangePermitted({}, "a", "b"));
}

TEST(RangePermTest, AGapBetweenPermissionsIsNotCovered) {
  const std::vector<PermInterval> perms = {PermissionInterval("a", "b"),
                                           PermissionInterval("c", "d")};
  EXPECT_FALSE(RangePermitted(perms, "a", "d"));
  EXPECT_TRUE(RangePermitted(perms, "a", "b"));
  EXPECT_TRUE(RangePermitted(perms, "c", "d"));
  // Point permissions of neighbouring keys leave no gap between them.
  const std::vector<PermInterval> points = {PermissionInterval("a", ""),
                                            PermissionInterval("a" + kAll, "")};
  EXPECT_TRUE(RangePermitted(points, "a", "a" + kAll + kAll));
  EXPECT_FALSE(RangePermitted(points, "a", "b"));
}

// ---------------------------------------------------------------------------
// SimpleTokenTable

TEST(SimpleTokenTest, TokensExpireAfterTheirTtlAndLookupsRenew) {
  SimpleTokenTable tokens(10);
  tokens.Assign("t1", "alice");
  tokens.Assign("t2", "bob");
  tokens.Tick(9);
  EXPECT_EQ(tokens.Lookup("t1"), "alice");  // renewed until tick 19
  tokens.Tick(1);                            // tick 10: t2 expires
  EXPECT_EQ(tokens.Lookup("t2"), std::nullopt);
  tokens.Tick(8);
  EXPECT_EQ(tokens.Lookup("t1"), "alice");
  tokens.Tick(10);
  EXPECT_EQ(tokens.Lookup("t1"), std::nullopt);
  EXPECT_EQ(tokens.size(), 0u);
  tokens.CheckInvariants();
}

TEST(SimpleTokenTest, InvalidateUserAndClear) {
  SimpleTokenTable tokens(5);
  tokens.Assign("a1", "alice");
  tokens.Assign("a2", "alice");
  tokens.Assign("b1", "bob");
  tokens.InvalidateUser("alice");
  tokens.CheckInvariants();
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens.Lookup("a1"), std::nullopt);
  EXPECT_EQ(tokens.Lookup("b1"), "bob");
  // Reassigning a token replaces its user and its expiry.
  tokens.Assign("b1", "carol");
  tokens.CheckInvariants();
  EXPECT_EQ(tokens.Lookup("b1"), "carol");
  tokens.Clear();
  EXPECT_EQ(tokens.size(), 0u);
  tokens.CheckInvariants();
}

// ---------------------------------------------------------------------------
// Users

TEST(AuthStoreTest, AFreshStoreIsDisabledAtRevisionOne) {
  AuthStore auth;
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.revision(), 1u);
  EXPECT_PROTO_EQ(Parse<etcdserverpb::AuthStatusResponse>("authRevision: 1"),
                  auth.AuthStatus());
  auth.CheckInvariants();
}

TEST(AuthStoreTest, UserAdd) {
  AuthStore auth;
  EXPECT_EQ(auth.UserAdd(UserAddReq("")).status(), UserEmptyError());
  ASSERT_TRUE(auth.UserAdd(UserAddReq("alice", "$2a$10$hash")).ok());
  EXPECT_EQ(auth.revision(), 2u);
  EXPECT_EQ(auth.UserAdd(UserAddReq("alice")).status(),
            UserAlreadyExistError());
  EXPECT_EQ(auth.revision(), 2u) << "a failed operation changes nothing";
  EXPECT_EQ(auth.users().at("alice").password(), "$2a$10$hash");
  // A plain password is never hashed in kv.
  etcdserverpb::AuthUserAddRequest plain;
  plain.set_name("bob");
  plain.set_password("secret");
  EXPECT_EQ(auth.UserAdd(plain).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(auth.users().contains("bob"));
  // A no-password user keeps no password at all.
  etcdserverpb::AuthUserAddRequest nopw = UserAddReq("carol", "ignored");
  nopw.mutable_options()->set_no_password(true);
  ASSERT_TRUE(auth.UserAdd(nopw).ok());
  EXPECT_EQ(auth.users().at("carol").password(), "");
  EXPECT_TRUE(auth.users().at("carol").options().no_password());
  auth.CheckInvariants();
}

TEST(AuthStoreTest, UserDeleteAndGetAndList) {
  AuthStore auth;
  etcdserverpb::AuthUserDeleteRequest del;
  del.set_name("nobody");
  EXPECT_EQ(auth.UserDelete(del).status(), UserNotFoundError());
  ASSERT_TRUE(auth.UserAdd(UserAddReq("zed")).ok());
  ASSERT_TRUE(auth.UserAdd(UserAddReq("amy")).ok());
  EXPECT_PROTO_EQ(
      Parse<etcdserverpb::AuthUserListResponse>("users: 'amy' users: 'zed'"),
      auth.UserList());
  etcdserverpb::AuthUserGetRequest get;
  get.set_name("nobody");
  EXPECT_EQ(auth.UserGet(get).status(), UserNotFoundError());
  get.set_name("amy");
  ASSERT_TRUE(auth.UserGet(get).ok());
  EXPECT_EQ(auth.UserGet(get)->roles_size(), 0);
  del.set_name("amy");
  const uint64_t rev = auth.revision();
  ASSERT_TRUE(auth.UserDelete(del).ok());
  EXPECT_EQ(auth.revision(), rev + 1);
  EXPECT_EQ(auth.UserGet(get).status(), UserNotFoundError());
}

TEST(AuthStoreTest, RootCannotBeDeletedOrLoseRootWhileEnabled) {
  AuthStore auth;
  MakeRootAndEnable(auth);
  etcdserverpb::AuthUserDeleteRequest del;
  del.set_name("root");
  EXPECT_EQ(auth.UserDelete(del).status(), InvalidAuthMgmtError());
  EXPECT_EQ(auth.UserRevokeRole(RevokeRoleReq("root", "root")).status(),
            InvalidAuthMgmtError());
  etcdserverpb::AuthRoleDeleteRequest role_del;
  role_del.set_role("root");
  EXPECT_EQ(auth.RoleDelete(role_del).status(), InvalidAuthMgmtError());
  auth.CheckInvariants();
  // Disabled, all three are allowed again.
  ASSERT_TRUE(auth.AuthDisable().ok());
  ASSERT_TRUE(auth.UserRevokeRole(RevokeRoleReq("root", "root")).ok());
  ASSERT_TRUE(auth.UserDelete(del).ok());
  auth.CheckInvariants();
}

TEST(AuthStoreTest, ChangePassword) {
  AuthStore auth;
  MakeRootAndEnable(auth);
  etcdserverpb::AuthUserChangePasswordRequest change;
  change.set_name("nobody");
  change.set_hashedpassword("h2");
  EXPECT_EQ(auth.UserChangePassword(change).status(), UserNotFoundError());
  ASSERT_TRUE(
      auth.Authenticate(AuthenticateReq("root", "tok"), auth.revision()).ok());
  change.set_name("root");
  const uint64_t rev = auth.revision();
  ASSERT_TRUE(auth.UserChangePassword(change).ok());
  EXPECT_EQ(auth.revision(), rev + 1);
  EXPECT_EQ(auth.users().at("root").password(), "h2");
  EXPECT_EQ(auth.users().at("root").roles_size(), 1) << "roles are kept";
  EXPECT_EQ(auth.AuthInfoFromToken("tok").status(), InvalidAuthTokenError())
      << "a password change drops the user's tokens";
  change.clear_hashedpassword();
  change.set_password("plain");
  EXPECT_EQ(auth.UserChangePassword(change).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AuthStoreTest, GrantAndRevokeRoles) {
  AuthStore auth;
  ASSERT_TRUE(auth.UserAdd(UserAddReq("u")).ok());
  ASSERT_TRUE(auth.RoleAdd(RoleAddReq("writer")).ok());
  ASSERT_TRUE(auth.RoleAdd(RoleAddReq("admin")).ok());
  EXPECT_EQ(auth.UserGrantRole(GrantRoleReq("x", "writer")).status(),
            UserNotFoundError());
  EXPECT_EQ(auth.UserGrantRole(GrantRoleReq("u", "nope")).status(),
            RoleNotFoundError());
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("u", "writer")).ok());
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("u", "admin")).ok());
  // The root role may be granted before it exists.
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("u", "root")).ok());
  const uint64_t rev = auth.revision();
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("u", "writer")).ok());
  EXPECT_EQ(auth.revision(), rev) << "a repeated grant changes nothing";
  etcdserverpb::AuthUserGetRequest get;
  get.set_name("u");
  EXPECT_PROTO_EQ(Parse<etcdserverpb::AuthUserGetResponse>(
                      "roles: 'admin' roles: 'root' roles: 'writer'"),
                  *auth.UserGet(get));
  EXPECT_TRUE(auth.HasRole("u", "admin"));
  EXPECT_FALSE(auth.HasRole("v", "admin"));
  EXPECT_EQ(auth.UserRevokeRole(RevokeRoleReq("x", "writer")).status(),
            UserNotFoundError());
  ASSERT_TRUE(auth.UserRevokeRole(RevokeRoleReq("u", "admin")).ok());
  EXPECT_EQ(auth.revision(), rev + 1);
  EXPECT_EQ(auth.UserRevokeRole(RevokeRoleReq("u", "admin")).status(),
            RoleNotGrantedError());
  EXPECT_FALSE(auth.HasRole("u", "admin"));
  auth.CheckInvariants();
}

// ---------------------------------------------------------------------------
// Roles

TEST(AuthStoreTest, RoleAddDeleteGetList) {
  AuthStore auth;
  EXPECT_EQ(auth.RoleAdd(RoleAddReq("")).status(), RoleEmptyError());
  ASSERT_TRUE(auth.RoleAdd(RoleAddReq("r2")).ok());
  ASSERT_TRUE(auth.RoleAdd(RoleAddReq("r1")).ok());
  EXPECT_EQ(auth.RoleAdd(RoleAddReq("r1")).status(), RoleAlreadyExistError());
  EXPECT_PROTO_EQ(
      Parse<etcdserverpb::AuthRoleListResponse>("roles: 'r1' roles: 'r2'"),
      auth.RoleList());
  etcdserverpb::AuthRoleGetRequest get;
  get.set_role("nope");
  EXPECT_EQ(auth.RoleGet(get).status(), RoleNotFoundError());
  ASSERT_TRUE(auth.UserAdd(UserAddReq("u")).ok());
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("u", "r1")).ok());
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("u", "r2")).ok());
  etcdserverpb::AuthRoleDeleteRequest del;
  del.set_role("nope");
  EXPECT_EQ(auth.RoleDelete(del).status(), RoleNotFoundError());
  del.set_role("r1");
  ASSERT_TRUE(auth.RoleDelete(del).ok());
  EXPECT_FALSE(auth.HasRole("u", "r1")) << "deleting a role revokes it";
  EXPECT_TRUE(auth.HasRole("u", "r2"));
  auth.CheckInvariants();
}

TEST(AuthStoreTest, TheRootRoleShowsAsReadWriteOnEverything) {
  AuthStore auth;
  ASSERT_TRUE(auth.RoleAdd(RoleAddReq("root")).ok());
  ASSERT_TRUE(
      auth.RoleGrantPermission(GrantPermReq("root", Permission::READ, "a"))
          .ok());
  etcdserverpb::AuthRoleGetRequest get;
  get.set_role("root");
  etcdserverpb::AuthRoleGetResponse want;
  Permission* p = want.add_perm();
  p->set_permtype(Permission::READWRITE);
  p->set_range_end(kAll);
  EXPECT_PROTO_EQ(want, *auth.RoleGet(get));
}

TEST(AuthStoreTest, GrantPermissionSortsUpdatesAndValidates) {
  AuthStore auth;
  EXPECT_EQ(auth.RoleGrantPermission(
                    etcdserverpb::AuthRoleGrantPermissionRequest())
                .status(),
            PermissionNotGivenError());
  EXPECT_EQ(
      auth.RoleGrantPermission(GrantPermReq("r", Permission::READ, "a"))
          .status(),
      RoleNotFoundError());
  ASSERT_TRUE(auth.RoleAdd(RoleAddReq("r")).ok());
  EXPECT_EQ(
      auth.RoleGrantPermission(GrantPermReq("r", Permission::READ, "b", "a"))
          .status(),
      InvalidAuthMgmtError());
  EXPECT_EQ(
      auth.RoleGrantPermission(GrantPermReq("r", Permission::READ, "", "a"))
          .status(),
      InvalidAuthMgmtError());
  ASSERT_TRUE(
      auth.RoleGrantPermission(GrantPermReq("r", Permission::READ, "m", "p"))
          .ok());
  ASSERT_TRUE(
      auth.RoleGrantPermission(GrantPermReq("r", Permission::WRITE, "c"))
          .ok());
  ASSERT_TRUE(auth.RoleGrantPermission(
                      GrantPermReq("r", Permission::READWRITE, "x", kAll))
                  .ok());
  const uint64_t rev = auth.revision();
  // The same (key, range_end) again updates the type in place.
  ASSERT_TRUE(auth.RoleGrantPermission(
                      GrantPermReq("r", Permission::READWRITE, "m", "p"))
                  .ok());
  EXPECT_EQ(auth.revision(), rev + 1);
  etcdserverpb::AuthRoleGetRequest get;
  get.set_role("r");
  EXPECT_PROTO_EQ(Parse<etcdserverpb::AuthRoleGetResponse>(R"pb(
                    perm { permType: WRITE key: 'c' }
                    perm { permType: READWRITE key: 'm' range_end: 'p' }
                    perm { permType: READWRITE key: 'x' range_end: '\0' }
                  )pb"),
                  *auth.RoleGet(get));
  // A second range with the same key goes after it; re-granting that one
  // updates it, even though another range with its key comes first.
  ASSERT_TRUE(
      auth.RoleGrantPermission(GrantPermReq("r", Permission::WRITE, "m")).ok());
  ASSERT_TRUE(
      auth.RoleGrantPermission(GrantPermReq("r", Permission::READ, "m")).ok());
  EXPECT_PROTO_EQ(Parse<etcdserverpb::AuthRoleGetResponse>(R"pb(
                    perm { permType: WRITE key: 'c' }
                    perm { permType: READWRITE key: 'm' range_end: 'p' }
                    perm { permType: READ key: 'm' }
                    perm { permType: READWRITE key: 'x' range_end: '\0' }
                  )pb"),
                  *auth.RoleGet(get));
  ASSERT_TRUE(auth.RoleRevokePermission(RevokePermReq("r", "m")).ok());
  EXPECT_EQ(auth.RoleRevokePermission(RevokePermReq("nope", "c")).status(),
            RoleNotFoundError());
  EXPECT_EQ(auth.RoleRevokePermission(RevokePermReq("r", "m")).status(),
            PermissionNotGrantedError())
      << "a revoke names the exact (key, range_end)";
  ASSERT_TRUE(auth.RoleRevokePermission(RevokePermReq("r", "m", "p")).ok());
  EXPECT_EQ(auth.RoleGet(get)->perm_size(), 2);
  auth.CheckInvariants();
}

// ---------------------------------------------------------------------------
// Enable, disable

TEST(AuthStoreTest, EnableNeedsARootUserWithTheRootRole) {
  AuthStore auth;
  EXPECT_EQ(auth.AuthEnable().status(), RootUserNotExistError());
  ASSERT_TRUE(auth.UserAdd(UserAddReq("root")).ok());
  EXPECT_EQ(auth.AuthEnable().status(), RootRoleNotExistError());
  EXPECT_FALSE(auth.enabled());
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("root", "root")).ok());
  const uint64_t rev = auth.revision();
  ASSERT_TRUE(auth.AuthEnable().ok());
  EXPECT_TRUE(auth.enabled());
  EXPECT_EQ(auth.revision(), rev) << "etcd does not bump on enable";
  ASSERT_TRUE(auth.AuthEnable().ok()) << "enabling twice is ignored";
  ASSERT_TRUE(auth.AuthDisable().ok());
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.revision(), rev + 1);
  ASSERT_TRUE(auth.AuthDisable().ok());
  EXPECT_EQ(auth.revision(), rev + 1) << "disabling twice changes nothing";
  auth.CheckInvariants();
}

// ---------------------------------------------------------------------------
// Permission checks

class PermissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakeRootAndEnable(auth_);
    ASSERT_TRUE(auth_.UserAdd(UserAddReq("u")).ok());
    ASSERT_TRUE(auth_.RoleAdd(RoleAddReq("reader")).ok());
    ASSERT_TRUE(auth_.RoleAdd(RoleAddReq("writer")).ok());
    ASSERT_TRUE(auth_.RoleGrantPermission(
                         GrantPermReq("reader", Permission::READ, "a", "c"))
                    .ok());
    ASSERT_TRUE(auth_.RoleGrantPermission(
                         GrantPermReq("writer", Permission::WRITE, "c", "e"))
                    .ok());
    ASSERT_TRUE(auth_.RoleGrantPermission(GrantPermReq(
                         "writer", Permission::READWRITE, "k"))
                    .ok());
    ASSERT_TRUE(auth_.UserGrantRole(GrantRoleReq("u", "reader")).ok());
    ASSERT_TRUE(auth_.UserGrantRole(GrantRoleReq("u", "writer")).ok());
  }
  AuthInfo U() const { return {"u", auth_.revision()}; }
  AuthStore auth_;
};

TEST_F(PermissionTest, ReadAndWritePermissionsAreSeparate) {
  EXPECT_TRUE(auth_.IsRangePermitted(U(), "a", "").ok());
  EXPECT_TRUE(auth_.IsRangePermitted(U(), "a", "c").ok());
  EXPECT_EQ(auth_.IsRangePermitted(U(), "a", "d"), PermissionDeniedError())
      << "[c, e) is write-only";
  EXPECT_EQ(auth_.IsPutPermitted(U(), "a"), PermissionDeniedError());
  EXPECT_TRUE(auth_.IsPutPermitted(U(), "c").ok());
  EXPECT_TRUE(auth_.IsDeleteRangePermitted(U(), "c", "e").ok());
  EXPECT_EQ(auth_.IsDeleteRangePermitted(U(), "c", kAll),
            PermissionDeniedError());
  EXPECT_TRUE(auth_.IsRangePermitted(U(), "k", "").ok());
  EXPECT_TRUE(auth_.IsPutPermitted(U(), "k").ok());
  EXPECT_EQ(auth_.IsPutPermitted(U(), "kk"), PermissionDeniedError());
}

TEST_F(PermissionTest, RevisionAndUserRules) {
  EXPECT_EQ(auth_.IsRangePermitted({"u", 0}, "a", ""), UserEmptyError());
  EXPECT_EQ(auth_.IsRangePermitted({"u", auth_.revision() - 1}, "a", ""),
            AuthOldRevisionError());
  EXPECT_EQ(auth_.IsRangePermitted({"ghost", auth_.revision()}, "a", ""),
            PermissionDeniedError());
  // Root may do anything, without any permission.
  const AuthInfo root{"root", auth_.revision()};
  EXPECT_TRUE(auth_.IsPutPermitted(root, "zzz").ok());
  EXPECT_TRUE(auth_.IsDeleteRangePermitted(root, "\x01", kAll).ok());
  EXPECT_TRUE(auth_.IsAdminPermitted(root).ok());
  EXPECT_EQ(auth_.IsAdminPermitted(U()), PermissionDeniedError());
  EXPECT_EQ(auth_.IsAdminPermitted({"", 5}), UserEmptyError());
  EXPECT_EQ(auth_.IsAdminPermitted({"ghost", 5}), UserNotFoundError());
  // Disabled, everything is permitted.
  ASSERT_TRUE(auth_.AuthDisable().ok());
  EXPECT_TRUE(auth_.IsPutPermitted({}, "a").ok());
  EXPECT_TRUE(auth_.IsAdminPermitted({}).ok());
}

TEST_F(PermissionTest, RevokingTheRoleTakesThePermissionAway) {
  ASSERT_TRUE(auth_.IsPutPermitted(U(), "c").ok());
  ASSERT_TRUE(auth_.UserRevokeRole(RevokeRoleReq("u", "writer")).ok());
  EXPECT_EQ(auth_.IsPutPermitted(U(), "c"), PermissionDeniedError());
}

// ---------------------------------------------------------------------------
// Authenticate, tokens, passwords

TEST(AuthStoreTest, AuthenticateAssignsTheServersToken) {
  AuthStore auth;
  EXPECT_EQ(auth.Authenticate(AuthenticateReq("root", "t"), 0).status(),
            AuthNotEnabledError());
  MakeRootAndEnable(auth);
  etcdserverpb::AuthUserAddRequest nopw = UserAddReq("cn");
  nopw.mutable_options()->set_no_password(true);
  ASSERT_TRUE(auth.UserAdd(nopw).ok());
  EXPECT_EQ(auth.Authenticate(AuthenticateReq("ghost", "t"), 0).status(),
            AuthFailedError());
  EXPECT_EQ(auth.Authenticate(AuthenticateReq("cn", "t"), 0).status(),
            AuthFailedError());
  EXPECT_EQ(auth.Authenticate(AuthenticateReq("root", "t"), auth.revision() - 1)
                .status(),
            AuthOldRevisionError());
  EXPECT_EQ(auth.Authenticate(AuthenticateReq("root", ""), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto response = auth.Authenticate(AuthenticateReq("root", "abc.7"), 0);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->token(), "abc.7");
  absl::StatusOr<AuthInfo> info = auth.AuthInfoFromToken("abc.7");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->username, "root");
  EXPECT_EQ(info->revision, auth.revision());
  EXPECT_EQ(auth.AuthInfoFromToken("other").status(), InvalidAuthTokenError());
  auth.CheckInvariants();
  // Disabling drops every token; lookups then stand for nobody.
  ASSERT_TRUE(auth.AuthDisable().ok());
  EXPECT_EQ(auth.tokens().size(), 0u);
  info = auth.AuthInfoFromToken("abc.7");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->username, "");
  auth.CheckInvariants();
}

TEST(AuthStoreTest, TokensExpireByTicks) {
  AuthStore auth(AuthOptions{.token_ttl_ticks = 3});
  MakeRootAndEnable(auth);
  ASSERT_TRUE(auth.Authenticate(AuthenticateReq("root", "t"), 0).ok());
  auth.TickTokens(2);
  EXPECT_TRUE(auth.AuthInfoFromToken("t").ok());  // renews to tick 5
  auth.TickTokens(2);
  EXPECT_TRUE(auth.AuthInfoFromToken("t").ok());
  auth.TickTokens(3);
  EXPECT_EQ(auth.AuthInfoFromToken("t").status(), InvalidAuthTokenError());
}

TEST(AuthStoreTest, PasswordOf) {
  AuthStore auth;
  ASSERT_TRUE(auth.UserAdd(UserAddReq("root", "roothash")).ok());
  EXPECT_EQ(auth.PasswordOf("root").status(), AuthNotEnabledError());
  ASSERT_TRUE(auth.UserGrantRole(GrantRoleReq("root", "root")).ok());
  ASSERT_TRUE(auth.AuthEnable().ok());
  etcdserverpb::AuthUserAddRequest nopw = UserAddReq("cn");
  nopw.mutable_options()->set_no_password(true);
  ASSERT_TRUE(auth.UserAdd(nopw).ok());
  EXPECT_EQ(auth.PasswordOf("ghost").status(), AuthFailedError());
  EXPECT_EQ(auth.PasswordOf("cn").status(), NoPasswordUserError());
  absl::StatusOr<StoredPassword> stored = auth.PasswordOf("root");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->hashed_password, "roothash");
  EXPECT_EQ(stored->auth_revision, auth.revision());
}

// ---------------------------------------------------------------------------
// Through the applier

class ApplierAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* text : {
             "auth_user_add { name: 'root' hashedPassword: 'h' }",
             "auth_user_grant_role { user: 'root' role: 'root' }",
             "auth_user_add { name: 'u' hashedPassword: 'h' }",
             "auth_role_add { name: 'r' }",
             "auth_role_grant_permission { name: 'r' perm { permType: "
             "READWRITE key: 'a' range_end: 'm' } }",
             "auth_user_grant_role { user: 'u' role: 'r' }",
             "put { key: 'a' value: '1' }",
             "put { key: 'z' value: '1' }",
             "auth_enable { }",
         }) {
      ASSERT_TRUE(Apply(text, "", 0).status.ok()) << text;
    }
  }
  ApplyResult Apply(const std::string& text, const std::string& user,
                    uint64_t revision) {
    InternalRequest request = Parse<InternalRequest>(text);
    request.mutable_header()->set_username(user);
    request.mutable_header()->set_auth_revision(revision);
    ApplyResult result = applier_.Apply(request);
    applier_.CheckInvariants();
    return result;
  }
  ApplyResult AsU(const std::string& text) {
    return Apply(text, "u", applier_.auth().revision());
  }
  ApplyResult AsRoot(const std::string& text) {
    return Apply(text, "root", applier_.auth().revision());
  }
  Applier applier_;
};

TEST_F(ApplierAuthTest, KvRequestsAreChecked) {
  EXPECT_TRUE(AsU("range { key: 'a' }").status.ok());
  EXPECT_EQ(AsU("range { key: 'z' }").status, PermissionDeniedError());
  EXPECT_EQ(AsU("range { key: 'a' range_end: '\\0' }").status,
            PermissionDeniedError());
  const int64_t rev = applier_.store().current_revision();
  EXPECT_TRUE(AsU("put { key: 'b' value: '2' }").status.ok());
  EXPECT_EQ(AsU("put { key: 'z' value: '2' }").status,
            PermissionDeniedError());
  EXPECT_EQ(AsU("delete_range { key: 'a' range_end: 'n' }").status,
            PermissionDeniedError());
  EXPECT_TRUE(AsU("delete_range { key: 'b' }").status.ok());
  EXPECT_EQ(applier_.store().current_revision(), rev + 2)
      << "refused writes changed nothing";
  // No user, and an old revision.
  EXPECT_EQ(Apply("range { key: 'a' }", "", 0).status, UserEmptyError());
  EXPECT_EQ(Apply("range { key: 'a' }", "u", applier_.auth().revision() - 1)
                .status,
            AuthOldRevisionError());
  // Compaction is not checked, as in etcd 3.5.
  EXPECT_TRUE(AsU("compaction { revision: 2 }").status.ok());
}

TEST_F(ApplierAuthTest, LeasePutsAndRevokesNeedWriteOnTheLeaseKeys) {
  // etcd's checkLeasePuts: root attaches 'z' (outside u's range) to lease 7.
  ASSERT_TRUE(AsRoot("lease_grant { ID: 7 TTL: 60 }").status.ok());
  ASSERT_TRUE(AsRoot("put { key: 'z' value: '2' lease: 7 }").status.ok());
  EXPECT_EQ(AsU("put { key: 'b' value: '1' lease: 7 }").status,
            PermissionDeniedError());
  EXPECT_EQ(AsU("lease_revoke { ID: 7 }").status, PermissionDeniedError());
  EXPECT_NE(applier_.lessor().Find(7), nullptr) << "the refusal changed nothing";
  // A lease holding only keys u may write is u's to use and revoke.
  ASSERT_TRUE(AsRoot("lease_grant { ID: 8 TTL: 60 }").status.ok());
  EXPECT_TRUE(AsU("put { key: 'b' value: '1' lease: 8 }").status.ok());
  EXPECT_TRUE(AsU("lease_revoke { ID: 8 }").status.ok());
  // Root may do both.
  EXPECT_TRUE(AsRoot("lease_revoke { ID: 7 }").status.ok());
}

TEST_F(ApplierAuthTest, EveryOpOfATxnIsCheckedNestedOnesToo) {
  EXPECT_TRUE(AsU(R"pb(txn {
                         compare { key: 'a' target: VERSION version: 1 }
                         success { request_put { key: 'b' value: 'x' } }
                         failure { request_range { key: 'c' } }
                       })pb")
                  .status.ok());
  EXPECT_EQ(AsU(R"pb(txn {
                       compare { key: 'z' target: VERSION version: 1 }
                       success { request_put { key: 'b' value: 'x' } }
                     })pb")
                .status,
            PermissionDeniedError())
      << "compares need read";
  EXPECT_EQ(AsU(R"pb(txn {
                       success { request_put { key: 'b' value: 'x' } }
                       failure { request_delete_range { key: 'z' } }
                     })pb")
                .status,
            PermissionDeniedError())
      << "the branch not taken is checked too";
  EXPECT_EQ(AsU(R"pb(txn {
                       success {
                         request_txn {
                           success { request_put { key: 'z' value: 'x' } }
                         }
                       }
                     })pb")
                .status,
            PermissionDeniedError())
      << "nested txns are checked";
  EXPECT_EQ(applier_.store().Range(Parse<etcdserverpb::RangeRequest>(
                                       "key: 'z'"))
                ->kvs(0)
                .value(),
            "1");
}

TEST_F(ApplierAuthTest, AuthManagementNeedsRoot) {
  EXPECT_EQ(AsU("auth_user_add { name: 'v' hashedPassword: 'h' }").status,
            PermissionDeniedError());
  EXPECT_EQ(AsU("auth_status { }").status, PermissionDeniedError());
  EXPECT_EQ(Apply("auth_role_list { }", "", 0).status, UserEmptyError());
  EXPECT_EQ(Apply("auth_role_list { }", "ghost", 9).status,
            UserNotFoundError());
  ApplyResult added = AsRoot("auth_user_add { name: 'v' hashedPassword: 'h' }");
  ASSERT_TRUE(added.status.ok());
  EXPECT_TRUE(added.response.has_auth_user_add());
  ApplyResult status = AsRoot("auth_status { }");
  EXPECT_TRUE(status.response.auth_status().enabled());
  EXPECT_EQ(status.response.auth_status().authrevision(),
            applier_.auth().revision());
  // A user may read itself and the roles it holds.
  EXPECT_TRUE(AsU("auth_user_get { name: 'u' }").status.ok());
  EXPECT_EQ(AsU("auth_user_get { name: 'root' }").status,
            PermissionDeniedError());
  EXPECT_TRUE(AsU("auth_role_get { role: 'r' }").status.ok());
  EXPECT_EQ(AsU("auth_role_get { role: 'root' }").status,
            PermissionDeniedError());
}

TEST_F(ApplierAuthTest, AuthenticateThroughTheApplier) {
  ApplyResult r =
      Apply("authenticate { name: 'u' simple_token: 'tok.1' }", "", 0);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.response.authenticate().token(), "tok.1");
  absl::StatusOr<AuthInfo> info = applier_.AuthInfoFromToken("tok.1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->username, "u");
  applier_.SetAuthTokenTtl(2);
  ASSERT_TRUE(Apply("authenticate { name: 'u' simple_token: 'tok.2' }", "", 0)
                  .status.ok());
  applier_.TickAuthTokens(2);
  EXPECT_EQ(applier_.AuthInfoFromToken("tok.2").status(),
            InvalidAuthTokenError());
  EXPECT_TRUE(applier_.AuthInfoFromToken("tok.1").ok());
}

TEST_F(ApplierAuthTest, DisablingNeedsRootThenOpensEverything) {
  EXPECT_EQ(AsU("auth_disable { }").status, PermissionDeniedError());
  ASSERT_TRUE(AsRoot("auth_disable { }").status.ok());
  EXPECT_TRUE(Apply("put { key: 'z' value: '9' }", "", 0).status.ok());
}

}  // namespace
}  // namespace etcdpp::kv
