#include "server/config/flags.h"

#include <algorithm>
#include <functional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace etcdpp::config {
namespace {

using Setter = std::function<absl::Status(const std::string& value,
                                          ServerFlags* flags)>;

struct FlagSpec {
  const char* name;
  const char* default_text;
  const char* help;
  bool boolean;
  Setter set;
};

absl::Status Invalid(const std::string& flag, const std::string& value,
                     const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", value, "\" for flag --", flag, ": ",
                   why));
}

template <typename Int>
Setter IntSetter(const char* flag, Int ServerFlags::*field) {
  return [flag, field](const std::string& v, ServerFlags* f) {
    Int n;
    if (!absl::SimpleAtoi(v, &n)) return Invalid(flag, v, "not an integer");
    f->*field = n;
    return absl::OkStatus();
  };
}

Setter StringSetter(std::string ServerFlags::*field) {
  return [field](const std::string& v, ServerFlags* f) {
    f->*field = v;
    return absl::OkStatus();
  };
}

Setter UrlsSetter(const char* flag, std::vector<Url> ServerFlags::*field) {
  return [flag, field](const std::string& v, ServerFlags* f) {
    absl::StatusOr<std::vector<Url>> urls = ParseUrls(v);
    if (!urls.ok()) return Invalid(flag, v, std::string(urls.status().message()));
    f->*field = *std::move(urls);
    return absl::OkStatus();
  };
}

Setter TlsSetter(std::string TlsFlags::*field, TlsFlags ServerFlags::*side) {
  return [field, side](const std::string& v, ServerFlags* f) {
    (f->*side).*field = v;
    return absl::OkStatus();
  };
}

absl::Status SetBool(const char* flag, const std::string& v, bool* out) {
  if (v == "true" || v == "1") {
    *out = true;
  } else if (v == "false" || v == "0") {
    *out = false;
  } else {
    return Invalid(flag, v, "want true or false");
  }
  return absl::OkStatus();
}

Setter BoolSetter(const char* flag, bool ServerFlags::*field) {
  return [flag, field](const std::string& v, ServerFlags* f) {
    return SetBool(flag, v, &(f->*field));
  };
}

