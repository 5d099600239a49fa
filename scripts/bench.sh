#!/usr/bin/env bash
# bench.sh BUILD - `make bench`: every side-by-side benchmark, in turn.
#   scripts/bench_eval.sh   CPU evaluation: hxzoo eval vs PyTorch throughput,
#                           dPPL/KLD/top-1 of hxzoo compress vs helix-substrate 0.3.3
#   scripts/bench_codec.py  the codec against helix-substrate 0.3.3 (if present)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
bash "$root/scripts/bench_eval.sh" "$build"
if [ -f "$root/scripts/bench_codec.py" ]; then
  "$root/.venv-torch/bin/python" "$root/scripts/bench_codec.py" "$root/$build/hxzoo" "$root/.cache/bench-codec"
fi
