#include "server/rpc/bcrypt.h"

#include <crypt.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace etcdpp::rpc {
namespace {

constexpr char kBcryptPrefix[] = "$2b$";

bool HasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

// crypt_r's answer for `password` under `setting` (a salt or a whole hash),
// or empty when libxcrypt refuses the setting. crypt_data is ~32 KiB: on
// the heap, not the gRPC thread's stack.
std::string Crypt(const std::string& password, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_r(password.c_str(), setting.c_str(), data.get());
  // On failure libxcrypt returns NULL or a string starting with '*'.
  if (out == nullptr || out[0] == '*') return "";
  return out;
}

}  // namespace

absl::Status ValidateBcryptCost(int cost) {
  if (cost < kMinBcryptCost || cost > kMaxBcryptCost) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid bcrypt cost ", cost, ": must be between ",
                     kMinBcryptCost, " and ", kMaxBcryptCost));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BcryptHash(std::string_view password, int cost) {
  if (absl::Status s = ValidateBcryptCost(cost); !s.ok()) return s;
  if (HasNul(password)) {
    return absl::InvalidArgumentError("password must not contain a NUL byte");
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // No random bytes given: libxcrypt draws them from the OS itself.
  if (crypt_gensalt_rn(kBcryptPrefix, static_cast<unsigned long>(cost),
                       nullptr, 0, salt, sizeof(salt)) == nullptr) {
    return absl::InternalError(
        absl::StrCat("crypt_gensalt_rn: ", std::strerror(errno)));
  }
  std::string hash = Crypt(std::string(password), salt);
  if (hash.empty()) return absl::InternalError("crypt_r refused the salt");
  return hash;
}

bool BcryptVerify(std::string_view password, std::string_view hash) {
  if (HasNul(password) || HasNul(hash) || hash.substr(0, 2) != "$2") {
    return false;
  }
  const std::string again = Crypt(std::string(password), std::string(hash));
  if (again.size() != hash.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < hash.size(); ++i) {
    diff |= static_cast<unsigned char>(again[i] ^ hash[i]);
  }
  return diff == 0;
}

}  // namespace etcdpp::rpc