const std::vector<FlagSpec>& Specs() {
  static const auto* specs = new std::vector<FlagSpec>{
      {"name", "default", "Human-readable name for this member.", false,
       StringSetter(&ServerFlags::name)},
      {"data-dir", "${name}.etcdpp", "Path to the data directory.", false,
       StringSetter(&ServerFlags::data_dir)},
      {"listen-client-urls", "http://localhost:2379",
       "List of URLs to listen on for client traffic.", false,
       UrlsSetter("listen-client-urls", &ServerFlags::listen_client_urls)},
      {"advertise-client-urls", "http://localhost:2379",
       "List of this member's client URLs to advertise to the public.", false,
       UrlsSetter("advertise-client-urls",
                  &ServerFlags::advertise_client_urls)},
      {"listen-metrics-urls", "",
       "List of URLs to listen on for the metrics and health endpoints.",
       false,
       [](const std::string& v, ServerFlags* f) {
         f->listen_metrics_urls.clear();
         if (v.empty()) return absl::OkStatus();
         return UrlsSetter("listen-metrics-urls",
                           &ServerFlags::listen_metrics_urls)(v, f);
       }},
      {"listen-peer-urls", "http://localhost:2380",
       "List of URLs to listen on for peer traffic.", false,
       UrlsSetter("listen-peer-urls", &ServerFlags::listen_peer_urls)},
      {"initial-advertise-peer-urls", "http://localhost:2380",
       "List of this member's peer URLs to advertise to the rest of the "
       "cluster.",
       false,
       UrlsSetter("initial-advertise-peer-urls",
                  &ServerFlags::initial_advertise_peer_urls)},
      {"initial-cluster", "${name}=${initial-advertise-peer-urls}",
       "Initial cluster configuration for bootstrapping.", false,
       [](const std::string& v, ServerFlags* f) {
         absl::StatusOr<std::vector<InitialMember>> members =
             ParseInitialCluster(v);
         if (!members.ok()) {
           return Invalid("initial-cluster", v,
                          std::string(members.status().message()));
         }
         f->initial_cluster = *std::move(members);
         return absl::OkStatus();
       }},
      {"initial-cluster-state", "new",
       "Initial cluster state ('new' or 'existing').", false,
       [](const std::string& v, ServerFlags* f) {
         if (v != "new" && v != "existing") {
           return Invalid("initial-cluster-state", v,
                          "want 'new' or 'existing'");
         }
         f->initial_cluster_new = v == "new";
         return absl::OkStatus();
       }},
      {"initial-cluster-token", "etcd-cluster",
       "Initial cluster token for the etcd cluster during bootstrap.", false,
       StringSetter(&ServerFlags::initial_cluster_token)},
      {"heartbeat-interval", "100",
       "Time (in milliseconds) of a heartbeat interval.", false,
       IntSetter("heartbeat-interval", &ServerFlags::heartbeat_interval_ms)},
      {"election-timeout", "1000",
       "Time (in milliseconds) for an election to timeout.", false,
       IntSetter("election-timeout", &ServerFlags::election_timeout_ms)},
      {"snapshot-count", "100000",
       "Number of committed transactions to trigger a snapshot to disk.",
       false, IntSetter("snapshot-count", &ServerFlags::snapshot_count)},
      {"quota-backend-bytes", "0",
       "Raise alarms when backend size exceeds the given quota (0 defaults "
       "to 2 GiB).",
       false,
       IntSetter("quota-backend-bytes", &ServerFlags::quota_backend_bytes)},
      {"max-request-bytes", "1572864",
       "Maximum client request size in bytes the server will accept.", false,
       IntSetter("max-request-bytes", &ServerFlags::max_request_bytes)},
      {"max-txn-ops", "128",
       "Maximum number of operations permitted in a transaction.", false,
       IntSetter("max-txn-ops", &ServerFlags::max_txn_ops)},
      {"restore-snapshot", "",
       "Start a new cluster from this backup (etcdctl snapshot save): every "
       "member names the same file; ignored once the data dir exists.",
       false, StringSetter(&ServerFlags::restore_snapshot)},
      {"auth-token", "simple",
       "Specify auth token type; only 'simple' is supported.", false,
       [](const std::string& v, ServerFlags*) {
         if (v != "simple") {
           return Invalid("auth-token", v,
                          "only 'simple' tokens are supported (no jwt)");
         }
         return absl::OkStatus();
       }},
      {"auth-token-ttl", "300",
       "The lifetime in seconds of the auth token.", false,
       IntSetter("auth-token-ttl", &ServerFlags::auth_token_ttl_seconds)},
      {"bcrypt-cost", "10",
       "Specify bcrypt algorithm cost factor for auth password hashing.", false,
       IntSetter("bcrypt-cost", &ServerFlags::bcrypt_cost)},
      {"auto-compaction-mode", "periodic",
       "Interpret 'auto-compaction-retention' as 'periodic' (hours or a "
       "duration) or 'revision'.",
       false,
       [](const std::string& v, ServerFlags* f) {
         if (v != "periodic" && v != "revision") {
           return Invalid("auto-compaction-mode", v,
                          "want 'periodic' or 'revision'");
         }
         f->auto_compaction_mode = v;
         return absl::OkStatus();
       }},
      {"auto-compaction-retention", "0",
       "Auto compaction retention for mvcc key value store; 0 means "
       "disabled.",
       false, StringSetter(&ServerFlags::auto_compaction_retention)},
      {"experimental-watch-progress-notify-interval", "10m",
       "Duration of periodic watch progress notifications.", false,
       [](const std::string& v, ServerFlags* f) {
         absl::Duration d;
         if (!absl::ParseDuration(v, &d) || d <= absl::ZeroDuration()) {
           return Invalid("experimental-watch-progress-notify-interval", v,
                          "want a positive duration (e.g. 10m, 500ms)");
         }
         f->watch_progress_notify_interval = d;
         return absl::OkStatus();
       }},
      {"cert-file", "", "Path to the client server TLS cert file.", false,
       TlsSetter(&TlsFlags::cert_file, &ServerFlags::client_tls)},
      {"key-file", "", "Path to the client server TLS key file.", false,
       TlsSetter(&TlsFlags::key_file, &ServerFlags::client_tls)},
      {"trusted-ca-file", "",
       "Path to the client server TLS trusted CA cert file.", false,
       TlsSetter(&TlsFlags::trusted_ca_file, &ServerFlags::client_tls)},
      {"client-cert-auth", "false",
       "Enable client cert authentication (needs --trusted-ca-file).", true,
       [](const std::string& v, ServerFlags* f) {
         return SetBool("client-cert-auth", v,
                        &f->client_tls.client_cert_auth);
       }},
      {"auto-tls", "false",
       "Client TLS using generated certificates.", true,
       BoolSetter("auto-tls", &ServerFlags::auto_tls)},
      {"peer-auto-tls", "false",
       "Peer TLS using generated certificates.", true,
       BoolSetter("peer-auto-tls", &ServerFlags::peer_auto_tls)},
      {"peer-cert-file", "",
       "Path to the peer server TLS cert file.",
       false, TlsSetter(&TlsFlags::cert_file, &ServerFlags::peer_tls)},
      {"peer-key-file", "",
       "Path to the peer server TLS key file.",
       false, TlsSetter(&TlsFlags::key_file, &ServerFlags::peer_tls)},
      {"peer-trusted-ca-file", "",
       "Path to the peer server TLS trusted CA file.",
       false, TlsSetter(&TlsFlags::trusted_ca_file, &ServerFlags::peer_tls)},
      {"peer-client-cert-auth", "false",
       "Enable peer client cert authentication (needs "
       "--peer-trusted-ca-file).",
       true,
       [](const std::string& v, ServerFlags* f) {
         return SetBool("peer-client-cert-auth", v,
                        &f->peer_tls.client_cert_auth);
       }},
      {"log-level", "info",
       "Configures log level: debug, info, warn, error.", false,
       [](const std::string& v, ServerFlags* f) {
         static const std::map<std::string, LogLevel> kLevels = {
             {"debug", LogLevel::kDebug},
             {"info", LogLevel::kInfo},
             {"warn", LogLevel::kWarn},
             {"error", LogLevel::kError}};
         auto it = kLevels.find(v);
         if (it == kLevels.end()) {
           return Invalid("log-level", v, "want debug, info, warn or error");
         }
         f->log_level = it->second;
         return absl::OkStatus();
       }},
      {"help", "false", "Show this help and exit.", true,
       BoolSetter("help", &ServerFlags::help)},
      {"version", "false", "Print the version and exit.", true,
       BoolSetter("version", &ServerFlags::version)},
  };
  return *specs;
}

