#!/usr/bin/env python3
"""gpu_torch_ppl.py MODEL_DIR --text wiki.test.raw [--device cuda]
[--dtypes float32,bfloat16] [--hxzoo-dtypes f32,bf16] [--n-tokens 8192]
[--seq-len 2048] [--max-windows N] [--hxzoo build/hxzoo] [--json OUT]

The `helix` protocol (docs/EVAL.md) on a real dense model, by `hxzoo eval`
and by PyTorch + transformers on the same device, side by side: perplexity
and tokens/s (scripts/gpu-run.sh's SmolLM2 phase; nothing is downloaded).

Token ids: the helix text (non-empty WikiText lines joined with "\\n\\n",
lines as Python's text mode iterates them) is written to a temporary file
and tokenized by `hxzoo tokenize MODEL_DIR --file F --special`, then cut to
n_tokens+1 ids; their SHA-256 (int32 little-endian) must equal the one
`hxzoo eval --plan` prints, so both implementations see exactly the same ids
(else exit 1 before any model is loaded). PyTorch: for each dtype the model
is loaded with AutoModelForCausalLM (transformers 4.x or 5.x), one window is
run as a warm-up (not timed), then the windows `ids[i:i+seq+1]`, i = 0,
seq, ... until n_tokens targets (or --max-windows), logits cast to float32,
cross-entropy per window, PPL = exp(sum window-mean NLL x targets / targets);
the device is synchronised before each clock read; tokens/s = scored
targets / wall seconds (= forward tokens for helix). hxzoo: `hxzoo eval
MODEL_DIR --protocol helix --device D [--dtype X]` with the same settings
(its receipt's PPL and tokens/s, model loading excluded); `--dtype` is only
passed when `hxzoo eval --help` lists it, and a bf16 run without it is
reported as an error, never silently dropped.

Exit 0 when every run worked, 1 otherwise; the JSON report (--json) is
written either way."""
import argparse
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def helix_text(path):
    with open(path, encoding="utf-8") as f:
        lines = [l if l.strip() else "" for l in f]
    return "\n\n".join(t for t in lines if t.strip())


def env_with_libs():
    env = dict(os.environ)
    libs = os.path.join(ROOT, "build/gpu-libs")  # scripts/gpu-carry-libs.sh, for a bare device image
    if os.path.isdir(libs):
        env["LD_LIBRARY_PATH"] = ":".join(x for x in (env.get("LD_LIBRARY_PATH"), libs) if x)
    return env


def get_ids(a, work):
    tf = os.path.join(work, "helix.txt")
    with open(tf, "w", encoding="utf-8") as f:
        f.write(helix_text(a.text))
    env = env_with_libs()
    p = subprocess.run([a.hxzoo, "tokenize", a.model, "--file", tf, "--special"], capture_output=True,
                       text=True, env=env)
    if p.returncode:
        raise RuntimeError("hxzoo tokenize failed: " + (p.stderr or p.stdout).strip()[-400:])
    ids = [int(x) for x in p.stdout.split()][:a.n_tokens + 1]
    digest = hashlib.sha256(struct.pack("<%di" % len(ids), *ids)).hexdigest()
    p = subprocess.run([a.hxzoo, "eval", a.model, "--text", a.text, "--protocol", "helix", "--n-tokens",
                        str(a.n_tokens), "--seq-len", str(a.seq_len), "--plan"], capture_output=True, text=True,
                       env=env)
    m = re.search(r"ids (\d+) sha256 ([0-9a-f]{64})", p.stdout)
    if p.returncode or not m:
        raise RuntimeError("hxzoo eval --plan failed: " + (p.stderr or p.stdout).strip()[-400:])
    if int(m.group(1)) != len(ids) or m.group(2) != digest:
        raise RuntimeError(f"token ids differ from hxzoo eval's: {len(ids)} ids sha256 {digest}, "
                           f"hxzoo eval --plan: {m.group(1)} ids sha256 {m.group(2)}")
    return ids, digest


def torch_run(a, ids, dtype_name):
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    dev = a.device

    def sync():
        if dev.startswith("cuda"):
            torch.cuda.synchronize()

    t0 = time.time()
    try:
        model = AutoModelForCausalLM.from_pretrained(a.model, dtype=dtype)
    except TypeError:  # transformers before 4.56
        model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=dtype)
    model = model.to(dev).eval()
    sync()
    load_s = time.time() - t0
    x = torch.tensor([ids], device=dev)
    nll, n_eval, windows = 0.0, 0, 0
    with torch.no_grad():
        model(input_ids=x[:, :min(a.seq_len, x.shape[1] - 1)])  # warm-up, not timed
        sync()
        t0 = time.time()
        for i in range(0, x.shape[1] - 1, a.seq_len):
            chunk = x[:, i:min(i + a.seq_len + 1, x.shape[1])]
            logits = model(input_ids=chunk[:, :-1]).logits.float()
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
            n = chunk.shape[1] - 1
            nll += float(loss) * n  # float() synchronises, like hxzoo's per-window NLL
            n_eval += n
            windows += 1
            if n_eval >= a.n_tokens or (a.max_windows and windows >= a.max_windows):
                break
        sync()
        dt = time.time() - t0
    del model
    if dev.startswith("cuda"):
        torch.cuda.empty_cache()
    return {"impl": f"torch-{dtype_name}", "ppl": math.exp(nll / n_eval), "windows": windows, "scored": n_eval,
            "seconds": dt, "load_s": load_s, "tokens_per_s": n_eval / dt}


