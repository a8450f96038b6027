// End-to-end: etcd's HTTP endpoints on real etcdpp processes, through curl:
// /health, /version and /metrics on the client port (shared with gRPC) and
// on --listen-metrics-urls, the JSON gateway's /v3/... routes (unary and the
// watch stream), and the gateway's answers compared with Debian's real etcd
// for the same requests.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/etcdctl.h"
#include "tests/local_cluster.h"

namespace etcdpp::tests {
namespace {

struct HttpResult {
  int status = 0;
  std::string body;
};

// curl to `url`; a POST with `body` unless it is empty. `extra`: more curl
// options.
HttpResult Curl(const std::string& url, const std::string& body = "",
                const std::string& extra = "") {
  std::string command = "curl -s -m 10 -w '\\n%{http_code}' " + extra;
  if (!body.empty()) command += " -X POST --data-binary @-";
  command += " '" + url + "'";
  const CommandResult r = RunCommand(command, body);
  HttpResult out;
  const size_t nl = r.output.rfind('\n');
  if (nl == std::string::npos) return out;
  out.status = std::atoi(r.output.c_str() + nl + 1);
  out.body = r.output.substr(0, nl);
  return out;
}

std::string B64(const std::string& s) { return absl::Base64Escape(s); }

std::string Root(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  RunCommand("rm -rf '" + root + "' && mkdir -p '" + root + "'");
  return root;
}

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    metrics_port_ = FreePort();
    cluster_ = new LocalCluster(
        "server/etcdpp", Root("http"), 1,
        {absl::StrCat("--listen-metrics-urls=http://127.0.0.1:",
                      metrics_port_)});
    ASSERT_TRUE(cluster_->StartAll().ok());
    ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(20)).ok())
        << cluster_->LogTail(0);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static std::string Url(const std::string& path) {
    return absl::StrCat("http://127.0.0.1:", cluster_->member(0).client_port,
                        path);
  }

  static LocalCluster* cluster_;
  static uint16_t metrics_port_;
};
LocalCluster* HttpTest::cluster_ = nullptr;
uint16_t HttpTest::metrics_port_ = 0;

