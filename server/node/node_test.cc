// server::Node driven by hand over MemDisks: a tiny deterministic cluster in
// which the test moves messages, ticks and disk completions itself.
#include "server/node/node.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/watch.h"
#include "server/node/errors.h"
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
  // snapshot_count and catchup: NodeOptions' snapshot settings.
  explicit Cluster(std::vector<uint64_t> ids, uint64_t snapshot_count = 100000,
                   uint64_t catchup = 5000,
                   std::function<void(NodeOptions*)> configure = nullptr)
      : ids_(std::move(ids)),
        snapshot_count_(snapshot_count),
        catchup_(catchup),
        configure_(std::move(configure)) {
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
    if (auto it = join_voters_.find(id); it != join_voters_.end()) {
      options.initial_voters = it->second;
    }
    for (uint64_t member : ids_) {
      etcdserverpb::Member m;
      m.set_id(member);
      m.set_name("n" + std::to_string(member));
      m.add_peerurls(PeerUrl(member));
      options.initial_members.push_back(std::move(m));
    }
    if (publish_) {
      options.name = "n" + std::to_string(id);
      options.client_urls = {"http://n" + std::to_string(id) + ":2379"};
    }
    options.seed = id * 1000 + (++opens_);
    options.request_timeout_ticks = 50;
    options.wal.segment_size_bytes = storage::wal::kMinSegmentSizeBytes;
    options.snapshot_count = snapshot_count_;
    options.snapshot_catchup_entries = catchup_;
    if (configure_) configure_(&options);
    absl::StatusOr<std::unique_ptr<Node>> node =
        Node::Open(options, disks_[id].get());
    ASSERT_TRUE(node.ok()) << node.status();
    nodes_[id] = std::move(*node);
    // The member's watch service, as the runner keeps it.
    hubs_[id] =
        std::make_unique<kv::WatchHub>(&nodes_[id]->applier().store());
  }

  static std::string PeerUrl(uint64_t id) {
    return "http://n" + std::to_string(id) + ":2380";
  }

  // Starts a new member that joins the running cluster (as
  // --initial-cluster-state=existing): its raft starts from the members
  // there are now, and the leader's log adds it.
  void Join(uint64_t id) {
    join_voters_[id] = ids_;
    ids_.push_back(id);
    disks_[id] = std::make_unique<storage::MemDisk>("disk-" +
                                                    std::to_string(id));
    Open(id);
  }
  // Members publish their name and client URLs (set before they open).
  void Publish(bool on) { publish_ = on; }
  const std::vector<PeerChange>& peer_changes(uint64_t id) {
    return peer_changes_[id];
  }
  const absl::Status& halt(uint64_t id) { return halts_[id]; }

  // Crash: unsynced data is lost and the process state is gone.
  void Crash(uint64_t id) {
    hubs_.erase(id);
    nodes_.erase(id);
    disks_[id]->Crash();
  }

  Node& node(uint64_t id) { return *nodes_.at(id); }
  kv::WatchHub& hub(uint64_t id) { return *hubs_.at(id); }
  int stores_replaced(uint64_t id) { return stores_replaced_[id]; }
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
        if (up(id) && !isolated_.contains(id) && !node(id).halted() &&
            node(id).GetStatus().is_leader) {
          return id;
        }
      }
      Tick();
    }
    return 0;
  }

  std::map<uint64_t, ClientReply>& replies(uint64_t id) { return replies_[id]; }
  bool halted(uint64_t id) const { return halts_.contains(id); }
  void Isolate(uint64_t id) { isolated_.insert(id); }
  // Drops every message from -> to (one way) until Heal.
  void Block(uint64_t from, uint64_t to) { blocked_.insert({from, to}); }
  void Heal() {
    isolated_.clear();
    blocked_.clear();
  }
  int snapshots_sent() const { return snapshots_sent_; }
  // The next n snapshots arrive with a flipped byte.
  void CorruptSnapshots(int n) { corrupt_snapshots_ = n; }
  // Every forwarded proposal (MsgProp) is delivered twice.
  void DuplicateProposals(bool on) { duplicate_proposals_ = on; }

  // The files in member id's data dir that are snapshots.
  std::vector<std::string> SnapshotFiles(uint64_t id) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<std::string>> names = disk(id).List();
    EXPECT_TRUE(names.ok()) << names.status();
    if (!names.ok()) return out;
    for (const std::string& name : *names) {
      if (name.rfind("snap-", 0) == 0 && name.size() > 5 &&
          name.substr(name.size() - 5) == ".snap") {
        out.push_back(name);
      }
    }
    return out;
  }

  uint64_t Hash(uint64_t id) {
    absl::StatusOr<kv::KeyValueHash> h = node(id).applier().store().HashKV(0);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? h->hash : 0;
  }

 private:
  bool Drain(uint64_t id) {
    NodeOutput out = node(id).TakeOutput();
    bool any = !out.messages.empty() || !out.replies.empty() ||
               !out.snapshots.empty();
    for (ClientReply& r : out.replies) replies_[id][r.request_id] = std::move(r);
    stores_replaced_[id] += out.store_replaced ? 1 : 0;
    hub(id).Feed(&node(id).applier().store(), out.store_replaced,
                 std::move(out.events));
    if (out.halt.has_value()) halts_[id] = *out.halt;
    for (PeerChange& p : out.peer_changes) {
      peer_changes_[id].push_back(std::move(p));
    }
    for (const raftpb::Message& m : out.messages) {
      if (!up(m.to()) || isolated_.contains(m.to()) || isolated_.contains(id) ||
          blocked_.contains({id, m.to()})) {
        continue;
      }
      node(m.to()).Step(m);
      if (duplicate_proposals_ && m.type() == raftpb::MsgProp) {
        node(m.to()).Step(m);
      }
    }
    // A snapshot travels as the transport does it: the file's bytes land
    // under a temp name in the receiver's data dir, then the message.
    for (const SnapshotToSend& s : out.snapshots) {
      const uint64_t to = s.message.to();
      if (!up(to) || isolated_.contains(to) || isolated_.contains(id)) {
        node(id).ReportSnapshot(to, false);
        continue;
      }
      absl::StatusOr<std::string> bytes = disk(id).ReadFile(s.file_name);
      if (!bytes.ok()) {
        ADD_FAILURE() << "snapshot to send is not readable: " << bytes.status();
        node(id).ReportSnapshot(to, false);
        continue;
      }
      const std::string temp = "peer-" + std::to_string(id) + "-" +
                               std::to_string(++temp_files_) + ".snap.tmp";
      if (corrupt_snapshots_ > 0) {
        --corrupt_snapshots_;
        (*bytes)[bytes->size() / 2] ^= 0x40;
      }
      disk(to).Submit(storage::CreateOp{temp});
      disk(to).CompleteOp(disk(to).Submit(storage::WriteOp{temp, 0, *bytes}));
      ++snapshots_sent_;
      node(to).SnapshotReceived(s.message, temp);
      node(id).ReportSnapshot(to, true);
    }
    return any;
  }

  std::vector<uint64_t> ids_;
  std::map<uint64_t, std::unique_ptr<storage::MemDisk>> disks_;
  std::map<uint64_t, std::unique_ptr<Node>> nodes_;
  std::map<uint64_t, std::unique_ptr<kv::WatchHub>> hubs_;
  std::map<uint64_t, int> stores_replaced_;
  std::map<uint64_t, std::map<uint64_t, ClientReply>> replies_;
  std::map<uint64_t, absl::Status> halts_;
  std::set<uint64_t> isolated_;
  std::set<std::pair<uint64_t, uint64_t>> blocked_;
  std::map<uint64_t, std::vector<uint64_t>> join_voters_;
  std::map<uint64_t, std::vector<PeerChange>> peer_changes_;
  bool publish_ = false;
  int opens_ = 0;
  uint64_t snapshot_count_;
  uint64_t catchup_;
  std::function<void(NodeOptions*)> configure_;
  int snapshots_sent_ = 0;
  int temp_files_ = 0;
  int corrupt_snapshots_ = 0;
  bool duplicate_proposals_ = false;
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

