#!/usr/bin/env bash
# bench_eval.sh [BUILD] - evaluation benchmarks on the CPU (make bench):
#  1. SmolLM2-135M (dense, fp32 compute) on the helix protocol: our PPL and
#     tokens/s next to PyTorch's (scripts/bench_eval_torch.py, .venv-torch)
#     on the same machine, text and protocol;
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
echo "== 1. SmolLM2-135M helix protocol: hxzoo vs PyTorch (CPU, $(nproc) cores)"
"$hx" eval "$smol" --text "$wiki" --protocol helix "${mw[@]}" --receipt "$work/ours_dense.json"
"$py" "$root/scripts/bench_eval_torch.py" "$smol" "$wiki" ${BENCH_MAX_WINDOWS:+--max-windows $BENCH_MAX_WINDOWS} \
  --json "$work/torch_dense.json" > /dev/null
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
"$py" - "$work" <<'PY' | tee "$work/summary.md"
import json, os, platform, sys
w = sys.argv[1]
J = lambda n: json.load(open(os.path.join(w, n)))
o, t = J("ours_dense.json"), J("torch_dense.json")
print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs\n")
print("| SmolLM2-135M, helix, fp32 | PPL | scored tokens | wall s | tokens/s |")
print("|---|---|---|---|---|")
print(f"| hxzoo eval (C, OpenBLAS) | {o['model']['ppl']:.4f} | {o['tokens']['scored_done']} | {o['wall_time_s']:.1f} | {o['tokens_per_s']:.1f} |")
print(f"| {t['impl']} | {t['ppl']:.4f} | {t['scored']} | {t['wall_time_s']:.1f} | {t['tokens_per_s']:.1f} |")
print()
print("| model | codec | protocol | base PPL | PPL | dPPL | dPPL % | KLD | top-1 |")
print("|---|---|---|---|---|---|---|---|---|")
for f in ("stories260k", "smollm2"):
    for c, name in (("ours", "hxzoo compress"), ("orig", "helix-substrate 0.3.3")):
        r = J(f"{f}_{c}.json")
        s = r["settings"]
        proto = f"{r['protocol']} {s.get('seq_len')} ({r['tokens']['scored_done']} tok)"
        print(f"| {f} | {name} | {proto} | {r['base']['ppl']:.4f} | {r['model']['ppl']:.4f} | "
              f"{r['delta_ppl']:+.4f} | {r['delta_pct']:+.3f} | {r['kld_mean']:.5f} | {r['top1']:.4f} |")
PY
