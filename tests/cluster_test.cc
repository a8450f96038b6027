// End-to-end: three real etcdpp processes on 127.0.0.1, used through Debian's
// etcdctl and through gRPC stubs, with crashes, pauses, restarts and damaged
// data dirs.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kv/snapshot.h"
#include "server/node/membership.h"
#include "server/rpc/backup.h"
#include "tests/etcdctl.h"
#include "tests/local_cluster.h"

namespace etcdpp::tests {
namespace {

// The test runs in its runfiles tree, where the server is a data dependency.
std::string Binary() { return "server/etcdpp"; }

// Waits (up to `seconds`) until `done` holds.
bool Eventually(const std::function<bool()>& done, int seconds = 20) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return done();
}

std::string TempRoot(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string root = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  RunCommand("rm -rf '" + root + "' && mkdir -p '" + root + "'");
  return root;
}

class ClusterTest : public ::testing::Test {
 protected:
  void StartCluster(std::vector<std::string> extra_flags = {}) {
    cluster_ = std::make_unique<LocalCluster>(
        Binary(),
        TempRoot(::testing::UnitTest::GetInstance()->current_test_info()->name()),
        3, std::move(extra_flags));
    ASSERT_TRUE(cluster_->StartAll().ok());
    absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(20));
    ASSERT_TRUE(leader.ok()) << cluster_->LogTail(0);
  }

  Etcdctl Through(int i) const { return Etcdctl(cluster_->member(i).endpoint()); }
  Etcdctl All() const { return Etcdctl(cluster_->Endpoints()); }

  // Every key and value, read serializably from member i.
  std::string Dump(int i) const {
    CommandResult r = Through(i).Run("get '' --from-key --consistency=s");
    return r.output;
  }

  // Member i's etcd HashKV at the current revision.
  std::string HashKV(int i) const {
    CommandResult r = Through(i).Run("endpoint hashkv -w json");
    const size_t at = r.output.find("\"hash\":");
    return at == std::string::npos ? r.output
                                   : r.output.substr(at, r.output.find(',', at) - at);
  }

  // Waits until every running member serves the same data as member `ref`,
  // and etcd's HashKV agrees.
  void ExpectConverged(int ref) {
    ExpectSameData(ref);
    for (int attempt = 0; attempt < 50; ++attempt) {
      bool same = true;
      for (int i = 0; i < cluster_->size(); ++i) {
        if (HashKV(i) != HashKV(ref)) same = false;
      }
      if (same) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    for (int i = 0; i < cluster_->size(); ++i) {
      EXPECT_EQ(HashKV(i), HashKV(ref)) << "member " << i;
      EXPECT_NE(HashKV(i).find("\"hash\":"), std::string::npos) << HashKV(i);
    }
  }

  void ExpectSameData(int ref) {
    std::string want;
    for (int attempt = 0; attempt < 100; ++attempt) {
      want = Dump(ref);
      bool same = true;
      for (int i = 0; i < cluster_->size(); ++i) {
        if (Dump(i) != want) same = false;
      }
      if (same) return;
      absl::SleepFor(absl::Milliseconds(100));
    }
    for (int i = 0; i < cluster_->size(); ++i) {
      EXPECT_EQ(Dump(i), want) << "member " << i;
    }
  }

  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ClusterTest, EtcdctlThroughEveryMember) {
  StartCluster();
  for (int i = 0; i < 3; ++i) {
    CommandResult put =
        Through(i).Run(absl::StrCat("put key", i, " value", i));
    ASSERT_EQ(put.exit_code, 0) << put.output << cluster_->LogTail(i);
  }
  for (int i = 0; i < 3; ++i) {
    auto r = Through(i).Json<etcdserverpb::RangeResponse>("get key --prefix");
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->kvs_size(), 3) << "member " << i;
    EXPECT_EQ(r->kvs(2).value(), "value2");
    EXPECT_EQ(r->header().member_id() != 0, true);
    auto limited =
        Through(i).Json<etcdserverpb::RangeResponse>("get key --prefix --limit=1");
    ASSERT_TRUE(limited.ok());
    EXPECT_EQ(limited->kvs_size(), 1);
    EXPECT_TRUE(limited->more());
    auto sorted = Through(i).Json<etcdserverpb::RangeResponse>(
        "get key --prefix --sort-by=MODIFY --order=DESCEND --keys-only");
    ASSERT_TRUE(sorted.ok());
    EXPECT_EQ(sorted->kvs(0).key(), "key2");
    EXPECT_EQ(sorted->kvs(0).value(), "");
    auto old = Through(i).Json<etcdserverpb::RangeResponse>("get key0 --rev=2");
    ASSERT_TRUE(old.ok());
    EXPECT_EQ(old->kvs(0).value(), "value0");
  }
  CommandResult txn = Through(1).Run(
      "txn", "value(\"key0\") = \"value0\"\n\nput key0 swapped\n\nput key0 no\n\n");
  EXPECT_EQ(txn.output, "SUCCESS\n\nOK\n");
  CommandResult del = Through(2).Run("del key --prefix --prev-kv");
  EXPECT_EQ(del.exit_code, 0) << del.output;
  EXPECT_EQ(del.output.substr(0, 2), "3\n");
  CommandResult compact = Through(0).Run("compaction 3");
  EXPECT_EQ(compact.output, "compacted revision 3\n");
  CommandResult compacted = Through(1).Run("get key0 --rev=2");
  EXPECT_NE(compacted.output.find("required revision has been compacted"),
            std::string::npos)
      << compacted.output;
  CommandResult health = All().Run("endpoint health");
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_EQ(std::count(health.output.begin(), health.output.end(), '\n'), 3)
      << health.output;
  EXPECT_EQ(health.output.find("timed out"), std::string::npos)
      << health.output;
  CommandResult status = All().Run("endpoint status -w table");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("true"), std::string::npos) << status.output;
  ExpectConverged(0);
}

