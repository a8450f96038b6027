// End-to-end: etcd's Watch service on three real etcdpp processes, through
// Debian's etcdctl (watch, --prefix, --rev, --prev-kv, compaction) and
// through a grpc++ stream (cancel, progress, watch ids).
#include <signal.h>

#include <cstdlib>
#include <future>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/etcdctl.h"
#include "tests/local_cluster.h"

namespace etcdpp::tests {
namespace {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

// A Watch stream to `endpoint` opened as clientv3 opens one (no limit on
// received message size: a catch-up response may carry many events), ended
// by the server after `timeout`.
struct WatchStream {
  // require_leader: as clientv3's WithRequireLeader ("hasleader" metadata).
  WatchStream(const std::string& endpoint, absl::Duration timeout,
              bool require_leader = false) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    stub = etcdserverpb::Watch::NewStub(grpc::CreateCustomChannel(
        endpoint, grpc::InsecureChannelCredentials(), args));
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    if (require_leader) context.AddMetadata("hasleader", "true");
    stream = stub->Watch(&context);
  }
  std::unique_ptr<etcdserverpb::Watch::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<WatchRequest, WatchResponse>> stream;
};

class WatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string root = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/watch");
    RunCommand("rm -rf '" + root + "' && mkdir -p '" + root + "'");
    cluster_ = new LocalCluster(
        "server/etcdpp", root, 3,
        {"--experimental-watch-progress-notify-interval=300ms"});
    ASSERT_TRUE(cluster_->StartAll().ok());
    ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(20)).ok())
        << cluster_->LogTail(0);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  static Etcdctl Through(int i) {
    return Etcdctl(cluster_->member(i).endpoint());
  }

  // Runs `etcdctl watch <args>` against member i for `seconds`, in the
  // background; the future holds everything it printed.
  static std::future<std::string> WatchInBackground(int i, const std::string& args,
                                                    int seconds) {
    const std::string command = absl::StrCat(
        "ETCDCTL_API=3 timeout ", seconds, " /usr/bin/etcdctl --endpoints=",
        cluster_->member(i).endpoint(), " watch ", args);
    return std::async(std::launch::async,
                      [command] { return RunCommand(command).output; });
  }

  static void Put(int i, const std::string& key, const std::string& value) {
    CommandResult r = Through(i).Run(absl::StrCat("put ", key, " ", value));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  static int64_t Revision(int i) {
    absl::StatusOr<etcdserverpb::RangeResponse> r =
        Through(i).Json<etcdserverpb::RangeResponse>("get nothing-here");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->header().revision() : -1;
  }

  static LocalCluster* cluster_;
};

LocalCluster* WatchTest::cluster_ = nullptr;

TEST_F(WatchTest, SeesPutsAndDeletesThroughAnotherMemberInOrder) {
  // From the next revision: the events are the same however long etcdctl
  // takes to connect (it usually has, after the pause, so they come live).
  const int64_t from = Revision(0) + 1;
  std::future<std::string> watch =
      WatchInBackground(0, absl::StrCat("wk --rev=", from), 6);
  absl::SleepFor(absl::Milliseconds(1500));
  Put(1, "wk", "v1");
  Put(2, "other", "x");  // not watched
  Put(2, "wk", "v2");
  ASSERT_EQ(Through(1).Run("del wk").exit_code, 0);
  EXPECT_EQ(watch.get(), "PUT\nwk\nv1\nPUT\nwk\nv2\nDELETE\nwk\n\n");
}

TEST_F(WatchTest, Prefix) {
  const int64_t from = Revision(1) + 1;
  std::future<std::string> watch =
      WatchInBackground(1, absl::StrCat("--prefix pre/ --rev=", from), 6);
  absl::SleepFor(absl::Milliseconds(1500));
  Put(0, "pre/a", "1");
  Put(2, "prf", "no");
  Put(0, "pre/b", "2");
  ASSERT_EQ(Through(2).Run("del pre/ --prefix").exit_code, 0);
  EXPECT_EQ(watch.get(),
            "PUT\npre/a\n1\nPUT\npre/b\n2\nDELETE\npre/a\n\nDELETE\npre/b\n\n");
}

TEST_F(WatchTest, OldRevisionReplaysHistoryThenGoesOn) {
  Put(0, "hk", "h1");
  const int64_t first = Revision(0);
  Put(1, "hk", "h2");
  ASSERT_EQ(Through(2).Run("del hk").exit_code, 0);
  std::future<std::string> watch =
      WatchInBackground(2, absl::StrCat("hk --rev=", first), 5);
  absl::SleepFor(absl::Milliseconds(1500));
  Put(0, "hk", "h3");  // live, after the replay
  EXPECT_EQ(watch.get(), "PUT\nhk\nh1\nPUT\nhk\nh2\nDELETE\nhk\n\nPUT\nhk\nh3\n");
}

