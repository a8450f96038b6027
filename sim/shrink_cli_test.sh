#!/bin/bash
# Tests of `sim --shrink` and `sim --scenario=FILE`: a planted bug's failing
# seed shrinks to a scenario file; run with --scenario the file fails the
# same way (and the same run twice), and passes without the bug; bad files
# and bad flag mixes are errors.
set -u
SIM="$1"
T="${TEST_TMPDIR:-/tmp}"
OUT="$T/out"
ERR="$T/err"
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$OUT"; echo "--- stderr"; tail -30 "$ERR"; exit 1; }

# wal_skip_fsync's seed 13 breaks leader completeness after 6 faults.
"$SIM" --seed=13 --sim-seconds=3 --liveness-seconds=1 --torn-crash-every-ms=800 \
  --bug=wal_skip_fsync --shrink --shrink-runs=100 --shrink-out="$T/min.scn" >"$OUT" 2>"$ERR"
rc=$?
[ "$rc" = 1 ] || fail "--shrink of a failing seed exited $rc, want 1"
grep -q "^seed 13: FAIL: leader completeness" "$OUT" || fail "the seed's failure is not shown"
grep -q "^shrink: 6 faults -> [0-5] in [0-9]* runs" "$OUT" || fail "no shorter schedule"
grep -q "^reproduce: bazel-bin/sim/sim --scenario=$T/min.scn" "$OUT" || fail "no reproducing command"
[ "$(head -1 "$T/min.scn")" = "etcdpp-sim-scenario 1" ] || fail "file lacks its header"
grep -q "^# violates: leader completeness" "$T/min.scn" || fail "file does not name the property"
grep -q "^planted_bug wal_skip_fsync" "$T/min.scn" || fail "file lacks the bug"
grep -q "^faults.crash_every_us 0$" "$T/min.scn" || fail "drawn crashes are not off"
faults=$(grep -c "^fault " "$T/min.scn")
echo "seed 13: 6 recorded faults -> $faults"

# The file fails the same way, twice the same run.
"$SIM" --scenario="$T/min.scn" >"$OUT" 2>"$ERR"
rc=$?
[ "$rc" = 1 ] || fail "--scenario of the shrunk file exited $rc, want 1"
grep -q "VIOLATION leader completeness" "$OUT" || fail "the file does not fail the same way"
grep -q "reproduce: bazel-bin/sim/sim --scenario=$T/min.scn --trace" "$OUT" || fail "no reproducing command for the file"
hash1=$(grep "trace hash" "$OUT")
"$SIM" --scenario="$T/min.scn" >"$OUT" 2>"$ERR"
[ "$(grep "trace hash" "$OUT")" = "$hash1" ] || fail "two runs of the file differ"

# Without the bug (edited out, or --bug=none) the same schedule passes.
sed 's/^planted_bug .*/planted_bug none/' "$T/min.scn" >"$T/nobug.scn"
"$SIM" --scenario="$T/nobug.scn" >"$OUT" 2>"$ERR" || fail "the file without the bug failed"
grep -q "^seed 13: PASS" "$OUT" || fail "no PASS without the bug"
"$SIM" --scenario="$T/min.scn" --bug=none >"$OUT" 2>"$ERR" || fail "--bug=none did not turn the bug off"

# A scenario file shrinks too (this one is already small).
"$SIM" --scenario="$T/min.scn" --shrink --shrink-runs=20 >"$OUT" 2>"$ERR"
[ "$?" = 1 ] || fail "--shrink of a failing file did not exit 1"
grep -q "^$T/min.scn: FAIL: leader completeness" "$OUT" || fail "the file's failure is not shown"
grep -q "^shrink: $faults faults -> [0-$faults] in" "$OUT" || fail "the file did not shrink"

# A run that dies of a failed CHECK shrinks as well: the crash report
# hands over the faults injected until then.
"$SIM" --seed=3 --sim-seconds=4 --liveness-seconds=2 --bug=apply_before_commit \
  --shrink --shrink-runs=30 --shrink-out="$T/died.scn" >"$OUT" 2>"$ERR"
[ "$?" = 1 ] || fail "--shrink of a dying seed did not exit 1"
grep -q "^seed 3: FAIL: assertion: the run died of signal 6" "$OUT" || fail "the death is not the property"
grep -q "^# violates: assertion" "$T/died.scn" || fail "the file does not name the assertion"
"$SIM" --scenario="$T/died.scn" >"$OUT" 2>"$ERR"
rc=$?
[ "$rc" = 134 ] || fail "the dying file exited $rc, want 134 (SIGABRT)"
grep -q "reproduce: bazel-bin/sim/sim --scenario=$T/died.scn --trace" "$ERR" || fail "the crash report lacks the file's command"

# A CHECK that fails after some faults: the crash report hands them over.
"$SIM" --seed=13 --sim-seconds=3 --liveness-seconds=1 --torn-crash-every-ms=800 \
  --check-fail-at=2500 --shrink --shrink-runs=10 --shrink-out="$T/check.scn" >"$OUT" 2>"$ERR"
[ "$?" = 1 ] || fail "--shrink of a CHECK failure did not exit 1"
grep -q "^shrink: [1-9][0-9]* recorded faults" "$OUT" || fail "the dying run's faults were not recorded"
grep -q "^reproduce: bazel-bin/sim/sim --scenario=$T/check.scn --check-fail-at=2500$" "$OUT" \
  || fail "the reproducing command lacks --check-fail-at"

# A bad file is an error naming the line; so is a missing one.
printf 'etcdpp-sim-scenario 1\nnodes 3\nfault 1s crash n4\n' >"$T/bad.scn"
"$SIM" --scenario="$T/bad.scn" >"$OUT" 2>"$ERR"
rc=$?
[ "$rc" = 65 ] || fail "a bad file exited $rc, want 65"
grep -q "line 3: names a member beyond nodes=3" "$ERR" || fail "the error does not name the line"
"$SIM" --scenario="$T/none.scn" >"$OUT" 2>"$ERR"
[ "$?" = 66 ] || fail "a missing file did not exit 66"

# Flags that do not go together.
"$SIM" --scenario="$T/min.scn" --seed=3 >"$OUT" 2>"$ERR"
[ "$?" = 64 ] || fail "--scenario with --seed was accepted"
"$SIM" --seeds=1..3 --shrink >"$OUT" 2>"$ERR"
[ "$?" = 64 ] || fail "--shrink of a sweep was accepted"

# A passing seed has nothing to shrink.
"$SIM" --seed=3 --sim-seconds=3 --liveness-seconds=1 --shrink >"$OUT" 2>"$ERR" || fail "--shrink of a passing seed failed"
grep -q "^seed 3: PASS: nothing to shrink" "$OUT" || fail "passing seed not reported"
echo PASS
