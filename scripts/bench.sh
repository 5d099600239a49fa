#!/usr/bin/env bash
# bench.sh BUILD_DIR - every side-by-side benchmark (make bench). Each part
# prints its own table with ratios and writes JSON under bench-out/.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/bench-out
mkdir -p "$out"
tpy=$root/.venv-torch/bin/python
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GB"
echo "== codec: hxzoo compress vs helix-substrate 0.3.3"
"$tpy" "$root/scripts/bench_codec.py" "$root/$build/hxzoo" "$out/codec" ${BENCH_CODEC_ARGS:-}
for part in "$root"/scripts/bench_*.sh; do
  [ -f "$part" ] || continue
  echo "== $(basename "$part" .sh)"
  bash "$part" "$build" "$out"
done
