#!/usr/bin/env bash
# gpu-run.sh [--no-sanitize] - the one script a session with a lent GPU runs
# on the device machine (see docs/GPU.md for the exact device-tool call).
# Installs nothing. Writes into $OUT (default ./out):
#   gpu-report.json   build/gpu-check's JSON report (correctness + benchmarks)
#   gpu-check.log     its console output
#   nvidia-smi.txt    the card as found (query only; settings are never touched)
#   sanitizer.log     compute-sanitizer memcheck of the quick checks
#   gpu-eval.log      GPU-vs-CPU perplexity of `hxzoo eval --device cuda` on
#   eval/*.json       the fixtures (scripts/gpu-eval.sh) and its receipts
# Uses the carried build/gpu-check; if it is missing or cannot start there,
# rebuilds it with the machine's nvcc first. Uses the carried build/hxzoo,
# with the carried build/gpu-libs (scripts/gpu-carry-libs.sh) appended to
# LD_LIBRARY_PATH for the libraries the machine's image lacks.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0
t0=$(date +%s)

{ nvidia-smi; nvidia-smi -q; } >"$OUT/nvidia-smi.txt" 2>&1
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu \
  --format=csv 2>&1 | head -3
uname -r

# cuBLAS for the BF16 baseline: gpu-check dlopens libcublas.so.13; add the
# toolkit's and PyTorch's copies to the search path.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -e "$d/libcublas.so.13" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
tl=$(python3 -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null)
[ -n "$tl" ] && [ -e "$tl/libcublas.so.13" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:$tl"
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}

bin=build/gpu-check
"$bin" --help >/dev/null 2>&1 # usage: exits 2 when the binary starts
if [ $? != 2 ]; then
  echo "build/gpu-check missing or not runnable here: rebuilding with $(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
  NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  if command -v make >/dev/null 2>&1; then
    make -j8 NVCC="$NVCC" build/gpu-check 2>&1 | tail -5
  else
    set -x
    mkdir -p build/gpu/check build/common
    A="-gencode arch=compute_90,code=sm_90"
    F="-std=c++17 -O3 -I. $A"
    for f in device hxq_gemv hxq_gemm; do "$NVCC" $F -c gpu/$f.cu -o build/gpu/$f.cu.o & done
    "$NVCC" $F -c gpu/check/bench.cu -o build/gpu/check/bench.cu.o &
    wait
    for f in gpu/ref gpu/check/gpu_check common/hx; do cc -std=c11 -O2 -D_GNU_SOURCE -I. -c $f.c -o build/$f.o; done
    g++ -o build/gpu-check build/gpu/check/gpu_check.o build/gpu/check/bench.cu.o build/gpu/*.o \
      build/common/hx.o -L"$(dirname "$NVCC")/../lib64" -lcudart_static -static-libstdc++ -ldl -lrt -lpthread -lm
    set +x
  fi
  echo "rebuilt in $(( $(date +%s) - t0 )) s"
fi

set -o pipefail
timeout 330 "$bin" --json "$OUT/gpu-report.json" 2>&1 | tee "$OUT/gpu-check.log"
rc=$?
echo "gpu-check exit status: $rc ($(( $(date +%s) - t0 )) s so far)"

# hxzoo eval --device cuda vs --device cpu on the committed fixtures.
[ -d build/gpu-libs ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$PWD/build/gpu-libs"
if build/hxzoo --help >/dev/null 2>&1; then
  timeout 90 bash scripts/gpu-eval.sh "$PWD/build" "$OUT/eval" 2>&1 | tee "$OUT/gpu-eval.log"
  erc=$?
else
  echo "build/hxzoo does not start here:" | tee "$OUT/gpu-eval.log"
  build/hxzoo --help 2>&1 | head -3 | tee -a "$OUT/gpu-eval.log"
  ldd build/hxzoo 2>&1 | grep 'not found' | tee -a "$OUT/gpu-eval.log"
  erc=1
fi
echo "gpu-eval exit status: $erc ($(( $(date +%s) - t0 )) s so far)"
[ $rc = 0 ] && rc=$erc

if [ $sanitize = 1 ] && command -v compute-sanitizer >/dev/null 2>&1; then
  timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin" --quick \
    >"$OUT/sanitizer.log" 2>&1
  echo "compute-sanitizer memcheck --quick: exit $? (log: sanitizer.log)"
  tail -3 "$OUT/sanitizer.log"
fi
echo "total $(( $(date +%s) - t0 )) s"
exit $rc