TEST(NodeTest, ADuplicatedForwardedProposalIsAppliedOnce) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 1 ? 2 : 1;
  c.Tick(3);
  const uint64_t last_before = c.node(leader).GetStatus().last_index;
  c.DuplicateProposals(true);
  c.node(follower).Propose(1, PutRequest("a", "1"));  // forwarded twice
  c.Settle();
  c.Tick(3);
  // Both copies are in the log, but only the first changed the state.
  EXPECT_EQ(c.node(leader).GetStatus().last_index, last_before + 2);
  ASSERT_TRUE(c.replies(follower)[1].status.ok())
      << c.replies(follower)[1].status;
  EXPECT_EQ(c.replies(follower)[1].response.put().header().revision(), 2);
  EXPECT_EQ(c.replies(follower).size(), 1u);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).applier().store().current_revision(), 2) << id;
    EXPECT_EQ(c.node(id).applier().applied_ids().size(), 1u) << id;
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

TEST(NodeTest, CrashedMemberCatchesUpBySnapshot) {
  Cluster c({1, 2, 3}, /*snapshot_count=*/10, /*catchup=*/3);
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t lagging = leader == 3 ? 2 : 3;
  c.node(leader).Propose(1, PutRequest("before", "crash"));
  c.Settle();
  c.Crash(lagging);
  for (uint64_t i = 0; i < 60; ++i) {
    c.node(leader).Propose(100 + i, PutRequest("k" + std::to_string(i % 7),
                                               "v" + std::to_string(i)));
    c.Settle();
    ASSERT_TRUE(c.replies(leader)[100 + i].status.ok()) << i;
  }
  ASSERT_FALSE(c.SnapshotFiles(leader).empty());
  EXPECT_LE(c.SnapshotFiles(leader).size(), 5u) << "old snapshots removed";
  EXPECT_GT(c.node(leader).raft().raft().log().FirstIndex(), 10u)
      << "the log was compacted past the crashed member";

  c.Open(lagging);
  // A client watching everything on the lagging member from the start.
  etcdserverpb::WatchCreateRequest everything;
  everything.set_key(std::string(1, '\0'));
  everything.set_range_end(std::string(1, '\0'));
  everything.set_start_revision(1);
  ASSERT_TRUE(c.hub(lagging).Watch(1, everything).ok());
  c.Tick(10);
  EXPECT_GE(c.snapshots_sent(), 1);
  EXPECT_GE(c.stores_replaced(lagging), 1);
  EXPECT_EQ(c.stores_replaced(leader), 0);
  EXPECT_FALSE(c.SnapshotFiles(lagging).empty());
  EXPECT_FALSE(c.node(lagging).halted());
  EXPECT_EQ(c.node(lagging).applier().store().current_revision(),
            c.node(leader).applier().store().current_revision());
  EXPECT_EQ(c.Hash(lagging), c.Hash(leader));
  c.node(lagging).CheckInvariants();

  // It serves the data, and keeps replicating after the snapshot.
  c.node(leader).Propose(500, PutRequest("after", "snapshot"));
  c.Settle();
  c.Tick(3);
  EXPECT_EQ(c.Hash(lagging), c.Hash(leader));
  c.node(lagging).Read(501, Get("before", /*serializable=*/true));
  c.Settle();
  ASSERT_TRUE(c.replies(lagging).contains(501));
  EXPECT_EQ(c.replies(lagging)[501].response.range().kvs_size(), 1);

  // The watcher saw every revision once, in order, across the restore.
  c.hub(lagging).SyncUnsynced();
  std::vector<int64_t> seen;
  for (const etcdserverpb::WatchResponse& r : c.hub(lagging).TakeAll()) {
    for (const mvccpb::Event& e : r.events()) {
      seen.push_back(e.kv().mod_revision());
    }
  }
  const int64_t head = c.node(leader).applier().store().current_revision();
  ASSERT_EQ(seen.size(), static_cast<size_t>(head - 1));
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], static_cast<int64_t>(i) + 2);
  }

  // And it restarts from the received snapshot and its WAL.
  c.Crash(lagging);
  c.Open(lagging);
  c.Tick(5);
  EXPECT_EQ(c.Hash(lagging), c.Hash(leader));
  for (uint64_t id : {1, 2, 3}) c.node(id).CheckInvariants();
}

