#!/usr/bin/env bash
# bench_eval.sh [BUILD] - evaluation benchmarks on the CPU (make bench):
#  0. tokenizer speed on WikiText-2 next to the Python tokenizers package;
#  1. SmolLM2-135M (dense, fp32 compute) on the helix protocol: our PPL and
#     tokens/s next to PyTorch's (scripts/bench_eval_torch.py, .venv-torch)
#     on the same machine, text and protocol, interleaved, best of two;
#  2. for stories260K and SmolLM2-135M: dPPL, KLD and top-1 against the dense
#     model of `hxzoo compress` output and of the original helix-substrate
#     0.3.3 codec's output (tests/hxqlib.py write_reference_hxq), both
#     evaluated by `hxzoo eval --base`.
# Results: .cache/bench-eval/*.json and a markdown table on stdout (also in
# .cache/bench-eval/summary.md). BENCH_MAX_WINDOWS=N shortens every run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
hx=$root/$build/hxzoo
py=$root/.venv-torch/bin/python
work=$root/.cache/bench-eval
wiki=$root/tests/fixtures/eval/wiki.test.raw
tiny=$root/tests/fixtures/eval/valid-head30k.txt
smol=$root/.cache/smollm2-135m
stories=$root/tests/fixtures/stories260k
mw=()
[ -n "${BENCH_MAX_WINDOWS:-}" ] && mw=(--max-windows "$BENCH_MAX_WINDOWS")
mkdir -p "$work"
echo "== 0. tokenizers on WikiText-2 test (1.3 MB): hxzoo vs Python tokenizers"
for t in gpt2 llama2 qwen2; do
  "$hx" tokenize "$root/tests/fixtures/tokenizers/$t" --file "$wiki" --sha --time 2>&1 >/dev/null |
    sed "s/^/$t hxzoo: /"
done > "$work/tok_speed.txt"
"$root/.venv/bin/python" - "$root" >> "$work/tok_speed.txt" <<'PY'
import subprocess, sys, time
from tokenizers import Tokenizer
root = sys.argv[1]
text = open(root + "/tests/fixtures/eval/wiki.test.raw", encoding="utf-8", newline="").read()
for t in ("gpt2", "llama2", "qwen2"):
    js = subprocess.run(["zstd", "-dc", f"{root}/tests/fixtures/tokenizers/{t}/tokenizer.json.zst"],
                        check=True, capture_output=True).stdout.decode()
    tok = Tokenizer.from_str(js)
    t0, c0 = time.time(), time.process_time()
    n = len(tok.encode(text, add_special_tokens=False).ids)
    print(f"{t} python-tokenizers: encoded {len(text.encode())} bytes into {n} ids in "
          f"{time.time() - t0:.3f} s (cpu {time.process_time() - c0:.3f} s)")
PY
cat "$work/tok_speed.txt"
echo "== 1. SmolLM2-135M helix protocol: hxzoo vs PyTorch (CPU, $(nproc) cores)"
# interleaved, twice each (the summary keeps the best wall time of each): the
# machine is shared, so a single run mostly measures the neighbours' load.
# hxzoo runs with the environment's OpenBLAS kernels and with SkylakeX ones.
for i in 1 2; do
  "$hx" -q eval "$smol" --text "$wiki" --protocol helix "${mw[@]}" --receipt "$work/ours_dense_$i.json"
  OPENBLAS_CORETYPE=SkylakeX "$hx" -q eval "$smol" --text "$wiki" --protocol helix "${mw[@]}" \
    --receipt "$work/ours_skx_$i.json"
  "$py" "$root/scripts/bench_eval_torch.py" "$smol" "$wiki" ${BENCH_MAX_WINDOWS:+--max-windows $BENCH_MAX_WINDOWS} \
    --json "$work/torch_dense_$i.json" > /dev/null 2>&1
done
echo "== 2. compression quality against the dense model"
for f in stories260k smollm2; do
  if [ $f = stories260k ]; then src=$stories; args=(--text "$tiny" --protocol helix --seq-len 512); else
    src=$smol; args=(--text "$wiki" --protocol helix); fi
  rm -rf "$work/$f-ours" "$work/$f-orig"
  "$hx" -q compress "$src" "$work/$f-ours"
  (cd "$root/tests" && "$py" -c "import sys, hxqlib; hxqlib.write_reference_hxq(sys.argv[1], sys.argv[2], log=lambda *a: None)" \
     "$src" "$work/$f-orig")
  for c in ours orig; do
    "$hx" eval "$work/$f-$c" --base "$src" "${args[@]}" "${mw[@]}" --receipt "$work/${f}_$c.json"
  done
done
"$py" "$root/scripts/bench_eval_summary.py" "$work" | tee "$work/summary.md"
