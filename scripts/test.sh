#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what berth needs, builds it, and runs the whole test suite:
# every tier of the default build (the system tier beside the next build),
# then the unit and netns tiers again under AddressSanitizer +
# UndefinedBehaviorSanitizer. Run as root on Debian 12.
# Then it builds the libFuzzer targets and runs each for BERTH_FUZZ_SECONDS (30).
# In CI (CI=true) a skipped test fails the run: CI runs as root, so nothing may skip.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
log_dir=$(mktemp -d /tmp/berth-test-XXXXXX)
system_pid=""
# A run that fails early still lets the system tier finish: its test hosts clean up after themselves.
trap 'if [ -n "$system_pid" ]; then wait "$system_pid" 2>/dev/null || true; fi; rm -rf "$log_dir"' EXIT

step() { printf '\n== %s\n' "$*"; }

# check_ctest NAME LOG RC: fails the run when ctest failed, or skipped tests in CI.
check_ctest() {
  if [ "$3" -ne 0 ]; then
    echo "test: error: ctest ($1) failed" >&2
    exit "$3"
  fi
  if grep -qE '\*\*\*Skipped|Not Run' "$2"; then
    if [ "${CI:-}" = "true" ]; then
      echo "test: error: tests were skipped in CI ($1); CI runs as root and must skip nothing" >&2
      exit 1
    fi
    echo "test: warning: some tests were skipped (run as root to run them all)" >&2
  fi
}

run_ctest() {  # run_ctest NAME PRESET [CTEST ARGS...]
  local name=$1 preset=$2 log="$log_dir/ctest-$1.log"
  shift 2
  ctest --preset "$preset" -j "$jobs" "$@" 2>&1 | tee "$log"
  check_ctest "$name" "$log" "${PIPESTATUS[0]}"
}

step "installing Debian packages"
scripts/install-deps.sh

step "building (RelWithDebInfo)"
cmake --preset default
cmake --build --preset default -j "$jobs"

step "testing: unit, netns and install tiers"
run_ctest default default -LE "system|soak"

# The system tier boots disposable test hosts and mostly waits on them: it
# runs beside the sanitizer build (which has the processors), and is done
# before the sanitizer tests, whose timing it would disturb, begin.
step "testing: the system tier, in the background while the sanitizer build runs"
system_log="$log_dir/ctest-system.log"
( ctest --preset default -j "$jobs" -L system > "$system_log" 2>&1; echo $? > "$log_dir/ctest-system.rc" ) &
system_pid=$!

step "building with AddressSanitizer + UBSan"
cmake --preset asan
cmake --build --preset asan -j "$jobs"

step "the system tier's results"
wait "$system_pid" || true
cat "$system_log"
check_ctest system "$system_log" "$(cat "$log_dir/ctest-system.rc")"

step "testing under the sanitizers: unit and netns tiers"
run_ctest asan asan

step "building the libFuzzer targets (clang)"
cmake --preset fuzz
# Only the fuzzers and the libraries they link: the commands are not fuzzed.
cmake --build --preset fuzz -j "$jobs" --target berth_fuzzers

step "fuzzing each parser of untrusted input for ${BERTH_FUZZ_SECONDS:=30} s, $jobs at a time"
fuzz_one() {  # fuzz_one NAME CORPUS: runs one fuzzer; its log says how it went
  local work="$log_dir/corpus-$1" rc=0
  mkdir -p "$work"
  build-fuzz/tests/fuzz/fuzz_"$1" -max_total_time="$BERTH_FUZZ_SECONDS" -max_len=4096 \
    -artifact_prefix="build-fuzz/crashes/$1-" "$work" "$2" > "$log_dir/fuzz-$1.log" 2>&1 || rc=$?
  echo "$rc" > "$log_dir/fuzz-$1.rc"
}
names=()
# What a fuzzer finds stays after the run (the log directory does not): the input to replay.
mkdir -p build-fuzz/crashes
for corpus in tests/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  names+=("$name")
  # A new fuzzer starts as soon as one of the running ones ends.
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$name" "$corpus" &
done
wait
for name in "${names[@]}"; do
  if [ "$(cat "$log_dir/fuzz-$name.rc")" != 0 ]; then
    tail -n 40 "$log_dir/fuzz-$name.log" >&2
    for found in build-fuzz/crashes/"$name"-*; do
      [ -e "$found" ] && echo "test: the input, kept in $found (base64): $(base64 -w0 "$found")" >&2
    done
    echo "test: error: fuzz_$name found a failure" >&2
    exit 1
  fi
  printf 'fuzz_%s: ' "$name"
  grep -E '^Done' "$log_dir/fuzz-$name.log" || echo
done

step "all tests passed"