TEST_F(HttpTest, HealthVersionAndMetricsOnTheClientPort) {
  HttpResult r = Curl(Url("/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"health":"true","reason":""})");
  r = Curl(Url("/health?serializable=true&exclude=NOSPACE"));
  EXPECT_EQ(r.status, 200) << r.body;
  r = Curl(Url("/version"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"etcdserver":"3.5.0","etcdcluster":"3.5.0"})");
  r = Curl(Url("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.body, "\netcd_server_has_leader 1\n"))
      << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\netcd_server_is_leader 1\n"));
  EXPECT_TRUE(
      absl::StrContains(r.body, "# TYPE process_resident_memory_bytes gauge"));
  // Counted as the member ran: its own election, the WAL's fsyncs and the
  // etcdctl calls of the suite's setup (endpoint status).
  EXPECT_TRUE(
      absl::StrContains(r.body, "\netcd_server_leader_changes_seen_total 1\n"))
      << r.body;
  std::smatch fsyncs;
  ASSERT_TRUE(std::regex_search(
      r.body, fsyncs,
      std::regex(R"re(\netcd_disk_wal_fsync_duration_seconds_count (\d+)\n)re")))
      << r.body;
  EXPECT_GT(std::stoi(fsyncs[1].str()), 0);
  EXPECT_TRUE(absl::StrContains(
      r.body,
      "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Status\","
      "grpc_service=\"etcdserverpb.Maintenance\",grpc_type=\"unary\"}"))
      << r.body;
  EXPECT_EQ(Curl(Url("/nope")).status, 404);
  // etcd's CORS headers, and a preflight answered.
  const CommandResult options =
      RunCommand("curl -s -i -X OPTIONS '" + Url("/v3/kv/range") + "'");
  EXPECT_TRUE(absl::StartsWith(options.output, "HTTP/1.1 200 OK\r\n"))
      << options.output;
  EXPECT_TRUE(absl::StrContains(options.output,
                                "Access-Control-Allow-Origin: *\r\n"))
      << options.output;
  const CommandResult version =
      RunCommand("curl -s -i '" + Url("/version") + "'");
  EXPECT_TRUE(absl::StrContains(
      version.output,
      "Access-Control-Allow-Headers: accept, content-type, authorization"))
      << version.output;
  EXPECT_EQ(Curl(Url("/health"), "{}").status, 405);
  // gRPC still works on the same port.
  const CommandResult put =
      Etcdctl(cluster_->member(0).endpoint()).Run("put shared port");
  EXPECT_EQ(put.exit_code, 0) << put.output;
}

TEST_F(HttpTest, MetricsUrlServesMetricsAndHealthOnly) {
  const std::string base = absl::StrCat("http://127.0.0.1:", metrics_port_);
  HttpResult r = Curl(base + "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.body, "etcd_server_has_leader 1")) << r.body;
  r = Curl(base + "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"health":"true","reason":""})");
  EXPECT_EQ(Curl(base + "/version").status, 404);
  EXPECT_EQ(Curl(base + "/v3/kv/range", R"({"key":"YQ=="})").status, 404);
}

TEST_F(HttpTest, GatewayKvLeaseAndErrors) {
  HttpResult r = Curl(Url("/v3/kv/put"),
                      absl::StrCat(R"({"key":")", B64("gw/a"), R"(","value":")",
                                   B64("1"), R"("})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("header":{"cluster_id":")"))
      << r.body;
  r = Curl(Url("/v3/kv/range"),
           absl::StrCat(R"({"key":")", B64("gw/a"), R"("})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(
      r.body, absl::StrCat(R"("kvs":[{"key":")", B64("gw/a"))))
      << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, absl::StrCat(R"("value":")", B64("1"))))
      << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("count":"1")")) << r.body;
  // The key was written through the gateway; etcdctl reads it over gRPC.
  const CommandResult get = Etcdctl(cluster_->member(0).endpoint())
                                .Run("get gw/a --print-value-only");
  EXPECT_EQ(get.output, "1\n");

  r = Curl(Url("/v3/kv/range"), "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":"etcdserver: key is not provided",)"
                    R"("message":"etcdserver: key is not provided","code":3})");
  r = Curl(Url("/v3/kv/range"), R"({"key":)");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("code":3)")) << r.body;
  EXPECT_EQ(Curl(Url("/v3/kv/range")).status, 405);  // a GET

  r = Curl(Url("/v3/lease/grant"), R"({"TTL":"30","ID":"4242"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("ID":"4242","TTL":"30")")) << r.body;
  r = Curl(Url("/v3/lease/timetolive"), R"({"ID":"4242"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("grantedTTL":"30")")) << r.body;
  r = Curl(Url("/v3/lease/keepalive"), R"({"ID":"4242"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"({"result":{"header")")) << r.body;
  r = Curl(Url("/v3/lease/revoke"), R"({"ID":"4242"})");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Curl(Url("/v3/lease/revoke"), R"({"ID":"4242"})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "requested lease not found")) << r.body;

  r = Curl(Url("/v3/cluster/member/list"), "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("name":"m0")")) << r.body;
  r = Curl(Url("/v3/maintenance/status"), "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("version":"3.5.0")")) << r.body;
}

TEST_F(HttpTest, GatewayLockAndElection) {
  HttpResult r = Curl(Url("/v3/lease/grant"), R"({"TTL":"30","ID":"99"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Curl(Url("/v3/lock/lock"),
           absl::StrCat(R"({"name":")", B64("gw-lock"), R"(","lease":"99"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.body, m, std::regex(R"re("key":"([^"]+)")re")))
      << r.body;
  std::string key;
  ASSERT_TRUE(absl::Base64Unescape(m[1].str(), &key));
  EXPECT_EQ(key, "gw-lock/63");  // the lease id in hex
  r = Curl(Url("/v3/lock/unlock"),
           absl::StrCat(R"({"key":")", m[1].str(), R"("})"));
  EXPECT_EQ(r.status, 200) << r.body;

  r = Curl(Url("/v3/election/campaign"),
           absl::StrCat(R"({"name":")", B64("gw-elect"), R"(","lease":"99",)",
                        R"("value":")", B64("me"), R"("})"));
  ASSERT_EQ(r.status, 200) << r.body;
  r = Curl(Url("/v3/election/leader"),
           absl::StrCat(R"({"name":")", B64("gw-elect"), R"("})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(
      absl::StrContains(r.body, absl::StrCat(R"("value":")", B64("me"))))
      << r.body;
  r = Curl(Url("/v3/election/leader"),
           absl::StrCat(R"({"name":")", B64("nobody"), R"("})"));
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "election: no leader")) << r.body;
}

TEST_F(HttpTest, GatewayWatchStreamsEvents) {
  // curl holds the stream open for 3 s; a put lands in the middle.
  const std::string command =
      absl::StrCat("curl -s -N -m 3 -X POST --data-binary '",
                   R"({"create_request":{"key":")", B64("gw/w"),
                   R"(","prev_kv":true}})", "' '", Url("/v3/watch"), "'");
  std::future<std::string> watch = std::async(
      std::launch::async, [command] { return RunCommand(command).output; });
  absl::SleepFor(absl::Seconds(1));
  HttpResult r = Curl(Url("/v3/kv/put"),
                      absl::StrCat(R"({"key":")", B64("gw/w"), R"(","value":")",
                                   B64("v"), R"("})"));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string out = watch.get();
  EXPECT_TRUE(absl::StrContains(out, R"({"result":{"header")")) << out;
  EXPECT_TRUE(absl::StrContains(out, R"("created":true)")) << out;
  EXPECT_TRUE(absl::StrContains(
      out, absl::StrCat(R"("events":[{"kv":{"key":")", B64("gw/w"))))
      << out;
}

TEST_F(HttpTest, GatewayAuthUsesTheAuthorizationHeader) {
  auto post = [](const std::string& path, const std::string& body,
                 const std::string& token = "") {
    return Curl(Url(path), body,
                token.empty() ? "" : "-H 'Authorization: " + token + "'");
  };
  ASSERT_EQ(
      post("/v3/auth/user/add", R"({"name":"root","password":"pw"})").status,
      200);
  ASSERT_EQ(
      post("/v3/auth/user/grant", R"({"user":"root","role":"root"})").status,
      200);
  ASSERT_EQ(post("/v3/auth/enable", "{}").status, 200);
  HttpResult r =
      post("/v3/auth/authenticate", R"({"name":"root","password":"pw"})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.body, m, std::regex(R"re("token":"([^"]+)")re")))
      << r.body;
  const std::string token = m[1];
  const std::string range = absl::StrCat(R"({"key":")", B64("gw/a"), R"("})");
  r = post("/v3/kv/range", range);
  EXPECT_NE(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "user name is empty")) << r.body;
  r = post("/v3/kv/range", range, token);
  EXPECT_EQ(r.status, 200) << r.body;
  // /health still answers: auth refusals do not make a member unhealthy.
  EXPECT_EQ(Curl(Url("/health")).status, 200);
  EXPECT_EQ(post("/v3/auth/disable", "{}", token).status, 200);
}

