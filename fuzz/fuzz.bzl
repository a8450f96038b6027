"""etcdpp_fuzzer: one libFuzzer target plus the test that replays its corpus.

etcdpp_fuzzer(name = "foo", srcs = ["foo_fuzzer.cc"], deps = [...]) declares

  //fuzz:foo_fuzzer       a cc_binary whose srcs define LLVMFuzzerTestOneInput.
                          Under --config=fuzz (--define=fuzzing=true) libFuzzer
                          supplies main (-fsanitize=fuzzer); in every other
                          build replay_main.cc does, and the binary runs the
                          files and directories given as arguments through
                          LLVMFuzzerTestOneInput once each.
  //fuzz:foo_replay_test  a cc_test (replay main) over fuzz/corpus/foo/, so
                          the corpus is a regression test under the normal
                          test command.

-fsanitize=fuzzer clashes with gtest mains, so under --config=fuzz build the
fuzzers by name (fuzz/run.sh does); the replay tests are for the default
configuration.
"""

def _replay_main():
    return select({
        "//fuzz:fuzzing": [],
        "//conditions:default": ["//fuzz:replay_main.cc"],
    })

def etcdpp_fuzzer(name, srcs, deps = [], dict = None, size = "small"):
    corpus = "corpus/%s" % name
    native.cc_binary(
        name = name + "_fuzzer",
        # A test tool: it may use testonly helpers (e.g. rpc::LocalBackend).
        testonly = 1,
        srcs = srcs + _replay_main(),
        deps = deps,
        linkopts = select({
            # Bazel links with CC (clang-14, the C driver), which leaves out
            # UBSan's C++ runtime (vptr checks): ask for it.
            "//fuzz:fuzzing": [
                "-fsanitize=fuzzer",
                "-fsanitize-link-c++-runtime",
            ],
            "//conditions:default": [],
        }),
        data = [dict] if dict else [],
    )
    native.cc_test(
        name = name + "_replay_test",
        size = size,
        srcs = srcs + ["//fuzz:replay_main.cc"],
        deps = deps,
        data = native.glob([corpus + "/**"], allow_empty = False),
        # The runfiles tree mirrors the workspace, and tests start at its
        # root, so the corpus is found by its workspace-relative path.
        args = ["fuzz/" + corpus],
    )
