// The auth section of the kv snapshot: a round trip keeps the whole auth
// state (and drops the member-local tokens), version-2 streams still read,
// and auth entries no store could hold are refused as DataLoss.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "base/crc32c.h"
#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/snapshot.h"
#include "kv/testing.h"

namespace etcdpp::kv {
namespace {

using kvpb::InternalRequest;
using testing::Parse;

// Record types of kv/snapshot_format.md.
constexpr uint8_t kAuthState = 7;
constexpr uint8_t kAuthUser = 8;
constexpr uint8_t kAuthRole = 9;

struct Record {
  uint8_t type;
  std::string payload;
};

uint64_t GetLe(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  }
  return v;
}
void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// Splits a whole stream into its records, trailer dropped.
std::vector<Record> Records(const std::string& whole) {
  std::vector<Record> records;
  size_t at = 0;
  while (at < whole.size()) {
    const uint8_t type = static_cast<uint8_t>(whole[at]);
    const size_t length = GetLe(whole, at + 1, 4);
    if (type != 0xFF) records.push_back({type, whole.substr(at + 5, length)});
    at += 5 + length;
  }
  return records;
}

// Encodes records and a matching trailer, as the writer would.
std::string Encode(const std::vector<Record>& records) {
  std::string out;
  for (const Record& r : records) {
    out.push_back(static_cast<char>(r.type));
    PutLe(&out, r.payload.size(), 4);
    out.append(r.payload);
  }
  std::string trailer;
  PutLe(&trailer, records.size(), 8);
  PutLe(&trailer, out.size(), 8);
  PutLe(&trailer, base::crc32c::Value(out), 4);
  out.push_back(static_cast<char>(0xFF));
  PutLe(&out, trailer.size(), 4);
  out.append(trailer);
  return out;
}

absl::StatusOr<RestoredState> Restore(const std::string& whole) {
  return RestoreSnapshot({whole});
}

void MustApply(Applier& applier, const std::string& text) {
  ApplyResult result = applier.Apply(Parse<InternalRequest>(text));
  ASSERT_TRUE(result.status.ok()) << text << ": " << result.status;
}

void FillAuth(Applier& applier) {
  for (const char* text : {
           "put { key: 'a' value: '1' }",
           "auth_user_add { name: 'root' hashedPassword: '$2a$10$root' }",
           "auth_user_grant_role { user: 'root' role: 'root' }",
           "auth_user_add { name: 'bob' hashedPassword: '$2a$10$bob' }",
           "auth_user_add { name: 'cn' options { no_password: true } }",
           "auth_role_add { name: 'w' }",
           "auth_role_add { name: 'r' }",
           "auth_role_grant_permission { name: 'r' perm { permType: READ "
           "key: 'a' range_end: 'q' } }",
           "auth_role_grant_permission { name: 'w' perm { permType: WRITE "
           "key: 'k' } }",
           "auth_user_grant_role { user: 'bob' role: 'w' }",
           "auth_user_grant_role { user: 'bob' role: 'r' }",
           "auth_enable { }",
           "authenticate { name: 'bob' simple_token: 'tok' }",
       }) {
    MustApply(applier, text);
  }
}

TEST(AuthSnapshotTest, RoundTripKeepsTheAuthStateButNotTokens) {
  Applier applier;
  FillAuth(applier);
  const std::string whole = absl::StrJoin(WriteSnapshot(applier, 5), "");
  absl::StatusOr<RestoredState> restored = Restore(whole);
  ASSERT_TRUE(restored.ok()) << restored.status();
  const AuthStore& a = applier.auth();
  const AuthStore& b = restored->applier->auth();
  EXPECT_TRUE(b.enabled());
  EXPECT_EQ(a.revision(), b.revision());
  ASSERT_EQ(a.users().size(), b.users().size());
  for (const auto& [name, user] : a.users()) {
    EXPECT_PROTO_EQ(user, b.users().at(name));
  }
  ASSERT_EQ(a.roles().size(), b.roles().size());
  for (const auto& [name, role] : a.roles()) {
    EXPECT_PROTO_EQ(role, b.roles().at(name));
  }
  EXPECT_EQ(a.tokens().size(), 1u);
  EXPECT_EQ(b.tokens().size(), 0u) << "tokens are member-local";
  EXPECT_EQ(b.PasswordOf("bob")->hashed_password, "$2a$10$bob");
  // Permission answers agree, and a re-snapshot is byte for byte the same.
  const AuthInfo bob{"bob", a.revision()};
  EXPECT_TRUE(b.IsRangePermitted(bob, "b", "").ok());
  EXPECT_FALSE(b.IsPutPermitted(bob, "b").ok());
  EXPECT_TRUE(b.IsPutPermitted(bob, "k").ok());
  EXPECT_EQ(absl::StrJoin(WriteSnapshot(*restored->applier, 5), ""), whole);
}

TEST(AuthSnapshotTest, TheInstallingMemberKeepsItsTokens) {
  Applier member;
  FillAuth(member);
  member.SetAuthTokenTtl(50);
  ASSERT_TRUE(member.AuthInfoFromToken("tok").ok());
  // A snapshot with the same users: bob's token survives the install, with
  // the member's TTL.
  Applier leader;
  FillAuth(leader);
  absl::StatusOr<RestoredState> same =
      Restore(absl::StrJoin(WriteSnapshot(leader, 9), ""));
  ASSERT_TRUE(same.ok()) << same.status();
  same->applier->TakeAuthTokens(member);
  same->applier->CheckInvariants();
  member.CheckInvariants();
  EXPECT_EQ(member.auth().tokens().size(), 0u);
  absl::StatusOr<AuthInfo> info = same->applier->AuthInfoFromToken("tok");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->username, "bob");
  EXPECT_EQ(same->applier->auth().tokens().ttl_ticks(), 50u);
  // A snapshot where bob is gone drops his token.
  Applier without_bob;
  FillAuth(without_bob);
  MustApply(without_bob,
            "header { username: 'root' auth_revision: 100 } "
            "auth_user_delete { name: 'bob' }");
  absl::StatusOr<RestoredState> gone =
      Restore(absl::StrJoin(WriteSnapshot(without_bob, 9), ""));
  ASSERT_TRUE(gone.ok()) << gone.status();
  gone->applier->TakeAuthTokens(*same->applier);
  gone->applier->CheckInvariants();
  EXPECT_EQ(gone->applier->AuthInfoFromToken("tok").status(),
            absl::UnauthenticatedError("etcdserver: invalid auth token"));
  // A snapshot with auth disabled keeps no token at all.
  Applier fresh;
  absl::StatusOr<RestoredState> disabled =
      Restore(absl::StrJoin(WriteSnapshot(fresh, 9), ""));
  ASSERT_TRUE(disabled.ok());
  disabled->applier->TakeAuthTokens(*same->applier);
  disabled->applier->CheckInvariants();
  EXPECT_EQ(disabled->applier->auth().tokens().size(), 0u);
}

