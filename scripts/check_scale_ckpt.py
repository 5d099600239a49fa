#!/usr/bin/env python3
"""check_scale_ckpt.py DIR - checks a checkpoint written by gen_scale_ckpt.py
with the `safetensors` package (run with .venv/bin/python):

* every shard opens with safetensors.safe_open; every tensor is BF16 with the
  shape transformers' Qwen2 gives it for DIR/config.json (names included:
  nothing missing, nothing extra; q/k/v biases; untied lm_head);
* model.safetensors.index.json: weight_map names exactly the tensors of each
  shard, metadata.total_size is the sum of their byte sizes, shard names are
  model-0000i-of-0000N.safetensors; the header's data offsets are contiguous
  and the file ends where the last tensor does;
* statistics, from a sample of rows of each kind of tensor (decoded from the
  raw bytes, numpy has no bfloat16): finite; linear std 0.01-0.04 with heavy
  tails (kurtosis > 4), per-row scale spread, hot input columns (max column
  RMS > 4x the median); norms near 1; biases small;
* config.json, generation_config.json, tokenizer.json, tokenizer_config.json.

Exit 0 and one line "ok ..." on success, else the first problem."""
import json
import os
import re
import struct
import sys

import numpy as np
from safetensors import safe_open

d = sys.argv[1]


def fail(msg):
    print(f"FAIL: {d}: {msg}")
    sys.exit(1)


cfg = json.load(open(os.path.join(d, "config.json")))
for k, v in dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", tie_word_embeddings=False,
                 torch_dtype="bfloat16", rope_theta=1000000.0, rms_norm_eps=1e-6,
                 max_position_embeddings=32768, bos_token_id=151643, eos_token_id=151645).items():
    if cfg.get(k) != v:
        fail(f"config.json {k} = {cfg.get(k)!r}, expected {v!r}")
D, H, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
hd = D // cfg["num_attention_heads"]
kvd = cfg["num_key_value_heads"] * hd
want = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
for l in range(L):
    p = f"model.layers.{l}."
    want.update({p + "input_layernorm.weight": (D,), p + "post_attention_layernorm.weight": (D,),
                 p + "self_attn.q_proj.weight": (D, D), p + "self_attn.q_proj.bias": (D,),
                 p + "self_attn.k_proj.weight": (kvd, D), p + "self_attn.k_proj.bias": (kvd,),
                 p + "self_attn.v_proj.weight": (kvd, D), p + "self_attn.v_proj.bias": (kvd,),
                 p + "self_attn.o_proj.weight": (D, D), p + "mlp.gate_proj.weight": (H, D),
                 p + "mlp.up_proj.weight": (H, D), p + "mlp.down_proj.weight": (D, H)})

idx = json.load(open(os.path.join(d, "model.safetensors.index.json")))
wm = idx["weight_map"]
shard_names = sorted(set(wm.values()))
n = len(shard_names)
for i, s in enumerate(shard_names):
    if s != f"model-{i + 1:05d}-of-{n:05d}.safetensors":
        fail(f"shard name {s}")
on_disk = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
if on_disk != shard_names:
    fail(f"shards on disk {on_disk} != index {shard_names}")
if set(wm) != set(want):
    fail(f"index names: missing {sorted(set(want) - set(wm))[:5]}, extra {sorted(set(wm) - set(want))[:5]}")

total, seen, headers = 0, set(), {}
for s in shard_names:
    path = os.path.join(d, s)
    with open(path, "rb") as f:
        hl = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(hl))
    hdr.pop("__metadata__", None)
    headers[s] = (path, 8 + hl, hdr)
    ends = sorted((t["data_offsets"][0], t["data_offsets"][1]) for t in hdr.values())
    pos = 0
    for b, e in ends:
        if b != pos:
            fail(f"{s}: data offsets not contiguous at {b} (expected {pos})")
        pos = e
    if os.path.getsize(path) != 8 + hl + pos:
        fail(f"{s}: file size {os.path.getsize(path)} != header + data {8 + hl + pos}")
    with safe_open(path, framework="numpy") as f:
        keys = set(f.keys())
        if keys != set(hdr):
            fail(f"{s}: safe_open keys differ from the header")
        for k in keys:
            if wm.get(k) != s:
                fail(f"{k} is in {s} but the index says {wm.get(k)}")
            sl = f.get_slice(k)
            if sl.get_dtype() != "BF16":
                fail(f"{k}: dtype {sl.get_dtype()}")
            if tuple(sl.get_shape()) != want[k]:
                fail(f"{k}: shape {sl.get_shape()} != {want[k]}")
            total += int(np.prod(want[k])) * 2
            seen.add(k)
