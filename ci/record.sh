#!/usr/bin/env bash
# record.sh MODEL DECISION BUILD_OUTCOME REASON OUT_DIR - one line of the
# nightly summary (OUT_DIR/result.tsv) for a matrix job, and a copy of the
# model's build receipts. DECISION: true|false|'' (decision step failed);
# BUILD_OUTCOME: the build step's outcome (success, failure, skipped).
set -euo pipefail
model=$1 decision=$2 outcome=$3 reason=$4 out=$5
mkdir -p "$out"
if [ "$decision" = false ]; then
  result=skipped
elif [ "$decision" = true ] && [ "$outcome" = success ]; then
  result=rebuilt
else
  result=failed
  [ -n "$decision" ] || reason="the rebuild decision failed"
  [ "$outcome" = failure ] && reason="build failed ($reason)"
fi
printf '%s\t%s\t%s\n' "$model" "$result" "$reason" >"$out/result.tsv"
receipts=${HXZOO_BUILD_ROOT:-zoo-build}/$model/receipts
if [ -d "$receipts" ]; then cp -r "$receipts" "$out/"; fi