// A raw connection that never says anything on the shared port, and one
// that sends garbage, do not hurt the server.
TEST_F(HttpTest, SharedPortSurvivesJunk) {
  const std::string tcp =
      absl::StrCat("/dev/tcp/127.0.0.1/", cluster_->member(0).client_port);
  // Silent: holds a connection open without a byte, then leaves.
  RunCommand("timeout 1 bash -c 'exec 3<>" + tcp + "; sleep 2'; true");
  // Noisy: random bytes, and a half-sent gRPC preface.
  RunCommand("head -c 100000 /dev/urandom | timeout 3 bash -c 'cat > " + tcp +
             "'; true");
  RunCommand("printf 'PR' | timeout 1 bash -c 'cat > " + tcp + "'; true");
  EXPECT_EQ(Curl(Url("/health")).status, 200);
  const CommandResult get =
      Etcdctl(cluster_->member(0).endpoint()).Run("get gw/a");
  EXPECT_EQ(get.exit_code, 0) << get.output;
}

TEST(HttpHealthTest, NoLeaderIsUnhealthyUnlessSerializable) {
  LocalCluster cluster("server/etcdpp", Root("http_noleader"), 3);
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(20)).ok())
      << cluster.LogTail(0);
  const std::string health = absl::StrCat(
      "http://127.0.0.1:", cluster.member(0).client_port, "/health");
  EXPECT_EQ(Curl(health).status, 200);
  cluster.Signal(1, SIGKILL);
  cluster.Signal(2, SIGKILL);
  // Member 0 forgets its leader within a few election timeouts (before
  // that, its reads fail: "QGET ERROR:etcdserver: no leader").
  const std::string no_leader =
      R"({"health":"false","reason":"RAFT NO LEADER"})";
  HttpResult r;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    r = Curl(health);
    if (r.body == no_leader) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.body, no_leader);
  r = Curl(health + "?serializable=true");
  EXPECT_EQ(r.status, 200) << r.body;
}