// Writers that put unique keys through any member, remembering which puts
// were acknowledged and when the last one was.
class Writers {
 public:
  Writers(const LocalCluster& cluster, int threads) {
    for (int m = 0; m < cluster.size(); ++m) {
      stubs_.push_back(etcdserverpb::KV::NewStub(grpc::CreateChannel(
          cluster.member(m).endpoint(), grpc::InsecureChannelCredentials())));
    }
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, t] { Run(t); });
    }
  }
  ~Writers() { Stop(); }

  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  std::set<std::string> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  // The longest time between two acknowledgements, since `since`.
  absl::Duration LongestGapSince(absl::Time since) {
    std::lock_guard<std::mutex> lock(mu_);
    absl::Duration longest;
    absl::Time prev = since;
    for (absl::Time t : ack_times_) {
      if (t < since) continue;
      longest = std::max(longest, t - prev);
      prev = t;
    }
    return longest;
  }

 private:
  void Run(int thread) {
    for (int n = 0; !stop_; ++n) {
      const std::string key = absl::StrCat("w", thread, "-", n);
      etcdserverpb::PutRequest put;
      put.set_key(key);
      put.set_value("v");
      etcdserverpb::PutResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
      auto& stub = stubs_[(thread + n) % stubs_.size()];
      if (stub->Put(&context, put, &response).ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        acked_.insert(key);
        ack_times_.push_back(absl::Now());
      } else {
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
  }

  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::set<std::string> acked_;
  std::vector<absl::Time> ack_times_;
};

TEST_F(ClusterTest, KillLeaderUnderLoadLosesNoAcknowledgedWrite) {
  StartCluster();
  Writers writers(*cluster_, 4);
  absl::SleepFor(absl::Seconds(1));
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(5));
  ASSERT_TRUE(leader.ok());
  const absl::Time killed_at = absl::Now();
  cluster_->Signal(*leader, SIGKILL);
  absl::SleepFor(absl::Seconds(3));
  const absl::Duration gap = writers.LongestGapSince(killed_at);
  std::printf("write gap after killing the leader: %s\n",
              absl::FormatDuration(gap).c_str());
  EXPECT_LT(gap, absl::Seconds(10));
  ASSERT_TRUE(cluster_->Start(*leader).ok());
  absl::SleepFor(absl::Seconds(1));
  writers.Stop();
  const std::set<std::string> acked = writers.acked();
  ASSERT_GT(acked.size(), 20u);
  // Restart every member, then check every acknowledged write everywhere.
  for (int i = 0; i < 3; ++i) cluster_->Signal(i, SIGKILL);
  ASSERT_TRUE(cluster_->StartAll().ok());
  ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(20)).ok());
  ExpectConverged(0);
  const std::string dump = Dump(1);
  for (const std::string& key : acked) {
    EXPECT_NE(dump.find(key + "\nv\n"), std::string::npos) << key;
  }
}

// The files of member m's data dir whose names start with prefix.
std::vector<std::string> FilesStartingWith(const Member& m,
                                           const std::string& prefix) {
  CommandResult r = RunCommand("ls '" + m.data_dir + "'");
  std::vector<std::string> out;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

TEST_F(ClusterTest, RestartedMemberCatchesUpBySnapshot) {
  // A snapshot every 20 entries, keeping 10 after each compaction.
  StartCluster({"--snapshot-count=20"});
  int leader = *cluster_->WaitForLeader(absl::Seconds(5));
  const int down = (leader + 1) % 3;
  ASSERT_EQ(Through(leader).Run("put before-kill 1").exit_code, 0);
  cluster_->Signal(down, SIGKILL);
  {
    Writers writers(*cluster_, 4);
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (writers.acked().size() >= 300) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    writers.Stop();
    ASSERT_GE(writers.acked().size(), 200u);
  }
  const int up = (down + 1) % 3;
  EXPECT_FALSE(FilesStartingWith(cluster_->member(up), "snap-").empty())
      << cluster_->LogTail(up);
  ASSERT_TRUE(cluster_->Start(down).ok());
  ExpectConverged(up);
  EXPECT_NE(Dump(down).find("before-kill"), std::string::npos);
  // It got there by snapshot: one was received into its data dir.
  EXPECT_FALSE(FilesStartingWith(cluster_->member(down), "snap-").empty())
      << cluster_->LogTail(down);
  EXPECT_EQ(RunCommand("grep -q 'restored received snapshot' '" +
                       cluster_->member(down).log_path + "'")
                .exit_code,
            0)
      << cluster_->LogTail(down);
  // More writes, then a full restart from snapshots and WALs.
  for (int n = 0; n < 5; ++n) {
    ASSERT_EQ(All().Run(absl::StrCat("put after-", n, " x")).exit_code, 0);
  }
  for (int i = 0; i < 3; ++i) cluster_->Signal(i, SIGKILL);
  ASSERT_TRUE(cluster_->StartAll().ok());
  ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(20)).ok());
  ExpectConverged(down);
  EXPECT_NE(Dump(down).find("after-4"), std::string::npos);
}

