#!/usr/bin/env python3
"""interop.py --hxq HXQ_DIR --dense DENSE_DIR [--src SRC_DIR] [--json OUT]

Interoperability check of an HXQ directory written by `hxzoo compress`
against the ORIGINAL loader (helix-substrate 0.3.3 + transformers, CPU,
float32), and of `hxzoo decompress` against it:

  1. `import helix_substrate` registers the hxq quantizer (the import of
     helix_substrate.hf_quantizer is also done explicitly, because the
     package swallows its ImportError), then
     AutoModelForCausalLM.from_pretrained(HXQ_DIR) must build HelixLinear
     modules for exactly the config's compressed_modules.
  2. Every HelixLinear's decoded weight == our numpy decoder of the file ==
     the weight in DENSE_DIR (hxzoo decompress), and every other parameter
     of the loaded model == DENSE_DIR's (nothing silently re-initialised).
  3. Logits of the HXQ model (original HelixLinear forward) vs the dense
     model from DENSE_DIR on a fixed token sequence (the text below, or the
     ids of --ids GOLDEN.json): pass if max|diff| < 1e-4 * max|logit|.
  4. Greedy generation of N tokens (default 32) from both: equal ids.
  5. With --check-logits BIN (build/tools/check_logits): the helix-loaded
     logits and greedy ids are written as goldens and OUR decoder, run on
     HXQ_DIR, must match them (three ways, rel. 1e-4; greedy ids equal).
  With --src: every routing decision in HXQ_DIR/hxq_receipt.json must be
  0.3.3's should_compress (tests/hxqlib.route_033) or its documented
  deviation (2-D non-.weight and non-conv1d >=3-D tensors copied, D11);
  every non-compressed parameter must equal the source's (or its F16
  rounding, --exact-f16 / 0.3.3 writer); and the drift of the decompressed
  weights and logits from the source is reported (information).
Shared modules (Zamba2's shared transformer blocks, one module object at
several depths): named_modules() lists each once, under the first path,
which is what compressed_modules lists; the later paths must resolve to the
same HelixLinear objects.
Zamba2: transformers 4.57's Zamba2MambaMixer.torch_forward is wrong when a
sequence spans more than one chunk_size chunk (the inter-chunk recurrence
sums over the wrong axis), so every sequence here must be shorter than the
config's chunk_size (checked).
Exit status 0 = pass. Needs .venv-torch.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hxqlib  # noqa: E402

TEXT = ("Once upon a time, there was a little girl named Lily. She loved to play outside "
        "in the park with her friends. The capital of France is Paris, and 12 + 30 = 42.")


def check_routes(src_dir, hxq_dir, check, res):
    """Every tensor's route in hxq_receipt.json against 0.3.3's
    should_compress (hxqlib.route_033); 0.3.3 "skip" is our "copy" (or
    "drop" for a tied lm_head). Allowed difference: 0.3.3 compresses a 2-D
    tensor not named .weight/_weight or a non-conv1d >=3-D weight, which
    its loader cannot rebuild (D11): we copy it."""
    rp = os.path.join(hxq_dir, "hxq_receipt.json")
    if not os.path.exists(rp):
        print("note  no hxq_receipt.json (not written by hxzoo): routing not compared")
        return
    rec = json.load(open(rp))
    ours = {t["name"]: t["route"] for t in rec["tensors"]}
    cfg = json.load(open(os.path.join(src_dir, "config.json")))
    files = hxqlib.model_files(src_dir)
    shapes = {}
    for f in sorted(set(files.values())):
        for k, v in hxqlib.read_header(f).items():
            if k != "__metadata__":
                shapes[k] = tuple(v["shape"])
    tied = set()
    if cfg.get("tie_word_embeddings", False):  # compress.py: the raw key, default False
        emb = [k for k in shapes if "embed" in k.lower() and k.endswith(".weight")]
        tied = {k for k in shapes if "lm_head" in k.lower() and k.endswith(".weight")
                and any(shapes[e] == shapes[k] for e in emb)}
    diff, deviations = [], []
    for k, shp in sorted(shapes.items()):
        want = {"compress": "compress", "exact": "exact", "skip": "copy"}[hxqlib.route_033(k, shp, tied)]
        if k in tied:
            want = "drop"
        got = ours.get(k, "drop")
        if got == want:
            continue
        d11 = want == "compress" and got == "copy" and (
            (len(shp) == 2 and not (k.endswith(".weight") or k.endswith("_weight")))
            or (len(shp) >= 3 and not ("conv1d" in k and len(shp) == 3)))
        (deviations if d11 else diff).append("%s %s: 0.3.3 %s, ours %s" % (k, list(shp), want, got))
    for d in deviations:
        print("note  routing deviation (D11, documented): " + d)
    res["routing"] = {"tensors": len(shapes), "deviations_d11": deviations, "differences": diff}
    check("routing == 0.3.3 should_compress for all %d tensors (%d documented D11 deviations)"
          % (len(shapes), len(deviations)), not diff, "; ".join(diff[:5]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hxq", required=True)
    ap.add_argument("--dense", required=True)
    ap.add_argument("--src")
    ap.add_argument("--name", default="")
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--ids", help="golden logits file whose 'ids' are the logits sequence")
    ap.add_argument("--prompt-ids", help="greedy golden file whose 'prompt_ids' are the prompt")
    ap.add_argument("--check-logits", help="build/tools/check_logits: run our decoder on --hxq")
    ap.add_argument("--work", help="directory for the goldens of --check-logits (default: next to --json)")
    ap.add_argument("--json")
    a = ap.parse_args()
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

    import torch
    import transformers
    import helix_substrate
    from helix_substrate.hf_quantizer import HelixHfQuantizer  # noqa: F401 (fail loudly)
    from helix_substrate.helix_linear import HelixLinear
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.manual_seed(0)

    res = {"name": a.name, "hxq": a.hxq, "dense": a.dense,
           "versions": {"helix_substrate": helix_substrate.__version__,
                        "transformers": transformers.__version__, "torch": torch.__version__}}
    fails = []

    def check(what, ok, detail=""):
        print("%s %s%s" % ("PASS" if ok else "FAIL", what, (": " + detail) if detail else ""))
        if not ok:
            fails.append(what)

    # -- 1. load with the original quantizer
    t0 = time.time()
    hx, info = AutoModelForCausalLM.from_pretrained(a.hxq, dtype=torch.float32,
                                                    output_loading_info=True)
    hx.eval()
    res["hxq_load_s"] = round(time.time() - t0, 2)
    mods = hxqlib.hxq_modules(a.hxq)
    helix = {n: m for n, m in hx.named_modules() if isinstance(m, HelixLinear)}
    # every path, shared modules included (named_modules() lists a module
    # object once, under its first path)
    all_paths = {n: m for n, m in hx.named_modules(remove_duplicate=False) if isinstance(m, HelixLinear)}
    aliases = {n: m for n, m in all_paths.items() if n not in helix}
    res.update(compressed_modules=len(mods), helix_linear=len(helix), helix_linear_alias_paths=len(aliases))
    check("HelixLinear modules == compressed_modules", set(helix) == set(mods),
          "%d HelixLinear, %d listed, %d more paths to shared ones" % (len(helix), len(mods), len(aliases)))
    first = {id(m): n for n, m in helix.items()}
    stray = [n for n, m in aliases.items() if id(m) not in first]
    check("every alias path is a shared HelixLinear of compressed_modules", not stray, ", ".join(stray[:5]))
    leftover = [n for n, m in hx.named_modules(remove_duplicate=False)
                if isinstance(m, torch.nn.Linear) and n in mods]
    check("no compressed module left as nn.Linear", not leftover, ", ".join(leftover[:5]))
    # Missing keys other than HelixLinear's optional buffers (0.3.3 lists
    # the ones absent from the file, e.g. the sidecar of a module with no
    # sidecar entries, D21) mean re-initialised weights; a missing codebook
    # or indices is a failure too.
    optional = (".sidecar_positions", ".sidecar_values", ".codebook_f16", "._sidecar_vq_vals",
                "._sidecar_rows", "._sidecar_cols", "._sidecar_deltas", ".svd_U", ".svd_s", ".svd_Vt",
                ".bias", ".channel_scales", ".weight")
    under = lambda k, paths: any(k.startswith(p + ".") for p in paths)  # noqa: E731
    missing = [k for k in info.get("missing_keys", [])
               if not (under(k, all_paths) and k.endswith(optional))]
    check("no missing keys but HelixLinear's optional buffers", not missing, ", ".join(missing[:8]))
    res["helix_optional_buffers_reported_missing"] = len(info.get("missing_keys", [])) - len(missing)
    unexpected = list(info.get("unexpected_keys", []))
    check("no unexpected keys", not unexpected, ", ".join(unexpected[:8]))

    # -- 2. weights: HelixLinear decode == numpy decode == decompressed dense
    dense_w = hxqlib.read_safetensors(os.path.join(a.dense, "model.safetensors"))
    ours = hxqlib.decode_hxq(a.hxq, mods)
    worst_np, worst_hl, missing_dense = 0.0, 0.0, []
    for m in mods:
        dw = dense_w.get(m + ".weight")
        if dw is None:
            missing_dense.append(m)
            continue
        dw = dw.astype(np.float32)
        worst_np = max(worst_np, float(np.max(np.abs(ours[m] - dw))))
        if m in helix:
            with torch.no_grad():
                hw = helix[m].decode_weight().float().numpy()
            worst_hl = max(worst_hl, float(np.max(np.abs(hw - dw))))
    check("decompressed weights present for every module", not missing_dense, ", ".join(missing_dense[:5]))
    check("hxzoo decompress == numpy decoder (bit-exact)", worst_np == 0.0, "max |diff| %.3g" % worst_np)
    check("HelixLinear.decode_weight() == hxzoo decompress", worst_hl == 0.0, "max |diff| %.3g" % worst_hl)
    res.update(max_diff_decompress_vs_numpy=worst_np, max_diff_helixlinear_vs_decompress=worst_hl)

    dense = AutoModelForCausalLM.from_pretrained(a.dense, dtype=torch.float32).eval()
    dsd = dense.state_dict()
    worst_other, bad = 0.0, []
    hsd = hx.state_dict()
    nothx = [n for n in hsd if not under(n, all_paths)]
    absent = [n for n in nothx if n not in dsd]
    check("every non-HXQ state_dict key exists in the dense model", not absent, ", ".join(absent[:5]))
    for n in nothx:
        p = hsd[n]
        if n not in dsd or not p.is_floating_point():
            continue
        if p.shape != dsd[n].shape:
            bad.append(n)
            continue
        worst_other = max(worst_other, float((p - dsd[n]).abs().max()))
    check("non-compressed parameters equal (HXQ load vs decompress)", not bad and worst_other == 0.0,
          "max |diff| %.3g %s" % (worst_other, ", ".join(bad[:5])))
    res["max_diff_other_params"] = worst_other

    # -- 3. logits
    tok = AutoTokenizer.from_pretrained(a.hxq)
    if a.ids:
        ids = torch.tensor([json.load(open(a.ids))["ids"]])
    else:
        ids = tok(TEXT, return_tensors="pt").input_ids
        if ids[0, 0].item() != (dense.config.bos_token_id or -1) and dense.config.bos_token_id is not None:
            ids = torch.cat([torch.tensor([[dense.config.bos_token_id]]), ids], 1)
    if a.prompt_ids:
        prompt = torch.tensor([json.load(open(a.prompt_ids))["prompt_ids"]])
    else:
        prompt = tok("Once upon a time" if "stories" in (a.name + a.hxq) else "The capital of France is",
                     return_tensors="pt").input_ids
    cfg = dense.config
    if cfg.model_type == "zamba2":
        # transformers 4.57 Zamba2 torch path: wrong beyond one chunk
        longest = max(ids.shape[1], prompt.shape[1] + a.new_tokens)
        check("Zamba2 sequences shorter than chunk_size (transformers is exact only then)",
              longest < cfg.chunk_size, "%d tokens, chunk_size %d" % (longest, cfg.chunk_size))
    with torch.no_grad():
        lh = hx(ids).logits.float()
        ld = dense(ids).logits.float()
    scale = float(ld.abs().max())
    d = float((lh - ld).abs().max())
    res.update(tokens=int(ids.shape[1]), logit_scale=scale, max_abs_logit_diff=d,
               rel_logit_diff=d / scale)
    check("logits HXQ (HelixLinear) vs dense (decompressed)", d < a.rtol * scale,
          "max |diff| %.3g, scale %.3g, rel %.3g (limit %.0e)" % (d, scale, d / scale, a.rtol))

    # -- 4. greedy generation (input ids only: some tokenizers add token_type_ids)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0

    def greedy(model):
        with torch.no_grad():
            out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                                 max_new_tokens=a.new_tokens, do_sample=False, pad_token_id=pad)
        return out[0, prompt.shape[1]:].tolist()

    gen, gen_ids = {}, {}
    for label, model in (("hxq", hx), ("dense", dense)):
        gen_ids[label] = greedy(model)
        gen[label] = tok.decode(gen_ids[label], skip_special_tokens=True)
        print("greedy %-5s %r" % (label, gen[label]))
    res["greedy"] = gen
    res["greedy_ids"] = gen_ids
    check("greedy ids HXQ == dense (%d tokens)" % len(gen_ids["hxq"]), gen_ids["hxq"] == gen_ids["dense"])

    # -- 5. our decoder on the HXQ directory against the helix-loaded model
    if a.check_logits:
        work = a.work or os.path.dirname(os.path.abspath(a.json or a.hxq))
        os.makedirs(work, exist_ok=True)
        gl, gg = os.path.join(work, "helix_logits.json"), os.path.join(work, "helix_greedy.json")
        hxqlib.write_golden(gl, a.name, ids[0].tolist(), lh[0].numpy())
        with open(gg, "w") as f:
            json.dump({"model": a.name, "prompt_ids": prompt[0].tolist(), "ids": gen_ids["hxq"]}, f)
        r = subprocess.run([a.check_logits, a.hxq, gl, "%g" % a.rtol, gg], capture_output=True, text=True)
        print(r.stdout.rstrip())
        if r.returncode:
            print(r.stderr.rstrip())
        res["check_logits"] = r.stdout.strip().split("\n")
        check("our decoder on the HXQ dir == helix-loaded logits (rel %.0e) and greedy ids" % a.rtol,
              r.returncode == 0)

    if a.src:
        check_routes(a.src, a.hxq, check, res)
        src = AutoModelForCausalLM.from_pretrained(a.src, dtype=torch.float32).eval()
        ssd = src.state_dict()
        worst_src, bad = 0.0, []
        for n in nothx:
            p, q = hsd[n], ssd.get(n)
            if q is None or p.shape != q.shape:
                bad.append(n)
                continue
            if not p.is_floating_point():
                if not torch.equal(p, q):
                    bad.append(n)
                continue
            if torch.equal(p, q) or torch.equal(p, q.half().float()):
                continue
            bad.append(n)
            worst_src = max(worst_src, float((p - q).abs().max()))
        check("non-compressed parameters == source (or its F16 rounding): nothing re-initialised",
              not bad, "%d differ (max |diff| %.3g): %s" % (len(bad), worst_src, ", ".join(bad[:5])))
        with torch.no_grad():
            ls = src(ids).logits.float()
        gen_ids["source"] = greedy(src)
        gen["source"] = tok.decode(gen_ids["source"], skip_special_tokens=True)
        print("greedy %-5s %r" % ("src", gen["source"]))
        src_w = hxqlib.read_model(a.src, [m + ".weight" for m in mods])
        num = sum(float(np.sum((src_w[m + ".weight"].astype(np.float64) - ours[m]) ** 2)) for m in mods)
        den = sum(float(np.sum(src_w[m + ".weight"].astype(np.float64) ** 2)) for m in mods)
        agree = float((ls.argmax(-1) == lh.argmax(-1)).float().mean())
        res["vs_source"] = {"weights_rel_mse": num / den,
                            "max_abs_logit_diff": float((ls - lh).abs().max()),
                            "top1_agreement": agree}
        print("info  vs source: weights rel-MSE %.4g, max |logit diff| %.3g, top-1 agreement %.3f"
              % (num / den, res["vs_source"]["max_abs_logit_diff"], agree))

    res["pass"] = not fails
    res["failed"] = fails
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    print("interop %s: %s" % (a.name or a.hxq, "PASS" if not fails else "FAIL (%s)" % "; ".join(fails)))
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