if seen != set(want):
    fail(f"tensors missing from the shards: {sorted(set(want) - seen)[:5]}")
if idx["metadata"]["total_size"] != total:
    fail(f"index total_size {idx['metadata']['total_size']} != {total}")


def rows(name, r0, nrows):
    """rows r0..r0+nrows of a tensor as float32, from the raw BF16 bytes"""
    path, base, hdr = headers[wm[name]]
    t = hdr[name]
    shape = t["shape"]
    cols = shape[1] if len(shape) == 2 else shape[0]
    nrows = nrows if len(shape) == 2 else 1
    m = np.memmap(path, dtype=np.uint16, mode="r", offset=base + t["data_offsets"][0] + r0 * cols * 2,
                  shape=(nrows, cols))
    return (m.astype(np.uint32) << 16).view(np.float32)


stats = []
last = L - 1
for name in [f"model.layers.{l}.{m}" for l in sorted({0, last // 2, last})
             for m in ("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.o_proj.weight",
                       "mlp.gate_proj.weight", "mlp.down_proj.weight")] + ["lm_head.weight",
                                                                           "model.embed_tokens.weight"]:
    nr = min(want[name][0], 256)
    x = rows(name, 0, nr).astype(np.float64)
    if not np.isfinite(x).all():
        fail(f"{name}: non-finite values")
    std = x.std()
    kurt = ((x - x.mean()) ** 4).mean() / std ** 4
    rrms = np.sqrt((x * x).mean(axis=1))
    crms = np.sqrt((x * x).mean(axis=0))
    spread = np.percentile(rrms, 90) / np.percentile(rrms, 10)
    hot = crms.max() / np.median(crms)
    lo, hi = (0.008, 0.05) if "embed" in name else (0.01, 0.06)
    if not (lo < std < hi) or kurt < 4 or spread < 1.3 or hot < 4:
        fail(f"{name}: std {std:.4f} kurtosis {kurt:.1f} row spread {spread:.2f} hot column {hot:.1f}x")
    stats.append((std, kurt, spread, hot))
for name in ("model.norm.weight", "model.layers.0.input_layernorm.weight"):
    x = rows(name, 0, 1)
    if not (0.9 < x.mean() < 1.1 and x.std() < 0.2):
        fail(f"{name}: mean {x.mean():.3f} std {x.std():.3f}")
x = rows("model.layers.0.self_attn.q_proj.bias", 0, 1)
if not (np.isfinite(x).all() and np.abs(x).max() < 0.5 and x.std() > 1e-4):
    fail(f"q_proj.bias: max |x| {np.abs(x).max():.3f}")

gc = json.load(open(os.path.join(d, "generation_config.json")))
if 151645 not in gc.get("eos_token_id", []):
    fail("generation_config.json eos_token_id")
tok = json.load(open(os.path.join(d, "tokenizer.json")))
nv = len(tok["model"]["vocab"]) + len(tok.get("added_tokens", []))
if not os.path.exists(os.path.join(d, "tokenizer_config.json")):
    fail("no tokenizer_config.json")
if max(t["id"] for t in tok.get("added_tokens", [])) >= V:
    print(f"note: vocab_size {V} does not cover the tokenizer's ids (fine for --vocab checks only)")
s = np.array(stats)
print(f"ok {d}: {len(seen)} tensors in {n} shards, {total} bytes of BF16 data (index consistent); "
      f"{L} layers, hidden {D}, intermediate {H}, vocab {V}; tokenizer {nv} tokens; sampled linears: "
      f"std {s[:, 0].min():.4f}-{s[:, 0].max():.4f}, kurtosis {s[:, 1].min():.1f}-{s[:, 1].max():.1f}, "
      f"row-scale p90/p10 {s[:, 2].min():.2f}-{s[:, 2].max():.2f}, hot column {s[:, 3].min():.1f}-{s[:, 3].max():.1f}x")