TEST(AuthSnapshotTest, AFreshStoreRoundTripsToo) {
  Applier applier;
  absl::StatusOr<RestoredState> restored =
      Restore(absl::StrJoin(WriteSnapshot(applier, 0), ""));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE(restored->applier->auth().enabled());
  EXPECT_EQ(restored->applier->auth().revision(), 1u);
}

// A version-2 stream: version 2 in the header, an empty auth section.
// A stream as version 3 wrote it: no results section (section 6, records
// of type 10).
std::vector<Record> WithoutResults(std::vector<Record> records) {
  std::vector<Record> out;
  for (Record& r : records) {
    if (r.type == 10 || (r.type == 2 && r.payload[0] == 6)) continue;
    if (r.type == 1) r.payload[8] = 3;
    out.push_back(std::move(r));
  }
  return out;
}

TEST(AuthSnapshotTest, ReadsVersion3WithNoRememberedResults) {
  Applier applier;
  FillAuth(applier);
  kvpb::InternalRequest put;
  put.mutable_header()->set_id(77);
  put.mutable_put()->set_key("a");
  put.mutable_put()->set_value("1");
  applier.Apply(put);  // refused or not (auth is on), its result is kept
  ASSERT_NE(applier.FindResult(77), nullptr);
  absl::StatusOr<RestoredState> restored = Restore(Encode(
      WithoutResults(Records(absl::StrJoin(WriteSnapshot(applier, 3), "")))));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->applier->applied_ids(), applier.applied_ids());
  EXPECT_TRUE(restored->applier->remembered_results().empty());
  EXPECT_EQ(restored->applier->auth().users().size(),
            applier.auth().users().size());
}

std::string AsVersion2(const std::string& v4) {
  std::vector<Record> records = WithoutResults(Records(v4));
  std::vector<Record> out;
  for (Record& r : records) {
    if (r.type >= kAuthState && r.type <= kAuthRole) continue;
    if (r.type == 1) r.payload[8] = 2;         // header: the version
    if (r.type == 2 && r.payload[0] == 3) {    // the auth section
      r.payload = std::string(1, '\3') + std::string(8, '\0');
    }
    out.push_back(std::move(r));
  }
  return Encode(out);
}