// A follower's client write that the leader commits while the follower
// hears nothing, and that reaches the follower only inside a snapshot, is
// still answered -- from the results the applier remembers, with the
// revision it was applied at (etcd's client would time out instead).
TEST(NodeTest, WriteAppliedInsideAReceivedSnapshotIsAnswered) {
  Cluster c({1, 2, 3}, /*snapshot_count=*/10, /*catchup=*/3);
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 3 ? 2 : 3;
  c.Block(leader, follower);
  c.node(follower).Propose(7, PutRequest("mine", "v"));
  kvpb::InternalRequest txn;
  etcdserverpb::Compare* cmp = txn.mutable_txn()->add_compare();
  cmp->set_key("mine");
  cmp->set_target(etcdserverpb::Compare::VALUE);
  cmp->set_value("v");
  txn.mutable_txn()->add_success()->mutable_request_put()->set_key("cas");
  c.node(follower).Propose(8, txn);
  c.Settle();
  EXPECT_FALSE(c.replies(follower).contains(7));
  for (uint64_t i = 0; i < 30; ++i) {
    c.node(leader).Propose(100 + i, PutRequest("k", std::to_string(i)));
    c.Settle();
  }
  ASSERT_GT(c.node(leader).raft().raft().log().FirstIndex(), 10u)
      << "compacted past the follower";
  c.Heal();
  c.Tick(5);
  ASSERT_GE(c.snapshots_sent(), 1);
  ASSERT_TRUE(c.replies(follower).contains(7));
  ASSERT_TRUE(c.replies(follower).contains(8));
  const ClientReply& put = c.replies(follower)[7];
  EXPECT_TRUE(put.status.ok()) << put.status;
  etcdserverpb::RangeRequest get;
  get.set_key("mine");
  absl::StatusOr<etcdserverpb::RangeResponse> mine =
      c.node(leader).applier().store().Range(get);
  ASSERT_TRUE(mine.ok() && mine->kvs_size() == 1);
  EXPECT_EQ(put.header.revision(), mine->kvs(0).mod_revision());
  EXPECT_TRUE(c.replies(follower)[8].response.txn().succeeded());
  EXPECT_EQ(c.replies(follower)[8].header.revision(), put.header.revision() + 1);
}

TEST(NodeTest, RestartFromSnapshotAndWalRecoversEverything) {
  Cluster c({1, 2, 3}, /*snapshot_count=*/7, /*catchup=*/2);
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  for (uint64_t i = 0; i < 40; ++i) {
    c.node(leader).Propose(i, PutRequest("k" + std::to_string(i), "v"));
    c.Settle();
    ASSERT_TRUE(c.replies(leader)[i].status.ok()) << i;
  }
  c.Tick(3);
  const uint64_t hash = c.Hash(leader);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_FALSE(c.SnapshotFiles(id).empty()) << id;
    EXPECT_EQ(c.Hash(id), hash) << id;
  }
  for (uint64_t id : {1, 2, 3}) c.Crash(id);
  for (uint64_t id : {1, 2, 3}) c.Open(id);
  // Before any new entry is applied, each member is back at its state.
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_GT(c.node(id).GetStatus().applied_index, 0u) << id;
  }
  const uint64_t new_leader = c.Leader();
  ASSERT_NE(new_leader, 0u);
  c.Tick(3);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).applier().store().current_revision(), 41) << id;
    EXPECT_EQ(c.Hash(id), hash) << id;
    c.node(id).CheckInvariants();
  }
}

TEST(NodeTest, CorruptReceivedSnapshotIsDroppedAndRetried) {
  Cluster c({1, 2, 3}, /*snapshot_count=*/5, /*catchup=*/1);
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t lagging = leader == 1 ? 2 : 1;
  c.Crash(lagging);
  for (uint64_t i = 0; i < 20; ++i) {
    c.node(leader).Propose(i, PutRequest("k" + std::to_string(i), "v"));
    c.Settle();
  }
  c.CorruptSnapshots(2);
  c.Open(lagging);
  // Each corrupt copy is dropped; the leader sends it again and the third
  // one lands.
  c.Tick(20);
  EXPECT_GE(c.snapshots_sent(), 3);
  EXPECT_FALSE(c.node(lagging).halted());
  EXPECT_EQ(c.Hash(lagging), c.Hash(leader));
  absl::StatusOr<std::vector<std::string>> names = c.disk(lagging).List();
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) {
    EXPECT_EQ(name.find("peer-"), std::string::npos) << "temp file left";
  }
}

TEST(NodeTest, LeftoverReceivedSnapshotFilesAreRemovedAtStart) {
  Cluster c({1});
  ASSERT_EQ(c.Leader(), 1u);
  c.disk(1).Submit(storage::CreateOp{"peer-2-7.snap.tmp"});
  c.disk(1).Submit(storage::SyncDirOp{});
  c.disk(1).CompleteAll();
  c.Settle();
  c.Crash(1);
  {
    absl::StatusOr<std::vector<std::string>> names = c.disk(1).List();
    ASSERT_TRUE(names.ok());
    ASSERT_TRUE(std::find(names->begin(), names->end(), "peer-2-7.snap.tmp") !=
                names->end());
  }
  c.Open(1);
  c.Settle();
  absl::StatusOr<std::vector<std::string>> names = c.disk(1).List();
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) {
    EXPECT_NE(name, "peer-2-7.snap.tmp");
  }
}

}  // namespace
}  // namespace etcdpp::server

