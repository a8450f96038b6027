#include "server/config/ids.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace etcdpp::config {
namespace {

uint64_t Sha1Prefix(const std::string& bytes) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
       digest);
  return absl::big_endian::Load64(digest);
}

}  // namespace

uint64_t ComputeMemberId(std::vector<std::string> peer_urls,
                         const std::string& cluster_token,
                         std::optional<int64_t> unix_seconds) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string bytes = absl::StrCat(absl::StrJoin(peer_urls, ""), cluster_token);
  if (unix_seconds.has_value()) absl::StrAppend(&bytes, *unix_seconds);
  return Sha1Prefix(bytes);
}

uint64_t ComputeClusterId(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string bytes(8 * member_ids.size(), '\0');
  for (size_t i = 0; i < member_ids.size(); ++i) {
    absl::big_endian::Store64(bytes.data() + 8 * i, member_ids[i]);
  }
  return Sha1Prefix(bytes);
}

}  // namespace etcdpp::config
