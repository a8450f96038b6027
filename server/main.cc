// etcdpp: the server binary. Parses etcd's flags, opens the data dir,
// recovers or bootstraps the member, and serves etcd's gRPC API until
// SIGTERM or SIGINT, when it hands leadership away and stops.
//
// Any error before serving -- a bad flag, an unusable or locked data dir, a
// busy port -- is one line on stderr and exit status 1.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "net/event_loop.h"
#include "net/self_signed.h"
#include "net/tls.h"
#include "net/tls_files.h"
#include "server/config/flags.h"
#include "server/config/ids.h"
#include "server/node/errors.h"
#include "server/node/membership.h"
#include "server/node/node.h"
#include "server/node/restore.h"
#include "server/peer/discover.h"
#include "server/rpc/backup.h"
#include "server/rpc/client_server.h"
#include "server/runner/runner.h"
#include "server/runner/stderr_log.h"
#include "server/runner/threaded_disk.h"
#include "server/storage/data_dir.h"
#include "server/storage/posix_disk.h"

extern char** environ;

namespace etcdpp {
namespace {

constexpr char kVersion[] = "etcdpp 0.1.0 (etcd API 3.5)";

[[noreturn]] void Fail(const absl::Status& status) {
  std::fprintf(stderr, "etcdpp: error: %s\n",
               std::string(status.message()).c_str());
  std::exit(1);
}

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

std::string Host(const config::Url& url) {
  return url.host == "localhost" ? "127.0.0.1" : url.host;
}

// The hosts of `urls`, for a self-signed certificate.
std::vector<std::string> Hosts(const std::vector<config::Url>& urls) {
  std::vector<std::string> hosts;
  for (const config::Url& u : urls) {
    if (std::find(hosts.begin(), hosts.end(), u.host) == hosts.end()) {
      hosts.push_back(u.host);
    }
  }
  return hosts;
}

bool AnyHttps(const std::vector<config::Url>& urls) {
  return std::any_of(urls.begin(), urls.end(), [](const config::Url& u) {
    return u.scheme == "https";
  });
}

absl::StatusOr<std::optional<rpc::ClientTls>> LoadClientTls(
    const config::ServerFlags& flags) {
  net::TlsPaths paths{flags.client_tls.cert_file, flags.client_tls.key_file,
                      flags.client_tls.trusted_ca_file, ""};
  if (flags.client_tls.empty()) {
    if (!flags.auto_tls || !AnyHttps(flags.listen_client_urls)) {
      return std::nullopt;
    }
    absl::StatusOr<net::TlsPaths> made = net::SelfSignedCert(
        flags.data_dir + "/fixtures/client", Hosts(flags.listen_client_urls),
        "auto-tls");
    if (!made.ok()) return made.status();
    paths = *made;
  }
  absl::StatusOr<net::TlsFiles> files = net::LoadTlsFiles(paths);
  if (!files.ok()) return files.status();
  return rpc::ClientTls{*std::move(files), flags.client_tls.client_cert_auth};
}

// The peer TLS context when the peer URLs are https:// (the flags checked
// they all are, with a key pair or --peer-auto-tls); null otherwise.
absl::StatusOr<std::shared_ptr<net::TlsContext>> LoadPeerTls(
    const config::ServerFlags& flags) {
  if (flags.listen_peer_urls[0].scheme != "https") return nullptr;
  const config::TlsFlags& tls = flags.peer_tls;
  if (tls.empty()) {  // --peer-auto-tls: nobody can verify anybody
    absl::StatusOr<net::TlsPaths> made = net::SelfSignedCert(
        flags.data_dir + "/fixtures/peer", Hosts(flags.listen_peer_urls),
        "peer-auto-tls");
    if (!made.ok()) return made.status();
    absl::StatusOr<net::TlsFiles> files = net::LoadTlsFiles(*made);
    if (!files.ok()) return files.status();
    return net::TlsContext::Create(*files, /*verify_clients=*/false,
                                   /*verify_servers=*/false);
  }
  absl::StatusOr<net::TlsFiles> files = net::LoadTlsFiles(
      {tls.cert_file, tls.key_file, tls.trusted_ca_file, "peer-"});
  if (!files.ok()) return files.status();
  return net::TlsContext::Create(*files, tls.client_cert_auth);
}

struct Membership {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  std::vector<uint64_t> voters;
  std::vector<runner::PeerAddress> peers;
  // Every member --initial-cluster names, with its name and peer URLs.
  std::vector<etcdserverpb::Member> members;
};

absl::StatusOr<Membership> ComputeMembership(const config::ServerFlags& f) {
  Membership m;
  for (const config::InitialMember& member : f.initial_cluster) {
    std::vector<std::string> urls;
    for (const config::Url& u : member.peer_urls) urls.push_back(u.ToString());
    const uint64_t id =
        config::ComputeMemberId(urls, f.initial_cluster_token);
    m.voters.push_back(id);
    etcdserverpb::Member record;
    record.set_id(id);
    record.set_name(member.name);
    for (const std::string& u : urls) record.add_peerurls(u);
    m.members.push_back(std::move(record));
    if (member.name == f.name) {
      m.member_id = id;
    } else {
      m.peers.push_back(runner::PeerAddress{id, Host(member.peer_urls[0]),
                                            member.peer_urls[0].port});
    }
  }
  m.cluster_id = config::ComputeClusterId(m.voters);
  return m;
}

// The --auto-compaction-* flags in ticks (a tick is one heartbeat), with
// etcd's fixed intervals: periodic compactions at most an hour apart,
// revision-mode checks every five minutes.
server::AutoCompactionOptions AutoCompaction(const config::ServerFlags& f) {
  using Mode = server::AutoCompactionOptions::Mode;
  const auto ticks = [&f](absl::Duration d) {
    return std::max<int64_t>(
        1, absl::ToInt64Milliseconds(d) /
               static_cast<int64_t>(f.heartbeat_interval_ms));
  };
  server::AutoCompactionOptions options;
  if (f.auto_compaction_mode == "revision" && f.auto_compaction_revisions > 0) {
    options.mode = Mode::kRevision;
    options.retention_revisions = f.auto_compaction_revisions;
    options.revision_check_ticks = ticks(absl::Minutes(5));
  } else if (f.auto_compaction_mode == "periodic" &&
             f.auto_compaction_period > absl::ZeroDuration()) {
    options.mode = Mode::kPeriodic;
    options.retention_ticks = ticks(f.auto_compaction_period);
    options.interval_cap_ticks = ticks(absl::Hours(1));
  }
  return options;
}

// --initial-cluster-state=existing on an empty data dir: this member joins a
// running cluster. As etcd, it does not bootstrap a cluster of its own: its
// raft starts from the other members of --initial-cluster, and it asks them
// for the cluster id; the leader's log (or a snapshot) then adds it.
// --restore-snapshot: a data dir that was never started begins as the
// backup's state (server/node/restore.h); one that exists is left alone.
absl::Status RestoreIfNew(const config::ServerFlags& flags,
                          const Membership& membership,
                          storage::PosixDisk& disk, base::LogSink& log) {
  absl::StatusOr<std::optional<storage::WalMetadata>> existing =
      storage::LoadMemberFile(disk);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    log.Write(base::LogLevel::kWarn,
              "msg=\"data dir exists; --restore-snapshot ignored\"");
    return absl::OkStatus();
  }
  std::ifstream in(flags.restore_snapshot, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--restore-snapshot ", flags.restore_snapshot, ": ",
        std::strerror(errno)));
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  absl::StatusOr<std::string> body = rpc::DecodeBackup(bytes.str());
  absl::StatusOr<server::RestorePlan> plan =
      body.ok() ? server::PlanRestore(*body, membership.members,
                                      membership.voters)
                : absl::StatusOr<server::RestorePlan>(body.status());
  if (!plan.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--restore-snapshot ", flags.restore_snapshot, ": ",
        plan.status().message()));
  }
  if (absl::Status s = disk.Lock(); !s.ok()) return s;
  if (absl::Status s = server::WriteRestore(
          disk, storage::WalOptions{},
          storage::WalMetadata{membership.member_id, membership.cluster_id},
          *plan);
      !s.ok()) {
    return s;
  }
  log.Write(base::LogLevel::kInfo,
            absl::StrCat("msg=\"restored backup\" file=",
                         flags.restore_snapshot,
                         " index=", plan->metadata.index()));
  return absl::OkStatus();
}

