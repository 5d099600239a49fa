#!/usr/bin/env bash
# hub_tsan.sh - the threaded Hub code under ThreadSanitizer: the client's
# worker pool and per-file hashing threads, the server's connection
# threads and per-object multipart hashers. Runs hub_multipart.sh (parts
# in order, reversed, repeated, concurrent; chunked download hashed while
# it arrives), hub_faults.sh (drops, 429/500, slow answers, lost commit
# answer) and hub_limits.sh (streamed commits, refusals at the headers,
# the connection cap, concurrent uploads of one part) with build/tsan/hxzoo (`make test-tsan`, part of
# `make test`), and fails on any data race or lock-order report.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$root/build/tsan/hxzoo
if [ ! -x "$bin" ]; then
  echo "skipped: $bin not built (make test-tsan)"
  exit 77
fi
logs=$(mktemp -d /tmp/hxzoo-tsan.XXXXXX)
trap 'rm -rf "$logs"' EXIT
export HXZOO=$bin TSAN_OPTIONS="log_path=$logs/tsan second_deadlock_stack=1"
rc=0
for t in hub_multipart hub_faults hub_limits; do
  if ! bash "$root/tests/integration/$t.sh"; then
    echo "FAIL: $t failed under ThreadSanitizer"
    rc=1
  fi
done
if compgen -G "$logs/tsan*" >/dev/null; then
  for f in "$logs"/tsan*; do head -60 "$f"; done
  echo "FAIL: ThreadSanitizer reports ($(cat "$logs"/tsan* | grep -c '^WARNING: ThreadSanitizer'))"
  rc=1
fi
[ $rc = 0 ] && echo "ok - hub_multipart, hub_faults and hub_limits under ThreadSanitizer: no reports"
exit $rc