// The same gateway requests against Debian's etcd (3.4) and etcdpp give the
// same statuses and bodies, once the top header's ids (which differ by
// cluster) are taken out.
TEST(HttpDifferentialTest, GatewayAnswersAsEtcdDoes) {
  if (access("/usr/bin/etcd", X_OK) != 0) {
    GTEST_FAIL() << "/usr/bin/etcd (Debian's etcd-server) is missing; "
                    "tools/setup.sh installs it";
  }
  const std::string root = Root("http_diff");
  const uint16_t etcd_client = FreePort(), etcd_peer = FreePort();
  const std::string etcd_url = absl::StrCat("http://127.0.0.1:", etcd_client);
  const std::string start = absl::StrCat(
      "cd '", root, "' && (/usr/bin/etcd --name ref --data-dir ref.etcd",
      " --listen-client-urls ", etcd_url, " --advertise-client-urls ", etcd_url,
      " --listen-peer-urls http://127.0.0.1:", etcd_peer,
      " --initial-advertise-peer-urls http://127.0.0.1:", etcd_peer,
      " --initial-cluster ref=http://127.0.0.1:", etcd_peer,
      " > ref.log 2>&1 & echo $! > ref.pid)");
  RunCommand(start);
  // Stops the reference server however the test ends.
  struct StopReference {
    std::string root;
    ~StopReference() { RunCommand("kill $(cat '" + root + "/ref.pid')"); }
  } stop_reference{root};
  LocalCluster cluster("server/etcdpp", root, 1);
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_TRUE(cluster.WaitForLeader(absl::Seconds(20)).ok());
  const std::string ours =
      absl::StrCat("http://127.0.0.1:", cluster.member(0).client_port);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (Curl(etcd_url + "/health").status != 200 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(Curl(etcd_url + "/health").status, 200)
      << RunCommand("tail -20 '" + root + "/ref.log'").output;

  const std::string a = B64("a"), b = B64("b"), c = B64("c");
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"/v3/kv/put",
       absl::StrCat(R"({"key":")", a, R"(","value":")", B64("1"), R"("})")},
      {"/v3/kv/put", absl::StrCat(R"({"key":")", b, R"(","value":")", B64("2"),
                                  R"(","prev_kv":true})")},
      {"/v3/kv/put", absl::StrCat(R"({"key":")", a, R"(","value":")", B64("3"),
                                  R"(","prev_kv":true})")},
      {"/v3/kv/range", absl::StrCat(R"({"key":")", a, R"("})")},
      {"/v3/kv/range",
       absl::StrCat(R"({"key":")", a, R"(","range_end":")", c, R"("})")},
      {"/v3/kv/range",
       absl::StrCat(R"({"key":")", a, R"(","range_end":")", c,
                    R"(","limit":"1","sort_order":"DESCEND"})")},
      {"/v3/kv/range", absl::StrCat(R"({"key":")", a, R"(","range_end":")", c,
                                    R"(","count_only":true})")},
      {"/v3/kv/range", absl::StrCat(R"({"key":")", a, R"(","revision":"2"})")},
      {"/v3/kv/range", absl::StrCat(R"({"key":")", a, R"(","revision":"99"})")},
      {"/v3/kv/range", "{}"},
      {"/v3/kv/txn",
       absl::StrCat(R"({"compare":[{"key":")", a,
                    R"(","result":"EQUAL","target":"VALUE","value":")",
                    B64("3"), R"("}],"success":[{"request_range":{"key":")", a,
                    R"("}},{"request_put":{"key":")", c, R"(","value":")",
                    B64("x"),
                    R"("}}],"failure":[{"request_delete_range":{"key":")", a,
                    R"("}}]})")},
      {"/v3/kv/txn",
       absl::StrCat(
           R"({"compare":[{"key":")", a,
           R"(","result":"GREATER","target":"MOD","mod_revision":"100"}],"failure":[{"request_delete_range":{"key":")",
           b, R"(","prev_kv":true}}]})")},
      {"/v3/kv/txn",
       absl::StrCat(R"({"success":[{"request_put":{"key":")", a,
                    R"("}},{"request_put":{"key":")", a, R"("}}]})")},
      {"/v3/kv/deleterange",
       absl::StrCat(R"({"key":")", a, R"(","range_end":")", B64("z"),
                    R"(","prev_kv":true})")},
      {"/v3/kv/compaction", R"({"revision":"3"})"},
      {"/v3/kv/range", absl::StrCat(R"({"key":")", a, R"(","revision":"2"})")},
      {"/v3/kv/compaction", R"({"revision":"99"})"},
      {"/v3/lease/grant", R"({"TTL":"60","ID":"777"})"},
      {"/v3/lease/grant", R"({"TTL":"60","ID":"777"})"},
      {"/v3/kv/put", absl::StrCat(R"({"key":")", a, R"(","value":")", B64("l"),
                                  R"(","lease":"777"})")},
      {"/v3/kv/put", absl::StrCat(R"({"key":")", a, R"(","lease":"778"})")},
      {"/v3/lease/leases", "{}"},
      {"/v3/lease/revoke", R"({"ID":"777"})"},
      {"/v3/kv/range", absl::StrCat(R"({"key":")", a, R"("})")},
      {"/v3/lease/revoke", R"({"ID":"777"})"},
  };
  // Bodies the JSON parsers refuse: the same status and code, in each
  // parser's own words.
  const std::vector<std::pair<std::string, std::string>> unparsable = {
      {"/v3/kv/put", R"({"key":"not base64!"})"},
      {"/v3/kv/range", R"({"key":)"},
      {"/v3/kv/range", R"({"key":"YQ==","limit":"many"})"},
  };
  // The top header's cluster and member ids and term differ by cluster.
  const std::regex ids(R"re("cluster_id":"\d+","member_id":"\d+",)re");
  const std::regex term(R"re(,"raft_term":"\d+")re");
  for (const auto& [path, body] : requests) {
    SCOPED_TRACE(path + " " + body);
    HttpResult want = Curl(etcd_url + path, body);
    HttpResult got = Curl(ours + path, body);
    EXPECT_EQ(got.status, want.status)
        << "etcd: " << want.body << "\nours: " << got.body;
    const std::string want_body =
        std::regex_replace(std::regex_replace(want.body, ids, ""), term, "");
    const std::string got_body =
        std::regex_replace(std::regex_replace(got.body, ids, ""), term, "");
    EXPECT_EQ(got_body, want_body);
  }
  const std::regex code(R"re("code":\d+)re");
  for (const auto& [path, body] : unparsable) {
    SCOPED_TRACE(path + " " + body);
    HttpResult want = Curl(etcd_url + path, body);
    HttpResult got = Curl(ours + path, body);
    EXPECT_EQ(got.status, want.status)
        << "etcd: " << want.body << "\nours: " << got.body;
    std::smatch want_code, got_code;
    ASSERT_TRUE(std::regex_search(want.body, want_code, code)) << want.body;
    ASSERT_TRUE(std::regex_search(got.body, got_code, code)) << got.body;
    EXPECT_EQ(got_code.str(), want_code.str());
  }
}

}  // namespace
}  // namespace etcdpp::tests
