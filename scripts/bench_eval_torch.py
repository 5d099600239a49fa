#!/usr/bin/env python3
"""bench_eval_torch.py MODEL_DIR WIKI_TEST_RAW [--n-tokens 8192] [--seq-len 2048]
[--max-windows N] [--json OUT]

The `helix` protocol run by PyTorch + transformers on the CPU (float32), the
way helix-substrate 0.3.3's tools/eval_ppl_cpu.py runs it (docs: reference
section 4.1), for `make bench`: the same PPL our C evaluator must report, and
the PyTorch throughput (tokens/s) next to ours. The WikiText lines are those
of the HF wikitext-2-raw-v1 test split, read from the raw file."""
import argparse, json, math, os, time

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, AutoTokenizer

ap = argparse.ArgumentParser()
ap.add_argument("model_dir")
ap.add_argument("text")
ap.add_argument("--n-tokens", type=int, default=8192)
ap.add_argument("--seq-len", type=int, default=2048)
ap.add_argument("--max-windows", type=int, default=0)
ap.add_argument("--json")
a = ap.parse_args()
torch.set_num_threads(os.cpu_count())
with open(a.text, encoding="utf-8") as f:
    lines = [l if l.strip() else "" for l in f]
text = "\n\n".join([t for t in lines if t.strip()])
t0 = time.time()
tok = AutoTokenizer.from_pretrained(a.model_dir)
model = AutoModelForCausalLM.from_pretrained(a.model_dir, torch_dtype=torch.float32)
model.eval()
load_s = time.time() - t0
enc = tok(text, return_tensors="pt", truncation=True, max_length=a.n_tokens + 1)
ids = enc.input_ids[:, :a.n_tokens + 1]
nll_sum, n_eval, windows = 0.0, 0, 0
t0 = time.time()
with torch.no_grad():
    for i in range(0, ids.shape[1] - 1, a.seq_len):
        chunk = ids[:, i:min(i + a.seq_len + 1, ids.shape[1])]
        logits = model(input_ids=chunk[:, :-1]).logits.float()
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        n = chunk.shape[1] - 1
        nll_sum += loss.item() * n
        n_eval += n
        windows += 1
        if n_eval >= a.n_tokens or (a.max_windows and windows >= a.max_windows):
            break
dt = time.time() - t0
res = {"impl": "pytorch " + torch.__version__ + " / transformers", "protocol": "helix",
       "ids": int(ids.shape[1]), "windows": windows, "scored": n_eval,
       "ppl": math.exp(nll_sum / n_eval), "wall_time_s": dt, "load_s": load_s,
       "tokens_per_s": n_eval / dt, "threads": torch.get_num_threads()}
print(json.dumps(res, indent=1))
if a.json:
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
