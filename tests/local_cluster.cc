#include "tests/local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/etcdctl.h"

namespace etcdpp::tests {

// Ports are drawn below Linux's ephemeral range (32768-60999 by default):
// a port the kernel handed out for bind(0) is also handed to outgoing
// connections, so another process (an etcdctl, a gRPC client) could take it
// between this check and the member's own bind.
uint16_t FreePort() {
  static std::mt19937 random(static_cast<uint32_t>(getpid()) ^
                             static_cast<uint32_t>(absl::ToUnixNanos(absl::Now())));
  // A port handed out is not bound until its member starts, so a later
  // call would find it free again: never hand one out twice (two members
  // of one cluster on one port was a flaky test's cause).
  static std::set<uint16_t> handed_out;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const uint16_t port = static_cast<uint16_t>(20000 + random() % 12000);
    if (handed_out.contains(port)) continue;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool free =
        bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free) {
      handed_out.insert(port);
      return port;
    }
  }
  return 0;
}

std::string Member::endpoint() const {
  // etcdctl dials http:// and bare host:port endpoints in plaintext.
  return client_scheme == "http"
             ? absl::StrCat("127.0.0.1:", client_port)
             : absl::StrCat(client_scheme, "://127.0.0.1:", client_port);
}

LocalCluster::LocalCluster(std::string binary, std::string root, int size,
                           std::vector<std::string> extra_flags)
    : binary_(std::move(binary)),
      root_(std::move(root)),
      extra_flags_(std::move(extra_flags)) {
  for (int i = 0; i < size; ++i) {
    Member m;
    m.name = absl::StrCat("m", i);
    m.client_port = FreePort();
    m.peer_port = FreePort();
    m.data_dir = absl::StrCat(root_, "/", m.name, ".etcdpp");
    m.log_path = absl::StrCat(root_, "/", m.name, ".log");
    members_.push_back(m);
  }
}

LocalCluster::~LocalCluster() {
  for (int i = 0; i < size(); ++i) {
    if (members_[i].pid > 0) {
      kill(members_[i].pid, SIGCONT);
      Signal(i, SIGKILL);
    }
  }
}

std::vector<std::string> LocalCluster::Args(int i) const {
  const Member& m = members_[i];
  std::vector<std::string> cluster;
  for (const Member& other : members_) {
    if (other.removed && &other != &m) continue;
    cluster.push_back(absl::StrCat(other.name, "=", other.peer_scheme,
                                   "://127.0.0.1:", other.peer_port));
  }
  std::vector<std::string> args = {
      binary_,
      "--name=" + m.name,
      "--data-dir=" + m.data_dir,
      absl::StrCat("--listen-client-urls=", m.client_scheme, "://127.0.0.1:",
                   m.client_port),
      absl::StrCat("--advertise-client-urls=", m.client_scheme,
                   "://127.0.0.1:", m.client_port),
      absl::StrCat("--listen-peer-urls=", m.peer_scheme, "://127.0.0.1:",
                   m.peer_port),
      absl::StrCat("--initial-advertise-peer-urls=", m.peer_scheme,
                   "://127.0.0.1:", m.peer_port),
      "--initial-cluster=" + absl::StrJoin(cluster, ","),
      "--initial-cluster-token=e2e",
      "--heartbeat-interval=50",
      "--election-timeout=500",
  };
  if (m.joining) args.push_back("--initial-cluster-state=existing");
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  return args;
}

void LocalCluster::Rejoin(int i) {
  Member& m = members_[i];
  RunCommand("rm -rf '" + m.data_dir + "'");
  m.removed = false;
  m.joining = true;
}

int LocalCluster::AddMember() {
  Member m;
  m.name = absl::StrCat("m", members_.size());
  m.client_port = FreePort();
  m.peer_port = FreePort();
  m.data_dir = absl::StrCat(root_, "/", m.name, ".etcdpp");
  m.log_path = absl::StrCat(root_, "/", m.name, ".log");
  m.joining = true;
  if (!members_.empty()) {
    m.client_scheme = members_[0].client_scheme;
    m.peer_scheme = members_[0].peer_scheme;
  }
  members_.push_back(m);
  return size() - 1;
}

