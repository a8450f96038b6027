// Runs the interaction scripts raft/testdata/*.txt (see
// raft/testing/interaction.h) and compares each command's output with the
// expected output written after it. To rewrite the expected outputs in the
// source tree (then read the diff: it must be correct behaviour):
//
//   RAFT_REWRITE=1 bazel run //tests:raft_interaction_test
//
// It lives in tests/ because raft/ does no file I/O, tests included.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "raft/testing/interaction.h"

namespace etcdpp::raft::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> Scripts() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator("raft/testdata")) {
    if (e.path().extension() == ".txt") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(InteractionTest, Scripts) {
  const char* rewrite = std::getenv("RAFT_REWRITE");
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  const bool rewriting = rewrite != nullptr && std::string(rewrite) == "1";
  if (rewriting) {
    ASSERT_NE(workspace, nullptr)
        << "RAFT_REWRITE=1 works under `bazel run`, which says where the "
           "source tree is";
  }
  const std::vector<fs::path> scripts = Scripts();
  EXPECT_GE(scripts.size(), 10u) << "the scripts are in the runfiles";
  for (const fs::path& p : scripts) {
    SCOPED_TRACE(p.string());
    const std::string want = ReadFile(p);
    const std::string got = RunScript(want);
    if (got == want) continue;
    if (rewriting) {
      std::ofstream out(fs::path(workspace) / p, std::ios::binary);
      out << got;
      ASSERT_TRUE(out.good()) << "rewrote " << p;
      std::cerr << "rewrote " << p.string() << "\n";
      continue;
    }
    const std::vector<std::string> a = absl::StrSplit(want, '\n');
    const std::vector<std::string> b = absl::StrSplit(got, '\n');
    size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
    std::string context;
    for (size_t j = (k > 8 ? k - 8 : 0); j < k; ++j) context += b[j] + "\n";
    ADD_FAILURE() << p.string() << ":" << k + 1 << ": output differs\n"
                  << context << "- want: " << (k < a.size() ? a[k] : "<eof>")
                  << "\n+ got:  " << (k < b.size() ? b[k] : "<eof>")
                  << "\n(RAFT_REWRITE=1 bazel run //tests:raft_interaction_test "
                     "rewrites the files)";
  }
}

}  // namespace
}  // namespace etcdpp::raft::testing
