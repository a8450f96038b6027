#include "server/config/flags.h"

#include "gtest/gtest.h"

namespace etcdpp::config {
namespace {

absl::StatusOr<ServerFlags> Parse(std::vector<std::string> args,
                                  std::map<std::string, std::string> env = {}) {
  return ParseFlags(args, env);
}

TEST(FlagsTest, NoFlagsIsASingleMemberClusterOnLocalhost) {
  absl::StatusOr<ServerFlags> f = Parse({});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->name, "default");
  EXPECT_EQ(f->data_dir, "default.etcdpp");
  ASSERT_EQ(f->listen_client_urls.size(), 1u);
  EXPECT_EQ(f->listen_client_urls[0].ToString(), "http://localhost:2379");
  EXPECT_EQ(f->listen_peer_urls[0].port, 2380);
  ASSERT_EQ(f->initial_cluster.size(), 1u);
  EXPECT_EQ(f->initial_cluster[0].name, "default");
  EXPECT_EQ(f->initial_cluster[0].peer_urls[0].ToString(),
            "http://localhost:2380");
  EXPECT_TRUE(f->initial_cluster_new);
  EXPECT_EQ(f->initial_cluster_token, "etcd-cluster");
  EXPECT_EQ(f->heartbeat_interval_ms, 100u);
  EXPECT_EQ(f->election_timeout_ms, 1000u);
  EXPECT_EQ(f->ElectionTicks(), 10);
  EXPECT_EQ(f->snapshot_count, 100000u);
  EXPECT_EQ(f->max_request_bytes, 1572864u);
  EXPECT_EQ(f->max_txn_ops, 128u);
  EXPECT_EQ(f->bcrypt_cost, 10);
  EXPECT_EQ(f->auto_compaction_mode, "periodic");
  EXPECT_TRUE(f->listen_metrics_urls.empty());
}

TEST(FlagsTest, ListenMetricsUrls) {
  absl::StatusOr<ServerFlags> f = Parse(
      {"--listen-metrics-urls=http://127.0.0.1:2381,http://10.0.0.1:2381"});
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->listen_metrics_urls.size(), 2u);
  EXPECT_EQ(f->listen_metrics_urls[1].ToString(), "http://10.0.0.1:2381");

  f = Parse({"--listen-metrics-urls=nope"});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("--listen-metrics-urls"),
            std::string::npos)
      << f.status();
  // An https one needs the client key pair, as for client URLs.
  f = Parse({"--listen-metrics-urls=https://127.0.0.1:2381"});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("https://127.0.0.1:2381"),
            std::string::npos)
      << f.status();
}

TEST(FlagsTest, ThreeMemberClusterBothSyntaxes) {
  absl::StatusOr<ServerFlags> f = Parse({
      "--name", "infra1",
      "--initial-advertise-peer-urls=http://127.0.0.1:12380",
      "--listen-peer-urls", "http://127.0.0.1:12380",
      "--listen-client-urls=http://127.0.0.1:2379,http://127.0.0.1:22379",
      "--initial-cluster",
      "infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380,"
      "infra3=http://127.0.0.1:32380",
      "--initial-cluster-state=existing",
      "--initial-cluster-token", "tok",
  });
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->data_dir, "infra1.etcdpp");
  EXPECT_EQ(f->listen_client_urls.size(), 2u);
  EXPECT_EQ(f->initial_cluster.size(), 3u);
  EXPECT_EQ(f->initial_cluster[2].name, "infra3");
  EXPECT_EQ(f->initial_cluster[2].peer_urls[0].port, 32380);
  EXPECT_FALSE(f->initial_cluster_new);
  EXPECT_EQ(f->initial_cluster_token, "tok");
}

