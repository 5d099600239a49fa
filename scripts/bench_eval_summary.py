#!/usr/bin/env python3
"""bench_eval_summary.py WORKDIR - the markdown tables of scripts/bench_eval.sh
from its JSON receipts (hxzoo eval --receipt, bench_eval_torch.py --json)."""
import json, os, platform, sys

w = sys.argv[1]
J = lambda n: json.load(open(os.path.join(w, n)))
print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
if os.path.exists(os.path.join(w, "tok_speed.txt")):
    print("```\n" + open(os.path.join(w, "tok_speed.txt")).read().strip() + "\n```\n")
def best(prefix):
    runs = [J(n) for n in sorted(os.listdir(w)) if n.startswith(prefix) and n.endswith(".json")]
    return min(runs, key=lambda r: r["wall_time_s"]), [r["wall_time_s"] for r in runs]


print(f"OPENBLAS_CORETYPE in the environment: {os.environ.get('OPENBLAS_CORETYPE', '(unset)')}\n")
print("| SmolLM2-135M, helix, fp32 | PPL | scored tokens | best wall s | all runs s | tokens/s (best) |")
print("|---|---|---|---|---|---|")
for prefix, name in (("ours_dense_", "hxzoo eval (C, OpenBLAS, environment's kernels)"),
                     ("ours_skx_", "hxzoo eval (C, OpenBLAS, OPENBLAS_CORETYPE=SkylakeX)")):
    if any(n.startswith(prefix) for n in os.listdir(w)):
        o, walls = best(prefix)
        print(f"| {name} | {o['model']['ppl']:.4f} | {o['tokens']['scored_done']} | "
              f"{o['wall_time_s']:.1f} | {', '.join(f'{x:.1f}' for x in walls)} | {o['tokens_per_s']:.1f} |")
t, walls = best("torch_dense_")
print(f"| {t['impl']} ({t['threads']} threads) | {t['ppl']:.4f} | {t['scored']} | {t['wall_time_s']:.1f} | "
      f"{', '.join(f'{x:.1f}' for x in walls)} | {t['tokens_per_s']:.1f} |")
print()
print("| model | codec | protocol | base PPL | PPL | dPPL | dPPL % | KLD | top-1 |")
print("|---|---|---|---|---|---|---|---|---|")
for f in ("stories260k", "smollm2"):
    for c, name in (("ours", "hxzoo compress"), ("orig", "helix-substrate 0.3.3")):
        if not os.path.exists(os.path.join(w, f"{f}_{c}.json")):
            continue
        r = J(f"{f}_{c}.json")
        s = r["settings"]
        proto = f"{r['protocol']} {s.get('seq_len')} ({r['tokens']['scored_done']} tok)"
        print(f"| {f} | {name} | {proto} | {r['base']['ppl']:.4f} | {r['model']['ppl']:.4f} | "
              f"{r['delta_ppl']:+.4f} | {r['delta_pct']:+.3f} | {r['kld_mean']:.5f} | {r['top1_agreement']:.4f} |")
