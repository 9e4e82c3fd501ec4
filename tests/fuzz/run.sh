#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every fuzz target of a libFuzzer build for SECONDS each, starting
# from its seed corpus (tests/fuzz/corpus/NAME, copied: new inputs go to
# BUILD/corpus/NAME, never into the repository). A crash, a sanitizer
# report or a failed check leaves its input in BUILD/crashes/.
#   tests/fuzz/run.sh build/fuzz 5     make test's smoke
#   tests/fuzz/run.sh build/fuzz 600   a longer hunt (make fuzz)
# Ends with one "N passed, N failed" line; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build/fuzz}
seconds=${2:-60}
passed=0 failed=0 failures=()
mkdir -p "$build/crashes"
for bin in "$build"/fuzz/fuzz_*; do
  name=${bin##*/fuzz_}
  work="$build/corpus/$name"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
  echo "=== fuzz/$name ($seconds s)"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" "$work" \
       > "$build/$name.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/$name.log" | tail -1
    passed=$((passed + 1))
  else
    tail -40 "$build/$name.log"
    failed=$((failed + 1)); failures+=("fuzz/$name")
  fi
done
echo
[ $failed -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "$build: $passed passed, $failed failed"
[ $failed -eq 0 ]
