#!/usr/bin/env bash
# asan_hub.sh - the Hub client and server from the ASan/UBSan build
# (build/asan/hxzoo, made by `make test-asan` before the integration
# tests) through the hostile-input and fault tests: hub_hostile.sh (the
# client against a lying fake Hub: huge size claims, self-referencing
# pagination, bad answers), hub_faults.sh (client and server: drops, 429/500,
# slow and lost answers) and hub_limits.sh (the server's refusals at the
# headers, streamed commits, range checks). Sanitizer reports go to files
# (log_path), so a report fails this test even where the test it came from
# expected hxzoo to fail.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$root/build/asan/hxzoo
# make test builds it first (test-asan): its absence is a failure, not a skip
[ -x "$bin" ] || { echo "FAIL: $bin not built (run make test-asan first)"; exit 1; }
logs=$(mktemp -d /tmp/hxzoo-asan.XXXXXX)
trap 'rm -rf "$logs"' EXIT
export HXZOO=$bin
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1" UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1"
rc=0
for t in hub_hostile hub_faults hub_limits; do
  if ! bash "$root/tests/integration/$t.sh"; then
    echo "FAIL: $t failed with the ASan/UBSan build"
    rc=1
  fi
done
if compgen -G "$logs/*san*" >/dev/null; then
  for f in "$logs"/*san*; do head -60 "$f"; done
  echo "FAIL: sanitizer reports ($(cat "$logs"/*san* | grep -c 'ERROR: \|runtime error'))"
  rc=1
fi
[ $rc = 0 ] && echo "ok - hub_hostile, hub_faults and hub_limits with the ASan/UBSan client and server: no reports"
exit $rc