TEST_F(ClusterTest, PeriodicAutoCompaction) {
  // Keep one second of history: the leader compacts about every second.
  StartCluster({"--auto-compaction-retention=1s"});
  for (int n = 0; n < 5; ++n) {
    ASSERT_EQ(All().Run(absl::StrCat("put k v", n)).exit_code, 0);
  }
  CommandResult old;
  for (int attempt = 0; attempt < 100; ++attempt) {
    old = Through(attempt % 3).Run("get k --rev=2");
    if (old.exit_code != 0) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_NE(old.exit_code, 0) << "revision 2 was never compacted away";
  EXPECT_NE(old.output.find("required revision has been compacted"),
            std::string::npos)
      << old.output;
  // The latest value stays, and every member compacted at the same point.
  EXPECT_NE(Through(1).Run("get k").output.find("v4"), std::string::npos);
  ExpectConverged(0);
}

TEST_F(ClusterTest, PausedFollowerAndPausedLeader) {
  StartCluster();
  int leader = *cluster_->WaitForLeader(absl::Seconds(5));
  const int follower = (leader + 1) % 3;
  cluster_->Signal(follower, SIGSTOP);
  for (int n = 0; n < 5; ++n) {
    CommandResult r = Through(leader).Run(absl::StrCat("put f", n, " x"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  cluster_->Signal(follower, SIGCONT);
  ExpectConverged(leader);

  cluster_->Signal(leader, SIGSTOP);
  const int other = (leader + 2) % 3;
  CommandResult r;
  for (int attempt = 0; attempt < 50; ++attempt) {
    r = Through(other).Run("put during-pause y");
    if (r.exit_code == 0) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(r.exit_code, 0) << r.output;
  cluster_->Signal(leader, SIGCONT);
  ExpectConverged(other);
  EXPECT_NE(Dump(leader).find("during-pause"), std::string::npos);
}

TEST_F(ClusterTest, FullRestartKeepsData) {
  StartCluster();
  for (int n = 0; n < 10; ++n) {
    ASSERT_EQ(All().Run(absl::StrCat("put r", n, " ", n)).exit_code, 0);
  }
  for (int i = 0; i < 3; ++i) cluster_->Signal(i, SIGTERM);
  ASSERT_TRUE(cluster_->StartAll().ok());
  ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(20)).ok());
  auto r = All().Json<etcdserverpb::RangeResponse>("get r --prefix");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kvs_size(), 10);
  ExpectConverged(0);
}

// etcd's auth through every member: users and roles made through one
// member hold on all (they go through the log), a read-only user is
// refused writes and unwatched ranges, and the state survives a restart.
TEST_F(ClusterTest, AuthThroughEveryMemberAndAcrossARestart) {
  StartCluster({"--bcrypt-cost=4"});
  const Etcdctl first = Through(0);
  for (const char* args :
       {"user add root:rootpw", "user grant-role root root",
        "role add reader", "role grant-permission reader read foo --prefix=true",
        "user add alice:alicepw", "user grant-role alice reader",
        "auth enable"}) {
    CommandResult r = first.Run(args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.output;
  }
  const std::string kNoUser = "Error: etcdserver: user name is empty";
  const std::string kDenied = "Error: etcdserver: permission denied";
  const std::string kBadPassword =
      "etcdserver: authentication failed, invalid user ID or password";
  for (int i = 0; i < 3; ++i) {
    const Etcdctl member = Through(i);
    CommandResult r = member.Run("put foo nobody");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find(kNoUser), std::string::npos) << r.output;
    r = member.Run(absl::StrCat("--user root:rootpw put foo v", i));
    EXPECT_EQ(r.exit_code, 0) << r.output << cluster_->LogTail(i);
    r = member.Run("--user alice:alicepw get foo --print-value-only");
    EXPECT_EQ(r.output, absl::StrCat("v", i, "\n")) << "member " << i;
    r = member.Run("--user alice:alicepw put foo mine");
    EXPECT_NE(r.output.find(kDenied), std::string::npos) << r.output;
    r = member.Run("--user alice:wrong get foo");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find(kBadPassword), std::string::npos) << r.output;
  }

  // Watch creation is checked on the member that holds the stream.
  auto channel = grpc::CreateChannel(cluster_->member(1).endpoint(),
                                     grpc::InsecureChannelCredentials());
  etcdserverpb::AuthenticateRequest login;
  login.set_name("alice");
  login.set_password("alicepw");
  etcdserverpb::AuthenticateResponse token;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(etcdserverpb::Auth::NewStub(channel)
                    ->Authenticate(&context, login, &token)
                    .ok());
  }
  grpc::ClientContext watch_context;
  watch_context.AddMetadata("token", token.token());
  auto watch = etcdserverpb::Watch::NewStub(channel);
  auto stream = watch->Watch(&watch_context);
  etcdserverpb::WatchRequest denied;
  denied.mutable_create_request()->set_key("zzz");
  etcdserverpb::WatchRequest allowed;
  allowed.mutable_create_request()->set_key("foo");
  etcdserverpb::WatchResponse response;
  ASSERT_TRUE(stream->Write(denied));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_TRUE(response.created());
  EXPECT_TRUE(response.canceled());
  EXPECT_EQ(response.cancel_reason(), "etcdserver: permission denied");
  ASSERT_TRUE(stream->Write(allowed));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_TRUE(response.created());
  EXPECT_FALSE(response.canceled()) << response.cancel_reason();
  watch_context.TryCancel();

  // A restarted member recovers the users, roles and the enabled flag.
  cluster_->Signal(2, SIGTERM);
  ASSERT_TRUE(cluster_->Start(2).ok());
  ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(20)).ok());
  const Etcdctl restarted = Through(2);
  // Until it hears from the leader the member answers "no leader"; after
  // that, Authenticate waits until it applied the log (etcd's
  // linearizableReadNotify), so it never says auth is off.
  for (int attempt = 0; attempt < 200; ++attempt) {
    CommandResult status = restarted.Run("endpoint status -w json");
    if (status.output.find("\"leader\":") != std::string::npos &&
        status.output.find("\"leader\":0,") == std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  CommandResult r = restarted.Run("--user alice:alicepw get foo --print-value-only");
  EXPECT_EQ(r.output, "v2\n") << cluster_->LogTail(2);
  r = restarted.Run("put foo nobody");
  EXPECT_NE(r.output.find(kNoUser), std::string::npos) << r.output;
  r = restarted.Run("--user alice:wrong get foo");
  EXPECT_NE(r.output.find(kBadPassword), std::string::npos) << r.output;

  // Disabling auth opens every member again.
  r = restarted.Run("--user root:rootpw auth disable");
  EXPECT_EQ(r.output, "Authentication Disabled\n");
  for (int i = 0; i < 3; ++i) {
    r = Through(i).Run(absl::StrCat("put open ", i));
    EXPECT_EQ(r.exit_code, 0) << "member " << i << ": " << r.output;
  }
  ExpectConverged(0);
}

// The only WAL segment of a member's data dir.
std::string Segment(const Member& m) {
  CommandResult r = RunCommand("ls '" + m.data_dir + "' | grep '^wal-' | tail -1");
  std::string name = r.output;
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return m.data_dir + "/" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

TEST_F(ClusterTest, DamagedDataDirs) {
  StartCluster();
  for (int n = 0; n < 50; ++n) {
    ASSERT_EQ(All().Run(absl::StrCat("put d", n, " ", n)).exit_code, 0);
  }
  ExpectConverged(0);
  // A member whose WAL tail was cut mid-record restarts, repaired, and
  // catches up from the others.
  const int torn = 1;
  cluster_->Signal(torn, SIGKILL);
  std::string wal = ReadAll(Segment(cluster_->member(torn)));
  size_t end = wal.find_last_not_of('\0');
  ASSERT_NE(end, std::string::npos);
  for (size_t i = end - 5; i <= end; ++i) wal[i] = '\0';
  WriteAll(Segment(cluster_->member(torn)), wal);
  ASSERT_TRUE(cluster_->Start(torn).ok());
  ExpectConverged(0);
  EXPECT_NE(cluster_->LogTail(torn).find("repaired torn WAL tail"),
            std::string::npos)
      << cluster_->LogTail(torn);

  // A flipped byte in the middle of the log refuses start, naming the file
  // and the offset.
  const int flipped = 2;
  cluster_->Signal(flipped, SIGKILL);
  const std::string path = Segment(cluster_->member(flipped));
  wal = ReadAll(path);
  wal[400] ^= 0x5a;
  WriteAll(path, wal);
  auto [code, output] = cluster_->RunForeground(flipped);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("etcdpp: error:"), std::string::npos) << output;
  EXPECT_NE(output.find(path.substr(path.rfind('/') + 1)), std::string::npos)
      << output;
  EXPECT_NE(output.find("offset"), std::string::npos) << output;

  // A data dir in use by a live process refuses a second one.
  auto [locked_code, locked] = cluster_->RunForeground(0);
  EXPECT_EQ(locked_code, 1) << locked;
  EXPECT_NE(locked.find("is locked by another process"), std::string::npos)
      << locked;
}

// ---- Membership (etcdctl member ...) -------------------------------------------

class MembershipTest : public ClusterTest {
 protected:
  absl::StatusOr<etcdserverpb::MemberListResponse> Members(int i) const {
    return Through(i).Json<etcdserverpb::MemberListResponse>("member list");
  }

  // Member i's id as the member list through member `via` gives it.
  uint64_t IdOf(int i, int via) const {
    absl::StatusOr<etcdserverpb::MemberListResponse> list = Members(via);
    if (!list.ok()) return 0;
    for (const etcdserverpb::Member& m : list->members()) {
      for (const std::string& u : m.peerurls()) {
        if (u == absl::StrCat("http://127.0.0.1:",
                              cluster_->member(i).peer_port)) {
          return m.id();
        }
      }
    }
    return 0;
  }

  // The members in `among` serve the same data, with equal etcd HashKV.
  void ExpectConvergedAmong(const std::vector<int>& among) {
    const int ref = among[0];
    const bool same = Eventually([&] {
      for (int i : among) {
        if (Dump(i) != Dump(ref) || HashKV(i) != HashKV(ref)) return false;
      }
      return true;
    });
    EXPECT_TRUE(same);
    for (int i : among) {
      EXPECT_EQ(Dump(i), Dump(ref)) << "member " << i;
      EXPECT_EQ(HashKV(i), HashKV(ref)) << "member " << i;
      EXPECT_NE(HashKV(i).find("\"hash\":"), std::string::npos) << HashKV(i);
    }
  }

  // Puts through member `via`; a member that has not heard from the
  // leader yet (just started or restarted) refuses with "no leader", which
  // applied nothing, so the put is tried again.
  void PutKeys(int via, const std::string& prefix, int n) {
    for (int k = 0; k < n; ++k) {
      CommandResult put;
      Eventually(
          [&] {
            put = Through(via).Run(absl::StrCat("put ", prefix, k, " v", k));
            return put.exit_code == 0 ||
                   put.output.find("no leader") == std::string::npos;
          },
          10);
      ASSERT_EQ(put.exit_code, 0) << put.output << cluster_->LogTail(via);
    }
  }

  // `etcdctl member add` for the new member `i` (as a learner if asked).
  void AddThroughEtcdctl(int i, bool learner) {
    const Member& m = cluster_->member(i);
    CommandResult add = All().Run(absl::StrCat(
        "member add ", m.name, " --peer-urls=http://127.0.0.1:", m.peer_port,
        learner ? " --learner" : ""));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    EXPECT_NE(add.output.find("ETCD_INITIAL_CLUSTER_STATE=\"existing\""),
              std::string::npos)
        << add.output;
  }
};

// A member removed while it was down never applies its own removal; when it
// comes back, a peer tells it (etcd's 410 Gone), and it stops, exit 0.
TEST_F(MembershipTest, MemberRemovedWhileDownStopsWhenItComesBack) {
  StartCluster();
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok());
  for (int down = 0; down < 3; ++down) {
    if (down == *leader) continue;
    const uint64_t id = IdOf(down, *leader);
    ASSERT_NE(id, 0u);
    cluster_->Signal(down, SIGTERM);
    CommandResult r = Through(*leader).Run(
        absl::StrCat("member remove ", absl::Hex(id)));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    cluster_->MarkRemoved(down);
    ASSERT_TRUE(cluster_->Start(down).ok());
    std::string tail;
    ASSERT_TRUE(Eventually([&] {
      tail = cluster_->LogTail(down);
      return tail.find("ended unexpectedly") != std::string::npos;
    })) << tail;
    EXPECT_NE(tail.find("exit status 0"), std::string::npos) << tail;
    EXPECT_NE(tail.find("the member has been permanently removed from the "
                        "cluster"),
              std::string::npos)
        << tail;
    break;  // one follower is enough
  }
  // The rest carry on.
  CommandResult r = Through(*leader).Run("put still-here yes");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// etcdctl move-leader: the leader hands leadership to the member named,
// and a follower asked directly refuses.
TEST_F(MembershipTest, MoveLeaderToAChosenFollower) {
  StartCluster();
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok());
  const int target = (*leader + 1) % 3;
  const uint64_t target_id = IdOf(target, *leader);
  ASSERT_NE(target_id, 0u);
  CommandResult r =
      All().Run(absl::StrCat("move-leader ", absl::Hex(target_id)));
  ASSERT_EQ(r.exit_code, 0) << r.output << cluster_->LogTail(*leader);
  EXPECT_NE(r.output.find(absl::StrCat("Leadership transferred from ",
                                       absl::Hex(IdOf(*leader, target)),
                                       " to ", absl::Hex(target_id))),
            std::string::npos)
      << r.output;
  absl::StatusOr<int> now = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(*now, target);
  // Writes go on under the new leader.
  r = Through(*leader).Run("put after-move yes");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(MembershipTest, MemberListThroughEveryMember) {
  StartCluster();
  for (int i = 0; i < 3; ++i) {
    // Each member publishes its name and client URLs through the log.
    absl::StatusOr<etcdserverpb::MemberListResponse> list;
    ASSERT_TRUE(Eventually([&] {
      list = Members(i);
      if (!list.ok() || list->members_size() != 3) return false;
      for (const etcdserverpb::Member& m : list->members()) {
        if (m.clienturls_size() == 0) return false;
      }
      return true;
    })) << (list.ok() ? list->DebugString() : list.status().ToString());
    for (int j = 0; j < 3; ++j) {
      const Member& want = cluster_->member(j);
      bool found = false;
      for (const etcdserverpb::Member& m : list->members()) {
        if (m.name() != want.name) continue;
        found = true;
        EXPECT_NE(m.id(), 0u);
        EXPECT_FALSE(m.islearner());
        ASSERT_EQ(m.peerurls_size(), 1);
        EXPECT_EQ(m.peerurls(0),
                  absl::StrCat("http://127.0.0.1:", want.peer_port));
        ASSERT_EQ(m.clienturls_size(), 1);
        EXPECT_EQ(m.clienturls(0),
                  absl::StrCat("http://127.0.0.1:", want.client_port));
      }
      EXPECT_TRUE(found) << want.name << " through member " << i;
    }
    EXPECT_NE(list->header().cluster_id(), 0u);
  }
}

TEST_F(MembershipTest, AddedMemberJoinsAndServesTheData) {
  StartCluster();
  PutKeys(0, "before", 20);
  const int added = cluster_->AddMember();
  AddThroughEtcdctl(added, /*learner=*/false);
  ASSERT_TRUE(cluster_->Start(added).ok());
  // It joins the existing cluster (not a new one of its own) and catches up.
  ASSERT_TRUE(Eventually([&] {
    return Dump(added).find("before19") != std::string::npos;
  })) << cluster_->LogTail(added);
  PutKeys(added, "after", 5);  // it serves writes too
  ExpectConvergedAmong({0, 1, 2, added});
  absl::StatusOr<etcdserverpb::MemberListResponse> list;
  ASSERT_TRUE(Eventually([&] {
    list = Members(0);
    if (!list.ok() || list->members_size() != 4) return false;
    for (const etcdserverpb::Member& m : list->members()) {
      if (m.name() == cluster_->member(added).name) return true;
    }
    return false;
  })) << (list.ok() ? list->DebugString() : list.status().ToString());
  // Same cluster id everywhere, the new member included.
  auto status = Through(added).Json<etcdserverpb::RangeResponse>("get after0");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->header().cluster_id(), list->header().cluster_id());

  // Restarts keep the membership: the joined member with the same command
  // line (its data dir wins over --initial-cluster-state=existing), then
  // an original member, which must still list all four.
  cluster_->Signal(added, SIGTERM);
  PutKeys(0, "while_down", 3);
  ASSERT_TRUE(cluster_->Start(added).ok());
  ASSERT_TRUE(Eventually([&] {
    return Dump(added).find("while_down2") != std::string::npos;
  })) << cluster_->LogTail(added);
  cluster_->Signal(1, SIGTERM);
  ASSERT_TRUE(cluster_->Start(1).ok());
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<etcdserverpb::MemberListResponse> after = Members(1);
    return after.ok() && after->members_size() == 4;
  })) << cluster_->LogTail(1);
  // Once it hears from the leader again, it serves writes.
  ASSERT_TRUE(Eventually([&] {
    return Through(1).Run("put restarted yes").exit_code == 0;
  })) << cluster_->LogTail(1);
  ExpectConvergedAmong({0, 1, 2, added});
}