namespace etcdpp::server {
namespace {

TEST(NodeTest, LeaderAutoCompactsInRevisionMode) {
  // Keep 5 revisions, checked every 10 ticks.
  Cluster c({1, 2, 3}, 100000, 5000, [](NodeOptions* options) {
    options->auto_compaction = {
        .mode = AutoCompactionOptions::Mode::kRevision,
        .retention_revisions = 5,
        .revision_check_ticks = 10};
  });
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 20; ++i) {
    c.node(leader).Propose(100 + i, PutRequest("k", std::to_string(i)));
  }
  c.Settle();
  ASSERT_EQ(c.node(leader).applier().store().current_revision(), 21);
  c.Tick(12);
  c.Settle();
  // The leader proposed a compaction to 21 - 5 through the log, so every
  // member compacted at the same point.
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).applier().store().compact_revision(), 16) << id;
    c.node(id).CheckInvariants();
  }
  // Nothing new written: no further compaction.
  c.Tick(25);
  c.Settle();
  EXPECT_EQ(c.node(leader).applier().store().current_revision(), 21);
}

// Grants a lease of `ttl` seconds (id 0: the proposer picks one) through
// member `via` as request `request_id`, and waits for the answer; the granted
// id, or 0 if the grant failed.
int64_t Grant(Cluster& c, uint64_t via, uint64_t request_id, int64_t id,
              int64_t ttl) {
  kvpb::InternalRequest grant;
  grant.mutable_lease_grant()->set_id(id);
  grant.mutable_lease_grant()->set_ttl(ttl);
  c.node(via).Propose(request_id, grant);
  c.Settle();
  auto it = c.replies(via).find(request_id);
  if (it == c.replies(via).end() || !it->second.status.ok()) return 0;
  EXPECT_EQ(it->second.response.lease_grant().ttl(), ttl);
  return it->second.response.lease_grant().id();
}

// Cuts the leader off and ticks until another member's lessor is primary
// (it applied an entry of its own term); that member, or 0 after 100 ticks.
uint64_t IsolateLeaderUntilAnotherPromotes(Cluster& c, uint64_t leader) {
  c.Isolate(leader);
  for (int i = 0; i < 100; ++i) {
    c.Tick();
    for (uint64_t id : {1, 2, 3}) {
      if (id != leader && c.node(id).applier().lessor().primary()) return id;
    }
  }
  return 0;
}

// Leases through the node: a grant proposed on a follower (id chosen by the
// proposer), a key attached to it, keepalives on the leader only, then
// expiry decided by the leader's ticks and its revoke applied everywhere.
TEST(NodeLeaseTest, ExpiredLeaseIsRevokedByTheLeaderOnEveryMember) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 1 ? 2 : 1;
  c.Tick(2);
  const int64_t lease = Grant(c, follower, 1, /*id=*/0, /*ttl=*/3);
  ASSERT_GT(lease, 0);

  kvpb::InternalRequest put = PutRequest("k", "v");
  put.mutable_put()->set_lease(lease);
  c.node(leader).Propose(2, put);
  c.node(leader).Propose(3, PutRequest("other", "v"));
  kvpb::InternalRequest unknown = PutRequest("x", "v");
  unknown.mutable_put()->set_lease(lease + 1);
  c.node(leader).Propose(4, unknown);
  c.Settle();
  ASSERT_TRUE(c.replies(leader)[2].status.ok()) << c.replies(leader)[2].status;
  EXPECT_EQ(c.replies(leader)[4].status.code(), absl::StatusCode::kNotFound);

  // Time-to-live and keepalive are the leader's; followers send them there.
  etcdserverpb::LeaseTimeToLiveRequest ttl;
  ttl.set_id(lease);
  ttl.set_keys(true);
  c.node(leader).LeaseTimeToLive(5, ttl);
  c.node(follower).LeaseTimeToLive(6, ttl);
  c.node(follower).LeaseKeepAlive(7, lease);
  c.node(follower).LeaseLeases(8);
  c.Settle();
  const auto& ttl_reply = c.replies(leader)[5];
  ASSERT_TRUE(ttl_reply.status.ok());
  EXPECT_EQ(ttl_reply.response.lease_time_to_live().grantedttl(), 3);
  ASSERT_EQ(ttl_reply.response.lease_time_to_live().keys_size(), 1);
  EXPECT_EQ(ttl_reply.response.lease_time_to_live().keys(0), "k");
  EXPECT_EQ(c.replies(follower)[6].status.message(), "etcdserver: not leader");
  EXPECT_EQ(c.replies(follower)[7].status.message(), "etcdserver: not leader");
  ASSERT_EQ(c.replies(follower)[8].response.lease_leases().leases_size(), 1);

  // Keepalives every second hold the lease for a while.
  for (int i = 0; i < 5; ++i) {
    c.Tick(10);
    c.node(leader).LeaseKeepAlive(100 + i, lease);
    c.Settle();
    ASSERT_TRUE(c.replies(leader)[100 + i].status.ok());
    EXPECT_EQ(c.replies(leader)[100 + i].response.lease_keep_alive().ttl(), 3);
  }
  c.Tick(25);  // 2.5 s after the last keepalive: alive
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_NE(c.node(id).applier().lessor().Find(lease), nullptr) << id;
  }
  c.Tick(10);  // past 3 s: the leader revokes it
  c.Tick(3);   // followers learn the commit
  for (uint64_t id : {1, 2, 3}) {
    SCOPED_TRACE(id);
    const kv::Applier& applier = c.node(id).applier();
    EXPECT_EQ(applier.lessor().Find(lease), nullptr);
    etcdserverpb::RangeRequest get;
    get.set_key("k");
    EXPECT_EQ(applier.store().Range(get)->count(), 0);
    get.set_key("other");
    EXPECT_EQ(applier.store().Range(get)->count(), 1);
    c.node(id).CheckInvariants();
  }
  // A keepalive of the revoked lease: not found.
  c.node(leader).LeaseKeepAlive(200, lease);
  c.Settle();
  EXPECT_EQ(c.replies(leader)[200].status.code(), absl::StatusCode::kNotFound);
}