const FlagSpec* FindSpec(absl::string_view name) {
  for (const FlagSpec& spec : Specs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string EnvName(absl::string_view flag) {
  return absl::StrCat("ETCDPP_", absl::AsciiStrToUpper(
                                     absl::StrReplaceAll(flag, {{"-", "_"}})));
}

// Collects flag values from the command line: name -> value.
absl::Status ReadArgs(const std::vector<std::string>& args,
                      std::map<std::string, std::string>* values) {
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", args[i],
                       "\": flags start with --"));
    }
    std::string name(arg);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    const FlagSpec* spec = FindSpec(name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value && spec->boolean) {
      value = "true";
    } else if (!has_value) {
      if (i + 1 == args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    (*values)[name] = value;
  }
  return absl::OkStatus();
}

absl::Status Validate(const ServerFlags& f) {
  if (f.name.empty()) return Invalid("name", "", "must not be empty");
  if (f.heartbeat_interval_ms == 0) {
    return Invalid("heartbeat-interval", "0", "must be positive");
  }
  if (f.election_timeout_ms < 5 * f.heartbeat_interval_ms) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--election-timeout[", f.election_timeout_ms,
        "ms] should be at least as 5 times as --heartbeat-interval[",
        f.heartbeat_interval_ms, "ms]"));
  }
  if (f.election_timeout_ms > 50000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--election-timeout[", f.election_timeout_ms,
        "ms] is too long, and should be set less than 50000ms"));
  }
  if (f.snapshot_count == 0) {
    return Invalid("snapshot-count", "0", "must be positive");
  }
  if (f.quota_backend_bytes < 0) {
    return Invalid("quota-backend-bytes", std::to_string(f.quota_backend_bytes),
                   "must not be negative");
  }
  if (f.max_txn_ops == 0) return Invalid("max-txn-ops", "0", "must be positive");
  if (f.max_request_bytes == 0) {
    return Invalid("max-request-bytes", "0", "must be positive");
  }
  if (!f.restore_snapshot.empty() && !f.initial_cluster_new) {
    return absl::InvalidArgumentError(
        "--restore-snapshot starts a new cluster: it needs "
        "--initial-cluster-state=new");
  }
  if (f.auth_token_ttl_seconds == 0) {
    return Invalid("auth-token-ttl", "0", "must be positive");
  }
  // bcrypt.MinCost and bcrypt.MaxCost, which etcd enforces.
  if (f.bcrypt_cost < 4 || f.bcrypt_cost > 31) {
    return Invalid("bcrypt-cost", std::to_string(f.bcrypt_cost),
                   "must be between 4 and 31");
  }
  return absl::OkStatus();
}

