// LocalCluster: real etcdpp processes on 127.0.0.1, for end-to-end tests.
//
// Each member gets free ports chosen at run time and a data dir under the
// test's temporary directory. Members are real processes: they can be
// killed with any signal, stopped and continued, and restarted with the same
// command line.
#ifndef ETCDPP_TESTS_LOCAL_CLUSTER_H_
#define ETCDPP_TESTS_LOCAL_CLUSTER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace etcdpp::tests {

// A port that was free a moment ago (bound and released), outside the
// ephemeral range, and never one this process was given before.
uint16_t FreePort();

struct Member {
  std::string name;
  uint16_t client_port = 0;
  uint16_t peer_port = 0;
  std::string data_dir;
  std::string log_path;
  pid_t pid = -1;
  // Started with --initial-cluster-state=existing (added by AddMember).
  bool joining = false;
  // Removed from the cluster: left out of the --initial-cluster of members
  // started later.
  bool removed = false;
  // "https" after LocalCluster::UseClientTls / UsePeerTls.
  std::string client_scheme = "http";
  std::string peer_scheme = "http";

  std::string endpoint() const;
};

class LocalCluster {
 public:
  // binary: path to etcdpp; root: a directory for data dirs and logs;
  // extra_flags: added to every member's command line.
  LocalCluster(std::string binary, std::string root, int size,
               std::vector<std::string> extra_flags = {});
  ~LocalCluster();

  // Members serve clients on https:// URLs with `server_flags` (such as
  // --cert-file=...), and the cluster's own etcdctl calls (WaitForLeader)
  // add `etcdctl_flags` (such as --cacert=...). Call before starting.
  void UseClientTls(std::vector<std::string> server_flags,
                    std::string etcdctl_flags);
  // Members talk to each other on https:// peer URLs with `server_flags`
  // (such as --peer-cert-file=...). Call before starting.
  void UsePeerTls(std::vector<std::string> server_flags);

  absl::Status StartAll();
  // A new member, not started yet, that joins the running cluster: its
  // --initial-cluster lists the members not removed and itself, with
  // --initial-cluster-state=existing. Returns its index.
  int AddMember();
  void MarkRemoved(int i) { members_[i].removed = true; }
  // A removed member comes back as a new one at the same addresses: an
  // empty data dir, started with --initial-cluster-state=existing.
  void Rejoin(int i);
  // Member i listens for (and advertises) peers on `port` from its next
  // start (after `etcdctl member update`).
  void SetPeerPort(int i, uint16_t port) { members_[i].peer_port = port; }
  absl::Status Start(int i);
  // Sends `signal` (SIGKILL, SIGTERM, SIGSTOP, SIGCONT); waits for the
  // process to end for SIGKILL and SIGTERM.
  void Signal(int i, int signal);
  bool Running(int i);

  // Comma-separated client endpoints of all members, or of one.
  std::string Endpoints() const;
  const Member& member(int i) const { return members_[i]; }
  int size() const { return static_cast<int>(members_.size()); }

  // The index of the member that reports itself leader, via etcdctl
  // endpoint status; waits up to `timeout`.
  absl::StatusOr<int> WaitForLeader(absl::Duration timeout);

  // The last lines of member i's log, for failure messages, and how its
  // process ended if it ended by itself.
  std::string LogTail(int i);

  // Runs etcdpp with the member's flags in the foreground (for tests of
  // start-up errors): exit code and combined output.
  std::pair<int, std::string> RunForeground(int i) const;

 private:
  std::vector<std::string> Args(int i) const;

  std::string binary_;
  std::string root_;
  std::vector<Member> members_;
  std::vector<std::string> extra_flags_;
  std::string etcdctl_flags_;
};

}  // namespace etcdpp::tests

#endif  // ETCDPP_TESTS_LOCAL_CLUSTER_H_
