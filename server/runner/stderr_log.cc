#include "server/runner/stderr_log.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace etcdpp::runner {

void StderrLogSink::Write(base::LogLevel level, std::string_view message) {
  if (level < min_level_) return;
  const std::string line = absl::StrCat(
      "ts=",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", base::LogLevelName(level), " component=", component_, " ",
      absl::string_view(message.data(), message.size()), "\n");
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace etcdpp::runner
