// server::Node driven by hand over MemDisks: a tiny deterministic cluster in
// which the test moves messages, ticks and disk completions itself.
#include "server/node/node.h"

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/storage/mem_disk.h"

namespace etcdpp::server {
namespace {

kvpb::InternalRequest PutRequest(const std::string& key,
                                 const std::string& value) {
  kvpb::InternalRequest request;
  request.mutable_put()->set_key(key);
  request.mutable_put()->set_value(value);
  return request;
}

etcdserverpb::RangeRequest Get(const std::string& key, bool serializable) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  request.set_serializable(serializable);
  return request;
}

class Cluster {
 public:
  explicit Cluster(std::vector<uint64_t> ids) : ids_(std::move(ids)) {
    for (uint64_t id : ids_) {
      disks_[id] = std::make_unique<storage::MemDisk>("disk-" +
                                                      std::to_string(id));
      Open(id);
    }
  }

  void Open(uint64_t id) {
    NodeOptions options;
    options.member_id = id;
    options.cluster_id = 77;
    options.initial_voters = ids_;
    options.seed = id * 1000 + (++opens_);
    options.request_timeout_ticks = 50;
    options.wal.segment_size_bytes = storage::wal::kMinSegmentSizeBytes;
    absl::StatusOr<std::unique_ptr<Node>> node =
        Node::Open(options, disks_[id].get());
    ASSERT_TRUE(node.ok()) << node.status();
    nodes_[id] = std::move(*node);
  }

  // Crash: unsynced data is lost and the process state is gone.
  void Crash(uint64_t id) {
    nodes_.erase(id);
    disks_[id]->Crash();
  }

  Node& node(uint64_t id) { return *nodes_.at(id); }
  storage::MemDisk& disk(uint64_t id) { return *disks_.at(id); }
  bool up(uint64_t id) const { return nodes_.contains(id); }

  // Completes every disk op and delivers every message until quiet.
  void Settle() {
    for (int round = 0; round < 1000; ++round) {
      bool progress = false;
      for (uint64_t id : ids_) {
        if (!up(id)) continue;
        storage::MemDisk& d = disk(id);
        if (d.pending_count() > 0) {
          d.CompleteAll();
          for (const auto& c : d.TakeCompletions()) node(id).DiskDone(c.op_id, c.status);
          progress = true;
        }
        progress = Drain(id) || progress;
      }
      if (!progress) return;
    }
    FAIL() << "did not settle";
  }

  void Tick(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (uint64_t id : ids_) {
        if (up(id)) node(id).Tick();
      }
      Settle();
    }
  }

  uint64_t Leader() {
    for (int i = 0; i < 100; ++i) {
      for (uint64_t id : ids_) {
        if (up(id) && node(id).GetStatus().is_leader) return id;
      }
      Tick();
    }
    return 0;
  }

  std::map<uint64_t, ClientReply>& replies(uint64_t id) { return replies_[id]; }
  bool halted(uint64_t id) const { return halts_.contains(id); }
  void Isolate(uint64_t id) { isolated_.insert(id); }
  void Heal() { isolated_.clear(); }

 private:
  bool Drain(uint64_t id) {
    NodeOutput out = node(id).TakeOutput();
    bool any = !out.messages.empty() || !out.replies.empty();
    for (ClientReply& r : out.replies) replies_[id][r.request_id] = std::move(r);
    if (out.halt.has_value()) halts_[id] = *out.halt;
    for (const raftpb::Message& m : out.messages) {
      if (!up(m.to()) || isolated_.contains(m.to()) || isolated_.contains(id)) {
        continue;
      }
      node(m.to()).Step(m);
    }
    return any;
  }

  std::vector<uint64_t> ids_;
  std::map<uint64_t, std::unique_ptr<storage::MemDisk>> disks_;
  std::map<uint64_t, std::unique_ptr<Node>> nodes_;
  std::map<uint64_t, std::map<uint64_t, ClientReply>> replies_;
  std::map<uint64_t, absl::Status> halts_;
  std::set<uint64_t> isolated_;
  int opens_ = 0;
};

