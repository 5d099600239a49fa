#!/usr/bin/env python3
"""gen_scale_ckpt.py OUT_DIR --shape 7b|14b [--layers N] [--seed S]

A synthetic BF16 checkpoint with the real shapes and config of
Qwen2.5-7B-Instruct or Qwen2.5-14B-Instruct (tensor names and shapes as
transformers' Qwen2 writes them, sharded like the upstream repo with
model.safetensors.index.json), the Qwen2 tokenizer of
tests/fixtures/tokenizers/qwen2, and random weights with LLM-like
statistics: heavy tails (Student-t, 4.5 dof), a lognormal spread of the
output-row scales, a few hot input channels (8 columns at 6x), std ~0.02
for the linears; norms near 1; small biases. For `make bench-scale`
(scripts/bench_scale.sh), never for tests. numpy only; tensors are written
one after the other in row chunks, so memory stays at a few hundred MB.
To be fast, the values come from one pool of 2^26 Student-t draws read at
random offsets, each chunk scaled by its own row and column factors."""
import argparse
import json
import os
import subprocess
import time

import numpy as np

SHAPES = {
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, shards=4),
    "14b": dict(hidden_size=5120, intermediate_size=13824, num_hidden_layers=48, num_attention_heads=40,
                num_key_value_heads=8, shards=8),
}
VOCAB = 152064

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--shape", choices=SHAPES, required=True)
ap.add_argument("--layers", type=int, default=0, help="fewer layers (quick checks)")
ap.add_argument("--seed", type=int, default=7)
a = ap.parse_args()
s = dict(SHAPES[a.shape])
nshards = s.pop("shards")
if a.layers:
    s["num_hidden_layers"] = a.layers
D, H, L = s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"]
hd = D // s["num_attention_heads"]
kvd = s["num_key_value_heads"] * hd
rng = np.random.default_rng(a.seed)
pool = rng.standard_t(4.5, size=1 << 26).astype(np.float32)
pool *= 1.0 / pool.std()

tensors = [("model.embed_tokens.weight", (VOCAB, D), "embed")]
for l in range(L):
    p = f"model.layers.{l}."
    tensors += [(p + "input_layernorm.weight", (D,), "norm"),
                (p + "self_attn.q_proj.weight", (D, D), "lin"), (p + "self_attn.q_proj.bias", (D,), "bias"),
                (p + "self_attn.k_proj.weight", (kvd, D), "lin"), (p + "self_attn.k_proj.bias", (kvd,), "bias"),
                (p + "self_attn.v_proj.weight", (kvd, D), "lin"), (p + "self_attn.v_proj.bias", (kvd,), "bias"),
                (p + "self_attn.o_proj.weight", (D, D), "lin"),
                (p + "post_attention_layernorm.weight", (D,), "norm"),
                (p + "mlp.gate_proj.weight", (H, D), "lin"), (p + "mlp.up_proj.weight", (H, D), "lin"),
                (p + "mlp.down_proj.weight", (D, H), "lin")]
tensors += [("model.norm.weight", (D,), "norm"), ("lm_head.weight", (VOCAB, D), "lin")]


def nbytes(shape):
    return int(np.prod(shape)) * 2


def bf16(x):
    u = x.view(np.uint32)
    return ((u + (((u >> 16) & 1) + 0x7FFF)) >> 16).astype(np.uint16)


def chunks(shape, kind):
    """the tensor's values as BF16 in row chunks"""
    if len(shape) == 1:
        n = shape[0]
        if kind == "norm":
            v = 1.0 + 0.05 * rng.standard_normal(n, dtype=np.float32)
        else:
            v = 0.01 * rng.standard_normal(n, dtype=np.float32)
        yield bf16(v.astype(np.float32))
        return
    rows, cols = shape
    std = 0.02 if kind == "lin" else 0.015
    col = np.ones(cols, np.float32)
    col[rng.choice(cols, 8, replace=False)] = 6.0
    step = max(1, (16 << 20) // cols)
    for r0 in range(0, rows, step):
        n = min(step, rows - r0)
        k = n * cols
        off = int(rng.integers(0, pool.size - k)) if k < pool.size else 0
        v = pool[off:off + k] if k <= pool.size else np.resize(pool, k)
        v = v.reshape(n, cols) * col
        v *= (std * rng.lognormal(0.0, 0.35, size=(n, 1))).astype(np.float32)
        yield bf16(np.ascontiguousarray(v, dtype=np.float32))


total = sum(nbytes(t[1]) for t in tensors)
target = total / nshards
shards, cur, acc = [[]], 0, 0
for t in tensors:
    if acc >= target * (len(shards)) and len(shards) < nshards:
        shards.append([])
    shards[-1].append(t)
    acc += nbytes(t[1])
nshards = len(shards)
os.makedirs(a.out, exist_ok=True)
weight_map = {}
t0 = time.time()
for i, sh in enumerate(shards):
    name = f"model-{i + 1:05d}-of-{nshards:05d}.safetensors"
    hdr, off = {"__metadata__": {"format": "pt"}}, 0
    for n, shape, _ in sh:
        hdr[n] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + nbytes(shape)]}
        off += nbytes(shape)
        weight_map[n] = name
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = os.path.join(a.out, name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for n, shape, kind in sh:
            for c in chunks(shape, kind):
                f.write(c.tobytes())
    os.rename(tmp, os.path.join(a.out, name))
    print(f"{name}: {off / 1e9:.2f} GB, {time.time() - t0:.0f} s", flush=True)
with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
cfg = dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", attention_dropout=0.0,
           bos_token_id=151643, eos_token_id=151645, hidden_act="silu", initializer_range=0.02,
           max_position_embeddings=32768, max_window_layers=s["num_hidden_layers"], rms_norm_eps=1e-6,
           rope_theta=1000000.0, sliding_window=131072, tie_word_embeddings=False, torch_dtype="bfloat16",
           transformers_version="4.43.1", use_cache=True, use_sliding_window=False, vocab_size=VOCAB, **s)
with open(os.path.join(a.out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
with open(os.path.join(a.out, "generation_config.json"), "w") as f:
    json.dump({"bos_token_id": 151643, "eos_token_id": [151645, 151643], "do_sample": False}, f, indent=2)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tokdir = os.path.join(root, "tests", "fixtures", "tokenizers", "qwen2")
with open(os.path.join(a.out, "tokenizer.json"), "wb") as f:
    subprocess.run(["zstd", "-dc", os.path.join(tokdir, "tokenizer.json.zst")], stdout=f, check=True)
for fn in os.listdir(tokdir):
    if fn.endswith(".json") and fn != "tokenizer.json":
        subprocess.run(["cp", os.path.join(tokdir, fn), a.out], check=True)
print(f"{a.shape}: {L} layers, {total / 1e9:.2f} GB in {nshards} shards, {time.time() - t0:.0f} s")