TEST(FlagsTest, EnvironmentFillsFlagsAndTheCommandLineWins) {
  absl::StatusOr<ServerFlags> f =
      Parse({"--snapshot-count=5"}, {{"ETCDPP_DATA_DIR", "/var/lib/x"},
                                     {"ETCDPP_SNAPSHOT_COUNT", "7"},
                                     {"ETCDPP_BOGUS", "1"},
                                     {"PATH", "/bin"}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->data_dir, "/var/lib/x");
  EXPECT_EQ(f->snapshot_count, 5u);
  ASSERT_EQ(f->warnings.size(), 2u);
  EXPECT_EQ(f->warnings[0], "unrecognized environment variable ETCDPP_BOGUS");
  EXPECT_EQ(f->warnings[1], "flag --snapshot-count shadows ETCDPP_SNAPSHOT_COUNT");
}

TEST(FlagsTest, BooleanFlagsTakeNoValue) {
  absl::StatusOr<ServerFlags> f = Parse({"--version"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->version);
  EXPECT_TRUE(Parse({"--help=true"})->help);
}

struct BadCase {
  std::vector<std::string> args;
  std::string error;
};

TEST(FlagsTest, BadInputNamesWhatIsWrong) {
  const BadCase kCases[] = {
      {{"--bogus=1"}, "unknown flag --bogus"},
      {{"--name"}, "flag --name needs a value"},
      {{"positional"}, "unexpected argument \"positional\""},
      {{"--snapshot-count=abc"},
       "invalid value \"abc\" for flag --snapshot-count: not an integer"},
      {{"--snapshot-count=0"}, "--snapshot-count"},
      {{"--heartbeat-interval=100", "--election-timeout=200"},
       "should be at least as 5 times as --heartbeat-interval"},
      {{"--election-timeout=60000"}, "less than 50000ms"},
      {{"--listen-client-urls=localhost:2379"},
       "must start with http:// or https://"},
      {{"--listen-client-urls=http://localhost"}, "needs a host and a port"},
      {{"--listen-client-urls=http://localhost:99999"}, "bad port"},
      {{"--initial-cluster-state=old"}, "want 'new' or 'existing'"},
      {{"--initial-cluster=a=http://127.0.0.1:1"},
       "couldn't find local name \"default\""},
      {{"--initial-cluster=default"}, "is not name=url"},
      {{"--initial-cluster=default=http://127.0.0.1:1"},
       "--initial-advertise-peer-urls has http://localhost:2380"},
      {{"--log-level=loud"}, "want debug, info, warn or error"},
      {{"--auto-compaction-mode=sometimes"}, "want 'periodic' or 'revision'"},
      {{"--quota-backend-bytes=-1"}, "must not be negative"},
      {{"--bcrypt-cost=3"},
       "invalid value \"3\" for flag --bcrypt-cost: must be between 4 and 31"},
      {{"--bcrypt-cost=32"}, "--bcrypt-cost: must be between 4 and 31"},
      {{"--auto-compaction-retention=soon"}, "want hours (e.g. 1)"},
      {{"--auto-compaction-retention=-5m"}, "must not be negative"},
      {{"--auto-compaction-mode=revision", "--auto-compaction-retention=1h"},
       "want a number of revisions"},
      {{"--listen-client-urls=https://127.0.0.1:2379"},
       "TLS key/cert (--cert-file, --key-file) must be provided for client "
       "url https://127.0.0.1:2379 with HTTPS scheme"},
      {{"--advertise-client-urls=https://127.0.0.1:2379"},
       "must be provided for client url https://127.0.0.1:2379"},
      {{"--auth-token=jwt,pub-key=a.pub"}, "only 'simple' tokens"},
      {{"--auth-token-ttl=0"}, "--auth-token-ttl: must be positive"},
      {{"--restore-snapshot=b.db", "--initial-cluster-state=existing"},
       "--restore-snapshot starts a new cluster"},
      {{"--cert-file=server.crt"},
       "--cert-file and --key-file must be given together"},
      {{"--cert-file=s.crt", "--key-file=s.key", "--client-cert-auth"},
       "--client-cert-auth needs --trusted-ca-file"},
      {{"--client-cert-auth=maybe"}, "want true or false"},
      {{"--listen-peer-urls=https://127.0.0.1:2380"},
       "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided "
       "for peer url https://127.0.0.1:2380 with HTTPS scheme"},
      {{"--peer-key-file=p.key"},
       "--peer-cert-file and --peer-key-file must be given together"},
      {{"--peer-cert-file=p.crt", "--peer-key-file=p.key",
        "--peer-client-cert-auth"},
       "--peer-client-cert-auth needs --peer-trusted-ca-file"},
      {{"--peer-cert-file=p.crt", "--peer-key-file=p.key",
        "--listen-peer-urls=https://127.0.0.1:2380"},
       "peer urls mix schemes (https://127.0.0.1:2380 and "
       "http://localhost:2380)"},
  };
  for (const BadCase& c : kCases) {
    absl::StatusOr<ServerFlags> f = Parse(c.args);
    ASSERT_FALSE(f.ok()) << c.args[0];
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(f.status().message().find(c.error), std::string::npos)
        << f.status() << " should contain: " << c.error;
  }
}

TEST(FlagsTest, AutoCompactionRetentionAsEtcdReadsIt) {
  absl::StatusOr<ServerFlags> f = Parse({"--auto-compaction-retention=2"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->auto_compaction_period, absl::Hours(2));  // a number: hours
  f = Parse({"--auto-compaction-retention=30m"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->auto_compaction_period, absl::Minutes(30));
  f = Parse({"--auto-compaction-retention=1000",
             "--auto-compaction-mode=revision"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->auto_compaction_revisions, 1000);
  EXPECT_EQ(f->auto_compaction_period, absl::ZeroDuration());
  f = Parse({});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->auto_compaction_period, absl::ZeroDuration());
  EXPECT_EQ(f->auto_compaction_revisions, 0);
}

TEST(FlagsTest, TlsFlags) {
  absl::StatusOr<ServerFlags> f =
      Parse({"--listen-client-urls=https://127.0.0.1:2379,http://127.0.0.1:2381",
             "--advertise-client-urls=https://127.0.0.1:2379",
             "--cert-file=/pki/server.crt", "--key-file", "/pki/server.key",
             "--trusted-ca-file=/pki/ca.crt", "--client-cert-auth"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->client_tls.cert_file, "/pki/server.crt");
  EXPECT_EQ(f->client_tls.key_file, "/pki/server.key");
  EXPECT_EQ(f->client_tls.trusted_ca_file, "/pki/ca.crt");
  EXPECT_TRUE(f->client_tls.client_cert_auth);
  EXPECT_EQ(f->listen_client_urls[0].scheme, "https");
  EXPECT_EQ(f->listen_client_urls[1].scheme, "http");
  EXPECT_TRUE(f->peer_tls.empty());

  f = Parse({"--listen-peer-urls=https://127.0.0.1:2380",
             "--initial-advertise-peer-urls=https://127.0.0.1:2380",
             "--peer-cert-file=/pki/peer.crt", "--peer-key-file=/pki/peer.key",
             "--peer-trusted-ca-file=/pki/ca.crt", "--peer-client-cert-auth"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->peer_tls.cert_file, "/pki/peer.crt");
  EXPECT_EQ(f->peer_tls.key_file, "/pki/peer.key");
  EXPECT_EQ(f->peer_tls.trusted_ca_file, "/pki/ca.crt");
  EXPECT_TRUE(f->peer_tls.client_cert_auth);
  EXPECT_TRUE(f->client_tls.empty());

  f = Parse({"--listen-client-urls=https://127.0.0.1:2379",
             "--advertise-client-urls=https://127.0.0.1:2379", "--auto-tls",
             "--listen-peer-urls=https://127.0.0.1:2380",
             "--initial-advertise-peer-urls=https://127.0.0.1:2380",
             "--peer-auto-tls"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->auto_tls);
  EXPECT_TRUE(f->peer_auto_tls);

  f = Parse({});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->client_tls.empty());
  EXPECT_FALSE(f->client_tls.client_cert_auth);
}

TEST(FlagsTest, UsageListsEveryFlagWithItsDefault) {
  const std::string usage = Usage();
  EXPECT_NE(usage.find("--data-dir '${name}.etcdpp'"), std::string::npos);
  EXPECT_NE(usage.find("--max-txn-ops '128'"), std::string::npos);
  EXPECT_NE(usage.find("ETCDPP_DATA_DIR"), std::string::npos);
}

}  // namespace
}  // namespace etcdpp::config
