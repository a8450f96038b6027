#include "server/storage/crc32c.h"

#include <array>

namespace etcdpp::storage::crc32c {
namespace {

// The reflected Castagnoli polynomial 0x1EDC6F41.
constexpr uint32_t kPolynomial = 0x82f63b78u;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) ? (crc >> 1) ^ kPolynomial : crc >> 1;
    }
    table[i] = crc;
  }
  return table;
}

// Computed at compile time: a constant, not a mutable static.
constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

uint32_t Extend(uint32_t crc, absl::string_view data) {
  uint32_t state = ~crc;
  for (const char c : data) {
    state = kTable[(state ^ static_cast<uint8_t>(c)) & 0xff] ^ (state >> 8);
  }
  return ~state;
}

}  // namespace etcdpp::storage::crc32c
