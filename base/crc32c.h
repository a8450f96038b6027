// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Go's
// hash/crc32 with crc32.Castagnoli and LevelDB's crc32c compute it.
//
// The pure core needs it where replicas must agree on a checksum: kv's
// HashKV (etcd's own function, so a mixed cluster compares equal) and the kv
// snapshot stream. Slicing-by-8 over constexpr tables: no mutable state, no
// CPU dispatch, so every build and machine gives the same answer.
#ifndef ETCDPP_BASE_CRC32C_H_
#define ETCDPP_BASE_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace etcdpp::base::crc32c {

// The CRC-32C of concat(A, data) where `crc` is the CRC-32C of A (0 for the
// empty string), so a stream can be checksummed piece by piece.
uint32_t Extend(uint32_t crc, std::string_view data);

// The CRC-32C of `data`.
inline uint32_t Value(std::string_view data) { return Extend(0, data); }

}  // namespace etcdpp::base::crc32c

#endif  // ETCDPP_BASE_CRC32C_H_