struct Join {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  server::MemberSet members;
};

absl::StatusOr<Join> DiscoverClusterToJoin(
    const Membership& m, const config::ServerFlags& flags,
    const std::shared_ptr<net::TlsContext>& peer_tls, base::LogSink& log) {
  std::vector<std::string> own_urls;
  for (const config::Url& u : flags.initial_advertise_peer_urls) {
    own_urls.push_back(u.ToString());
  }
  absl::Status last = absl::UnavailableError("no other member listed");
  // A few rounds: the member asked may not have applied the MemberAdd yet.
  for (int round = 0; round < 20; ++round) {
    for (const runner::PeerAddress& p : m.peers) {
      absl::StatusOr<peer::Discovery> found =
          peer::Discover(p.host, p.port, m.member_id, p.id, 1000, peer_tls);
      if (!found.ok()) {
        last = found.status();
        continue;
      }
      absl::StatusOr<server::MemberSet> members =
          server::MemberSet::Decode(found->members);
      if (!members.ok()) {
        last = members.status();
        continue;
      }
      for (const auto& [id, member] : members->members()) {
        for (const std::string& u : member.peerurls()) {
          if (std::find(own_urls.begin(), own_urls.end(), u) ==
              own_urls.end()) {
            continue;
          }
          log.Write(base::LogLevel::kInfo,
                    absl::StrCat("msg=\"joining cluster\" cluster_id=",
                                 absl::Hex(found->cluster_id), " member_id=",
                                 absl::Hex(id), " via=", absl::Hex(p.id)));
          return Join{found->cluster_id, id, *std::move(members)};
        }
      }
      last = absl::NotFoundError(
          "this member's peer URLs are not in the cluster's member list (add "
          "it first: etcdctl member add)");
    }
    usleep(500 * 1000);
  }
  return absl::Status(last.code(),
                      absl::StrCat("--initial-cluster-state=existing: ",
                                   last.message()));
}

