#!/usr/bin/env python3
"""gpu_throughput.py - evaluation throughput of `hxzoo eval` against
PyTorch + transformers on the same device, the same model and the same
window length, in one run (issue #5's "evaluation throughput" figures).

The model has random weights of a named shape (SmolLM2-135M or
Qwen2.5-7B), generated here with a fixed seed and saved as BF16
safetensors, so nothing has to be downloaded or carried: the device
machine has torch and transformers but no registry. Text: the committed
WikiText-2 test file, tokenized with the committed stories260k tokenizer
(its ids fit every shape's vocabulary; throughput does not depend on
which ids are fed). Perplexities of random weights mean nothing and are
not reported.

    python3 scripts/gpu_throughput.py --device cuda --shape smollm2-135m \\
        --windows 8 --json out/throughput-smollm2.json

hxzoo side: `hxzoo eval MODEL --protocol gptq --seq-len 2048
--max-windows N --device D --dtype f32` (and `--dtype bf16` on CUDA unless
--no-bf16; without a --dtype option, the float32 default; its receipt's tokens/s:
model loading excluded, no warm-up window, so the first window's one-time
costs are included). PyTorch side: the same number of 2048-token
windows through AutoModelForCausalLM with labels (logits + loss, as the
evaluation needs), float32 and bfloat16, after one warm-up window, with
the device synchronised before each clock read. Prints one line per
implementation and the ratios; writes the JSON report with --json.
Needs: torch, transformers, safetensors (the device image has them;
here: .venv-torch). Exit 0 when every run worked, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHAPES = {
    # SmolLM2-135M (HuggingFaceTB/SmolLM2-135M config.json)
    "smollm2-135m": dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=576,
                         intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                         num_key_value_heads=3, head_dim=64, vocab_size=49152, max_position_embeddings=8192,
                         rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True,
                         bos_token_id=1, eos_token_id=2),
    # Qwen2.5-7B (Qwen/Qwen2.5-7B config.json)
    "qwen2.5-7b": dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=3584,
                       intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                       num_key_value_heads=4, vocab_size=152064, max_position_embeddings=32768,
                       rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False,
                       bos_token_id=151643, eos_token_id=151643),
}


def make_model(shape, out_dir, device, seed):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    kw = dict(SHAPES[shape])
    mt = kw.pop("model_type")
    cfg = AutoConfig.for_model(mt, **kw)
    torch.manual_seed(seed)
    t0 = time.time()
    with torch.device(device):
        try:
            model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        except TypeError:  # transformers before 4.56
            model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16)
    model.save_pretrained(out_dir, safe_serialization=True, max_shard_size="4GB")
    n = sum(p.numel() for p in model.parameters())
    del model
    return n, time.time() - t0


def windows(n, seq):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(ROOT, "tests/fixtures/stories260k/tokenizer.json"))
    with open(os.path.join(ROOT, "tests/fixtures/eval/wiki.test.raw"), encoding="utf-8") as f:
        ids = tok.encode(f.read()).ids
    need = n * seq
    if len(ids) < need:
        raise SystemExit(f"the text gives {len(ids)} tokens, {need} needed")
    return [ids[i * seq:(i + 1) * seq] for i in range(n)]


def torch_run(model_dir, device, dtype_name, wins):
    import torch
    from transformers import AutoModelForCausalLM
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    try:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    except TypeError:  # transformers before 4.56
        model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=dtype)
    model = model.to(device).eval()

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    with torch.no_grad():
        x = torch.tensor([wins[0]], device=device)
        model(input_ids=x, labels=x)  # warm-up
        sync()
        t0 = time.time()
        for w in wins:
            x = torch.tensor([w], device=device)
            out = model(input_ids=x, labels=x)
            float(out.loss)  # forces the result, like hxzoo's per-window NLL
        sync()
        dt = time.time() - t0
    n = sum(len(w) for w in wins)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return {"impl": f"torch-{dtype_name}", "seconds": dt, "tokens": n, "tokens_per_s": n / dt}


def hxzoo_has_dtype(hx):
    p = subprocess.run([hx, "eval", "--help"], capture_output=True, text=True, env=hx_env())
    return "--dtype" in p.stdout + p.stderr


def hx_env():
    env = dict(os.environ)
    libs = os.path.join(ROOT, "build/gpu-libs")  # scripts/gpu-carry-libs.sh, for a bare device image
    if os.path.isdir(libs):
        env["LD_LIBRARY_PATH"] = ":".join(x for x in (env.get("LD_LIBRARY_PATH"), libs) if x)
    return env


def hxzoo_run(hx, model_dir, device, n, seq, work, dtype=None):
    """dtype: None (hxzoo's default; float32 before --dtype existed) or f32/bf16"""
    name = {"f32": "hxzoo-float32", "bf16": "hxzoo-bfloat16"}.get(dtype, "hxzoo-float32")
    rec = os.path.join(work, f"receipt-{dtype}.json")
    cmd = [hx, "-q", "eval", model_dir, "--text", os.path.join(ROOT, "tests/fixtures/eval/wiki.test.raw"),
           "--protocol", "gptq", "--seq-len", str(seq), "--max-windows", str(n), "--device", device,
           "--tokenizer", os.path.join(ROOT, "tests/fixtures/stories260k/tokenizer.json"), "--receipt", rec]
    if dtype:
        cmd += ["--dtype", dtype]
    env = hx_env()
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.time() - t0
    if p.returncode != 0:
        return {"impl": name, "error": (p.stderr or p.stdout).strip()[-800:], "rc": p.returncode}
    with open(rec) as f:
        r = json.load(f)
    return {"impl": name, "dtype": r.get("settings", {}).get("dtype"), "seconds": r["wall_time_s"], "tokens_per_s": r["tokens_per_s"],
            "tokens": r["tokens"]["forward"], "windows": r["tokens"]["windows_done"], "wall_with_load_s": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    ap.add_argument("--device", default="cuda", help="cuda or cpu (cpu: to check the script)")
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--hxzoo", default=os.path.join(ROOT, "build/hxzoo"))
    ap.add_argument("--no-bf16", action="store_true", help="skip the PyTorch bfloat16 run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the report here")
    a = ap.parse_args()

    import torch
    import transformers
    rep = {"shape": a.shape, "device": a.device, "windows": a.windows, "seq_len": a.seq_len,
           "torch": torch.__version__, "transformers": transformers.__version__, "runs": []}
    if a.device.startswith("cuda"):
        rep["gpu"] = torch.cuda.get_device_name(0)
    work = tempfile.mkdtemp(prefix="hxzoo-tput-")
    ok = True
    try:
        mdir = os.path.join(work, "model")
        n, secs = make_model(a.shape, mdir, a.device, a.seed)
        rep["params"] = n
        rep["generate_s"] = round(secs, 2)
        print(f"{a.shape}: {n / 1e6:.1f} M parameters (random, seed {a.seed}), generated and saved in {secs:.1f} s")
        wins = windows(a.windows, a.seq_len)
        # hxzoo eval --dtype (auto = bf16 on CUDA): name the precision explicitly when it can
        dt = hxzoo_has_dtype(a.hxzoo)
        runs = [hxzoo_run(a.hxzoo, mdir, a.device, a.windows, a.seq_len, work, "f32" if dt else None)]
        if dt and not a.no_bf16 and a.device.startswith("cuda"):
            runs.append(hxzoo_run(a.hxzoo, mdir, a.device, a.windows, a.seq_len, work, "bf16"))
        runs.append(torch_run(mdir, a.device, "float32", wins))
        if not a.no_bf16:
            runs.append(torch_run(mdir, a.device, "bfloat16", wins))
        rep["runs"] = runs
        for r in runs:
            if "error" in r:
                ok = False
                print(f"  {r['impl']:16s} FAILED (rc {r['rc']}): {r['error']}")
            else:
                print(f"  {r['impl']:16s} {r['tokens_per_s']:12.1f} tokens/s  ({r['seconds']:.2f} s)")
        hx = runs[0].get("tokens_per_s")  # hxzoo float32
        for r in runs[1:]:
            if hx and r.get("tokens_per_s") and r["impl"].startswith("torch-"):
                key = f"hxzoo_over_{r['impl'].replace('-', '_')}"
                rep[key] = hx / r["tokens_per_s"]
                print(f"  hxzoo float32 / {r['impl']}: {rep[key]:.2f}x")
        by = {r["impl"]: r for r in runs}
        hb, tb = by.get("hxzoo-bfloat16", {}), by.get("torch-bfloat16", {})
        if hb.get("tokens_per_s") and tb.get("tokens_per_s"):
            rep["hxzoo_bfloat16_over_torch_bfloat16"] = hb["tokens_per_s"] / tb["tokens_per_s"]
            print(f"  hxzoo bfloat16 / torch-bfloat16: {rep['hxzoo_bfloat16_over_torch_bfloat16']:.2f}x")
    except Exception as e:  # report what failed, keep the JSON
        ok = False
        rep["error"] = f"{type(e).__name__}: {e}"
        print("FAILED:", rep["error"], file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
