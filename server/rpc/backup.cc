#include "server/rpc/backup.h"

#include <openssl/sha.h>

#include "absl/base/internal/endian.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace etcdpp::rpc {
namespace {

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

std::string EncodeBackup(std::string body) {
  const uint64_t length = body.size();
  const size_t used = (body.size() + 8) % kBackupBlockBytes;
  if (used != 0) body.append(kBackupBlockBytes - used, '\0');
  char encoded[8];
  absl::big_endian::Store64(encoded, length);
  body.append(encoded, sizeof(encoded));
  body += Sha256(body);
  return body;
}

absl::StatusOr<std::string> DecodeBackup(std::string_view file) {
  if (file.size() < kBackupBlockBytes + kBackupDigestBytes ||
      (file.size() - kBackupDigestBytes) % kBackupBlockBytes != 0) {
    return absl::DataLossError(absl::StrCat(
        "backup of ", file.size(),
        " bytes is not whole 512-byte blocks and a SHA-256"));
  }
  const std::string_view blocks =
      file.substr(0, file.size() - kBackupDigestBytes);
  if (Sha256(blocks) != file.substr(blocks.size())) {
    return absl::DataLossError("backup SHA-256 does not match its contents");
  }
  const uint64_t length =
      absl::big_endian::Load64(blocks.data() + blocks.size() - 8);
  if (length > blocks.size() - 8 ||
      blocks.size() - 8 - length >= kBackupBlockBytes) {
    return absl::DataLossError(
        absl::StrCat("backup body length ", length, " does not fit ",
                     blocks.size(), " bytes of blocks"));
  }
  return std::string(blocks.substr(0, length));
}

}  // namespace etcdpp::rpc
