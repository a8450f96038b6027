// LogSink: where the deterministic core writes its log lines.
//
// The core never reads a clock or writes to a file: it hands each line to a
// sink it was given. The production sink stamps the time and writes to
// stderr; the simulator's sink records lines in its trace, stamped with
// virtual time, so the same seed gives the same log.
#ifndef ETCDPP_BASE_LOG_H_
#define ETCDPP_BASE_LOG_H_

#include <string_view>

namespace etcdpp::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

const char* LogLevelName(LogLevel level);

class LogSink {
 public:
  virtual ~LogSink() = default;
  // `message` is `msg="..." key=value ...` without time or level.
  virtual void Write(LogLevel level, std::string_view message) = 0;
};

// Discards everything.
class NullLogSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view) override {}
};

}  // namespace etcdpp::base

#endif  // ETCDPP_BASE_LOG_H_
