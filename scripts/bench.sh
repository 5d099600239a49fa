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
echo "== evaluation: hxzoo eval vs PyTorch (CPU), compression quality vs the original codec"
bash "$root/scripts/bench_eval.sh" "$build"
echo "== state-space models: hxzoo eval vs PyTorch (CPU), Mamba-130M and Zamba2-1.2B shapes"
bash "$root/scripts/bench_ssm.sh" "$build"
echo "== hub: hxzoo download/upload vs huggingface_hub through hxzoo serve"
bash "$root/scripts/bench_hub.sh" "$build"
# scripts/bench_hub_cpu.sh BIN_A BIN_B compares two builds (before/after a change); not part of this run