// A new leader extends remaining TTLs by an election timeout instead of
// expiring leases whose keepalives could not reach anyone.
TEST(NodeLeaseTest, NewLeaderExtendsLeasesAndFollowersNeverRevoke) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  c.Tick(2);
  ASSERT_EQ(Grant(c, leader, 1, 42, 5), 42);
  c.Tick(3);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).applier().lessor().primary(), id == leader) << id;
  }
  // The leader is cut off at 0.3 s; the others elect a new one, which
  // promotes with the lease's full TTL plus 1 s from then.
  const uint64_t next = IsolateLeaderUntilAnotherPromotes(c, leader);
  ASSERT_NE(next, 0u);
  const kv::Lessor::Lease* lease = c.node(next).applier().lessor().Find(42);
  ASSERT_NE(lease, nullptr);
  const int64_t now = c.node(next).applier().lessor().now_ms();
  EXPECT_EQ(lease->expiry_ms, now + 1000 + 5000);
  // The old leader, demoted by check-quorum, revokes nothing.
  c.Tick(20);
  EXPECT_FALSE(c.node(leader).applier().lessor().primary());
  c.Heal();
  c.Tick(80);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).applier().lessor().Find(42), nullptr) << id;
  }
}

// A leader cut off from the rest believes it leads until check-quorum
// demotes it. A keepalive it takes meanwhile must not be renewed: the new
// leader knows nothing of it and expires the lease by its own clock, before
// the TTL the client was promised (etcd 3.5's ensureLeadership). Returns
// how many of the keepalives asked in that window were answered OK.
int KeepAlivesRenewedWhileCutOff(bool planted_bug) {
  Cluster c({1, 2, 3}, 100000, 5000, [&](NodeOptions* options) {
    options->planted_bugs.renew_lease_on_deposed_leader = planted_bug;
  });
  const uint64_t leader = c.Leader();
  EXPECT_NE(leader, 0u);
  c.Tick(2);
  EXPECT_EQ(Grant(c, leader, 1, 42, 5), 42);
  c.Tick(3);
  c.Isolate(leader);
  std::vector<uint64_t> asked;
  for (uint64_t i = 0; i < 30 && c.node(leader).applier().lessor().primary();
       ++i) {
    asked.push_back(100 + i);
    c.node(leader).LeaseKeepAlive(asked.back(), 42);
    c.Tick();
  }
  EXPECT_GT(asked.size(), 2u);
  c.Tick(60);  // past the request timeout
  int renewed = 0;
  for (uint64_t id : asked) {
    EXPECT_TRUE(c.replies(leader).contains(id)) << id << " never answered";
    if (c.replies(leader)[id].status.ok()) ++renewed;
  }
  return renewed;
}

TEST(NodeLeaseTest, CutOffLeaderNeverRenewsALease) {
  EXPECT_EQ(KeepAlivesRenewedWhileCutOff(/*planted_bug=*/false), 0);
  // The planted bug renews at once: the test has teeth.
  EXPECT_GT(KeepAlivesRenewedWhileCutOff(/*planted_bug=*/true), 0);
}

// Checkpoints carry the remaining TTL through raft, so the next leader
// counts from it rather than from the full TTL.
TEST(NodeLeaseTest, CheckpointedRemainingTtlSurvivesALeaderChange) {
  kv::LessorOptions lessor;
  lessor.checkpoint_interval_ms = 1000;
  Cluster c({1, 2, 3}, 100000, 5000,
            [&](NodeOptions* options) { options->applier.lessor = lessor; });
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  c.Tick(2);
  ASSERT_EQ(Grant(c, leader, 1, 9, 20), 9);
  c.Tick(50);  // 5 s: several checkpoints applied everywhere
  uint64_t follower = 0;
  for (uint64_t id : {1, 2, 3}) {
    if (id == leader) continue;
    follower = id;
    const int64_t remaining =
        c.node(id).applier().lessor().Find(9)->remaining_ttl_seconds;
    EXPECT_GE(remaining, 14) << id;
    EXPECT_LE(remaining, 17) << id;
  }
  const uint64_t next = IsolateLeaderUntilAnotherPromotes(c, leader);
  ASSERT_NE(next, 0u);
  ASSERT_NE(follower, 0u);
  const kv::Lessor& promoted = c.node(next).applier().lessor();
  const kv::Lessor::Lease* lease = promoted.Find(9);
  ASSERT_NE(lease, nullptr);
  ASSERT_GT(lease->remaining_ttl_seconds, 0);
  EXPECT_EQ(lease->expiry_ms,
            promoted.now_ms() + 1000 + lease->remaining_ttl_seconds * 1000);
  EXPECT_LT(lease->expiry_ms, promoted.now_ms() + 1000 + 20000);
}

}  // namespace
}  // namespace etcdpp::server

// ---- Membership ---------------------------------------------------------------