// https:// URLs need their key pair, and are never served in plaintext.
absl::Status ValidateTls(const ServerFlags& f) {
  const TlsFlags& c = f.client_tls;
  if (c.cert_file.empty() != c.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--cert-file and --key-file must be given together");
  }
  if (c.client_cert_auth && c.trusted_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--client-cert-auth needs --trusted-ca-file to verify client "
        "certificates against");
  }
  for (const std::vector<Url>* urls : {&f.listen_client_urls,
                                       &f.advertise_client_urls,
                                       &f.listen_metrics_urls}) {
    for (const Url& u : *urls) {
      if (u.scheme == "https" && c.empty() && !f.auto_tls) {
        return absl::InvalidArgumentError(absl::StrCat(
            "TLS key/cert (--cert-file, --key-file) must be provided for "
            "client url ",
            u.ToString(), " with HTTPS scheme"));
      }
    }
  }
  const TlsFlags& p = f.peer_tls;
  if (p.cert_file.empty() != p.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--peer-cert-file and --peer-key-file must be given together");
  }
  if (p.client_cert_auth && p.trusted_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--peer-client-cert-auth needs --peer-trusted-ca-file to verify peer "
        "certificates against");
  }
  // One transport serves and dials every peer, so all peer URLs share a
  // scheme: https:// needs the peer key pair, which then secures them all.
  std::vector<const Url*> peer_urls;
  for (const Url& u : f.listen_peer_urls) peer_urls.push_back(&u);
  for (const Url& u : f.initial_advertise_peer_urls) peer_urls.push_back(&u);
  for (const InitialMember& m : f.initial_cluster) {
    for (const Url& u : m.peer_urls) peer_urls.push_back(&u);
  }
  for (const Url* u : peer_urls) {
    if (u->scheme == "https" && p.empty() && !f.peer_auto_tls) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided "
          "for peer url ",
          u->ToString(), " with HTTPS scheme"));
    }
    if (u->scheme != peer_urls[0]->scheme) {
      return absl::InvalidArgumentError(absl::StrCat(
          "peer urls mix schemes (", peer_urls[0]->ToString(), " and ",
          u->ToString(), "): every peer URL must be https:// or every one "
          "http://"));
    }
  }
  return absl::OkStatus();
}

// Parses --auto-compaction-retention for --auto-compaction-mode, as etcd:
// revision mode takes a count; periodic mode a bare number of hours or a
// duration ("30m", "1h30m").
absl::Status ParseAutoCompaction(ServerFlags* f) {
  const std::string& v = f->auto_compaction_retention;
  int64_t n = 0;
  const bool is_number = absl::SimpleAtoi(v, &n);
  if (f->auto_compaction_mode == "revision") {
    if (!is_number || n < 0) {
      return Invalid("auto-compaction-retention", v,
                     "want a number of revisions in revision mode");
    }
    f->auto_compaction_revisions = n;
    return absl::OkStatus();
  }
  absl::Duration d;
  if (is_number) {
    d = absl::Hours(n);
  } else if (!absl::ParseDuration(v, &d)) {
    return Invalid("auto-compaction-retention", v,
                   "want hours (e.g. 1) or a duration (e.g. 30m) in periodic "
                   "mode");
  }
  if (d < absl::ZeroDuration()) {
    return Invalid("auto-compaction-retention", v, "must not be negative");
  }
  f->auto_compaction_period = d;
  return absl::OkStatus();
}

// The local member must be in --initial-cluster with the URLs it advertises.
absl::Status ValidateInitialCluster(const ServerFlags& f) {
  std::set<std::string> cluster_urls;
  for (const InitialMember& m : f.initial_cluster) {
    if (m.name != f.name) continue;
    for (const Url& u : m.peer_urls) cluster_urls.insert(u.ToString());
  }
  if (cluster_urls.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "couldn't find local name \"", f.name,
        "\" in the initial cluster configuration (--initial-cluster)"));
  }
  std::set<std::string> advertised;
  for (const Url& u : f.initial_advertise_peer_urls) {
    advertised.insert(u.ToString());
  }
  if (advertised != cluster_urls) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--initial-cluster has ", f.name, "=",
        absl::StrJoin(cluster_urls, ","),
        " but --initial-advertise-peer-urls has ",
        absl::StrJoin(advertised, ",")));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Url::ToString() const {
  return absl::StrCat(scheme, "://", host, ":", port);
}