void LocalCluster::UseClientTls(std::vector<std::string> server_flags,
                                std::string etcdctl_flags) {
  for (Member& m : members_) m.client_scheme = "https";
  extra_flags_.insert(extra_flags_.end(), server_flags.begin(),
                      server_flags.end());
  etcdctl_flags_ = std::move(etcdctl_flags);
}

void LocalCluster::UsePeerTls(std::vector<std::string> server_flags) {
  for (Member& m : members_) m.peer_scheme = "https";
  extra_flags_.insert(extra_flags_.end(), server_flags.begin(),
                      server_flags.end());
}

absl::Status LocalCluster::StartAll() {
  for (int i = 0; i < size(); ++i) {
    if (absl::Status s = Start(i); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::Start(int i) {
  Member& m = members_[i];
  std::vector<std::string> args = Args(i);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    const int log = open(m.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                         0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  m.pid = pid;
  return absl::OkStatus();
}

void LocalCluster::Signal(int i, int signal) {
  Member& m = members_[i];
  if (m.pid <= 0) return;
  kill(m.pid, signal);
  if (signal == SIGKILL || signal == SIGTERM) {
    int status;
    waitpid(m.pid, &status, 0);
    m.pid = -1;
  }
}

bool LocalCluster::Running(int i) {
  Member& m = members_[i];
  if (m.pid <= 0) return false;
  int status;
  if (waitpid(m.pid, &status, WNOHANG) == m.pid) {
    m.pid = -1;
    return false;
  }
  return true;
}

std::string LocalCluster::Endpoints() const {
  std::vector<std::string> endpoints;
  for (const Member& m : members_) endpoints.push_back(m.endpoint());
  return absl::StrJoin(endpoints, ",");
}

absl::StatusOr<int> LocalCluster::WaitForLeader(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    for (int i = 0; i < size(); ++i) {
      if (members_[i].pid <= 0) continue;
      CommandResult r = Etcdctl(members_[i].endpoint())
                            .Run(etcdctl_flags_ +
                                 " endpoint status -w json --dial-timeout=1s "
                                 "--command-timeout=1s");
      if (r.exit_code != 0) continue;
      // {"Status":{"header":{..."member_id":M,...},...,"leader":L,...}}
      const size_t member = r.output.find("\"member_id\":");
      const size_t leader = r.output.find("\"leader\":");
      if (member == std::string::npos || leader == std::string::npos) continue;
      const std::string member_id =
          r.output.substr(member + 12, r.output.find_first_of(",}", member) -
                                           member - 12);
      const std::string leader_id =
          r.output.substr(leader + 9, r.output.find_first_of(",}", leader) -
                                          leader - 9);
      if (member_id == leader_id) return i;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError("no leader elected");
}

std::string LocalCluster::LogTail(int i) {
  std::ifstream in(members_[i].log_path);
  std::stringstream all;
  all << in.rdbuf();
  std::string text = all.str();
  if (text.size() > 3000) text = text.substr(text.size() - 3000);
  // How the process ended, if it did and no test stopped it: a member dead
  // of a signal leaves nothing in its log.
  const pid_t pid = members_[i].pid;
  int status;
  if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
    members_[i].pid = -1;
    absl::StrAppend(&text, "[", members_[i].name, " ended unexpectedly: ",
                    WIFSIGNALED(status)
                        ? absl::StrCat("killed by signal ", WTERMSIG(status))
                        : absl::StrCat("exit status ", WEXITSTATUS(status)),
                    "]\n");
  }
  return text;
}

std::pair<int, std::string> LocalCluster::RunForeground(int i) const {
  std::vector<std::string> args = Args(i);
  std::string command;
  for (const std::string& a : args) absl::StrAppend(&command, "'", a, "' ");
  CommandResult r = RunCommand(command);
  return {r.exit_code, r.output};
}

}  // namespace etcdpp::tests
