#!/usr/bin/env python3
"""gen_scale_ckpt.py OUT_DIR --shape 7b|14b [--tiny] [--layers N] [--vocab V] [--seed S]

A synthetic BF16 checkpoint with the real shapes and config.json of
Qwen2.5-7B-Instruct or Qwen2.5-14B-Instruct: tensor names and shapes as
transformers' Qwen2 writes them (q/k/v biases, untied lm_head), sharded like
the upstream repos (4 / 8 shards, model-0000i-of-0000N.safetensors) with
model.safetensors.index.json, the Qwen2 tokenizer of
tests/fixtures/tokenizers/qwen2 and an upstream-style generation_config.json.
Random weights with LLM-like statistics: heavy tails (Student-t, 4.5 dof),
a lognormal spread of the output-row scales (sigma 0.35), a few hot input
channels per matrix (3-8 columns at 5-20x, log-uniform), std ~0.02 for the linears and
~0.015 for the embeddings; norms near 1; small biases. Deterministic for
given arguments (seed 7).

For `make bench-scale` (scripts/bench_scale.sh), never for tests. numpy
only; safetensors written by hand (8-byte little-endian header length, JSON
header, raw bytes; BF16 = float32 rounded to nearest even, via uint32 bit
operations), one tensor after the other in chunks of ~16M values, so memory
stays at a few hundred MB whatever the shape. To be fast, the values come
from one pool of 2^26 Student-t draws read at random offsets, each chunk
scaled by its own row and column factors.

--tiny: 2 layers and every width divided by 8 (head counts and the vocabulary
unchanged, so the tokenizer still fits): a ~0.3 GB checkpoint of the same
layout in seconds, for checking the generator (scripts/check_scale_ckpt.py)
and the benchmark's plumbing. --layers / --vocab override depth and
vocabulary (a vocabulary below 151,665 no longer covers the tokenizer).
Prints the bytes written."""
import argparse
import json
import os
import subprocess
import time

import numpy as np

# config.json values of the upstream repos (Qwen/Qwen2.5-{7B,14B}-Instruct)
SHAPES = {
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, max_window_layers=28, shards=4),
    "14b": dict(hidden_size=5120, intermediate_size=13824, num_hidden_layers=48, num_attention_heads=40,
                num_key_value_heads=8, max_window_layers=70, shards=8),
}
VOCAB = 152064

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("out")
ap.add_argument("--shape", choices=SHAPES, required=True)
ap.add_argument("--tiny", action="store_true", help="2 layers, widths / 8 (quick checks)")
ap.add_argument("--layers", type=int, default=0, help="number of layers (default: the shape's)")
ap.add_argument("--vocab", type=int, default=0, help=f"vocabulary size (default {VOCAB})")
ap.add_argument("--seed", type=int, default=7)
a = ap.parse_args()
s = dict(SHAPES[a.shape])
nshards = s.pop("shards")
if a.tiny:
    s["hidden_size"] //= 8
    s["intermediate_size"] //= 8
    s["num_hidden_layers"] = 2
if a.layers:
    s["num_hidden_layers"] = a.layers
vocab = a.vocab or VOCAB
D, H, L = s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"]
if D % s["num_attention_heads"] or D < 16:
    ap.error(f"hidden size {D} not a multiple of {s['num_attention_heads']} heads")
hd = D // s["num_attention_heads"]
kvd = s["num_key_value_heads"] * hd
rng = np.random.default_rng(a.seed)
pool = np.empty(1 << 26, np.float32)
for i in range(0, pool.size, 1 << 22):  # in pieces: no 512 MB float64 temporary
    pool[i:i + (1 << 22)] = rng.standard_t(4.5, size=1 << 22)
pool *= np.float32(1.0 / pool.std())

tensors = [("model.embed_tokens.weight", (vocab, D), "embed")]
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
tensors += [("model.norm.weight", (D,), "norm"), ("lm_head.weight", (vocab, D), "lin")]


def nbytes(shape):
    return int(np.prod(shape)) * 2


def bf16(x):
    """float32 -> bfloat16 bits, round to nearest even (finite inputs), in place where it can"""
    u = x.view(np.uint32)
    r = u >> 16
    r &= 1
    r += 0x7FFF
    r += u
    r >>= 16
    return r.astype(np.uint16)


