# sanitized.sh - sourced by the integration tests that rerun other tests
# with a sanitizer build of hxzoo (asan_hub.sh, hub_tsan.sh). The caller
# sets root, creates SAN_LOGS (an empty folder) and exports its sanitizer's
# *SAN_OPTIONS with log_path under it: a report fails the run even where the
# test it came from expected hxzoo to fail.

# sanitized_run LABEL BIN TEST... - each tests/integration/TEST.sh with
# HXZOO=BIN; fails when BIN is missing (make test builds it first), when a
# test fails, or when any report was written.
sanitized_run() {
  local label=$1 bin=$2 rc=0 t f
  shift 2
  [ -x "$bin" ] || { echo "FAIL: $bin not built (make test builds it first)"; return 1; }
  export HXZOO=$bin
  for t in "$@"; do
    bash "$root/tests/integration/$t.sh" || { echo "FAIL: $t failed with $label"; rc=1; }
  done
  if compgen -G "$SAN_LOGS/*" >/dev/null; then
    for f in "$SAN_LOGS"/*; do head -60 "$f"; done
    echo "FAIL: $label reports ($(cat "$SAN_LOGS"/* | grep -c 'ERROR: \|runtime error\|^WARNING: ThreadSanitizer'))"
    rc=1
  fi
  [ $rc = 0 ] && echo "ok - $* with $label: no reports"
  return $rc
}
