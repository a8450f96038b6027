// The etcdpp server's command line: etcd's flag names and defaults.
//
// Each flag may also come from the environment as ETCDPP_<FLAG> (upper case,
// dashes as underscores: --data-dir is ETCDPP_DATA_DIR). A flag on the
// command line wins over the environment, as etcd's ETCD_* variables do.
// Both `--flag=value` and `--flag value` are accepted; booleans also as a
// bare `--flag`.
//
// Parsing is pure: the environment comes in as a map, and errors are
// absl::InvalidArgument naming the flag, so main prints one clear line.
#ifndef ETCDPP_SERVER_CONFIG_FLAGS_H_
#define ETCDPP_SERVER_CONFIG_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace etcdpp::config {

// A parsed http(s)://host:port URL. Hosts are IPv4 literals or "localhost".
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  uint16_t port = 0;

  std::string ToString() const;
  bool operator==(const Url&) const = default;
};

absl::StatusOr<Url> ParseUrl(const std::string& text);
// A comma-separated list of URLs; at least one.
absl::StatusOr<std::vector<Url>> ParseUrls(const std::string& text);

// One entry of --initial-cluster: name=peer-url (a name may repeat, one URL
// per entry, as etcd allows).
struct InitialMember {
  std::string name;
  std::vector<Url> peer_urls;
};

absl::StatusOr<std::vector<InitialMember>> ParseInitialCluster(
    const std::string& text);

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// One side's TLS files, as etcd's --cert-file, --key-file,
// --trusted-ca-file and --client-cert-auth (peers: the --peer-* flags).
// Paths only: parsing reads no files.
struct TlsFlags {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;
  // Callers must present a certificate signed by the trusted CA.
  bool client_cert_auth = false;

  bool empty() const { return cert_file.empty() && key_file.empty(); }
};

struct ServerFlags {
  std::string name = "default";
  std::string data_dir;  // default: <name>.etcdpp
  std::vector<Url> listen_client_urls;
  std::vector<Url> advertise_client_urls;
  // /metrics and /health (https ones with the client key pair).
  std::vector<Url> listen_metrics_urls;
  std::vector<Url> listen_peer_urls;
  std::vector<Url> initial_advertise_peer_urls;
  std::vector<InitialMember> initial_cluster;
  bool initial_cluster_new = true;  // --initial-cluster-state new|existing
  std::string initial_cluster_token = "etcd-cluster";
  uint64_t heartbeat_interval_ms = 100;
  uint64_t election_timeout_ms = 1000;
  uint64_t snapshot_count = 100000;
  int64_t quota_backend_bytes = 0;  // 0: the 2 GiB default
  uint64_t max_request_bytes = 1572864;
  uint64_t max_txn_ops = 128;
  // --bcrypt-cost: for hashing new user passwords; etcd's bounds 4..31.
  int bcrypt_cost = 10;
  // --restore-snapshot: a backup (etcdctl snapshot save) a new member's
  // data dir starts from; every member of the new cluster names the same
  // one. Ignored once the data dir exists. Needs --initial-cluster-state=new.
  std::string restore_snapshot;
  // --auth-token-ttl: how long a simple token stays valid without use.
  uint64_t auth_token_ttl_seconds = 300;
  std::string auto_compaction_mode = "periodic";
  std::string auto_compaction_retention = "0";
  // --auto-compaction-retention as parsed for the mode (both zero: off).
  // periodic: a bare number is hours, else a duration such as "30m".
  absl::Duration auto_compaction_period = absl::ZeroDuration();
  // revision: how many revisions to keep.
  int64_t auto_compaction_revisions = 0;
  // --experimental-watch-progress-notify-interval: how often watchers that
  // asked for progress_notify and got no events hear the revision.
  absl::Duration watch_progress_notify_interval = absl::Minutes(10);
  // Serves https:// client URLs; required when one is given.
  TlsFlags client_tls;
  // Secures every peer connection, served and dialed, when the peer URLs
  // are https:// (required then, unless --peer-auto-tls).
  TlsFlags peer_tls;
  // --auto-tls / --peer-auto-tls: https:// URLs without a key pair get a
  // self-signed one under <data-dir>/fixtures (net/self_signed.h).
  bool auto_tls = false;
  bool peer_auto_tls = false;
  LogLevel log_level = LogLevel::kInfo;
  bool help = false;
  bool version = false;
  // Things worth a log line that are not errors (unknown ETCDPP_* variables,
  // a flag that shadows its environment variable).
  std::vector<std::string> warnings;

  // The election timeout in heartbeat ticks (a tick is one heartbeat).
  int ElectionTicks() const {
    return static_cast<int>(election_timeout_ms / heartbeat_interval_ms);
  }
};

// Parses argv[1..] and the environment (ETCDPP_* entries are read).
absl::StatusOr<ServerFlags> ParseFlags(
    const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env);

// The --help text.
std::string Usage();

}  // namespace etcdpp::config

#endif  // ETCDPP_SERVER_CONFIG_FLAGS_H_
