#!/usr/bin/env bash
# fuzz_replay.sh - every fuzz target (tests/fuzz/fuzz_*.c) replays its
# committed inputs through the ASan/UBSan build, without libFuzzer: the seed
# corpus tests/fuzz/corpus/TARGET/ and the saved crash inputs
# tests/fuzz/crashes/TARGET/ (each one a regression test of a bug the
# fuzzers found; tests/fuzz/pending/ holds those not fixed yet and is not
# replayed). The binaries build/asan/fuzz-replay/TARGET come from
# `make test-asan` (tests/fuzz/replay_main.c + the target). A sanitizer
# report, a missing binary, a target without seeds or a replay of fewer
# files than are there fails the test; so do zero targets.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$root/build/asan/fuzz-replay
fail() { echo "FAIL: $*" >&2; exit 1; }
count() { find "$1" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
targets=()
for s in "$root"/tests/fuzz/fuzz_*.c; do
  [ -f "$s" ] && targets+=("$(basename "$s" .c)")
done
[ ${#targets[@]} -gt 0 ] || fail "no fuzz targets in tests/fuzz/"
total=0 crashes=0
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || fail "$bin/$t not built (make test-asan builds it)"
  n=$(count "$root/tests/fuzz/corpus/$t")
  [ "$n" -gt 0 ] || fail "$t: no seed inputs in tests/fuzz/corpus/$t"
  dirs=("$root/tests/fuzz/corpus/$t")
  c=$(count "$root/tests/fuzz/crashes/$t")
  [ "$c" -gt 0 ] && dirs+=("$root/tests/fuzz/crashes/$t")
  out=$("$bin/$t" "${dirs[@]}" 2>&1)
  rc=$?
  [ $rc = 0 ] || { printf '%s\n' "$out" | tail -n 60; fail "$t: replay failed (rc=$rc)"; }
  k=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9][0-9]*\) inputs replayed$/\1/p')
  [ "${k:-0}" -eq $((n + c)) ] || fail "$t: replayed ${k:-0} inputs, there are $((n + c))"
  echo "ok - $t: $n seeds, $c crash inputs"
  total=$((total + k)) crashes=$((crashes + c))
done
echo "ok - ${#targets[@]} targets, $total inputs replayed ($crashes saved crash inputs) under ASan/UBSan"