int Run(const config::ServerFlags& flags) {
  // Signals are taken through a signalfd on the loop: block them before
  // any thread (gRPC's) starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  runner::StderrLogSink log("server",
                            static_cast<base::LogLevel>(flags.log_level));
  for (const std::string& w : flags.warnings) {
    log.Write(base::LogLevel::kWarn, absl::StrCat("msg=\"", w, "\""));
  }
  absl::StatusOr<Membership> membership = ComputeMembership(flags);
  if (!membership.ok()) Fail(membership.status());
  // Bad key material fails before the data dir is touched.
  absl::StatusOr<std::optional<rpc::ClientTls>> client_tls =
      LoadClientTls(flags);
  if (!client_tls.ok()) Fail(client_tls.status());
  absl::StatusOr<std::shared_ptr<net::TlsContext>> peer_tls =
      LoadPeerTls(flags);
  if (!peer_tls.ok()) Fail(peer_tls.status());

  absl::StatusOr<std::unique_ptr<net::EventLoop>> loop =
      net::EventLoop::Create();
  if (!loop.ok()) Fail(loop.status());
  net::EventLoop* raw_loop = loop->get();

  if (!flags.restore_snapshot.empty()) {
    // On a Disk of its own: the member's Disk starts with fresh op ids.
    absl::StatusOr<std::unique_ptr<storage::PosixDisk>> restore_disk =
        storage::PosixDisk::Open(flags.data_dir);
    if (!restore_disk.ok()) Fail(restore_disk.status());
    if (absl::Status s = RestoreIfNew(flags, *membership, **restore_disk, log);
        !s.ok()) {
      Fail(s);
    }
  }
  absl::StatusOr<std::unique_ptr<storage::PosixDisk>> posix_disk =
      storage::PosixDisk::Open(flags.data_dir);
  if (!posix_disk.ok()) Fail(posix_disk.status());
  // Disk work runs on an I/O thread; its completions wake the loop, which
  // hands them to the runner (once there is one).
  auto runner_slot = std::make_shared<std::atomic<runner::Runner*>>(nullptr);
  // What /metrics counts as the member runs.
  rpc::ServerMetrics metrics;
  auto disk = std::make_unique<runner::ThreadedDisk>(
      *std::move(posix_disk),
      [raw_loop, runner_slot] {
        raw_loop->Post([runner_slot] {
          if (runner::Runner* r = runner_slot->load()) r->Poke();
        });
      },
      &metrics.wal_fsync_seconds);

  server::NodeOptions options;
  options.member_id = membership->member_id;
  options.cluster_id = membership->cluster_id;
  options.initial_members = membership->members;
  options.name = flags.name;
  for (const config::Url& u : flags.advertise_client_urls) {
    options.client_urls.push_back(u.ToString());
  }
  if (flags.initial_cluster_new) {
    options.initial_voters = membership->voters;
  } else {
    absl::StatusOr<std::optional<storage::WalMetadata>> existing =
        storage::LoadMemberFile(*disk);
    if (!existing.ok()) Fail(existing.status());
    if (!existing->has_value()) {
      // As etcd: the cluster's own member list, not --initial-cluster,
      // is where a joining member starts from.
      absl::StatusOr<Join> join =
          DiscoverClusterToJoin(*membership, flags, *peer_tls, log);
      if (!join.ok()) Fail(join.status());
      options.cluster_id = join->cluster_id;
      options.member_id = join->member_id;
      options.initial_members = join->members.List();
      for (const auto& [id, member] : join->members.members()) {
        (member.islearner() ? options.initial_learners
                            : options.initial_voters)
            .push_back(id);
      }
    }
  }
  options.election_ticks = flags.ElectionTicks();
  options.heartbeat_ticks = 1;
  // etcd's request timeout: 5 s plus two election timeouts.
  options.request_timeout_ticks = static_cast<int>(
      (5000 + 2 * flags.election_timeout_ms) / flags.heartbeat_interval_ms);
  options.seed = (static_cast<uint64_t>(getpid()) << 32) ^
                 static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  options.applier.txn.max_txn_ops = static_cast<int64_t>(flags.max_txn_ops);
  // At least one tick, however short the TTL.
  options.applier.auth_token_ttl_ticks = std::max<uint64_t>(
      1, flags.auth_token_ttl_seconds * 1000 / flags.heartbeat_interval_ms);
  if (flags.quota_backend_bytes > 0) {
    options.applier.quota_backend_bytes =
        static_cast<uint64_t>(flags.quota_backend_bytes);
  }
  options.tick_ms = static_cast<int64_t>(flags.heartbeat_interval_ms);
  // etcd's minimum lease TTL: one and a half election timeouts, rounded up
  // to whole seconds, so a lease outlives a leader change.
  options.applier.lessor.min_ttl_seconds =
      (3 * static_cast<int64_t>(flags.election_timeout_ms) / 2 + 999) / 1000;
  options.snapshot_count = flags.snapshot_count;
  // etcd keeps 5000 entries after a compaction for slow followers; a
  // smaller --snapshot-count (tests) keeps half of it instead, so that a
  // lagging member really has to catch up by snapshot.
  options.snapshot_catchup_entries =
      std::min<uint64_t>(5000, flags.snapshot_count / 2);
  options.auto_compaction = AutoCompaction(flags);
  options.log = &log;
  absl::StatusOr<std::unique_ptr<server::Node>> node =
      server::Node::Open(options, disk.get());
  if (!node.ok()) Fail(node.status());

  runner::RunnerOptions runner_options;
  runner_options.tick_ms = flags.heartbeat_interval_ms;
  runner_options.watch_progress_notify_ms = static_cast<uint64_t>(
      absl::ToInt64Milliseconds(flags.watch_progress_notify_interval));
  // The data dir's ids win over the flags (and a joined member's cluster
  // id is the one it discovered).
  const server::NodeStatus node_status = (*node)->GetStatus();
  runner_options.transport.cluster_id = node_status.cluster_id;
  runner_options.transport.member_id = node_status.member_id;
  runner_options.cluster_token = flags.initial_cluster_token;
  runner_options.transport.listen_host = Host(flags.listen_peer_urls[0]);
  runner_options.transport.listen_port = flags.listen_peer_urls[0].port;
  runner_options.transport.snapshot_dir = flags.data_dir;
  runner_options.transport.tls = *peer_tls;
  runner_options.data_dir = flags.data_dir;
  runner_options.peers = membership->peers;
  runner_options.metrics = &metrics;
  runner_options.election_ticks = static_cast<uint64_t>(flags.ElectionTicks());
  absl::StatusOr<std::unique_ptr<runner::Runner>> runner =
      runner::Runner::Start(
          raw_loop, std::move(disk), *std::move(node), runner_options,
          &log, [](const absl::Status& status) {
            if (server::IsMemberRemoved(status)) {
              // Not a failure: the cluster removed this member.
              std::fprintf(stderr, "etcdpp: %s\n",
                           std::string(status.message()).c_str());
              std::_Exit(0);
            }
            // A failed fsync or corruption: never serve again from this
            // process (DESIGN.md). The data dir stays as last synced.
            std::fprintf(stderr, "etcdpp: fatal: %s\n",
                         status.ToString().c_str());
            std::_Exit(1);
          });
  if (!runner.ok()) Fail(runner.status());
  runner_slot->store(runner->get());

  rpc::ClientServerOptions client_options;
  for (const config::Url& url : flags.listen_client_urls) {
    client_options.listen_addresses.push_back(
        {absl::StrCat(Host(url), ":", url.port), url.scheme == "https"});
  }
  for (const config::Url& url : flags.listen_metrics_urls) {
    client_options.metrics_addresses.push_back(
        {absl::StrCat(Host(url), ":", url.port), url.scheme == "https"});
  }
  client_options.loop = raw_loop;
  client_options.metrics = &metrics;
  client_options.tls = *std::move(client_tls);
  client_options.limits.max_request_bytes = flags.max_request_bytes;
  client_options.limits.max_txn_ops = static_cast<int64_t>(flags.max_txn_ops);
  client_options.bcrypt_cost = flags.bcrypt_cost;
  absl::StatusOr<std::unique_ptr<rpc::ClientServer>> clients =
      rpc::ClientServer::Start(runner->get(), client_options);
  if (!clients.ok()) Fail(clients.status());

  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) Fail(absl::InternalError("signalfd failed"));
  runner::Runner* raw_runner = runner->get();
  bool stopping = false;
  (void)raw_loop->Watch(signal_fd, net::kReadable, [&](uint32_t) {
    signalfd_siginfo info;
    while (read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
    }
    if (stopping) return;
    stopping = true;
    log.Write(base::LogLevel::kInfo, "msg=\"received signal, stopping\"");
    raw_runner->GracefulStop([raw_loop] { raw_loop->Stop(); });
  });

  log.Write(base::LogLevel::kInfo,
            absl::StrCat("msg=\"serving\" name=", flags.name,
                         " member_id=", absl::Hex(node_status.member_id),
                         " cluster_id=", absl::Hex(node_status.cluster_id),
                         " data_dir=", flags.data_dir,
                         " client_port=", (*clients)->ports()[0],
                         " peer_port=", raw_runner->peer_port()));
  raw_loop->Run();

  (*clients)->Shutdown(absl::Seconds(1));
  raw_loop->Unwatch(signal_fd);
  close(signal_fd);
  runner_slot->store(nullptr);
  runner->reset();
  log.Write(base::LogLevel::kInfo, "msg=\"stopped\"");
  return 0;
}

}  // namespace
}  // namespace etcdpp

int main(int argc, char** argv) {
  using namespace etcdpp;
  // A crash (SIGSEGV, SIGABRT, ...) prints its stack to stderr, in the log,
  // before the process dies of the signal.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<config::ServerFlags> flags =
      config::ParseFlags(args, Environment());
  if (!flags.ok()) Fail(flags.status());
  if (flags->help) {
    std::fputs(config::Usage().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("%s\n", kVersion);
    return 0;
  }
  return Run(*flags);
}