namespace etcdpp::server {
namespace {

etcdserverpb::Member NewMember(uint64_t id, bool learner = false) {
  etcdserverpb::Member m;
  m.set_id(id);
  m.add_peerurls(Cluster::PeerUrl(id));
  m.set_islearner(learner);
  return m;
}

std::vector<uint64_t> Ids(const Node& node) {
  std::vector<uint64_t> ids;
  for (const auto& [id, m] : node.Members().members()) ids.push_back(id);
  return ids;
}

bool HasPeerChange(Cluster& c, uint64_t at, uint64_t peer, bool removed) {
  for (const PeerChange& p : c.peer_changes(at)) {
    if (p.id == peer && p.removed == removed) return true;
  }
  return false;
}

// Proposes puts on `at` and settles after each; all must succeed.
void Write(Cluster& c, uint64_t at, uint64_t first_request, int n) {
  for (int i = 0; i < n; ++i) {
    const uint64_t rid = first_request + i;
    c.node(at).Propose(rid, PutRequest("key" + std::to_string(i % 5),
                                       "v" + std::to_string(rid)));
    c.Settle();
    ASSERT_TRUE(c.replies(at).contains(rid)) << rid;
    ASSERT_TRUE(c.replies(at)[rid].status.ok()) << c.replies(at)[rid].status;
  }
}

TEST(NodeMembershipTest, AddAFourthMemberThatCatchesUp) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  Write(c, leader, 1, 8);
  EXPECT_EQ(Ids(c.node(leader)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(c.node(leader).Members().Find(2)->peerurls(0), Cluster::PeerUrl(2));

  c.node(leader).AddMember(100, NewMember(4));
  c.Settle();
  ASSERT_TRUE(c.replies(leader).contains(100));
  const ClientReply& added = c.replies(leader)[100];
  ASSERT_TRUE(added.status.ok()) << added.status;
  EXPECT_EQ(added.member.id(), 4u);
  EXPECT_EQ(added.members.size(), 4u);
  EXPECT_TRUE(HasPeerChange(c, leader, 4, /*removed=*/false));
  c.Tick(2);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(Ids(c.node(id)), (std::vector<uint64_t>{1, 2, 3, 4})) << id;
  }

  c.Join(4);
  c.Tick(5);
  EXPECT_EQ(c.Hash(4), c.Hash(leader));
  EXPECT_EQ(Ids(c.node(4)), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(c.node(4).Members(), c.node(leader).Members());
  EXPECT_FALSE(c.node(4).Members().Find(4)->islearner());
  // The new member's peers: the three others, from the replicated list.
  EXPECT_EQ(c.node(4).Peers().size(), 3u);
  // It counts in the quorum now: writes still commit, and reach it.
  Write(c, leader, 200, 3);
  c.Tick(2);
  EXPECT_EQ(c.Hash(4), c.Hash(leader));
  for (uint64_t id : {1, 2, 3, 4}) c.node(id).CheckInvariants();
}

TEST(NodeMembershipTest, RefusesBadChangesWithEtcdErrors) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  auto status = [&](uint64_t rid) {
    c.Settle();
    EXPECT_TRUE(c.replies(leader).contains(rid)) << rid;
    return c.replies(leader)[rid].status;
  };
  c.node(leader).AddMember(1, NewMember(2));
  EXPECT_EQ(status(1).message(), "etcdserver: member ID already exist");
  etcdserverpb::Member same_url = NewMember(9);
  same_url.set_peerurls(0, Cluster::PeerUrl(3));
  c.node(leader).AddMember(2, same_url);
  EXPECT_EQ(status(2).message(), "etcdserver: Peer URLs already exists");
  c.node(leader).RemoveMember(3, 42);
  EXPECT_EQ(status(3).message(), "etcdserver: member not found");
  EXPECT_EQ(status(3).code(), absl::StatusCode::kNotFound);
  c.node(leader).PromoteMember(4, 2);
  EXPECT_EQ(status(4).message(),
            "etcdserver: can only promote a learner member");
  c.node(leader).UpdateMember(5, 2, {Cluster::PeerUrl(1)});
  EXPECT_EQ(status(5).message(), "etcdserver: Peer URLs already exists");
  // Only one change at a time: the second one, proposed before the first
  // applied, is refused.
  c.node(leader).AddMember(6, NewMember(4));
  c.node(leader).AddMember(7, NewMember(5));
  c.Settle();
  EXPECT_TRUE(c.replies(leader)[6].status.ok()) << c.replies(leader)[6].status;
  EXPECT_EQ(c.replies(leader)[7].status.message(),
            "etcdserver: unhealthy cluster");
  // A second learner is one too many (etcd allows one).
  c.node(leader).AddMember(8, NewMember(5, /*learner=*/true));
  EXPECT_TRUE(status(8).ok()) << status(8);
  c.node(leader).AddMember(9, NewMember(6, /*learner=*/true));
  EXPECT_EQ(status(9).message(),
            "etcdserver: too many learner members in cluster");
  EXPECT_EQ(Ids(c.node(leader)), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

TEST(NodeMembershipTest, LearnerNeverVotesAndIsPromotedOnceInSync) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  c.node(leader).AddMember(1, NewMember(4, /*learner=*/true));
  c.Settle();
  ASSERT_TRUE(c.replies(leader)[1].status.ok()) << c.replies(leader)[1].status;
  EXPECT_TRUE(c.node(leader).Members().Find(4)->islearner());
  // Not started yet: its log is far behind the leader's.
  Write(c, leader, 10, 10);
  c.node(leader).PromoteMember(2, 4);
  c.Settle();
  EXPECT_EQ(c.replies(leader)[2].status.message(),
            "etcdserver: can only promote a learner member which is in sync "
            "with leader");

  c.Join(4);
  c.Tick(5);
  EXPECT_EQ(c.Hash(4), c.Hash(leader));
  EXPECT_TRUE(c.node(4).raft().raft().is_learner());
  // A learner serves serializable reads only, as etcd.
  c.node(4).Propose(7, PutRequest("on-learner", "x"));
  c.node(4).Read(8, Get("k", /*serializable=*/false));
  c.node(4).Read(9, Get("k", /*serializable=*/true));
  c.Settle();
  EXPECT_EQ(c.replies(4)[7].status.message(),
            "etcdserver: rpc not supported for learner");
  EXPECT_EQ(c.replies(4)[8].status.message(),
            "etcdserver: rpc not supported for learner");
  EXPECT_TRUE(c.replies(4)[9].status.ok()) << c.replies(4)[9].status;
  // The leader goes away; the learner never campaigns, a voter takes over.
  c.Isolate(leader);
  for (int i = 0; i < 60; ++i) {
    c.Tick();
    const raft::StateType state = c.node(4).raft().raft().state();
    ASSERT_EQ(state, raft::StateType::kFollower) << "tick " << i;
  }
  const uint64_t next = c.Leader();
  ASSERT_NE(next, 0u);
  EXPECT_NE(next, 4u);
  EXPECT_NE(next, leader);
  c.Heal();
  c.Tick(5);

  // In sync now: the promotion goes through; 4 is a voter everywhere.
  c.node(next).PromoteMember(3, 4);
  c.Settle();
  ASSERT_TRUE(c.replies(next)[3].status.ok()) << c.replies(next)[3].status;
  c.Tick(3);
  for (uint64_t id : {1, 2, 3, 4}) {
    EXPECT_FALSE(c.node(id).Members().Find(4)->islearner()) << id;
  }
  EXPECT_FALSE(c.node(4).raft().raft().is_learner());
  Write(c, next, 20, 2);
}

TEST(NodeMembershipTest, RemovedFollowerStopsAndTheRestGoOn) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 3 ? 2 : 3;
  Write(c, leader, 1, 3);
  c.node(leader).RemoveMember(10, follower);
  c.Settle();
  c.Tick(2);
  ASSERT_TRUE(c.replies(leader)[10].status.ok()) << c.replies(leader)[10].status;
  EXPECT_EQ(c.replies(leader)[10].members.size(), 2u);
  EXPECT_TRUE(HasPeerChange(c, leader, follower, /*removed=*/true));
  EXPECT_TRUE(c.halted(follower));
  EXPECT_TRUE(IsMemberRemoved(c.halt(follower))) << c.halt(follower);
  EXPECT_EQ(c.node(leader).Members().Find(follower), nullptr);
  EXPECT_TRUE(c.node(leader).Members().removed().contains(follower));
  // Two voters left: writes commit with both.
  Write(c, leader, 20, 3);
  // A removed id cannot come back.
  c.node(leader).AddMember(30, NewMember(follower));
  c.Settle();
  EXPECT_EQ(c.replies(leader)[30].status.message(),
            "etcdserver: member not found");
}

TEST(NodeMembershipTest, RemovedLeaderStepsDownAfterTheChangeApplies) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  Write(c, leader, 1, 3);
  c.node(leader).RemoveMember(10, leader);
  c.Settle();
  ASSERT_TRUE(c.replies(leader)[10].status.ok()) << c.replies(leader)[10].status;
  EXPECT_TRUE(c.halted(leader));
  EXPECT_TRUE(IsMemberRemoved(c.halt(leader))) << c.halt(leader);
  const uint64_t next = c.Leader();
  ASSERT_NE(next, 0u);
  ASSERT_NE(next, leader);
  for (uint64_t id : {1, 2, 3}) {
    if (id == leader) continue;
    EXPECT_EQ(c.node(id).Members().members().size(), 2u) << id;
    EXPECT_EQ(c.node(id).Members().Find(leader), nullptr) << id;
  }
  Write(c, next, 20, 3);
}

void RestartKeepsMembership(uint64_t snapshot_count) {
  Cluster c({1, 2, 3}, snapshot_count, /*catchup=*/2);
  c.Publish(true);
  for (uint64_t id : {1, 2, 3}) {
    c.Crash(id);
    c.Open(id);
  }
  uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  c.Tick(30);  // every member publishes its name and client URLs
  c.node(leader).AddMember(1, NewMember(4));
  c.Settle();
  ASSERT_TRUE(c.replies(leader)[1].status.ok()) << c.replies(leader)[1].status;
  c.Join(4);
  c.Tick(30);
  // With frequent snapshots the log was compacted: 4 caught up from one,
  // taken after it was added.
  if (snapshot_count < 100) {
    EXPECT_GE(c.snapshots_sent(), 1);
  }
  EXPECT_EQ(c.Hash(4), c.Hash(leader));
  const uint64_t gone = leader == 2 ? 3 : 2;
  c.node(leader).RemoveMember(2, gone);
  c.Settle();
  ASSERT_TRUE(c.replies(leader)[2].status.ok()) << c.replies(leader)[2].status;
  Write(c, leader, 10, 12);
  c.Tick(3);
  const MemberSet before = c.node(leader).Members();
  ASSERT_EQ(before.members().size(), 3u);
  for (const auto& [id, m] : before.members()) {
    EXPECT_EQ(m.name(), "n" + std::to_string(id));
    ASSERT_EQ(m.clienturls_size(), 1) << id;
    EXPECT_EQ(m.clienturls(0), "http://n" + std::to_string(id) + ":2379");
  }
  for (const auto& [id, m] : before.members()) {
    c.Crash(id);
    c.Open(id);
    c.Settle();
  }
  leader = c.Leader();
  ASSERT_NE(leader, 0u);
  c.Tick(3);
  for (const auto& [id, m] : before.members()) {
    EXPECT_EQ(c.node(id).Members(), before) << id;
  }
  Write(c, leader, 40, 2);
}

TEST(NodeMembershipTest, RestartAfterChangesKeepsMembershipFromTheWal) {
  RestartKeepsMembership(/*snapshot_count=*/100000);
}

TEST(NodeMembershipTest, RestartAfterChangesKeepsMembershipFromSnapshots) {
  RestartKeepsMembership(/*snapshot_count=*/5);
}

TEST(NodeMembershipTest, MemberSetRoundTripsThroughTheSnapshotBody) {
  MemberSet set;
  set.Set(NewMember(7));
  set.Set(NewMember(3, /*learner=*/true));
  set.Remove(5);
  const std::string body = EncodeSnapshotBody(set, "kv-state");
  absl::StatusOr<SnapshotBody> decoded = DecodeSnapshotBody(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->members.has_value());
  EXPECT_EQ(*decoded->members, set);
  EXPECT_EQ(decoded->kv, "kv-state");
  // An older body, without the member list, is all kv state.
  decoded = DecodeSnapshotBody("plain");
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->members.has_value());
  EXPECT_EQ(decoded->kv, "plain");
  // A truncated list is corruption.
  EXPECT_FALSE(DecodeSnapshotBody(body.substr(0, 14)).ok());
}

}  // namespace
}  // namespace etcdpp::server

