#!/bin/bash
# Tests of the //sim:sim command line: exit codes, the sweep's report of a
# failed assertion inside the world, and --bug=list.
set -u
SIM="$1"
OUT="${TEST_TMPDIR:-/tmp}/out"
ERR="${TEST_TMPDIR:-/tmp}/err"
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$OUT"; echo "--- stderr"; tail -50 "$ERR"; exit 1; }

# A sweep in which every seed's world CHECK-fails at 1.5 virtual seconds:
# each seed is reported, the sweep reaches the last one, and exits 1.
"$SIM" --seeds=3..5 --nodes=3 --sim-seconds=3 --check-fail-at=1500 >"$OUT" 2>"$ERR"
rc=$?
[ "$rc" = 1 ] || fail "sweep with CHECK failures exited $rc, want 1"
grep -q "failing seeds: 3 4 5" "$OUT" || fail "sweep did not list every failing seed"
for s in 3 4 5; do
  grep -q "seed $s: FAIL" "$ERR" || fail "no crash report for seed $s"
  grep -q "reproduce: bazel-bin/sim/sim --seed=$s --nodes=3 --sim-seconds=3 --check-fail-at=1500 --trace" "$ERR" \
    || fail "no reproducing command for seed $s"
done
grep -q "CHECK failed: false" "$ERR" || fail "the CHECK message is missing"
grep -q "end of trace:" "$ERR" || fail "no trace tail"
grep -q "^    1\.[0-9]*s " "$ERR" || fail "trace tail lacks timed events"

# Passing seeds exit 0 and print a trace hash per single seed.
"$SIM" --seeds=3..4 --nodes=3 --sim-seconds=3 >"$OUT" 2>"$ERR" || fail "clean sweep failed"
grep -q "2 seeds: 0 failed" "$OUT" || fail "clean sweep summary"
"$SIM" --seed=3 --nodes=3 --sim-seconds=3 >"$OUT" 2>"$ERR" || fail "single seed failed"
grep -q "trace hash" "$OUT" || fail "no trace hash line"
echo PASS
