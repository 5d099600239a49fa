#!/usr/bin/env bash
# run.sh BUILD_DIR - the whole test suite: Check unit tests, then every
# integration script tests/integration/*.sh (exit 0 = pass, 77 = skipped
# with a reason printed, anything else = fail). Prints one closing line
# "N passed, N failed, N skipped" and exits non-zero on any failure.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export HXZOO="$root/$build/hxzoo" HXZOO_ROOT="$root" PY="$root/.venv/bin/python"
export HXZOO_SHARED="${HXZOO_SHARED:-$root/../shared}"
pass=0 fail=0 skip=0 failed=()
if bash "$root/tests/run-unit.sh" "$build"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(unit); fi
for s in "$root"/tests/integration/*.sh; do
  [ -f "$s" ] || continue
  name=$(basename "$s" .sh)
  echo "=== integration: $name"
  t0=$(date +%s)
  bash "$s"
  rc=$?
  dt=$(( $(date +%s) - t0 ))
  case $rc in
    0) pass=$((pass + 1)); echo "--- PASS $name (${dt}s)" ;;
    77) skip=$((skip + 1)); echo "--- SKIP $name (${dt}s)" ;;
    *) fail=$((fail + 1)); failed+=("$name"); echo "--- FAIL $name (rc=$rc, ${dt}s)" ;;
  esac
done
[ "$fail" -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