TEST_F(MembershipTest, LearnerAddedThenPromoted) {
  StartCluster();
  PutKeys(0, "k", 10);
  const int learner = cluster_->AddMember();
  AddThroughEtcdctl(learner, /*learner=*/true);
  ASSERT_TRUE(cluster_->Start(learner).ok());
  ASSERT_TRUE(Eventually([&] {
    return Dump(learner).find("k9") != std::string::npos;
  })) << cluster_->LogTail(learner);
  const uint64_t id = IdOf(learner, 0);
  ASSERT_NE(id, 0u);
  {
    absl::StatusOr<etcdserverpb::MemberListResponse> list = Members(0);
    ASSERT_TRUE(list.ok());
    for (const etcdserverpb::Member& m : list->members()) {
      EXPECT_EQ(m.islearner(), m.id() == id) << m.DebugString();
    }
  }
  // Promoting a voter is refused with etcd's words.
  CommandResult voter = All().Run(absl::StrCat(
      "member promote ", absl::Hex(IdOf(0, 0))));
  EXPECT_NE(voter.exit_code, 0);
  EXPECT_NE(voter.output.find("can only promote a learner member"),
            std::string::npos)
      << voter.output;
  // Asked through a follower, which hands it to the leader: the leader
  // checks that the learner is in sync, then promotes it.
  CommandResult promote;
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(5));
    if (!leader.ok()) return false;
    promote = Through((*leader + 1) % 3)
                  .Run(absl::StrCat("member promote ", absl::Hex(id)));
    return promote.exit_code == 0;
  })) << promote.output;
  absl::StatusOr<etcdserverpb::MemberListResponse> list;
  ASSERT_TRUE(Eventually([&] {
    list = Members(learner);
    if (!list.ok() || list->members_size() != 4) return false;
    for (const etcdserverpb::Member& m : list->members()) {
      if (m.islearner()) return false;
    }
    return true;
  })) << (list.ok() ? list->DebugString() : list.status().ToString());
  PutKeys(learner, "voter", 3);
  ExpectConvergedAmong({0, 1, 2, learner});
}

