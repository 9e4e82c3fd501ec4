#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the whole suite against one build directory: the cmocka unit tests,
# then the integration tests (real programs on a devbroker, loopback only).
#   tests/run.sh build          normal build
#   tests/run.sh build/asan     AddressSanitizer + UBSan build
# Ends with one "N passed, N failed" line; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
export BUILD=$build
# Sanitizers (build/asan): any report, leaks included, fails the program
# that made it, and so the test that started it.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1
passed=0 failed=0 failures=()

run() { # name, command...
  local name=$1; shift
  echo "=== $name ($build)"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

for t in "$build"/tests/test_*; do
  run "unit/$(basename "$t")" "$t"
done
for t in tests/integration/test_*.py; do
  run "integration/$(basename "$t" .py)" python3 "$t"
done

echo
[ $failed -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "$build: $passed passed, $failed failed"
[ $failed -eq 0 ]
