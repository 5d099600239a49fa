#!/usr/bin/env bash
# bench_ssm.sh [BUILD] - CPU evaluation of the state-space families at real
# shapes (make bench): random-weight Mamba-130M and Zamba2-1.2B
# (scripts/gen_ssm_bench.py, cached in .cache/bench-ssm) on the helix
# protocol over WikiText-2, hxzoo eval next to PyTorch + transformers
# (scripts/bench_eval_torch.py, its pure-torch paths) in the same run, on the
# same machine, text and ids; prints tokens/s, the ratio and both PPLs.
# BENCH_SSM_WINDOWS (default 1: transformers' Mamba-1 path runs ~25 tokens/s
# here) limits the windows of both. transformers' Zamba2 PPL is shown but not
# comparable past a 256-token chunk (its chunked scan is wrong there,
# docs/EVAL.md): only its speed is.
# Results: .cache/bench-ssm/*.json and .cache/bench-ssm/summary.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
hx=$root/$build/hxzoo
py=$root/.venv-torch/bin/python
work=$root/.cache/bench-ssm
wiki=$root/tests/fixtures/eval/wiki.test.raw
win=${BENCH_SSM_WINDOWS:-1}
mkdir -p "$work"
# the tokenizers: GPT-2's (50,257 ids < Mamba's 50,280) and Llama-2's
# (32,000 = Zamba2's vocabulary) stand in for the models' own
declare -A tok=([mamba-130m]=gpt2 [zamba2-1.2b]=llama2)
for m in mamba-130m zamba2-1.2b; do
  d=$work/$m-random
  if [ ! -f "$d/model.safetensors" ]; then
    "$py" "$root/scripts/gen_ssm_bench.py" "$work" --models "$m" \
      --tokenizer "$m=$root/tests/fixtures/tokenizers/${tok[$m]}" >&2
  fi
  # transformers' AutoTokenizer reads tokenizer.json, not .zst
  [ -f "$d/tokenizer.json" ] || zstd -dqf "$d/tokenizer.json.zst" -o "$d/tokenizer.json"
done
echo "| model | hxzoo tokens/s | PyTorch tokens/s | ratio | hxzoo PPL | PyTorch PPL | windows | hxzoo peak RSS |" > "$work/summary.md"
echo "|---|---|---|---|---|---|---|---|" >> "$work/summary.md"
for m in mamba-130m zamba2-1.2b; do
  d=$work/$m-random
  "$hx" -q eval "$d" --text "$wiki" --protocol helix --max-windows "$win" --device cpu --receipt "$work/ours-$m.json"
  "$py" "$root/scripts/bench_eval_torch.py" "$d" "$wiki" --max-windows "$win" --json "$work/torch-$m.json" >/dev/null 2>&1
  "$py" - "$work/ours-$m.json" "$work/torch-$m.json" "$m" >> "$work/summary.md" <<'PY'
import json, sys
o, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
op = o["model"]["ppl"] if isinstance(o.get("model"), dict) else o["ppl"]
print(f"| {sys.argv[3]} | {o['tokens_per_s']:.1f} | {t['tokens_per_s']:.1f} | "
      f"{o['tokens_per_s'] / t['tokens_per_s']:.2f}x | {op:.6g} | {t['ppl']:.6g} | {t['windows']} | "
      f"{o['peak_rss_bytes'] / 1e9:.2f} GB |")
PY
done
cat "$work/summary.md"
