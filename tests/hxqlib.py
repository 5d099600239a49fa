"""hxqlib.py - small Python helpers shared by the interop test and the codec
benchmark (tests and benchmarks only; the product is C).

  read_safetensors(path)        -> {name: numpy array}; BF16 widened to F32
  read_header(path)             -> the safetensors header (dict)
  decode_hxq(hxq_dir)           -> {module: W' float32 [out, in]} (numpy decoder)
  hxq_modules(hxq_dir)          -> compressed_modules from config.json
  write_reference_hxq(src, out) -> an HXQ directory written with the ORIGINAL
                                   helix-substrate 0.3.3 codec (CDNAv3Writer),
                                   following the routing of tools/compress.py
                                   and the layout of tools/convert_to_hf.py as
                                   documented in docs (reference section 1.7,
                                   2.2, 2.3). Needs .venv-torch.
numpy only at import time.
"""
import json
import os
import shutil

import numpy as np

_NP = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "U8": "u1", "I8": "i1", "I16": "<i2",
       "I32": "<i4", "I64": "<i8", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def read_header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n))


def read_safetensors(path, names=None, keep_bf16=False):
    """Read tensors (all, or those in `names`) as numpy arrays. BF16 becomes
    float32 (exact) unless keep_bf16, in which case the uint16 bits are
    returned. Uses a memory map; arrays are copies."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        hdr = json.loads(f.read(n))
    base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__" or (names is not None and k not in names):
            continue
        s, e = v["data_offsets"]
        raw = mm[base + s:base + e]
        dt = v["dtype"]
        if dt == "BF16":
            a = raw.view("<u2").reshape(v["shape"]).copy()
            if not keep_bf16:
                a = (a.astype(np.uint32) << 16).view(np.float32)
        elif dt in _NP:
            a = raw.view(_NP[dt]).reshape(v["shape"]).copy()
        else:
            raise ValueError("%s: unsupported dtype %s" % (k, dt))
        out[k] = a
    return out


def hxq_modules(hxq_dir):
    cfg = json.load(open(os.path.join(hxq_dir, "config.json")))
    return list(cfg["quantization_config"]["compressed_modules"])


def decode_module(t, m):
    """W' for module m from a dict of its tensors (numpy, like the 0.3.3
    reader: codebook[indices], then the sidecar values replace)."""
    cb = t[m + ".codebook"].astype(np.float32)
    idx = t[m + ".indices"]
    if idx.max(initial=0) >= cb.shape[0]:
        raise ValueError("%s: index %d >= codebook size %d" % (m, int(idx.max()), cb.shape[0]))
    w = cb[idx]
    pk, vk = m + ".sidecar_positions", m + ".sidecar_values"
    if pk in t:
        pos = t[pk].astype(np.int64)
        if pos.size and (pos.min() < 0 or pos.max() >= w.size):
            raise ValueError("%s: sidecar position out of range" % m)
        w.reshape(-1)[pos] = t[vk].astype(np.float32)
    return w


def model_files(model_dir):
    """{tensor name: file} of a model directory, single file or sharded."""
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return {k: single for k in read_header(single) if k != "__metadata__"}
    idx = json.load(open(os.path.join(model_dir, "model.safetensors.index.json")))
    return {k: os.path.join(model_dir, v) for k, v in idx["weight_map"].items()}


def read_model(model_dir, names=None, files=None):
    """read_safetensors over a whole (possibly sharded) model directory
    (files: model_files(model_dir), when the caller has it already)."""
    files = files if files is not None else model_files(model_dir)
    out = {}
    for f in sorted(set(files.values())):
        want = [k for k, v in files.items() if v == f and (names is None or k in names)]
        if want:
            out.update(read_safetensors(f, want))
    return out


def decode_hxq(hxq_dir, modules=None):
    files = model_files(hxq_dir)
    mods = modules if modules is not None else hxq_modules(hxq_dir)
    out = {}
    for m in mods:
        names = [m + s for s in (".codebook", ".indices", ".sidecar_positions", ".sidecar_values")
                 if m + s in files]
        out[m] = decode_module(read_model(hxq_dir, names, files), m)
    return out


def rel_mse(w, w_hat):
    w = np.asarray(w, dtype=np.float64)
    d = w - np.asarray(w_hat, dtype=np.float64)
    return float(np.sum(d * d) / np.sum(w * w))


# ---------------------------------------------------------------------------
# The original codec as a whole-model writer (for comparisons).

_EXACT_SUBSTR = ("embed_tokens", "embed_positions", "wte", "wpe", "backbone.embedding")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                   "special_tokens_map.json", "vocab.json", "merges.txt")


def route_033(name, shape, tied_skip):
    """compress.py should_compress(): 'compress' | 'exact' | 'skip'."""
    nd = len(shape)
    if name.endswith(".bias"):
        return "exact" if nd == 1 else "skip"
    if not (name.endswith(".weight") or name.endswith("_weight")):
        return "compress" if nd == 2 else "skip"
    if nd == 1:
        return "exact"
    if any(s in name for s in _EXACT_SUBSTR) or "lm_head" in name:
        return "skip" if name in tied_skip else "exact"
    if nd == 2:
        return "exact" if shape[0] * shape[1] < 256 else "compress"
    if "conv1d" in name and nd == 3:
        return "exact"
    return "compress"


def write_reference_hxq(src_dir, out_dir, log=print):
    """Compress src_dir with helix-substrate 0.3.3's CDNAv3Writer (CPU) and
    lay the result out as tools/convert_to_hf.py does."""
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tempfile
    from helix_substrate.cdnav3_writer import CDNAv3Writer
    from safetensors.numpy import save_file
    cfg = json.load(open(os.path.join(src_dir, "config.json")))
    src = read_safetensors(os.path.join(src_dir, "model.safetensors"))
    tied_skip = set()
    if cfg.get("tie_word_embeddings"):
        emb = [k for k in src if "embed" in k and k.endswith(".weight")]
        for k in src:
            if "lm_head" in k and k.endswith(".weight") and any(src[e].shape == src[k].shape for e in emb):
                tied_skip.add(k)
    out, mods = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        wr = CDNAv3Writer(tmp)
        for name in sorted(src):
            a = src[name]
            r = route_033(name, a.shape, tied_skip)
            if r == "skip":
                if name not in tied_skip:
                    out[name] = a  # native dtype (BF16 sources were widened here)
                continue
            if r == "exact":
                out[name] = a.astype(np.float32).astype(np.float16)
                continue
            wr.write_tensor(a.astype(np.float32), name)
            safe = name.replace("/", "_").replace(".", "_")
            d = os.path.join(tmp, safe + ".cdnav3")
            m = name[:-len(".weight")] if name.endswith(".weight") else name
            meta = json.load(open(os.path.join(d, "meta.json")))
            rows, cols = meta["shape"]
            out[m + ".codebook"] = np.load(os.path.join(d, "codebook.npy")).astype(np.float32)
            out[m + ".indices"] = np.fromfile(os.path.join(d, "indices.bin"), dtype=np.uint8).reshape(rows, cols)
            sc = os.path.join(d, "sidecar.npz")
            if os.path.exists(sc):
                z = np.load(sc)
                out[m + ".sidecar_positions"] = z["positions"].astype(np.int64)
                out[m + ".sidecar_values"] = z["values"].astype(np.float32)
            mods.append(m)
            log("  0.3.3 %s %s" % (name, a.shape))
    os.makedirs(out_dir, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()},
              os.path.join(out_dir, "model.safetensors"))
    qc = {"quant_method": "hxq", "codebook_size": 256, "sidecar_enabled": True,
          "exact_patterns": ["embed_tokens", "embed_positions", "wte", "wpe", "lm_head",
                             "layernorm", "layer_norm", "norm", "backbone.embedding"],
          "compressed_modules": sorted(mods, key=lambda m: m.replace(".", "_"))}
    cfg["quantization_config"] = qc
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for fn in TOKENIZER_FILES:
        if os.path.exists(os.path.join(src_dir, fn)):
            shutil.copyfile(os.path.join(src_dir, fn), os.path.join(out_dir, fn))
    return mods


def decompress_numpy(hxq_dir, out_dir):
    """Reference for `hxzoo decompress`: the dense F32 model of an HXQ
    directory (config without quantization_config, tokenizer files copied)."""
    from safetensors.numpy import save_file
    cfg = json.load(open(os.path.join(hxq_dir, "config.json")))
    mods = list(cfg.pop("quantization_config")["compressed_modules"])
    t = read_safetensors(os.path.join(hxq_dir, "model.safetensors"))
    out = {}
    for m in mods:
        out[m + ".weight"] = decode_module(t, m)
        for s in (".codebook", ".indices", ".sidecar_positions", ".sidecar_values"):
            t.pop(m + s, None)
    for k, v in t.items():
        out[k] = v.astype(np.float32) if v.dtype.kind == "f" else v
    os.makedirs(out_dir, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()},
              os.path.join(out_dir, "model.safetensors"))
    cfg["torch_dtype"] = "float32"
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for fn in TOKENIZER_FILES + ("generation_config.json",):
        if os.path.exists(os.path.join(hxq_dir, fn)):
            shutil.copyfile(os.path.join(hxq_dir, fn), os.path.join(out_dir, fn))


def write_golden(path, name, ids, logits, text=None):
    """Golden logits in the format build/tools/check_logits reads (every
    logit when the vocabulary is small; else the top 32 and every 97th, at
    4 positions). Used by tests/golden/gen_logits.py and tests/interop.py."""
    import json
    n, V = logits.shape
    rows = []
    if V <= 4096:
        for p in range(n):
            rows.append({"pos": p, "idx": list(range(V)), "val": [float(x) for x in logits[p]]})
    else:
        for p in sorted({0, n // 3, (2 * n) // 3, n - 1}):
            top = logits[p].argsort()[::-1][:32].tolist()
            idx = sorted(set(top) | set(range(0, V, 97)))
            rows.append({"pos": p, "idx": idx, "val": [float(logits[p][i]) for i in idx]})
    doc = {"model": name, "ids": ids, "vocab": V, "rows": rows}
    if text is not None:
        doc = {"model": name, "text": text, "ids": ids, "vocab": V, "rows": rows}
    with open(path, "w") as f:
        json.dump(doc, f)