def hxzoo_run(a, dt, has_dtype, work):
    name = f"hxzoo-{dt}"
    if not has_dtype and dt != "f32":
        return {"impl": name, "error": f"hxzoo eval has no --dtype option (cannot run {dt})", "rc": 2}
    rec = os.path.join(work, f"receipt-{dt}.json")
    cmd = [a.hxzoo, "-q", "eval", a.model, "--text", a.text, "--protocol", "helix", "--n-tokens", str(a.n_tokens),
           "--seq-len", str(a.seq_len), "--device", a.device, "--receipt", rec]
    if a.max_windows:
        cmd += ["--max-windows", str(a.max_windows)]
    if has_dtype:
        cmd += ["--dtype", dt]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env_with_libs())
    wall = time.time() - t0
    if p.returncode:
        return {"impl": name, "error": (p.stderr or p.stdout).strip()[-800:], "rc": p.returncode}
    with open(rec) as f:
        r = json.load(f)
    out = {"impl": name, "ppl": r["model"]["ppl"], "windows": r["tokens"].get("windows_done"),
           "scored": r["tokens"].get("scored_done"), "seconds": r["wall_time_s"], "tokens_per_s": r["tokens_per_s"],
           "wall_with_load_s": wall, "receipt_dtype": r.get("settings", {}).get("dtype")}
    if not has_dtype:
        out["note"] = "hxzoo eval has no --dtype option: its default (float32) was run"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--text", default=os.path.join(ROOT, "tests/fixtures/eval/wiki.test.raw"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtypes", default="float32,bfloat16", help="PyTorch dtypes ('' for none)")
    ap.add_argument("--hxzoo-dtypes", default="f32,bf16", help="hxzoo eval --dtype values ('' for none)")
    ap.add_argument("--n-tokens", type=int, default=8192)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--max-windows", type=int, default=0)
    ap.add_argument("--hxzoo", default=os.path.join(ROOT, "build/hxzoo"))
    ap.add_argument("--json")
    a = ap.parse_args()
    rep = {"model": a.model, "protocol": "helix", "device": a.device, "n_tokens": a.n_tokens, "seq_len": a.seq_len,
           "max_windows": a.max_windows, "runs": []}
    ok = True
    work = tempfile.mkdtemp(prefix="hxzoo-torchppl-")
    try:
        ids, digest = get_ids(a, work)
        rep["ids"], rep["ids_sha256"], rep["ids_match_hxzoo"] = len(ids), digest, True
        print(f"{len(ids)} ids, sha256 {digest} (= hxzoo eval --plan)")
        helptext = subprocess.run([a.hxzoo, "eval", "--help"], capture_output=True, text=True,
                                  env=env_with_libs())
        has_dtype = "--dtype" in (helptext.stdout + helptext.stderr)
        rep["hxzoo_has_dtype"] = has_dtype
        for dt in [d for d in a.hxzoo_dtypes.split(",") if d]:
            rep["runs"].append(hxzoo_run(a, dt, has_dtype, work))
        if a.dtypes:
            import torch
            import transformers
            rep["torch"], rep["transformers"] = torch.__version__, transformers.__version__
            if a.device.startswith("cuda"):
                rep["gpu"] = torch.cuda.get_device_name(0)
            for dt in [d for d in a.dtypes.split(",") if d]:
                try:
                    rep["runs"].append(torch_run(a, ids, dt))
                except Exception as e:  # keep the other runs
                    rep["runs"].append({"impl": f"torch-{dt}", "error": f"{type(e).__name__}: {e}"[:800]})
    except Exception as e:
        ok = False
        rep["error"] = f"{type(e).__name__}: {e}"[:1200]
        print("FAILED:", rep["error"], file=sys.stderr)
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    runs = {r["impl"]: r for r in rep["runs"]}
    for r in rep["runs"]:
        if "error" in r:
            ok = False
            print(f"  {r['impl']:16s} FAILED: {r['error']}")
        else:
            print(f"  {r['impl']:16s} PPL {r['ppl']:.6f}  {r['tokens_per_s']:10.1f} tokens/s  ({r['seconds']:.2f} s,"
                  f" {r['windows']} windows)")
    # side by side: same precision class, hxzoo over PyTorch
    for hx, th in (("hxzoo-f32", "torch-float32"), ("hxzoo-bf16", "torch-bfloat16"), ("hxzoo-f32", "torch-bfloat16")):
        h, t = runs.get(hx, {}), runs.get(th, {})
        if "ppl" in h and "ppl" in t:
            key = f"{hx}_vs_{th}".replace("-", "_")
            rep[key] = {"ppl_rel_diff": h["ppl"] / t["ppl"] - 1, "speed_ratio": h["tokens_per_s"] / t["tokens_per_s"]}
            print(f"  {hx} / {th}: PPL {rep[key]['ppl_rel_diff']:+.2e} relative, tokens/s x{rep[key]['speed_ratio']:.2f}")
    rep["ok"] = ok
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