def chunks(shape, kind):
    """the tensor's values as BF16 in row chunks"""
    if len(shape) == 1:
        n = shape[0]
        if kind == "norm":
            v = 1.0 + 0.05 * rng.standard_normal(n, dtype=np.float32)
        else:
            v = 0.01 * rng.standard_t(4.5, size=n).astype(np.float32)
        yield bf16(v.astype(np.float32))
        return
    rows, cols = shape
    std = 0.02 if kind == "lin" else 0.015
    col = np.ones(cols, np.float32)
    hot = min(int(rng.integers(3, 9)), cols)
    col[rng.choice(cols, hot, replace=False)] = np.exp(rng.uniform(np.log(5.0), np.log(20.0), size=hot))
    step = max(1, (16 << 20) // cols)
    for r0 in range(0, rows, step):
        n = min(step, rows - r0)
        k = n * cols
        if k < pool.size:
            off = int(rng.integers(0, pool.size - k))
            v = pool[off:off + k].reshape(n, cols) * col
        else:
            v = np.resize(pool, k).reshape(n, cols) * col
        v *= (std * rng.lognormal(0.0, 0.35, size=(n, 1))).astype(np.float32)
        yield bf16(v)


total = sum(nbytes(t[1]) for t in tensors)
target = total / nshards
shards, acc = [[]], 0
for t in tensors:
    if acc >= target * len(shards) and len(shards) < nshards:
        shards.append([])
    shards[-1].append(t)
    acc += nbytes(t[1])
nshards = len(shards)
os.makedirs(a.out, exist_ok=True)
weight_map = {}
written = 0
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
                f.write(memoryview(c))
    os.rename(tmp, os.path.join(a.out, name))
    written += 8 + len(h) + off
    print(f"{name}: {8 + len(h) + off} bytes, {time.time() - t0:.0f} s", flush=True)


def dump(fn, obj):
    with open(os.path.join(a.out, fn), "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


dump("model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})
cfg = dict(architectures=["Qwen2ForCausalLM"], attention_dropout=0.0, bos_token_id=151643, eos_token_id=151645,
           hidden_act="silu", hidden_size=D, initializer_range=0.02, intermediate_size=H,
           max_position_embeddings=32768, max_window_layers=s["max_window_layers"], model_type="qwen2",
           num_attention_heads=s["num_attention_heads"], num_hidden_layers=L,
           num_key_value_heads=s["num_key_value_heads"], rms_norm_eps=1e-6, rope_theta=1000000.0,
           sliding_window=131072, tie_word_embeddings=False, torch_dtype="bfloat16",
           transformers_version="4.43.1", use_cache=True, use_sliding_window=False, vocab_size=vocab)
dump("config.json", cfg)
dump("generation_config.json", {"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": True,
                                "eos_token_id": [151645, 151643], "repetition_penalty": 1.05, "temperature": 0.7,
                                "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"})
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tokdir = os.path.join(root, "tests", "fixtures", "tokenizers", "qwen2")


def unzstd(path):
    """the decompressed bytes of a one-frame .zst file: the zstd program, or
    (a bare GPU image has no zstd program) libzstd through ctypes"""
    try:
        return subprocess.run(["zstd", "-qdc", path], stdout=subprocess.PIPE, check=True).stdout
    except FileNotFoundError:
        pass
    import ctypes
    import ctypes.util
    names = [ctypes.util.find_library("zstd"), "libzstd.so.1"]
    libs = os.path.join(root, "build", "gpu-libs")  # scripts/gpu-carry-libs.sh
    if os.path.isdir(libs):
        names += [os.path.join(libs, f) for f in sorted(os.listdir(libs)) if f.startswith("libzstd.so")]
    lib = None
    for n in names:
        if not n:
            continue
        try:
            lib = ctypes.CDLL(n)
            break
        except OSError:
            continue
    if lib is None:
        raise SystemExit("no zstd program and no libzstd: cannot decompress " + path)
    src = open(path, "rb").read()
    lib.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
    lib.ZSTD_getFrameContentSize.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    n = lib.ZSTD_getFrameContentSize(src, len(src))
    if n >= (1 << 63):
        raise SystemExit(path + ": the frame does not record its size")
    dst = ctypes.create_string_buffer(n)
    lib.ZSTD_decompress.restype = ctypes.c_size_t
    lib.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
    got = lib.ZSTD_decompress(dst, n, src, len(src))
    if lib.ZSTD_isError(got) or got != n:
        raise SystemExit(path + ": libzstd could not decompress it")
    return dst.raw[:n]


with open(os.path.join(a.out, "tokenizer.json"), "wb") as f:
    f.write(unzstd(os.path.join(tokdir, "tokenizer.json.zst")))
for fn in sorted(os.listdir(tokdir)):
    if fn.endswith(".json") and fn != "tokenizer.json":
        with open(os.path.join(tokdir, fn), "rb") as src, open(os.path.join(a.out, fn), "wb") as dst:
            dst.write(src.read())
other = sum(os.path.getsize(os.path.join(a.out, fn)) for fn in os.listdir(a.out)
            if not fn.endswith(".safetensors"))
params = total // 2
print(f"{a.shape}{' (tiny)' if a.tiny else ''}: {L} layers, {params} parameters, {nshards} shards; "
      f"{written + other} bytes written ({written} in safetensors, tensor data {total}), "
      f"{time.time() - t0:.1f} s")
