#!/usr/bin/env bash
# Runs the whole suite against one build directory: the cmocka unit tests,
# then the integration tests (real programs on a devbroker, loopback only).
#   tests/run.sh build          normal build
#   tests/run.sh build/asan     AddressSanitizer + UBSan build
# Ends with one "N passed, N failed" line; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
export BUILD=$build
# Sanitizers: fail on the first report; librdkafka's and glibc's one-time
# allocations at exit are not ours to fix, so leaks are checked per test
# binary only where we own every allocation (the unit tests).
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0 failed=0 failures=()

run() { # name, command...
  local name=$1; shift
  echo "=== $name ($build)"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

for t in "$build"/tests/test_*; do
  ASAN_OPTIONS=detect_leaks=1 run "unit/$(basename "$t")" "$t"
done
for t in tests/integration/test_*.py; do
  ASAN_OPTIONS=detect_leaks=0 run "integration/$(basename "$t" .py)" python3 "$t"
done

echo
[ $failed -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "$build: $passed passed, $failed failed"
[ $failed -eq 0 ]