TEST(AuthSnapshotTest, ReadsVersion2WithAFreshAuthState) {
  Applier applier;
  MustApply(applier, "put { key: 'a' value: '1' }");
  const std::string v2 = AsVersion2(absl::StrJoin(WriteSnapshot(applier, 3), ""));
  absl::StatusOr<RestoredState> restored = Restore(v2);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->applier->store().current_revision(), 2);
  EXPECT_FALSE(restored->applier->auth().enabled());
  EXPECT_EQ(restored->applier->auth().revision(), 1u);
  EXPECT_TRUE(restored->applier->auth().users().empty());
  // Version 2 with auth entries is not a stream version 2 ever wrote.
  Applier with_auth;
  FillAuth(with_auth);
  std::vector<Record> records =
      Records(absl::StrJoin(WriteSnapshot(with_auth, 3), ""));
  for (Record& r : records) {
    if (r.type == 1) r.payload[8] = 2;
  }
  EXPECT_EQ(Restore(Encode(records)).status().code(),
            absl::StatusCode::kDataLoss);
}

// Rewrites the auth entries of a valid stream and expects DataLoss.
void ExpectRefused(const std::string& why,
                   const std::function<void(std::vector<Record>&)>& mutate) {
  Applier applier;
  FillAuth(applier);
  std::vector<Record> records =
      Records(absl::StrJoin(WriteSnapshot(applier, 3), ""));
  mutate(records);
  absl::StatusOr<RestoredState> r = Restore(Encode(records));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss)
      << why << ": " << r.status();
}

size_t Find(std::vector<Record>& records, uint8_t type, const char* name) {
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].type != type) continue;
    if (type == kAuthUser) {
      authpb::User u;
      if (u.ParseFromString(records[i].payload) && u.name() == name) return i;
    } else if (type == kAuthRole) {
      authpb::Role r;
      if (r.ParseFromString(records[i].payload) && r.name() == name) return i;
    } else {
      return i;
    }
  }
  ADD_FAILURE() << "no record " << int{type} << " " << name;
  return 0;
}

TEST(AuthSnapshotTest, RefusesAuthStatesNoStoreHolds) {
  ExpectRefused("revision 0", [](std::vector<Record>& rs) {
    rs[Find(rs, kAuthState, "")].payload = std::string(1, '\1') + std::string(8, '\0');
  });
  ExpectRefused("enabled byte 2", [](std::vector<Record>& rs) {
    rs[Find(rs, kAuthState, "")].payload[0] = 2;
  });
  ExpectRefused("users out of order", [](std::vector<Record>& rs) {
    std::swap(rs[Find(rs, kAuthUser, "bob")], rs[Find(rs, kAuthUser, "root")]);
  });
  ExpectRefused("a user after the roles", [](std::vector<Record>& rs) {
    const size_t bob = Find(rs, kAuthUser, "bob");
    Record user = rs[bob];
    rs.erase(rs.begin() + static_cast<long>(bob));
    rs.insert(rs.begin() + static_cast<long>(Find(rs, kAuthRole, "w")) + 1, user);
  });
  ExpectRefused("a user with a missing role", [](std::vector<Record>& rs) {
    rs.erase(rs.begin() + static_cast<long>(Find(rs, kAuthRole, "w")));
    // Keep the section's count right, so only the content is wrong.
    for (Record& r : rs) {
      if (r.type == 2 && r.payload[0] == 3) r.payload[1]--;
    }
  });
  ExpectRefused("enabled without root's root role",
                [](std::vector<Record>& rs) {
                  const size_t i = Find(rs, kAuthUser, "root");
                  authpb::User root;
                  ASSERT_TRUE(root.ParseFromString(rs[i].payload));
                  root.clear_roles();
                  rs[i].payload = root.SerializeAsString();
                });
  ExpectRefused("an invalid permission range", [](std::vector<Record>& rs) {
    const size_t i = Find(rs, kAuthRole, "r");
    authpb::Role role;
    ASSERT_TRUE(role.ParseFromString(rs[i].payload));
    role.mutable_keypermission(0)->set_range_end("0");  // before key 'a'
    rs[i].payload = role.SerializeAsString();
  });
  ExpectRefused("garbage for a role", [](std::vector<Record>& rs) {
    rs[Find(rs, kAuthRole, "r")].payload = "\xff\xff\xff";
  });
  ExpectRefused("no state record", [](std::vector<Record>& rs) {
    rs.erase(rs.begin() + static_cast<long>(Find(rs, kAuthState, "")));
    for (Record& r : rs) {
      if (r.type == 2 && r.payload[0] == 3) r.payload[1]--;
    }
  });
}

}  // namespace
}  // namespace etcdpp::kv
