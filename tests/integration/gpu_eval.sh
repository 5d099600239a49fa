#!/usr/bin/env bash
# gpu_eval.sh - `hxzoo eval --device`: an unknown device is a usage error;
# --device cuda without a usable CUDA device (or in a build without nvcc)
# must refuse with "no CUDA device: <reason>", a non-zero exit and no
# receipt - never fall back to the CPU. With a device, the GPU-vs-CPU
# perplexity agreement of scripts/gpu-eval.sh runs; without one that part
# is skipped (77) after the refusal has been asserted.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
fx=$root/tests/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--text "$fx/eval/valid-head30k.txt" --protocol helix --seq-len 512 --n-tokens 1024)

"$hx" eval "$fx/stories260k" "${args[@]}" --device tpu >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc != 2 ] || ! grep -q "unknown device 'tpu'" "$tmp/e"; then
  echo "FAIL: --device tpu: rc=$rc, $(cat "$tmp/e")"; exit 1
fi

"$hx" eval "$fx/stories260k" "${args[@]}" --device cpu --receipt "$tmp/cpu.json" >"$tmp/o" 2>"$tmp/e" ||
  { echo "FAIL: --device cpu: $(cat "$tmp/e")"; exit 1; }
grep -q '"device":[[:space:]]*"cpu"' "$tmp/cpu.json" || { echo "FAIL: receipt lacks device cpu"; exit 1; }

"$hx" eval "$fx/stories260k" "${args[@]}" --device cuda --receipt "$tmp/cuda.json" >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc = 0 ]; then
  grep -q '"device":[[:space:]]*"cuda"' "$tmp/cuda.json" || { echo "FAIL: receipt lacks device cuda"; exit 1; }
  echo "a CUDA device is usable: GPU-vs-CPU agreement"
  bash "$root/scripts/gpu-eval.sh" "$(dirname "$hx")" "$tmp/gpu"
  exit $?
fi
grep -q '^hxzoo eval: no CUDA device: .' "$tmp/e" ||
  { echo "FAIL: --device cuda failed (rc=$rc) without the 'no CUDA device' message: $(cat "$tmp/e")"; exit 1; }
[ ! -e "$tmp/cuda.json" ] || { echo "FAIL: a receipt was written although the device was refused"; exit 1; }
grep -q 'PPL' "$tmp/o" && { echo "FAIL: a result was printed (CPU fallback?)"; exit 1; }
echo "refusal ok (rc=$rc): $(cat "$tmp/e")"
echo "skipped: the GPU-vs-CPU part needs a CUDA device"
exit 77