absl::StatusOr<Url> ParseUrl(const std::string& text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  Url url;
  if (absl::ConsumePrefix(&rest, "http://")) {
    url.scheme = "http";
  } else if (absl::ConsumePrefix(&rest, "https://")) {
    url.scheme = "https";
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("URL \"", text, "\" must start with http:// or https://"));
  }
  absl::ConsumeSuffix(&rest, "/");
  const size_t colon = rest.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL \"", text, "\" needs a host and a port"));
  }
  url.host = std::string(rest.substr(0, colon));
  uint32_t port;
  if (!absl::SimpleAtoi(rest.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL \"", text, "\" has a bad port"));
  }
  url.port = static_cast<uint16_t>(port);
  return url;
}

absl::StatusOr<std::vector<Url>> ParseUrls(const std::string& text) {
  std::vector<Url> urls;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    absl::StatusOr<Url> url = ParseUrl(std::string(part));
    if (!url.ok()) return url.status();
    urls.push_back(*std::move(url));
  }
  if (urls.empty()) return absl::InvalidArgumentError("no URL given");
  return urls;
}

absl::StatusOr<std::vector<InitialMember>> ParseInitialCluster(
    const std::string& text) {
  std::vector<InitialMember> members;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.first.empty() || kv.second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("entry \"", part, "\" is not name=url"));
    }
    absl::StatusOr<Url> url = ParseUrl(kv.second);
    if (!url.ok()) return url.status();
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const auto& m) { return m.name == kv.first; });
    if (it == members.end()) {
      members.push_back(InitialMember{kv.first, {}});
      it = members.end() - 1;
    }
    it->peer_urls.push_back(*std::move(url));
  }
  if (members.empty()) return absl::InvalidArgumentError("no member given");
  return members;
}

absl::StatusOr<ServerFlags> ParseFlags(
    const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env) {
  ServerFlags flags;
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : env) {
    if (!absl::StartsWith(key, "ETCDPP_")) continue;
    bool known = false;
    for (const FlagSpec& spec : Specs()) {
      if (EnvName(spec.name) == key) {
        values[spec.name] = value;
        known = true;
      }
    }
    if (!known) {
      flags.warnings.push_back(
          absl::StrCat("unrecognized environment variable ", key));
    }
  }
  std::map<std::string, std::string> from_args;
  if (absl::Status s = ReadArgs(args, &from_args); !s.ok()) return s;
  for (const auto& [name, value] : from_args) {
    if (values.contains(name)) {
      flags.warnings.push_back(absl::StrCat("flag --", name, " shadows ",
                                            EnvName(name)));
    }
    values[name] = value;
  }
  // Apply defaults first, then the given values, in the table's order, so
  // the defaults that depend on other flags see the final values.
  for (const FlagSpec& spec : Specs()) {
    auto it = values.find(spec.name);
    if (it == values.end()) {
      if (absl::StrContains(spec.default_text, "${")) continue;
      if (absl::Status s = spec.set(spec.default_text, &flags); !s.ok()) {
        return s;
      }
      continue;
    }
    if (absl::Status s = spec.set(it->second, &flags); !s.ok()) return s;
  }
  if (flags.data_dir.empty()) flags.data_dir = flags.name + ".etcdpp";
  if (flags.initial_cluster.empty()) {
    flags.initial_cluster.push_back(
        InitialMember{flags.name, flags.initial_advertise_peer_urls});
  }
  if (flags.help || flags.version) return flags;
  if (absl::Status s = Validate(flags); !s.ok()) return s;
  if (absl::Status s = ParseAutoCompaction(&flags); !s.ok()) return s;
  if (absl::Status s = ValidateTls(flags); !s.ok()) return s;
  if (absl::Status s = ValidateInitialCluster(flags); !s.ok()) return s;
  return flags;
}

std::string Usage() {
  std::string out =
      "Usage: etcdpp [flags]\n\n"
      "Start an etcd v3-compatible server. Every flag may also be given as\n"
      "an environment variable ETCDPP_<FLAG> (e.g. ETCDPP_DATA_DIR).\n\n";
  for (const FlagSpec& spec : Specs()) {
    absl::StrAppend(&out, "  --", spec.name, " '", spec.default_text, "'\n",
                    "      ", spec.help, "\n");
  }
  return out;
}

}  // namespace etcdpp::config
