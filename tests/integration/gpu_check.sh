#!/usr/bin/env bash
# gpu_check.sh - the CUDA code: it must have been built whenever nvcc is
# present (a build break fails here), then build/gpu-check runs its CPU
# self-test and, on a machine with a CUDA device, the quick kernel checks
# against the CPU reference. Without nvcc or without a device: skipped (77)
# with the reason.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(dirname "${HXZOO:-$root/build/hxzoo}")
bin=$build/gpu-check
if [ ! -x "$bin" ]; then
  if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    echo "nvcc is present but $bin was not built"
    exit 1
  fi
  echo "skipped: nvcc not found, the CUDA code (gpu/) is not built"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" --quick --json "$tmp/report.json"
rc=$?
case $rc in
  0) echo "gpu-check --quick passed" ;;
  77) echo "skipped: $(sed -n 's/.*"reason": "\(.*\)".*/\1/p' "$tmp/report.json")" ;;
  *) echo "gpu-check failed (rc=$rc)"; cat "$tmp/report.json" 2>/dev/null | head -50 ;;
esac
exit $rc