TEST_F(MembershipTest, RemoveAFollowerThenTheLeader) {
  StartCluster();
  PutKeys(0, "k", 10);
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok());
  const int follower = (*leader + 1) % 3;
  const int other = (*leader + 2) % 3;
  const uint64_t follower_id = IdOf(follower, *leader);
  ASSERT_NE(follower_id, 0u);

  CommandResult remove = Through(*leader).Run(
      absl::StrCat("member remove ", absl::Hex(follower_id)));
  ASSERT_EQ(remove.exit_code, 0) << remove.output;
  cluster_->MarkRemoved(follower);
  // The removed member stops by itself once it learns of its removal.
  EXPECT_TRUE(Eventually([&] { return !cluster_->Running(follower); }))
      << cluster_->LogTail(follower);
  EXPECT_NE(cluster_->LogTail(follower).find("permanently removed"),
            std::string::npos)
      << cluster_->LogTail(follower);
  PutKeys(*leader, "two", 5);
  ExpectConvergedAmong({*leader, other});

  // Now the leader removes itself: it steps down once the change applies
  // and the last member goes on alone.
  const uint64_t leader_id = IdOf(*leader, *leader);
  remove = Through(*leader).Run(
      absl::StrCat("member remove ", absl::Hex(leader_id)));
  ASSERT_EQ(remove.exit_code, 0) << remove.output;
  cluster_->MarkRemoved(*leader);
  EXPECT_TRUE(Eventually([&] { return !cluster_->Running(*leader); }))
      << cluster_->LogTail(*leader);
  absl::StatusOr<etcdserverpb::MemberListResponse> list;
  ASSERT_TRUE(Eventually([&] {
    list = Members(other);
    return list.ok() && list->members_size() == 1;
  })) << (list.ok() ? list->DebugString() : list.status().ToString());
  ASSERT_TRUE(Eventually([&] {
    return Through(other).Run("put alone yes").exit_code == 0;
  })) << cluster_->LogTail(other);
  const std::string dump = Dump(other);
  EXPECT_NE(dump.find("k9"), std::string::npos) << dump;
  EXPECT_NE(dump.find("two4"), std::string::npos) << dump;
  EXPECT_NE(HashKV(other).find("\"hash\":"), std::string::npos);
}

TEST_F(MembershipTest, UpdatedPeerUrlIsWherePeersFindTheMember) {
  StartCluster();
  PutKeys(0, "k", 5);
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok());
  const int moved = (*leader + 1) % 3;
  const uint64_t id = IdOf(moved, *leader);
  ASSERT_NE(id, 0u);
  const uint16_t port = FreePort();
  CommandResult update = Through(*leader).Run(absl::StrCat(
      "member update ", absl::Hex(id), " --peer-urls=http://127.0.0.1:", port));
  ASSERT_EQ(update.exit_code, 0) << update.output;
  // The member moves to the new port; the others reach it there (only the
  // replicated list knows it) and it catches up on what it missed.
  cluster_->Signal(moved, SIGTERM);
  cluster_->SetPeerPort(moved, port);
  PutKeys(*leader, "while_moving", 5);
  ASSERT_TRUE(cluster_->Start(moved).ok());
  ASSERT_TRUE(Eventually([&] {
    return Dump(moved).find("while_moving4") != std::string::npos;
  })) << cluster_->LogTail(moved);
  absl::StatusOr<etcdserverpb::MemberListResponse> list = Members(moved);
  ASSERT_TRUE(list.ok()) << list.status();
  bool found = false;
  for (const etcdserverpb::Member& m : list->members()) {
    if (m.id() != id) continue;
    found = true;
    ASSERT_EQ(m.peerurls_size(), 1);
    EXPECT_EQ(m.peerurls(0), absl::StrCat("http://127.0.0.1:", port));
  }
  EXPECT_TRUE(found);
  // The leader's transport follows the replicated list to the new URL.
  EXPECT_NE(cluster_->LogTail(*leader).find(
                absl::StrCat("url=http://127.0.0.1:", port)),
            std::string::npos)
      << cluster_->LogTail(*leader);
  ExpectConvergedAmong({0, 1, 2});
}

