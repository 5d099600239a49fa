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
     model from DENSE_DIR on a fixed token sequence: pass if
     max|diff| < 1e-4 * max|logit|.
  4. Greedy generation of N tokens from both, printed (and compared).
  With --src, also report the drift of the decompressed weights and logits
  from the source model (information, not a pass criterion).
Exit status 0 = pass. Needs .venv-torch.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hxqlib  # noqa: E402

TEXT = ("Once upon a time, there was a little girl named Lily. She loved to play outside "
        "in the park with her friends. The capital of France is Paris, and 12 + 30 = 42.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hxq", required=True)
    ap.add_argument("--dense", required=True)
    ap.add_argument("--src")
    ap.add_argument("--name", default="")
    ap.add_argument("--new-tokens", type=int, default=20)
    ap.add_argument("--rtol", type=float, default=1e-4)
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
    res.update(compressed_modules=len(mods), helix_linear=len(helix))
    check("HelixLinear modules == compressed_modules", set(helix) == set(mods),
          "%d HelixLinear, %d listed" % (len(helix), len(mods)))
    # Missing keys other than HelixLinear's own buffers (0.3.3 reports its
    # consumed buffers as missing, defect D21) mean re-initialised weights.
    missing = [k for k in info.get("missing_keys", [])
               if not any(k.startswith(m + ".") for m in helix)]
    check("no missing non-HXQ keys", not missing, ", ".join(missing[:8]))
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
    for n, p in hx.state_dict().items():
        if any(n.startswith(m + ".") for m in helix) or n not in dsd or p.dtype != torch.float32:
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
    ids = tok(TEXT, return_tensors="pt").input_ids
    if ids[0, 0].item() != (dense.config.bos_token_id or -1) and dense.config.bos_token_id is not None:
        ids = torch.cat([torch.tensor([[dense.config.bos_token_id]]), ids], 1)
    with torch.no_grad():
        lh = hx(ids).logits.float()
        ld = dense(ids).logits.float()
    scale = float(ld.abs().max())
    d = float((lh - ld).abs().max())
    res.update(tokens=int(ids.shape[1]), logit_scale=scale, max_abs_logit_diff=d,
               rel_logit_diff=d / scale)
    check("logits HXQ (HelixLinear) vs dense (decompressed)", d < a.rtol * scale,
          "max |diff| %.3g, scale %.3g, rel %.3g (limit %.0e)" % (d, scale, d / scale, a.rtol))

    # -- 4. greedy generation
    prompt = tok("Once upon a time" if "stories" in (a.name + a.hxq) else "The capital of France is",
                 return_tensors="pt")
    gen = {}
    for label, model in (("hxq", hx), ("dense", dense)):
        with torch.no_grad():
            out = model.generate(**prompt, max_new_tokens=a.new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else 0)
        gen[label] = tok.decode(out[0, prompt.input_ids.shape[1]:], skip_special_tokens=True)
        print("greedy %-5s %r" % (label, gen[label]))
    res["greedy"] = gen
    check("greedy text HXQ == dense", gen["hxq"] == gen["dense"])

    if a.src:
        src = AutoModelForCausalLM.from_pretrained(a.src, dtype=torch.float32).eval()
        with torch.no_grad():
            ls = src(ids).logits.float()
            out = src.generate(**prompt, max_new_tokens=a.new_tokens, do_sample=False,
                               pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else 0)
        gen["source"] = tok.decode(out[0, prompt.input_ids.shape[1]:], skip_special_tokens=True)
        print("greedy %-5s %r" % ("src", gen["source"]))
        src_w = hxqlib.read_safetensors(os.path.join(a.src, "model.safetensors"),
                                        [m + ".weight" for m in mods])
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