namespace etcdpp::server {
namespace {

TEST(NodeMembershipTest, UpdatedPeerUrlsReachEveryMemberAndTheDriver) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 3 ? 2 : 3;
  c.node(follower).UpdateMember(1, 1, {"http://moved:2380"});
  c.Settle();
  ASSERT_TRUE(c.replies(follower).contains(1));
  ASSERT_TRUE(c.replies(follower)[1].status.ok())
      << c.replies(follower)[1].status;
  c.Tick(2);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.node(id).Members().Find(1)->peerurls(0), "http://moved:2380");
    EXPECT_EQ(c.node(id).Members().Find(1)->name(), "n1") << "name kept";
  }
  // Members 2 and 3 reconnect to member 1 at its new address.
  for (uint64_t id : {2, 3}) {
    bool told = false;
    for (const PeerChange& p : c.peer_changes(id)) {
      told = told || (p.id == 1 && !p.removed && p.peer_urls.size() == 1 &&
                      p.peer_urls[0] == "http://moved:2380");
    }
    EXPECT_TRUE(told) << id;
  }
  EXPECT_TRUE(c.peer_changes(1).empty()) << "never about itself";
}

TEST(NodeMembershipTest, ChangesRacingEachOtherApplyOnce) {
  // Two members ask to remove the same follower before either change
  // applies: the first removes it, the second is checked again at apply
  // time against the replicated list and changes nothing.
  Cluster c({1, 2, 3, 4, 5});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  std::vector<uint64_t> others;
  for (uint64_t id : {1, 2, 3, 4, 5}) {
    if (id != leader) others.push_back(id);
  }
  const uint64_t gone = others[0];
  const uint64_t stale = others[2];
  // `stale` misses the first removal...
  c.Isolate(stale);
  c.node(others[1]).RemoveMember(1, gone);
  c.Settle();
  ASSERT_TRUE(c.replies(others[1])[1].status.ok())
      << c.replies(others[1])[1].status;
  c.Heal();
  // ...so its own check passes, and the leader, with nothing pending,
  // appends the second removal.
  c.node(stale).RemoveMember(2, gone);
  c.Settle();
  c.Tick(3);
  ASSERT_TRUE(c.replies(stale).contains(2));
  EXPECT_EQ(c.replies(stale)[2].status.message(),
            "etcdserver: member not found");
  for (uint64_t id : others) {
    if (id == gone) continue;
    EXPECT_EQ(c.node(id).Members().members().size(), 4u) << id;
  }
  EXPECT_TRUE(c.halted(gone));
}

}  // namespace
}  // namespace etcdpp::server

