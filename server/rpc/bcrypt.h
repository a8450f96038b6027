// Password hashing for the Auth service: bcrypt through libxcrypt, as etcd
// hashes with golang.org/x/crypto/bcrypt. The server hashes a new password
// before it proposes it and verifies one against the stored hash before it
// proposes an Authenticate, so only hashes reach the raft log and kv/ never
// runs a slow hash (kv/auth.h).
//
// Thread-safe: every call uses its own crypt_data. Slow on purpose (a cost
// of 10 is ~50 ms): never call on the event loop's thread.
#ifndef ETCDPP_SERVER_RPC_BCRYPT_H_
#define ETCDPP_SERVER_RPC_BCRYPT_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace etcdpp::rpc {

// etcd's --bcrypt-cost default and bounds (bcrypt.MinCost, bcrypt.MaxCost).
inline constexpr int kDefaultBcryptCost = 10;
inline constexpr int kMinBcryptCost = 4;
inline constexpr int kMaxBcryptCost = 31;

// InvalidArgument naming the bounds when `cost` is outside them.
absl::Status ValidateBcryptCost(int cost);

// A "$2b$<cost>$..." hash of `password` with a fresh random salt (libxcrypt
// reads the salt from the kernel's random source). bcrypt reads at most 72
// bytes of a password, as Go's bcrypt did in etcd 3.4; a password holding a
// NUL byte cannot pass through crypt(3) and is refused.
absl::StatusOr<std::string> BcryptHash(std::string_view password, int cost);

// Whether `password` hashes to `hash` under the salt and cost `hash`
// carries. False for a malformed hash. The comparison takes the same time
// wherever the two differ.
bool BcryptVerify(std::string_view password, std::string_view hash);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_BCRYPT_H_
