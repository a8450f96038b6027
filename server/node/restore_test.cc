#include "server/node/restore.h"

#include <string>

#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/snapshot.h"
#include "server/node/membership.h"

namespace etcdpp::server {
namespace {

etcdserverpb::Member Member(uint64_t id, const std::string& url) {
  etcdserverpb::Member m;
  m.set_id(id);
  m.set_name("m" + std::to_string(id));
  m.add_peerurls(url);
  return m;
}

// A backup body as an old cluster's member makes one: its members, then
// its kv state at applied index 42.
std::string OldBody() {
  kv::Applier applier;
  std::string kv;
  for (const std::string& chunk : kv::WriteSnapshot(applier, 42)) kv += chunk;
  MemberSet old;
  return EncodeSnapshotBody(old, kv);
}

TEST(RestoreTest, PlanPutsTheNewMembersAtTheBackupsIndexInTermOne) {
  const std::vector<etcdserverpb::Member> members = {
      Member(7, "http://127.0.0.1:1"), Member(3, "http://127.0.0.1:2")};
  absl::StatusOr<RestorePlan> plan = PlanRestore(OldBody(), members, {7, 3});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->metadata.index(), 42u);
  EXPECT_EQ(plan->metadata.term(), 1u);
  ASSERT_EQ(plan->metadata.conf_state().voters_size(), 2);
  EXPECT_EQ(plan->metadata.conf_state().voters(0), 3u);
  EXPECT_EQ(plan->metadata.conf_state().voters(1), 7u);
  EXPECT_EQ(plan->hard_state.term(), 1u);
  EXPECT_EQ(plan->hard_state.commit(), 42u);
  absl::StatusOr<SnapshotBody> body = DecodeSnapshotBody(plan->body);
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_TRUE(body->members.has_value());
  ASSERT_EQ(body->members->members().size(), 2u);
  EXPECT_EQ(body->members->Find(7)->peerurls(0), "http://127.0.0.1:1");
  absl::StatusOr<kv::RestoredState> state =
      kv::RestoreSnapshot({std::string(body->kv)});
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->applied_index, 42u);
}

TEST(RestoreTest, ABodyThatDoesNotRestoreIsRefused) {
  std::string body = OldBody();
  body[body.size() - 3] ^= 0x40;  // inside the kv trailer
  EXPECT_FALSE(PlanRestore(body, {Member(1, "http://127.0.0.1:1")}, {1}).ok());
  EXPECT_FALSE(PlanRestore("junk", {Member(1, "http://127.0.0.1:1")}, {1}).ok());
}

}  // namespace
}  // namespace etcdpp::server
