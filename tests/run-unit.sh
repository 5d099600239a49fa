#!/usr/bin/env bash
# run-unit.sh BUILD_DIR - run every Check unit-test binary in BUILD_DIR/tests.
# Each binary prints Check's own summary line; this prints one line per
# binary and exits non-zero if any failed.
set -u
build=${1:-build}
pass=0 fail=0 failed=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  case "$t" in *.d) continue ;; esac
  if CK_FORK=yes "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$(basename "$t")"); fi
done
echo "unit test binaries ($build): $pass passed, $fail failed${failed:+ (${failed[*]})}"
# a build without its test binaries is a failure, not an empty success
[ "$pass" -gt 0 ] || echo "no unit test binaries in $build/tests"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
