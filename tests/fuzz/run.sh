#!/usr/bin/env bash
# run.sh SECONDS TARGET... - run libFuzzer targets built by `make fuzz`
# (build/fuzz/TARGET) for SECONDS each, FUZZ_JOBS at a time (default 1),
# each on its corpus: new inputs go to build/fuzz/corpus/TARGET
# (git-ignored), the committed seeds (tests/fuzz/corpus/TARGET) and saved
# crash inputs (tests/fuzz/crashes/TARGET) are read only; the dictionary
# tests/fuzz/dict/TARGET.dict when there is one. A crash, leak or timeout
# leaves its input in build/fuzz/artifacts/TARGET/. Logs:
# build/fuzz/logs/TARGET.log; one summary row per target (seconds, execs,
# exec/s, cov, ft, corpus) in build/fuzz/summary.tsv. Exits non-zero when a
# target found something. FUZZ_OPTS: more libFuzzer options for every
# target (e.g. -detect_leaks=0 to look past a known leak).
set -u
secs=${1:?usage: run.sh SECONDS TARGET...}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
jobs=${FUZZ_JOBS:-1}
[ $# -gt 0 ] || { echo "run.sh: no targets" >&2; exit 2; }
mkdir -p build/fuzz/logs
# shellcheck disable=SC2317  # one() runs through xargs
one() {
  local t=$1 secs=$2
  local bin=build/fuzz/$t log=build/fuzz/logs/$t.log
  [ -x "$bin" ] || { echo "$t: $bin missing (make fuzz-build)"; return 2; }
  mkdir -p "build/fuzz/corpus/$t" "build/fuzz/artifacts/$t"
  local dirs=("build/fuzz/corpus/$t" "tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/crashes/$t" ] && dirs+=("tests/fuzz/crashes/$t")
  local opts=(-max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1
              -artifact_prefix="build/fuzz/artifacts/$t/")
  [ -f "tests/fuzz/dict/$t.dict" ] && opts+=(-dict="tests/fuzz/dict/$t.dict")
  # shellcheck disable=SC2206  # FUZZ_OPTS is a list of words
  opts+=(${FUZZ_OPTS:-})
  echo "=== $t: ${secs}s"
  "$bin" "${opts[@]}" "${dirs[@]}" >"$log" 2>&1
  local rc=$?
  # the last status line ("#N DONE cov: C ft: F corp: K/S ...") and stats
  local last execs rate cov ft corp
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$([ "$rc" = 0 ] && echo none || echo "rc=$rc, see $log")" >"build/fuzz/logs/$t.row"
  echo "--- $t: rc=$rc ${last:-no status line}"
  return "$rc"
}
export -f one
# shellcheck disable=SC2016  # $1 and $2 are the inner shell's
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'one "$1" "$2"' _ {} "$secs"
rc=$?
{
  printf 'target\tseconds\texecs\texec/s\tcov\tft\tcorpus\tfindings\n'
  for t in "$@"; do cat "build/fuzz/logs/$t.row" 2>/dev/null || printf '%s\t?\n' "$t"; done
} >build/fuzz/summary.tsv
column -t -s $'\t' build/fuzz/summary.tsv 2>/dev/null || cat build/fuzz/summary.tsv
[ $rc = 0 ] || echo "run.sh: a target found something (see build/fuzz/artifacts/ and the logs)" >&2
exit $rc
