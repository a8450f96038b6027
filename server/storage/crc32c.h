// CRC-32C (Castagnoli), the checksum of every WAL record, snapshot file and
// member file, and the LevelDB-style masking stored checksums use.
#ifndef ETCDPP_SERVER_STORAGE_CRC32C_H_
#define ETCDPP_SERVER_STORAGE_CRC32C_H_

#include <cstdint>
#include <string_view>

#include "absl/strings/string_view.h"
#include "base/crc32c.h"

namespace etcdpp::storage::crc32c {

// The CRC-32C of concat(A, data) where crc is the CRC-32C of A. The one
// implementation is base's, shared with kv's HashKV and snapshot stream.
inline uint32_t Extend(uint32_t crc, absl::string_view data) {
  return base::crc32c::Extend(crc, std::string_view(data.data(), data.size()));
}

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
