#!/usr/bin/env bash
# summary.sh DIR - a Markdown table of the nightly results from the files
# DIR/**/result.tsv (one line each: model, outcome, reason), with the count
# of models rebuilt, skipped (upstream unchanged) and failed. Exits 1 when a
# build failed.
set -euo pipefail
dir=${1:?usage: summary.sh DIR}
rebuilt=0 skipped=0 failed=0
echo "| model | result | reason |"
echo "| --- | --- | --- |"
while IFS=$'\t' read -r model outcome reason; do
  case $outcome in
    rebuilt) rebuilt=$((rebuilt + 1)) ;;
    skipped) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)) ;;
  esac
  echo "| $model | $outcome | $reason |"
done < <(find "$dir" -name result.tsv -exec cat {} + | sort)
echo
echo "rebuilt $rebuilt, skipped $skipped, failed $failed"
[ "$failed" -eq 0 ]
