#include "tests/etcdctl.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace etcdpp::tests {

CommandResult RunCommand(const std::string& command, const std::string& input) {
  CommandResult result;
  std::string full = command;
  std::string input_path;
  if (!input.empty()) {
    char path[] = "/tmp/etcdpp-stdin-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return result;
    close(fd);
    input_path = path;
    std::ofstream(input_path, std::ios::binary) << input;
    full = absl::StrCat(command, " < ", input_path);
  }
  FILE* pipe = popen((full + " 2>&1").c_str(), "r");
  if (pipe != nullptr) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      result.output.append(buffer, n);
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  if (!input_path.empty()) unlink(input_path.c_str());
  return result;
}

CommandResult Etcdctl::Run(const std::string& args,
                           const std::string& input) const {
  return RunCommand(absl::StrCat("ETCDCTL_API=3 /usr/bin/etcdctl --endpoints=",
                                 endpoints_,
                                 " --dial-timeout=5s --command-timeout=10s ",
                                 args),
                    input);
}

}  // namespace etcdpp::tests
