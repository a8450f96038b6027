#!/usr/bin/env bash
# The README's test command: sets up, builds and runs every test, and ends
# with a line `N passed, N failed` counting test cases.
#
#   1. every test in the default configuration;
#   2. the deterministic core (base, raft, kv, server/node, server/storage,
#      sim) and the byte-handling network code (net, server/peer: TCP, TLS,
#      frames) once more under ASan + UBSan (tests tagged no_asan excepted);
#   3. a short libFuzzer smoke run of every fuzz target.
set -uo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0

echo "== bazel test //... (default config)"
bazel test --keep_going --build_event_json_file="$out/default.json" //... || status=1

core=()
for dir in base raft kv server/node server/storage sim net server/peer; do
  # Only folders that hold tests: an empty pattern is an error to Bazel.
  if grep -rqs --include=BUILD.bazel -e "_test\"" -e "cc_test" "$dir"; then
    core+=("//$dir/...")
  fi
done
echo "== bazel test --config=asan ${core[*]}"
# Tests tagged no_asan (the planted-bug hunts: they check the checkers, not
# memory safety, and are the slowest under ASan) run in step 1 only.
bazel test --config=asan --keep_going --build_event_json_file="$out/asan.json" \
  --test_tag_filters=-no_asan "${core[@]}" || status=1

# 3. a ~10 s libFuzzer smoke run per fuzz target (fuzz/run.sh), counted as
#    one case. The corpus is replayed as tests in step 1 already. The run
#    works in a temp dir and never merges into the checked-in corpus.
echo "== fuzz smoke run: bash fuzz/run.sh --seconds 10"
fuzz_smoke=passed
FUZZ_WORK_DIR="$out/fuzz" FUZZ_MERGE=0 bash fuzz/run.sh --seconds 10 || { fuzz_smoke=failed; status=1; }

python3 tools/count_tests.py --extra "fuzz_smoke=$fuzz_smoke" \
  "$out/default.json" "$out/asan.json" || status=1
exit $status