TEST(NodeTest, SingleMemberWritesAndReads) {
  Cluster c({1});
  ASSERT_EQ(c.Leader(), 1u);
  c.node(1).Propose(10, PutRequest("foo", "bar"));
  c.Settle();
  ASSERT_TRUE(c.replies(1).contains(10));
  const ClientReply& put = c.replies(1)[10];
  ASSERT_TRUE(put.status.ok()) << put.status;
  EXPECT_EQ(put.header.revision(), 2);
  EXPECT_EQ(put.header.member_id(), 1u);
  EXPECT_EQ(put.header.cluster_id(), 77u);

  c.node(1).Read(11, Get("foo", /*serializable=*/false));
  c.Settle();
  ASSERT_TRUE(c.replies(1).contains(11));
  const ClientReply& get = c.replies(1)[11];
  ASSERT_TRUE(get.status.ok()) << get.status;
  ASSERT_EQ(get.response.range().kvs_size(), 1);
  EXPECT_EQ(get.response.range().kvs(0).value(), "bar");
}

TEST(NodeTest, NothingIsAcknowledgedBeforeItsFsync) {
  Cluster c({1});
  ASSERT_EQ(c.Leader(), 1u);
  c.node(1).Propose(10, PutRequest("k", "v"));
  // The WAL write is submitted but not completed: no reply yet.
  EXPECT_GT(c.disk(1).pending_count(), 0u);
  NodeOutput out = c.node(1).TakeOutput();
  EXPECT_TRUE(out.replies.empty());
  c.Settle();
  EXPECT_TRUE(c.replies(1).contains(10));
}

TEST(NodeTest, ThreeMembersReplicateAndFollowersForward) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 1 ? 2 : 1;
  c.node(leader).Propose(1, PutRequest("a", "1"));
  c.node(follower).Propose(2, PutRequest("b", "2"));  // forwarded
  c.Settle();
  ASSERT_TRUE(c.replies(leader)[1].status.ok());
  ASSERT_TRUE(c.replies(follower)[2].status.ok()) << c.replies(follower)[2].status;
  // A linearizable read on a follower sees both writes.
  c.node(follower).Read(3, Get("a", false));
  c.Settle();
  ASSERT_TRUE(c.replies(follower).contains(3));
  EXPECT_EQ(c.replies(follower)[3].response.range().kvs(0).value(), "1");
  c.Tick(3);  // followers learn the final commit index
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).applier().store().current_revision(), 3) << id;
    c.node(id).CheckInvariants();
  }
}

TEST(NodeTest, RecoversEveryAcknowledgedWriteAfterACrash) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  for (uint64_t i = 0; i < 20; ++i) {
    c.node(leader).Propose(i, PutRequest("k" + std::to_string(i), "v"));
  }
  c.Settle();
  for (uint64_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.replies(leader)[i].status.ok()) << i;
  }
  // Crash every member, then bring them all back.
  for (uint64_t id : {1, 2, 3}) c.Crash(id);
  for (uint64_t id : {1, 2, 3}) c.Open(id);
  const uint64_t new_leader = c.Leader();
  ASSERT_NE(new_leader, 0u);
  c.node(new_leader).Read(100, Get("k19", false));
  c.Settle();
  ASSERT_TRUE(c.replies(new_leader).contains(100));
  ASSERT_EQ(c.replies(new_leader)[100].response.range().kvs_size(), 1);
  c.Tick(3);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).applier().store().current_revision(), 21) << id;
  }
}

TEST(NodeTest, RequestWithoutQuorumTimesOut) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  for (uint64_t id : {1, 2, 3}) {
    if (id != leader) c.Isolate(id);
  }
  c.node(leader).Propose(5, PutRequest("x", "y"));
  c.Tick(60);
  ASSERT_TRUE(c.replies(leader).contains(5));
  EXPECT_EQ(c.replies(leader)[5].status.message(),
            "etcdserver: request timed out");
}

TEST(NodeTest, FailedFsyncHaltsTheNode) {
  Cluster c({1});
  ASSERT_EQ(c.Leader(), 1u);
  c.disk(1).FailNextSync();
  c.node(1).Propose(1, PutRequest("k", "v"));
  c.Settle();
  EXPECT_TRUE(c.halted(1));
  EXPECT_TRUE(c.node(1).halted());
  EXPECT_FALSE(c.replies(1).contains(1)) << "never acknowledged";
}

TEST(NodeTest, SerializableReadIsLocalAndImmediate) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  c.node(leader).Propose(1, PutRequest("s", "1"));
  c.Settle();
  const uint64_t follower = leader == 3 ? 2 : 3;
  c.Isolate(follower);
  c.node(follower).Read(9, Get("s", true));
  NodeOutput out = c.node(follower).TakeOutput();
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_TRUE(out.replies[0].status.ok());
}

}  // namespace
}  // namespace etcdpp::server