TEST_F(WatchTest, PrevKv) {
  Put(0, "pk", "old");
  const int64_t from = Revision(1) + 1;
  std::future<std::string> watch =
      WatchInBackground(1, absl::StrCat("pk --prev-kv --rev=", from), 5);
  absl::SleepFor(absl::Milliseconds(1500));
  Put(2, "pk", "new");
  ASSERT_EQ(Through(0).Run("del pk").exit_code, 0);
  // etcdctl prints the previous key-value before the event's.
  EXPECT_EQ(watch.get(), "PUT\npk\nold\npk\nnew\nDELETE\npk\nnew\npk\n\n");
}

// A grpc++ stream: watch ids chosen by the client and by the server, a
// duplicate id refused, progress requests, cancel.
TEST_F(WatchTest, GrpcCancelProgressAndIds) {
  WatchStream watch(cluster_->member(0).endpoint(), absl::Seconds(30));
  auto& stream = watch.stream;
  ASSERT_NE(stream, nullptr);

  auto create = [&](const std::string& key, int64_t id) {
    WatchRequest req;
    req.mutable_create_request()->set_key(key);
    req.mutable_create_request()->set_watch_id(id);
    ASSERT_TRUE(stream->Write(req));
  };
  auto next = [&] {
    WatchResponse r;
    EXPECT_TRUE(stream->Read(&r));
    return r;
  };

  create("gk", 7);
  WatchResponse r = next();
  EXPECT_TRUE(r.created());
  EXPECT_FALSE(r.canceled());
  EXPECT_EQ(r.watch_id(), 7);
  EXPECT_NE(r.header().cluster_id(), 0u);
  EXPECT_NE(r.header().member_id(), 0u);

  create("gk2", 7);  // in use
  r = next();
  EXPECT_TRUE(r.created());
  EXPECT_TRUE(r.canceled());
  EXPECT_EQ(r.watch_id(), -1);
  EXPECT_EQ(r.cancel_reason(),
            "mvcc: duplicate watch ID provided on the WatchStream");

  create("auto1", 0);  // the server picks: etcd's next free id from 0
  r = next();
  EXPECT_TRUE(r.created());
  EXPECT_EQ(r.watch_id(), 0);
  create("auto2", 0);
  r = next();
  EXPECT_EQ(r.watch_id(), 1);

  Put(1, "gk", "through-1");
  r = next();
  EXPECT_EQ(r.watch_id(), 7);
  ASSERT_EQ(r.events_size(), 1);
  EXPECT_EQ(r.events(0).kv().key(), "gk");
  EXPECT_EQ(r.events(0).kv().value(), "through-1");
  const int64_t put_revision = r.events(0).kv().mod_revision();
  EXPECT_GE(r.header().revision(), put_revision);

  // Progress: one response for the stream (id -1), at a revision that
  // covers the put.
  WatchRequest progress;
  progress.mutable_progress_request();
  ASSERT_TRUE(stream->Write(progress));
  r = next();
  EXPECT_EQ(r.watch_id(), -1);
  EXPECT_EQ(r.events_size(), 0);
  EXPECT_FALSE(r.created());
  EXPECT_FALSE(r.canceled());
  EXPECT_GE(r.header().revision(), put_revision);

  // Cancel: answered, and the watcher hears nothing more.
  WatchRequest cancel;
  cancel.mutable_cancel_request()->set_watch_id(7);
  ASSERT_TRUE(stream->Write(cancel));
  r = next();
  EXPECT_EQ(r.watch_id(), 7);
  EXPECT_TRUE(r.canceled());
  Put(2, "gk", "after-cancel");
  Put(2, "auto2", "seen");
  r = next();  // the put on gk, if delivered, would come first
  EXPECT_EQ(r.watch_id(), 1);
  ASSERT_EQ(r.events_size(), 1);
  EXPECT_EQ(r.events(0).kv().key(), "auto2");

  // The canceled id is free again.
  create("gk", 7);
  r = next();
  EXPECT_TRUE(r.created());
  EXPECT_FALSE(r.canceled());
  EXPECT_EQ(r.watch_id(), 7);

  // An empty range is refused with etcd's words.
  WatchRequest bad;
  bad.mutable_create_request()->set_key("b");
  bad.mutable_create_request()->set_range_end("a");
  ASSERT_TRUE(stream->Write(bad));
  r = next();
  EXPECT_TRUE(r.canceled());
  EXPECT_EQ(r.cancel_reason(), "mvcc: watcher range is empty");

  stream->WritesDone();
  while (stream->Read(&r)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

// progress_notify: an idle watcher hears the revision now and then (every
// --experimental-watch-progress-notify-interval); others do not.
TEST_F(WatchTest, ProgressNotifyToIdleWatchersThatAsked) {
  WatchStream watch(cluster_->member(2).endpoint(), absl::Seconds(30));
  auto& stream = watch.stream;
  WatchRequest req;
  req.mutable_create_request()->set_key("quiet");  // never written
  req.mutable_create_request()->set_watch_id(1);
  ASSERT_TRUE(stream->Write(req));
  req.mutable_create_request()->set_key("pn");
  req.mutable_create_request()->set_watch_id(2);
  req.mutable_create_request()->set_progress_notify(true);
  ASSERT_TRUE(stream->Write(req));
  WatchResponse r;
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_EQ(r.watch_id(), 1);
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_EQ(r.watch_id(), 2);
  Put(0, "other-key", "x");
  const int64_t revision = Revision(0);
  // Notifications go on while the watcher is idle; each covers the writes
  // before it, and only watcher 2 gets them.
  int64_t seen = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(stream->Read(&r));
    EXPECT_EQ(r.watch_id(), 2);
    EXPECT_EQ(r.events_size(), 0);
    EXPECT_FALSE(r.created() || r.canceled());
    seen = r.header().revision();
  }
  EXPECT_GE(seen, revision);
  watch.context.TryCancel();
}

// A client that reads nothing while thousands of changes go by: its events
// wait in the server's bounded buffers and catch up from the store; once it
// reads, it gets every one, in order, exactly once. Meanwhile writes go on.
TEST_F(WatchTest, SlowClientLosesNothing) {
  WatchStream watch(cluster_->member(1).endpoint(), absl::Seconds(120));
  auto& stream = watch.stream;
  auto kv_stub = etcdserverpb::KV::NewStub(grpc::CreateChannel(
      cluster_->member(0).endpoint(), grpc::InsecureChannelCredentials()));
  WatchRequest req;
  req.mutable_create_request()->set_key("slow/");
  req.mutable_create_request()->set_range_end("slow0");
  ASSERT_TRUE(stream->Write(req));
  WatchResponse r;
  ASSERT_TRUE(stream->Read(&r));
  ASSERT_TRUE(r.created());

  constexpr int kPuts = 3000;
  const std::string value(24 * 1024, 'v');  // 72 MB: far past gRPC's buffers
  int64_t first = 0;
  for (int i = 0; i < kPuts; ++i) {
    etcdserverpb::PutRequest put;
    put.set_key(absl::StrCat("slow/", i % 50));
    put.set_value(value);
    etcdserverpb::PutResponse response;
    grpc::ClientContext put_context;
    put_context.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status status = kv_stub->Put(&put_context, put, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (i == 0) first = response.header().revision();
  }
  int64_t next = first;
  while (next < first + kPuts) {
    if (!stream->Read(&r)) {
      FAIL() << "after revision " << next << ": "
             << stream->Finish().error_message();
    }
    for (const auto& e : r.events()) {
      ASSERT_EQ(e.kv().mod_revision(), next);
      ASSERT_EQ(e.kv().key(), absl::StrCat("slow/", (next - first) % 50));
      ++next;
    }
  }
  EXPECT_EQ(next, first + kPuts);
  watch.context.TryCancel();
}

// Last: it compacts the history the tests above replay.
TEST_F(WatchTest, WatchFromCompactedRevisionIsCanceled) {
  Put(0, "ck", "c1");
  const int64_t old = Revision(0);
  Put(0, "ck", "c2");
  const int64_t compact = Revision(0);
  ASSERT_EQ(Through(1).Run(absl::StrCat("compaction ", compact)).exit_code, 0);
  CommandResult r = RunCommand(absl::StrCat(
      "ETCDCTL_API=3 timeout 5 /usr/bin/etcdctl --endpoints=",
      cluster_->member(2).endpoint(), " watch ck --rev=", old, " -w json"));
  EXPECT_NE(r.output.find("required revision has been compacted"),
            std::string::npos)
      << r.output;
  // etcdctl's JSON printer uses clientv3's Go field names here.
  EXPECT_NE(r.output.find(absl::StrCat("\"CompactRevision\":", compact)),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("\"Canceled\":true"), std::string::npos) << r.output;
  // etcdctl gives up once the server canceled its watch.
  EXPECT_NE(r.exit_code, 124) << r.output;
}

// A member that falls so far behind that it catches up by a snapshot: its
// watchers carry on from the restored store, every event once and in order.
TEST(WatchSnapshotTest, WatchersSurviveARestoredSnapshot) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/watch-snapshot");
  RunCommand("rm -rf '" + root + "' && mkdir -p '" + root + "'");
  LocalCluster cluster("server/etcdpp", root, 3, {"--snapshot-count=20"});
  ASSERT_TRUE(cluster.StartAll().ok());
  absl::StatusOr<int> leader = cluster.WaitForLeader(absl::Seconds(20));
  ASSERT_TRUE(leader.ok());
  const int behind = (*leader + 1) % 3;

  WatchStream watch(cluster.member(behind).endpoint(), absl::Seconds(60));
  auto& stream = watch.stream;
  auto kv_stub = etcdserverpb::KV::NewStub(grpc::CreateChannel(
      cluster.member(*leader).endpoint(), grpc::InsecureChannelCredentials()));
  WatchRequest req;
  req.mutable_create_request()->set_key("snap/");
  req.mutable_create_request()->set_range_end("snap0");
  ASSERT_TRUE(stream->Write(req));
  WatchResponse r;
  ASSERT_TRUE(stream->Read(&r));
  ASSERT_TRUE(r.created());

  cluster.Signal(behind, SIGSTOP);
  constexpr int kPuts = 1500;
  int64_t first = 0;
  for (int i = 0; i < kPuts; ++i) {
    etcdserverpb::PutRequest put;
    put.set_key(absl::StrCat("snap/", i));
    put.set_value("x");
    etcdserverpb::PutResponse response;
    grpc::ClientContext put_context;
    put_context.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status status = kv_stub->Put(&put_context, put, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (i == 0) first = response.header().revision();
  }
  cluster.Signal(behind, SIGCONT);
  int64_t next = first;
  while (next < first + kPuts) {
    if (!stream->Read(&r)) {
      FAIL() << "after revision " << next << ": "
             << stream->Finish().error_message() << "\n"
             << cluster.LogTail(behind);
    }
    for (const auto& e : r.events()) {
      ASSERT_EQ(e.kv().mod_revision(), next);
      ASSERT_EQ(e.kv().key(), absl::StrCat("snap/", next - first));
      ++next;
    }
  }
  watch.context.TryCancel();
  EXPECT_EQ(RunCommand("grep -q 'restored received snapshot' '" +
                       cluster.member(behind).log_path + "'")
                .exit_code,
            0)
      << cluster.LogTail(behind);
}

// Kubernetes watches with clientv3's WithRequireLeader ("hasleader"
// metadata): on a member that lost its leader such a stream ends with
// "etcdserver: no leader" after three election timeouts, so the client
// reconnects to a member that has one, and a new one is refused at once.
// A stream that did not ask stays open.
TEST(WatchRequireLeaderTest, StreamsThatRequireALeaderEndWithoutOne) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/watch_require_leader");
  RunCommand("rm -rf '" + root + "' && mkdir -p '" + root + "'");
  LocalCluster cluster("server/etcdpp", root, 3);
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(20)).ok())
      << cluster.LogTail(0);
  const std::string endpoint = cluster.member(0).endpoint();
  WatchRequest create;
  create.mutable_create_request()->set_key("k");
  WatchResponse r;

  WatchStream required(endpoint, absl::Seconds(60), /*require_leader=*/true);
  WatchStream plain(endpoint, absl::Seconds(12));
  for (WatchStream* s : {&required, &plain}) {
    ASSERT_TRUE(s->stream->Write(create));
    ASSERT_TRUE(s->stream->Read(&r));
    ASSERT_TRUE(r.created());
  }

  cluster.Signal(1, SIGKILL);
  cluster.Signal(2, SIGKILL);
  const absl::Time lost = absl::Now();
  EXPECT_FALSE(required.stream->Read(&r)) << r.ShortDebugString();
  const grpc::Status ended = required.stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE)
      << ended.error_message();
  EXPECT_EQ(ended.error_message(), "etcdserver: no leader");
  // Three election timeouts (500 ms each here) after the leader went.
  EXPECT_LT(absl::Now() - lost, absl::Seconds(30));

  // A new stream that requires a leader is refused at once.
  WatchStream refused(endpoint, absl::Seconds(10), /*require_leader=*/true);
  (void)refused.stream->Write(create);
  EXPECT_FALSE(refused.stream->Read(&r));
  EXPECT_EQ(refused.stream->Finish().error_message(), "etcdserver: no leader");

  // The stream that did not ask is still open: it ends only at its
  // deadline.
  EXPECT_FALSE(plain.stream->Read(&r));
  EXPECT_EQ(plain.stream->Finish().error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
}

}  // namespace
}  // namespace etcdpp::tests
