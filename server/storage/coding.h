// Little-endian fixed-width integers for the on-disk formats.
//
// Written byte by byte so the format does not depend on the host's byte
// order or on unaligned loads.
#ifndef ETCDPP_SERVER_STORAGE_CODING_H_
#define ETCDPP_SERVER_STORAGE_CODING_H_

#include <cstdint>
#include <string>

namespace etcdpp::storage {

inline void PutFixed32(std::string* out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out->push_back(static_cast<char>(value >> (8 * i)));
}

inline void PutFixed64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out->push_back(static_cast<char>(value >> (8 * i)));
}

inline uint32_t DecodeFixed32(const char* p) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  }
  return value;
}

inline uint64_t DecodeFixed64(const char* p) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  }
  return value;
}

}  // namespace etcdpp::storage

#endif  // ETCDPP_SERVER_STORAGE_CODING_H_
