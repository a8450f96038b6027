// Runs Debian's etcdctl (3.4, API v3) against given endpoints, for tests.
#ifndef ETCDPP_TESTS_ETCDCTL_H_
#define ETCDPP_TESTS_ETCDCTL_H_

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace etcdpp::tests {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Runs `command` with /bin/sh, feeding `input` on stdin.
CommandResult RunCommand(const std::string& command,
                         const std::string& input = "");

class Etcdctl {
 public:
  // endpoints: "127.0.0.1:2379,127.0.0.1:22379"
  explicit Etcdctl(std::string endpoints) : endpoints_(std::move(endpoints)) {}

  CommandResult Run(const std::string& args,
                    const std::string& input = "") const;

  // Runs `args -w json` and parses the output into a message (etcdctl
  // prints etcd's responses with their proto field names).
  template <typename Message>
  absl::StatusOr<Message> Json(const std::string& args) const {
    CommandResult r = Run(args + " -w json");
    if (r.exit_code != 0) {
      return absl::InternalError("etcdctl " + args + " failed: " + r.output);
    }
    Message message;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    auto status =
        google::protobuf::util::JsonStringToMessage(r.output, &message, options);
    if (!status.ok()) {
      return absl::InternalError("cannot parse etcdctl output: " + r.output);
    }
    return message;
  }

 private:
  std::string endpoints_;
};

}  // namespace etcdpp::tests

#endif  // ETCDPP_TESTS_ETCDCTL_H_
