// The production log sink: one line per event on stderr, as key=value pairs
// stamped with the wall-clock time and the level:
//
//   ts=2026-11-26T09:53:38.123Z level=info component=node msg="leader changed" leader=1f term=2
//
// Thread-safe: a line is written with one write(2).
#ifndef ETCDPP_SERVER_RUNNER_STDERR_LOG_H_
#define ETCDPP_SERVER_RUNNER_STDERR_LOG_H_

#include <string>
#include <string_view>

#include "base/log.h"

namespace etcdpp::runner {

class StderrLogSink final : public base::LogSink {
 public:
  StderrLogSink(std::string component, base::LogLevel min_level)
      : component_(std::move(component)), min_level_(min_level) {}

  void Write(base::LogLevel level, std::string_view message) override;

 private:
  const std::string component_;
  const base::LogLevel min_level_;
};

}  // namespace etcdpp::runner

#endif  // ETCDPP_SERVER_RUNNER_STDERR_LOG_H_
