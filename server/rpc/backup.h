// The backup file `etcdctl snapshot save` writes: a member's snapshot body
// (server::Node::EncodedSnapshotBody) made to pass etcdctl's check of an
// etcd database file, which must be a whole number of 512-byte blocks
// followed by the SHA-256 of those blocks:
//
//   body | zero padding | body length (u64, big endian) | SHA-256 of all before
//
// where the padding makes body + padding + 8 a multiple of 512.
#ifndef ETCDPP_SERVER_RPC_BACKUP_H_
#define ETCDPP_SERVER_RPC_BACKUP_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace etcdpp::rpc {

inline constexpr size_t kBackupBlockBytes = 512;
inline constexpr size_t kBackupDigestBytes = 32;

std::string EncodeBackup(std::string body);

// The body of a backup file; DataLoss naming what is wrong when the digest,
// the length or the alignment does not hold.
absl::StatusOr<std::string> DecodeBackup(std::string_view file);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_BACKUP_H_