TEST_F(MembershipTest, RemovedMemberReplacedAtTheSameAddress) {
  StartCluster();
  PutKeys(0, "k", 5);
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok());
  const int replaced = (*leader + 1) % 3;
  const uint64_t old_id = IdOf(replaced, *leader);
  ASSERT_NE(old_id, 0u);
  CommandResult remove = Through(*leader).Run(
      absl::StrCat("member remove ", absl::Hex(old_id)));
  ASSERT_EQ(remove.exit_code, 0) << remove.output;
  cluster_->MarkRemoved(replaced);
  ASSERT_TRUE(Eventually([&] { return !cluster_->Running(replaced); }));
  PutKeys(*leader, "two", 3);
  // The operator's usual replacement: same URLs, an empty data dir, a new
  // member id (etcd mixes the time into it).
  absl::SleepFor(absl::Seconds(1));
  cluster_->Rejoin(replaced);
  AddThroughEtcdctl(replaced, /*learner=*/false);
  ASSERT_TRUE(cluster_->Start(replaced).ok());
  ASSERT_TRUE(Eventually([&] {
    return Dump(replaced).find("two2") != std::string::npos;
  })) << cluster_->LogTail(replaced);
  const uint64_t new_id = IdOf(replaced, *leader);
  EXPECT_NE(new_id, 0u);
  EXPECT_NE(new_id, old_id);
  PutKeys(replaced, "three", 2);
  ExpectConvergedAmong({0, 1, 2});
}

// etcdctl snapshot save: a backup of the member's state (server/rpc/
// backup.h): its snapshot body, the member list then a kv snapshot holding
// every key, under a SHA-256.
TEST_F(ClusterTest, SnapshotSaveWritesTheWholeStateWithItsDigest) {
  StartCluster();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(All().Run(absl::StrCat("put backup", i, " value", i)).exit_code,
              0);
  }
  const std::string path = TempRoot("backup") + "/backup.db";
  CommandResult r = Through(1).Run("snapshot save " + path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Snapshot saved at " + path), std::string::npos)
      << r.output;
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  absl::StatusOr<std::string> body = rpc::DecodeBackup(bytes.str());
  ASSERT_TRUE(body.ok()) << body.status();
  absl::StatusOr<server::SnapshotBody> decoded =
      server::DecodeSnapshotBody(*body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->members.has_value());
  EXPECT_EQ(decoded->members->members().size(), 3u);
  absl::StatusOr<kv::RestoredState> state =
      kv::RestoreSnapshot({std::string(decoded->kv)});
  ASSERT_TRUE(state.ok()) << state.status();
  for (int i = 0; i < 50; ++i) {
    etcdserverpb::RangeRequest get;
    get.set_key(absl::StrCat("backup", i));
    auto got = state->applier->store().Range(get);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->kvs_size(), 1) << i;
    EXPECT_EQ(got->kvs(0).value(), absl::StrCat("value", i));
  }
}

// etcd's disaster recovery: a backup of one cluster starts a new cluster
// (every member given the same file), which holds the old data under its
// own members, serves writes, and keeps its data over a restart (the flag
// is ignored once the data dir exists).
TEST_F(ClusterTest, BackupRestoresIntoANewCluster) {
  StartCluster();
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(All().Run(absl::StrCat("put old", i, " value", i)).exit_code, 0);
  }
  const std::string path = TempRoot("restore-backup") + "/backup.db";
  CommandResult r = Through(0).Run("snapshot save " + path);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  LocalCluster restored(Binary(), TempRoot("restored"), 3,
                        {"--restore-snapshot=" + path});
  ASSERT_TRUE(restored.StartAll().ok());
  ASSERT_TRUE(restored.WaitForLeader(absl::Seconds(20)).ok())
      << restored.LogTail(0);
  for (int i = 0; i < 3; ++i) {
    r = Etcdctl(restored.member(i).endpoint())
            .Run("get old --prefix --keys-only --consistency=s");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("old29"), std::string::npos)
        << "member " << i << ": " << r.output << restored.LogTail(i);
    EXPECT_NE(restored.LogTail(i).find("restored backup"), std::string::npos);
  }
  const Etcdctl all(restored.Endpoints());
  r = all.Run("get old7 --print-value-only");
  EXPECT_EQ(r.output, "value7\n");
  r = all.Run("put new yes");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The new cluster's members, not the old one's.
  auto members = all.Json<etcdserverpb::MemberListResponse>("member list");
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_EQ(members->members_size(), 3);
  for (const etcdserverpb::Member& m : members->members()) {
    ASSERT_EQ(m.peerurls_size(), 1);
    bool ours = false;
    for (int i = 0; i < 3; ++i) {
      ours |= m.peerurls(0) == absl::StrCat("http://127.0.0.1:",
                                            restored.member(i).peer_port);
    }
    EXPECT_TRUE(ours) << m.DebugString();
  }
  restored.Signal(1, SIGTERM);
  ASSERT_TRUE(restored.Start(1).ok());
  ASSERT_TRUE(Eventually([&] {
    CommandResult g = Etcdctl(restored.member(1).endpoint())
                          .Run("get new --print-value-only --consistency=s");
    return g.output == "yes\n";
  })) << restored.LogTail(1);
  EXPECT_NE(restored.LogTail(1).find("--restore-snapshot ignored"),
            std::string::npos);
}

// The operator's way out of a full space quota, as etcd documents it: the
// NOSPACE alarm is listed, deletes and a compaction free the space, defrag,
// alarm disarm, and writes are accepted again.
TEST(AlarmTest, NoSpaceAlarmListedFreedDefraggedAndDisarmed) {
  LocalCluster cluster(Binary(), TempRoot("nospace"), 1,
                       {"--quota-backend-bytes=200000"});
  ASSERT_TRUE(cluster.Start(0).ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(10)).ok())
      << cluster.LogTail(0);
  const Etcdctl etcdctl(cluster.member(0).endpoint());
  const std::string kFull = "etcdserver: mvcc: database space exceeded";
  CommandResult r = etcdctl.Run("alarm list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
  const std::string value(4096, 'v');
  int puts = 0;
  for (; puts < 200; ++puts) {
    r = etcdctl.Run(absl::StrCat("put big", puts, " ", value));
    if (r.exit_code != 0) break;
  }
  ASSERT_LT(puts, 200) << "the quota never filled";
  EXPECT_NE(r.output.find(kFull), std::string::npos) << r.output;
  r = etcdctl.Run("alarm list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("alarm:NOSPACE"), std::string::npos) << r.output;

  // Deletes pass; writes stay refused while the alarm is armed.
  r = etcdctl.Run("del big --prefix");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, absl::StrCat(puts, "\n"));
  r = etcdctl.Run("put small v");
  EXPECT_NE(r.output.find(kFull), std::string::npos) << r.output;

  auto status = etcdctl.Json<etcdserverpb::RangeResponse>("get small");
  ASSERT_TRUE(status.ok()) << status.status();
  r = etcdctl.Run(absl::StrCat("compact ", status->header().revision()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = etcdctl.Run("defrag");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Finished defragmenting etcd member"),
            std::string::npos)
      << r.output;
  r = etcdctl.Run("alarm disarm");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("alarm:NOSPACE"), std::string::npos) << r.output;
  r = etcdctl.Run("alarm list");
  EXPECT_EQ(r.output, "");
  r = etcdctl.Run("put small v");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "OK\n");
}

