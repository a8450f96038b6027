// CRC-32C (Castagnoli), the checksum of every WAL record, snapshot file and
// member file.
//
// A byte-at-a-time table implementation. Recovery reads each byte once and the
// writer checksums each record once, so a few hundred MB/s is plenty; if it is
// ever the bottleneck, SSE4.2's crc32 instruction computes the same function.
#ifndef ETCDPP_SERVER_STORAGE_CRC32C_H_
#define ETCDPP_SERVER_STORAGE_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace etcdpp::storage::crc32c {

// The CRC-32C of concat(A, data) where crc is the CRC-32C of A.
uint32_t Extend(uint32_t crc, absl::string_view data);

// The CRC-32C of data.
inline uint32_t Value(absl::string_view data) { return Extend(0, data); }

// A CRC stored next to data that itself contains CRCs is masked, as LevelDB
// does: the CRC of a string that holds its own CRC is badly distributed, and
// a run of zeros must not checksum to zero.
inline uint32_t Mask(uint32_t crc) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}

inline uint32_t Unmask(uint32_t masked) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  const uint32_t rotated = masked - kMaskDelta;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace etcdpp::storage::crc32c

#endif  // ETCDPP_SERVER_STORAGE_CRC32C_H_
