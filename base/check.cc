#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace etcdpp::base {

CheckFailure::CheckFailure(const char* file, int line, const char* condition) {
  stream_ << file << ":" << line << ": CHECK failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  const std::string message = stream_.str();
  // One write, so lines from other threads do not interleave with it.
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace etcdpp::base