namespace etcdpp::server {
namespace {

TEST(NodeMembershipTest, PublishingAttributesNeverHoldsUpAMemberChange) {
  Cluster c({1, 2, 3});
  c.Publish(true);
  for (uint64_t id : {1, 2, 3}) {
    c.Crash(id);
    c.Open(id);
  }
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  // Every member publishes on its next tick; a change asked at the same
  // moment still goes through (etcd's publish is a normal entry too).
  for (uint64_t id : {1, 2, 3}) c.node(id).Tick();
  c.node(leader).AddMember(1, NewMember(4, /*learner=*/true));
  c.Settle();
  c.Tick(12);
  ASSERT_TRUE(c.replies(leader).contains(1));
  EXPECT_TRUE(c.replies(leader)[1].status.ok()) << c.replies(leader)[1].status;
  for (uint64_t id : {1, 2, 3}) {
    const etcdserverpb::Member* m = c.node(leader).Members().Find(id);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name(), "n" + std::to_string(id));
    EXPECT_EQ(m->peerurls(0), Cluster::PeerUrl(id)) << "peer URLs kept";
  }
  EXPECT_EQ(c.node(leader).Members().members().size(), 4u);
}

// ---- MoveLeader (etcdctl move-leader) --------------------------------------

TEST(NodeMoveLeaderTest, LeaderHandsOverToTheVoterAsked) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t target = leader % 3 + 1;
  const uint64_t other = target % 3 + 1;
  ASSERT_NE(other, leader);
  // Only the leader moves leadership; only to a voter.
  c.node(target).MoveLeader(1, other);
  c.node(leader).MoveLeader(2, 99);
  c.node(leader).MoveLeader(3, leader);  // already there
  c.Settle();
  ASSERT_TRUE(c.replies(target).contains(1));
  EXPECT_EQ(c.replies(target)[1].status, NotLeaderError());
  ASSERT_TRUE(c.replies(leader).contains(2));
  EXPECT_EQ(c.replies(leader)[2].status, BadLeaderTransfereeError());
  ASSERT_TRUE(c.replies(leader).contains(3));
  EXPECT_TRUE(c.replies(leader)[3].status.ok());

  c.node(leader).MoveLeader(4, target);
  for (int i = 0; i < 30 && !c.replies(leader).contains(4); ++i) c.Tick();
  ASSERT_TRUE(c.replies(leader).contains(4));
  EXPECT_TRUE(c.replies(leader)[4].status.ok()) << c.replies(leader)[4].status;
  EXPECT_TRUE(c.node(target).GetStatus().is_leader);
  EXPECT_FALSE(c.node(leader).GetStatus().is_leader);
}

TEST(NodeMoveLeaderTest, ATransfereeThatCannotTakeOverTimesOut) {
  Cluster c({1, 2, 3});
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  const uint64_t target = leader % 3 + 1;
  // The transferee never hears the leader: no hand-off happens.
  c.Block(leader, target);
  c.node(leader).MoveLeader(7, target);
  for (int i = 0; i < 200 && !c.replies(leader).contains(7); ++i) c.Tick();
  ASSERT_TRUE(c.replies(leader).contains(7));
  EXPECT_EQ(c.replies(leader)[7].status, LeaderTransferTimeoutError());
  c.Heal();
}

}  // namespace
}  // namespace etcdpp::server
