// Test helpers: the two Disks under one parameter, and direct edits of file
// bytes that go through the Disk itself (so they work on either).
#ifndef ETCDPP_SERVER_STORAGE_TEST_DISKS_H_
#define ETCDPP_SERVER_STORAGE_TEST_DISKS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "server/storage/disk.h"
#include "server/storage/mem_disk.h"

namespace etcdpp::storage::testing {

enum class DiskKind { kMem, kPosix };
std::string DiskKindName(DiskKind kind);

// A fresh, empty Disk of the kind: a MemDisk, or a PosixDisk over a new
// directory under TEST_TMPDIR named after the current test and `suffix`.
std::unique_ptr<Disk> NewDisk(DiskKind kind, absl::string_view suffix = "");

// Completes every pending op (MemDisk) and returns the completions.
std::vector<DiskCompletion> Settle(Disk& disk);

// Overwrites bytes of path at offset and syncs, failing the test on error.
void Poke(Disk& disk, const std::string& path, uint64_t offset,
          absl::string_view bytes);
// XORs mask into one byte of path.
void FlipByte(Disk& disk, const std::string& path, uint64_t offset,
              uint8_t mask = 0x01);
// Cuts path to size.
void Cut(Disk& disk, const std::string& path, uint64_t size);

}  // namespace etcdpp::storage::testing

#endif  // ETCDPP_SERVER_STORAGE_TEST_DISKS_H_