// etcd's --auth-token-ttl: a simple token lives on while it is used, and
// is refused once unused for longer than the TTL.
TEST(AuthTokenTest, UnusedTokenExpiresAfterTheTtl) {
  LocalCluster cluster(Binary(), TempRoot("token-ttl"), 1,
                       {"--auth-token-ttl=2", "--bcrypt-cost=4"});
  ASSERT_TRUE(cluster.Start(0).ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(10)).ok())
      << cluster.LogTail(0);
  const Etcdctl etcdctl(cluster.member(0).endpoint());
  for (const char* args :
       {"user add root:rootpw", "user grant-role root root", "auth enable"}) {
    CommandResult r = etcdctl.Run(args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.output;
  }
  auto channel = grpc::CreateChannel(cluster.member(0).endpoint(),
                                     grpc::InsecureChannelCredentials());
  auto auth = etcdserverpb::Auth::NewStub(channel);
  auto kv = etcdserverpb::KV::NewStub(channel);
  grpc::ClientContext login_context;
  etcdserverpb::AuthenticateRequest login;
  login.set_name("root");
  login.set_password("rootpw");
  etcdserverpb::AuthenticateResponse token;
  ASSERT_TRUE(auth->Authenticate(&login_context, login, &token).ok());
  auto range = [&] {
    grpc::ClientContext context;
    context.AddMetadata("token", token.token());
    etcdserverpb::RangeRequest request;
    request.set_key("foo");
    etcdserverpb::RangeResponse response;
    return kv->Range(&context, request, &response);
  };
  // Used every 1.2 s, it outlives its 2 s TTL.
  for (int i = 0; i < 3; ++i) {
    grpc::Status status = range();
    EXPECT_TRUE(status.ok()) << i << ": " << status.error_message();
    absl::SleepFor(absl::Milliseconds(1200));
  }
  EXPECT_TRUE(range().ok());
  // Unused for well over the TTL: gone.
  absl::SleepFor(absl::Seconds(5));
  grpc::Status status = range();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "etcdserver: invalid auth token");
}

TEST(ServerFlagsTest, ABadBackupIsOneClearLine) {
  const std::string root = TempRoot("bad-backup");
  std::ofstream(root + "/garbage.db") << std::string(600, 'x');
  struct Case {
    std::string file;
    std::string error;
  } cases[] = {
      {root + "/missing.db",
       "etcdpp: error: --restore-snapshot " + root +
           "/missing.db: No such file or directory\n"},
      {root + "/garbage.db",
       "etcdpp: error: --restore-snapshot " + root +
           "/garbage.db: backup of 600 bytes is not whole 512-byte blocks "
           "and a SHA-256\n"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand(absl::StrCat(
        Binary(), " --data-dir=", root, "/data --restore-snapshot=", c.file,
        " --listen-client-urls=http://127.0.0.1:", FreePort(),
        " --listen-peer-urls=http://127.0.0.1:", FreePort()));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(r.output, c.error);
  }
}

TEST(ServerFlagsTest, BadFlagIsOneClearLineAndExitOne) {
  CommandResult r = RunCommand(Binary() + " --snapshot-count=abc");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output,
            "etcdpp: error: invalid value \"abc\" for flag --snapshot-count: "
            "not an integer\n");
}

TEST(ServerFlagsTest, BusyClientPortIsAClearError) {
  const std::string root = TempRoot("busy");
  LocalCluster cluster(Binary(), root, 1);
  ASSERT_TRUE(cluster.Start(0).ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(10)).ok());
  const Member& m = cluster.member(0);
  CommandResult r = RunCommand(absl::StrCat(
      Binary(), " --data-dir=", root, "/other --listen-client-urls=http://127.0.0.1:",
      m.client_port, " --listen-peer-urls=http://127.0.0.1:", FreePort()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("Address already in use"), std::string::npos)
      << r.output;
}

}  // namespace
// ---- Leases (etcdctl lease ...) -------------------------------------------------

class LeaseTest : public MembershipTest {
 protected:
  // The hex id in etcdctl's "lease <id> granted with TTL(<n>s)".
  static std::string GrantedId(const std::string& output) {
    const size_t at = output.find("lease ");
    const size_t end = output.find(" granted");
    if (at != 0 || end == std::string::npos) return "";
    return output.substr(6, end - 6);
  }

  // Member i serves `key` (serializably, from its own state).
  bool Has(int i, const std::string& key) const {
    CommandResult r =
        Through(i).Run("get " + key + " --keys-only --consistency=s");
    return r.exit_code == 0 && r.output.find(key) != std::string::npos;
  }
};

TEST_F(LeaseTest, LeaseCommandsThroughFollowers) {
  StartCluster();
  const int leader = *cluster_->WaitForLeader(absl::Seconds(5));
  const int f1 = (leader + 1) % 3;
  const int f2 = (leader + 2) % 3;

  CommandResult grant = Through(f1).Run("lease grant 60");
  ASSERT_EQ(grant.exit_code, 0) << grant.output << cluster_->LogTail(f1);
  EXPECT_NE(grant.output.find("granted with TTL(60s)"), std::string::npos)
      << grant.output;
  const std::string id = GrantedId(grant.output);
  ASSERT_FALSE(id.empty()) << grant.output;

  CommandResult put = Through(f2).Run("put leased v --lease=" + id);
  ASSERT_EQ(put.exit_code, 0) << put.output;

  // Time-to-live needs the leader's expiry: the follower forwards it.
  CommandResult ttl = Through(f1).Run("lease timetolive " + id + " --keys");
  ASSERT_EQ(ttl.exit_code, 0) << ttl.output << cluster_->LogTail(f1);
  EXPECT_NE(ttl.output.find("granted with TTL(60s)"), std::string::npos)
      << ttl.output;
  EXPECT_NE(ttl.output.find("attached keys([leased])"), std::string::npos)
      << ttl.output;
  EXPECT_NE(ttl.output.find("remaining("), std::string::npos) << ttl.output;

  // Every member lists the lease from its own state.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Eventually([&] {
      CommandResult list = Through(i).Run("lease list");
      return list.output.find("found 1 leases") != std::string::npos &&
             list.output.find(id) != std::string::npos;
    }, 5)) << "member " << i << ": " << Through(i).Run("lease list").output;
  }

  // A keepalive through a follower is forwarded to the leader.
  for (int i : {f1, f2, leader}) {
    CommandResult keep = Through(i).Run("lease keep-alive --once " + id);
    EXPECT_EQ(keep.exit_code, 0) << keep.output << cluster_->LogTail(i);
    EXPECT_NE(keep.output.find("keepalived with TTL(60)"), std::string::npos)
        << "member " << i << ": " << keep.output;
  }
  // An unknown lease: the stream answers TTL 0, which etcdctl reports.
  CommandResult unknown = Through(f1).Run("lease keep-alive --once 1234abcd");
  EXPECT_NE(unknown.exit_code, 0) << unknown.output;
  EXPECT_NE(unknown.output.find("requested lease not found"), std::string::npos)
      << unknown.output;
  CommandResult unknown_ttl = Through(f2).Run("lease timetolive 1234abcd");
  EXPECT_EQ(unknown_ttl.exit_code, 0) << unknown_ttl.output;
  EXPECT_NE(unknown_ttl.output.find("already expired"), std::string::npos)
      << unknown_ttl.output;

  CommandResult too_large = Through(f1).Run("lease grant 9000000001");
  EXPECT_NE(too_large.exit_code, 0);
  EXPECT_NE(too_large.output.find("etcdserver: too large lease TTL"),
            std::string::npos)
      << too_large.output;

  CommandResult revoke = Through(f2).Run("lease revoke " + id);
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  EXPECT_NE(revoke.output.find("revoked"), std::string::npos) << revoke.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Eventually([&] { return !Has(i, "leased"); }, 5))
        << "member " << i << " still has the revoked lease's key";
    EXPECT_TRUE(Eventually([&] {
      return Through(i).Run("lease list").output.find("found 0 leases") !=
             std::string::npos;
    }, 5)) << "member " << i;
  }
  CommandResult again = Through(f1).Run("lease revoke " + id);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("etcdserver: requested lease not found"),
            std::string::npos)
      << again.output;
  ExpectConverged(leader);
}

