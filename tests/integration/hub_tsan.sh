#!/usr/bin/env bash
# hub_tsan.sh - the threaded Hub code under ThreadSanitizer: the client's
# worker pool and per-file hashing threads, the server's connection
# threads and per-object multipart hashers. Runs hub_multipart.sh (parts
# in order, reversed, repeated, concurrent; chunked download hashed while
# it arrives), hub_faults.sh (drops, 429/500, slow answers, lost commit
# answer) and hub_limits.sh (streamed commits, refusals at the headers,
# the connection cap, concurrent uploads of one part) with build/tsan/hxzoo (`make test-tsan`, part of
# `make test`), and fails on any data race or lock-order report (or when that
# build is missing).
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/integration/lib/sanitized.sh"
SAN_LOGS=$(mktemp -d /tmp/hxzoo-tsan.XXXXXX)
trap 'rm -rf "$SAN_LOGS"' EXIT
export TSAN_OPTIONS="log_path=$SAN_LOGS/tsan second_deadlock_stack=1"
sanitized_run ThreadSanitizer "$root/build/tsan/hxzoo" hub_multipart hub_faults hub_limits
