// Starting a new cluster from a backup (`etcdctl snapshot save` of another
// cluster; server/rpc/backup.h): etcd's `snapshot restore`. Every member of
// the new cluster is given the same backup and the same --initial-cluster,
// so each starts from the same state at the same raft index (the index the
// backup's state reflects, in term 1), with the new cluster's members in
// place of the old ones. The data dir is then an ordinary one: the member
// recovers it as if it had taken that snapshot itself.
//
// Deterministic: everything goes through the Disk.
#ifndef ETCDPP_SERVER_NODE_RESTORE_H_
#define ETCDPP_SERVER_NODE_RESTORE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "raft/raft.pb.h"
#include "server/storage/disk.h"
#include "server/storage/wal.h"

namespace etcdpp::server {

struct RestorePlan {
  raftpb::SnapshotMetadata metadata;  // the backup's index, term 1
  raftpb::HardState hard_state;       // term 1, committed up to the index
  std::string body;                   // the new members, then the kv state
};

// From a backup's body (server::Node::EncodedSnapshotBody of the old
// cluster) and the new cluster: its members and which of them vote.
// DataLoss when the body's kv state does not restore.
absl::StatusOr<RestorePlan> PlanRestore(
    std::string_view backup_body,
    const std::vector<etcdserverpb::Member>& members,
    const std::vector<uint64_t>& voters);

// Writes the plan into a dir that has no member file: the snapshot file
// first, then the member file and a WAL whose first record is the
// snapshot marker with the hard state. Waits for every operation (the Disk
// must complete them; PosixDisk does so as they are submitted) and fails
// with the first error. A crash part way leaves either no member file (a
// restart restores again) or a WAL naming a snapshot that is there.
absl::Status WriteRestore(storage::Disk& disk,
                          const storage::WalOptions& options,
                          const storage::WalMetadata& member,
                          const RestorePlan& plan);

}  // namespace etcdpp::server

#endif  // ETCDPP_SERVER_NODE_RESTORE_H_
