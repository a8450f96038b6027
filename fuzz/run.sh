#!/usr/bin/env bash
# Builds and runs etcdpp's libFuzzer targets.
#
#   bash fuzz/run.sh [--seconds N] [--jobs J] [target...]
#
# target is a name (raft_message) or a target (raft_message_fuzzer); none
# means every fuzz/*_fuzzer.cc. For each target it:
#   1. builds //fuzz:<name>_fuzzer with --config=fuzz (clang-14, libFuzzer,
#      ASan + UBSan);
#   2. fuzzes for N seconds (default 60) on a copy of fuzz/corpus/<name>/ in
#      a work dir (FUZZ_WORK_DIR, default a fresh temp dir), with
#      fuzz/<name>.dict when there is one;
#   3. merges the inputs that found new coverage back into
#      fuzz/corpus/<name>/ (libFuzzer -merge=1) — skipped when CI=true, so a
#      CI run never edits the checked-in corpus (FUZZ_MERGE=0 or 1 decides
#      explicitly);
#   4. on a crash, copies the input to fuzz/crashes/<name>/ and prints the
#      command that reproduces it.
# It prints one summary line per target (execs/s, coverage, corpus size)
# and exits 1 if any target crashed, hung, ran out of memory or failed to
# build.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=60
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --jobs=*) jobs="${1#*=}"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
    *) targets+=("${1%_fuzzer}"); shift ;;
  esac
done
if [ "${#targets[@]}" -eq 0 ]; then
  for src in fuzz/*_fuzzer.cc; do
    name="$(basename "$src" _fuzzer.cc)"
    targets+=("$name")
  done
fi

# The fuzz build (clang-14) is held to -Werror like the default (gcc) one.
bazel_flags=(--config=fuzz)

work="${FUZZ_WORK_DIR:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d -t etcdpp-fuzz.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
merge=1
if [ "${CI:-}" = "true" ]; then merge=0; fi
case "${FUZZ_MERGE:-}" in 0) merge=0 ;; 1) merge=1 ;; esac

labels=()
for t in "${targets[@]}"; do labels+=("//fuzz:${t}_fuzzer"); done
echo "== fuzz: bazel build ${bazel_flags[*]} ${labels[*]}"
if ! bazel build "${bazel_flags[@]}" "${labels[@]}"; then
  echo "FUZZ FAILED: the fuzz targets did not build" >&2
  exit 1
fi
bin_dir="$(bazel info "${bazel_flags[@]}" bazel-bin 2>/dev/null)"

status=0
summary=()
for t in "${targets[@]}"; do
  bin="$bin_dir/fuzz/${t}_fuzzer"
  corpus="fuzz/corpus/$t"
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts" "$corpus"
  cp -r "$corpus/." "$dir/corpus/"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
  [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
  if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs"); fi
  echo "== fuzz: $t for ${seconds}s"
  "$bin" "${args[@]}" "$dir/corpus" > "$dir/log" 2>&1
  rc=$?
  tail -n 25 "$dir/log"
  # The last status line: "#N DONE cov: C ft: F corp: K/..." or "#N ... ".
  cov="$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)"
  ft="$(grep -o 'ft: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)"
  execs="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*$')"
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*$')"
  found=("$dir"/artifacts/*)
  if [ "$rc" -ne 0 ] || [ -e "${found[0]}" ]; then
    status=1
    mkdir -p "fuzz/crashes/$t"
    for f in "${found[@]}"; do
      [ -e "$f" ] || continue
      cp "$f" "fuzz/crashes/$t/"
      saved="fuzz/crashes/$t/$(basename "$f")"
      echo "FUZZ CRASH: $t (exit $rc): saved $saved" >&2
      echo "  reproduce (libFuzzer): bazel build ${bazel_flags[*]} //fuzz:${t}_fuzzer && $bin $saved" >&2
      echo "  reproduce (gcc, gdb-friendly): bazel run //fuzz:${t}_fuzzer -- \"\$PWD/$saved\"" >&2
    done
    if [ ! -e "${found[0]}" ]; then
      echo "FUZZ FAILED: $t exited $rc without an artifact; log: $dir/log" >&2
      cp "$dir/log" "fuzz/crashes/$t/log-$(date +%s)" 2>/dev/null || true
    fi
    summary+=("$t: FAILED (exit $rc) cov=${cov:-?} ft=${ft:-?} execs/s=${execs:-?}")
    continue
  fi
  added=0
  if [ "$merge" = 1 ]; then
    before="$(ls "$corpus" | wc -l)"
    "$bin" -merge=1 -rss_limit_mb=2048 "$corpus" "$dir/corpus" > "$dir/merge.log" 2>&1 \
      || { echo "FUZZ FAILED: merging $t's corpus; log: $dir/merge.log" >&2; status=1; }
    added=$(( $(ls "$corpus" | wc -l) - before ))
  fi
  summary+=("$t: ok ${runs:-?} runs, execs/s=${execs:-?} cov=${cov:-?} ft=${ft:-?}, corpus +$added (merge $([ "$merge" = 1 ] && echo on || echo off))")
done

echo "== fuzz summary (${seconds}s per target)"
for line in "${summary[@]}"; do echo "  $line"; done
exit $status
