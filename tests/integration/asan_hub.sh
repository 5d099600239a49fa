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
. "$root/tests/integration/lib/sanitized.sh"
SAN_LOGS=$(mktemp -d /tmp/hxzoo-asan.XXXXXX)
trap 'rm -rf "$SAN_LOGS"' EXIT
export ASAN_OPTIONS="log_path=$SAN_LOGS/asan:detect_leaks=1" UBSAN_OPTIONS="log_path=$SAN_LOGS/ubsan:print_stacktrace=1"
sanitized_run "the ASan/UBSan client and server" "$root/build/asan/hxzoo" hub_hostile hub_faults hub_limits