// The keepalive stream itself, through gRPC: one stream to a follower
// answers request after request (forwarded to the leader), an unknown lease
// with TTL 0 without ending the stream.
TEST_F(LeaseTest, KeepAliveStreamThroughAFollower) {
  StartCluster();
  const int leader = *cluster_->WaitForLeader(absl::Seconds(5));
  const int f1 = (leader + 1) % 3;
  auto stub = etcdserverpb::Lease::NewStub(grpc::CreateChannel(
      cluster_->member(f1).endpoint(), grpc::InsecureChannelCredentials()));
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(30);
  etcdserverpb::LeaseGrantResponse granted;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->LeaseGrant(&context, grant, &granted).ok());
  }
  ASSERT_GT(granted.id(), 0);
  EXPECT_EQ(granted.ttl(), 30);

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  auto stream = stub->LeaseKeepAlive(&context);
  for (int round = 0; round < 3; ++round) {
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(granted.id());
    ASSERT_TRUE(stream->Write(request));
    etcdserverpb::LeaseKeepAliveResponse response;
    ASSERT_TRUE(stream->Read(&response)) << "round " << round;
    EXPECT_EQ(response.id(), granted.id());
    EXPECT_EQ(response.ttl(), 30);
    EXPECT_NE(response.header().revision(), 0);

    request.set_id(granted.id() + 1);  // no such lease
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response)) << "round " << round;
    EXPECT_EQ(response.id(), granted.id() + 1);
    EXPECT_EQ(response.ttl(), 0);
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // Time-to-live through the other follower, and the leases from each.
  etcdserverpb::LeaseTimeToLiveRequest ttl_request;
  ttl_request.set_id(granted.id());
  etcdserverpb::LeaseTimeToLiveResponse ttl;
  {
    auto other = etcdserverpb::Lease::NewStub(grpc::CreateChannel(
        cluster_->member((leader + 2) % 3).endpoint(),
        grpc::InsecureChannelCredentials()));
    grpc::ClientContext c;
    ASSERT_TRUE(other->LeaseTimeToLive(&c, ttl_request, &ttl).ok());
  }
  EXPECT_EQ(ttl.id(), granted.id());
  EXPECT_EQ(ttl.grantedttl(), 30);
  EXPECT_GT(ttl.ttl(), 25);
  EXPECT_LE(ttl.ttl(), 30);
}

TEST_F(LeaseTest, LeaseNotKeptAliveExpiresWithItsKeys) {
  StartCluster();
  const int leader = *cluster_->WaitForLeader(absl::Seconds(5));
  const int f1 = (leader + 1) % 3;
  const absl::Time granted = absl::Now();
  CommandResult grant = Through(f1).Run("lease grant 3");
  ASSERT_EQ(grant.exit_code, 0) << grant.output;
  const std::string id = GrantedId(grant.output);
  ASSERT_FALSE(id.empty()) << grant.output;
  ASSERT_EQ(Through(f1).Run("put short v --lease=" + id).exit_code, 0);
  // Not before its TTL...
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Eventually([&] { return Has(i, "short"); }, 1)) << i;
  }
  ASSERT_LT(absl::Now() - granted, absl::Seconds(3))
      << "too slow to check the key before the lease's TTL";
  // ...but gone everywhere within a bound.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Eventually([&] { return !Has(i, "short"); }, 10))
        << "member " << i << " still has the expired lease's key";
  }
  EXPECT_LT(absl::Now() - granted, absl::Seconds(12));
  EXPECT_GE(absl::Now() - granted, absl::Seconds(3));
  CommandResult ttl = Through(leader).Run("lease timetolive " + id);
  EXPECT_NE(ttl.output.find("already expired"), std::string::npos)
      << ttl.output;
}

TEST_F(LeaseTest, KeptAliveLeaseSurvivesKillOfTheLeader) {
  StartCluster();
  const int leader = *cluster_->WaitForLeader(absl::Seconds(5));
  const int f1 = (leader + 1) % 3;
  const int f2 = (leader + 2) % 3;
  CommandResult grant = Through(f1).Run("lease grant 4");
  ASSERT_EQ(grant.exit_code, 0) << grant.output;
  const std::string id = GrantedId(grant.output);
  ASSERT_FALSE(id.empty()) << grant.output;
  ASSERT_EQ(Through(f2).Run("put kept v --lease=" + id).exit_code, 0);

  // A client keeps the lease alive through the survivors, once a second.
  std::atomic<bool> stop{false};
  std::atomic<int> renewed{0};
  std::thread keeper([&] {
    for (int n = 0; !stop; ++n) {
      CommandResult r = Through(n % 2 == 0 ? f1 : f2)
                            .Run("lease keep-alive --once " + id);
      if (r.exit_code == 0) ++renewed;
      absl::SleepFor(absl::Milliseconds(700));
    }
  });
  absl::SleepFor(absl::Seconds(2));
  cluster_->Signal(leader, SIGKILL);
  // Well past the TTL, across the election.
  absl::SleepFor(absl::Seconds(10));
  const int renewed_before = renewed;
  absl::SleepFor(absl::Seconds(2));
  stop = true;
  keeper.join();
  EXPECT_GT(renewed, renewed_before) << "keepalives work after the election";
  for (int i : {f1, f2}) {
    EXPECT_TRUE(Has(i, "kept")) << "member " << i << cluster_->LogTail(i);
  }
  CommandResult ttl = Through(f1).Run("lease timetolive " + id);
  EXPECT_NE(ttl.output.find("remaining("), std::string::npos) << ttl.output;
  // The killed member comes back with the lease and its key.
  ASSERT_TRUE(cluster_->Start(leader).ok());
  EXPECT_TRUE(Eventually([&] { return Has(leader, "kept"); }))
      << cluster_->LogTail(leader);
}

}  // namespace etcdpp::tests
