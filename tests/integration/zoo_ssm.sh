#!/usr/bin/env bash
# zoo_ssm.sh - hxzoo build / verify end to end for the state-space families
# on the tiny random-weight fixtures (tests/fixtures/tiny-{mamba,mamba2,
# zamba2}, zoo/manifest.json entries tiny-*): each is imported into `hxzoo
# serve` as its manifest source, built (evaluated on the CPU with a
# different protocol each: helix, sliding, gptq), published; the card passes
# huggingface_hub's rules and states what stays dense; `hxzoo verify --full`
# confirms every claim. Also: --device cuda is refused for them, a strict
# KLD gate fails (the evaluation sees the quantization error), a manifest
# whose architecture contradicts config.json is refused, a rebuild publishes
# nothing; a source in mamba_ssm's layout (state-spaces/mamba2-*) is
# converted without fetching its pickle. Everything this needs is in the
# repository and the test venv (make test creates both), so nothing here is
# skipped: a missing piece fails.
. "$(dirname "$0")/lib/hub.sh"
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
have_py || fail "huggingface_hub is not installed in $PY (make venv)"
models="mamba mamba2 zamba2"
for a in $models; do
  [ -f "$root/tests/fixtures/tiny-$a/model.safetensors" ] || fail "fixture tests/fixtures/tiny-$a missing"
  "$HXZOO" -q serve --root "$T/hub" --import "$root/tests/fixtures/tiny-$a" "hxzoo-fixtures/tiny-$a" >/dev/null ||
    fail "import tiny-$a"
done
# a Mamba2 checkpoint in mamba_ssm's own layout (as state-spaces/mamba2-*
# publish them): tiny-mamba2's tensors under mamba_ssm's names and config,
# no tokenizer, and a pickle that must never be fetched; the same with only
# the pickle (state-spaces/mamba2-1.3b's main branch); a tokenizer repo
"$PY" - "$root/tests/fixtures/tiny-mamba2" "$T/ssm" "$T/ssm-pickle" "$T/tok" <<'PY' || fail "mamba_ssm layout fixture"
import json, os, shutil, struct, sys
src, out, pk, tok = sys.argv[1:5]
for d in (out, pk, tok):
    os.makedirs(d)
c = json.load(open(os.path.join(src, "config.json")))
ssm = {"d_model": c["hidden_size"], "d_intermediate": 0, "n_layer": c["num_hidden_layers"],
       "vocab_size": c["vocab_size"] - 5,  # mamba_ssm pads the embedding to pad_vocab_size_multiple
       "ssm_cfg": {"layer": "Mamba2", "d_state": c["state_size"], "d_conv": c["conv_kernel"], "expand": c["expand"],
                   "headdim": c["head_dim"], "ngroups": c["n_groups"], "chunk_size": c["chunk_size"],
                   "dt_limit": c["time_step_limit"]},
       "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
       "pad_vocab_size_multiple": 16, "tie_embeddings": c["tie_word_embeddings"]}
json.dump(ssm, open(os.path.join(out, "config.json"), "w"), indent=2)
shutil.copy(os.path.join(out, "config.json"), pk)
b = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["backbone.embedding.weight"] = h.pop("backbone.embeddings.weight")
hb = json.dumps(h).encode()
hb += b" " * (-len(hb) % 8)
open(os.path.join(out, "model.safetensors"), "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
for d in (out, pk):
    open(os.path.join(d, "README.md"), "w").write("---\nlicense: apache-2.0\n---\n")
    open(os.path.join(d, "pytorch_model.bin"), "wb").write(b"\x80\x02 not a real pickle, never to be fetched\n")
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(src, f), tok)
PY
"$HXZOO" -q serve --root "$T/hub" --import "$T/ssm" hxzoo-fixtures/tiny-mamba2-ssm >/dev/null || fail "import ssm"
"$HXZOO" -q serve --root "$T/hub" --import "$T/ssm-pickle" hxzoo-fixtures/tiny-mamba2-pickle >/dev/null || fail "import pickle"
"$HXZOO" -q serve --root "$T/hub" --import "$T/tok" hxzoo-fixtures/tiny-tokenizer >/dev/null || fail "import tokenizer"
start_server A "$T/hub"
export HF_ENDPOINT=$URL_A HF_TOKEN=hf_test HF_HUB_CACHE=$T/cache HXZOO_BUILD_ROOT=$T/zb

# 1. build each one from the default manifest: CPU evaluation, published,
#    quick verify of the published commit (stage 7)
declare -A proto=([mamba]=helix [mamba2]=sliding [zamba2]=gptq)
for a in $models; do
  "$HXZOO" build "tiny-$a" >"$T/b-$a" 2>&1 || fail "build tiny-$a: $(cat "$T/b-$a")"
  grep -q "evaluating on the CPU: protocol ${proto[$a]}, " "$T/b-$a" || fail "tiny-$a not evaluated on the CPU with ${proto[$a]}: $(cat "$T/b-$a")"
  grep -q "base PPL [0-9.]*, HXQ PPL [0-9.]* (" "$T/b-$a" || fail "tiny-$a: no perplexity line: $(cat "$T/b-$a")"
  grep -q "tiny-$a: published [0-9a-f]\{40\} (new commit)" "$T/b-$a" || fail "tiny-$a not published: $(cat "$T/b-$a")"
  "$HXZOO" list | grep -q "^tiny-$a .*published+verified" || fail "hxzoo list after building tiny-$a: $("$HXZOO" list | grep "tiny-$a")"
done
ok "tiny-mamba, tiny-mamba2, tiny-zamba2 built (CPU evaluation: helix, sliding, gptq), published, verified (quick)"

# 2. the cards: huggingface_hub's rules, the model-index equals the build
#    receipt, the measured figures show a real (nonzero) quantization error,
#    the parameter counts include every dimension (conv1d kernels are 3-D),
#    and the dense tensors named are the model's own (conv1d, A_log, D, ...)
for a in $models; do
  "$PY" - "EchoLabs33/tiny-$a-hxq" "$a" "hxzoo-fixtures/tiny-$a" "$root/tests/fixtures/tiny-$a" <<'PY' || fail "card of tiny-$a"
import json, math, os, struct, sys
from huggingface_hub import ModelCard, snapshot_download
from huggingface_hub.repocard import metadata_load
repo, arch, base, fixture = sys.argv[1:5]
p = snapshot_download(repo)
readme = os.path.join(p, "README.md")
card = ModelCard.load(readme, ignore_metadata_errors=False)
meta = metadata_load(readme)
assert meta["base_model"] == base and meta["base_model_relation"] == "quantized", meta
assert {"hxq", "helix-substrate", "quantized", arch} <= set(meta["tags"]), meta["tags"]
assert meta["license"] == "mit" and meta["pipeline_tag"] == "text-generation", meta
b = json.load(open(os.path.join(p, "hxzoo_build.json")))
ev, cp = b["eval"], b["compress"]
res = card.data.eval_results
assert res[0].metric_type == "perplexity" and abs(res[0].metric_value - ev["ppl"]) < 1e-4, (res, ev)
assert abs(res[1].metric_value - ev["base_ppl"]) < 1e-4, (res, ev)
assert ev["device"] == "cpu" and ev["dtype"] == "float32", ev
# the HXQ model differs from its base, a little: the evaluation ran on the quantized weights
assert 0 < ev["kld_mean"] < 0.01 and 0.9 < ev["top1"] < 1 and ev["ppl"] != ev["base_ppl"], ev
assert set(os.listdir(p)) >= {"config.json", "model.safetensors", "README.md", "hxq_receipt.json",
                              "hxzoo_build.json", "tokenizer.json"}, os.listdir(p)
# parameters: every element of every source tensor, once (shared blocks and tied embeddings once)
def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return h
src = header(os.path.join(fixture, "model.safetensors"))
total = sum(math.prod(t["shape"]) for t in src.values())
assert cp["compressed_params"] + cp["exact_params"] == total, (cp["compressed_params"], cp["exact_params"], total)
rec = json.load(open(os.path.join(p, "hxq_receipt.json")))
for t in rec["tensors"]:
    assert t["shape"] == src[t["name"]]["shape"], (t["name"], t["shape"], src[t["name"]]["shape"])
# dense tensors, by kind, counted
kinds = {k["kind"]: k["tensors"] for k in cp["dense"]}
assert sum(kinds.values()) == cp["tensors"] - cp["compressed_tensors"], (kinds, cp)
want = {"mamba": {"mixer.conv1d.weight", "mixer.A_log", "mixer.D", "norm.weight", "backbone.embeddings.weight"},
        "mamba2": {"mixer.conv1d.weight", "mixer.A_log", "mixer.D", "mixer.dt_bias", "mixer.norm.weight", "lm_head.weight"},
        "zamba2": {"mamba.conv1d.weight", "mamba.A_log", "mamba_decoder.mamba.dt_bias", "model.embed_tokens.weight",
                   "shared_transformer.pre_ff_layernorm.weight"}}[arch]
assert want <= set(kinds), (want - set(kinds), kinds)
text = open(readme).read()
assert "kept dense (tensors by name, with their count): `" in text, text
for k, n in kinds.items():
    assert f"`{k}` ({n})" in text, (k, n)
assert "embeddings, lm_head, norms and biases stay dense" not in text
if ev["protocol"] == "sliding":
    assert ev["stride"] == 128 and "| stride | 128 |" in text, ev
print("card ok:", repo, ev["protocol"], ev["base_ppl"], ev["ppl"], ev["kld_mean"], len(kinds), "dense kinds")
PY
done
ok "cards accepted by huggingface_hub; figures, parameter counts and dense tensors as built"

# 3. verify --full re-measures every claim with the card's protocol (the
#    sliding card's stride included) and confirms them
for a in $models; do
  "$HXZOO" -q verify "EchoLabs33/tiny-$a-hxq" --full --json >"$T/v-$a.json" || fail "verify --full tiny-$a: $(cat "$T/v-$a.json")"
  "$PY" - "$T/v-$a.json" <<'PY' || fail "verify --full tiny-$a counts: $(cat "$T/v-$a.json")"
import json, sys
d = json.load(open(sys.argv[1]))
got = {c["check"]: c["result"] for c in d["checks"]}
need = ["base perplexity", "HXQ perplexity", "PPL delta", "KLD mean", "top-1 agreement", "min cosine", "mean cosine", "file hashes"]
assert d["sound"] and all(got.get(k) == "confirmed" for k in need), {k: got.get(k) for k in need}
assert not [c for c in d["checks"] if c["result"] in ("fail", "contradicted", "unchecked")], d["checks"]
PY
done
ok "hxzoo verify --full: SOUND, every claim confirmed (helix, sliding and gptq cards)"

# 4. an unchanged model publishes nothing
n=$(commits "$URL_A" EchoLabs33/tiny-zamba2-hxq)
"$HXZOO" build tiny-zamba2 >"$T/o4" 2>&1 || fail "rebuild: $(cat "$T/o4")"
grep -q "up to date" "$T/o4" || fail "rebuild not up to date: $(cat "$T/o4")"
[ "$(commits "$URL_A" EchoLabs33/tiny-zamba2-hxq)" = "$n" ] || fail "a rebuild of an unchanged model made a commit"
ok "building an unchanged SSM model again publishes nothing"

# 5. refusals: CUDA (no SSM forward pass there, whatever the machine has),
#    a manifest architecture that contradicts config.json, a strict gate
for a in mamba zamba2; do
  "$HXZOO" build "tiny-$a" --device cuda --no-upload --force --build-dir "$T/cuda-$a" >"$T/o5" 2>&1 && fail "--device cuda accepted for tiny-$a"
  grep -q "the CUDA backend has no forward pass for $a" "$T/o5" || fail "cuda refusal tiny-$a: $(cat "$T/o5")"
  grep -q "PPL" "$T/o5" && fail "tiny-$a: evaluated despite the refusal: $(cat "$T/o5")"
done
"$PY" - "$root/zoo/manifest.json" "$T/m.json" "$root" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["root"] = sys.argv[3]
for m in d["models"]:
    if m["name"] == "tiny-mamba":
        m["architecture"] = "mamba2"; m["target"] = "EchoLabs33/arch-test"
    if m["name"] == "tiny-mamba2":
        m["gates"]["max_kld"] = 1e-7; m["target"] = "EchoLabs33/gate-test"
json.dump(d, open(sys.argv[2], "w"))
PY
"$HXZOO" build tiny-mamba --manifest "$T/m.json" --build-dir "$T/arch" >"$T/o6" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "the manifest says tiny-mamba is a mamba2 model, its config.json says model_type mamba" "$T/o6" ||
  fail "architecture mismatch not refused: rc=$rc $(cat "$T/o6")"
"$HXZOO" build tiny-mamba2 --manifest "$T/m.json" --build-dir "$T/gate" >"$T/o7" 2>&1; rc=$?
[ $rc = 10 ] && grep -Eq "gate max_kld: KLD [0-9.]+ > 0.000000 \(over by" "$T/o7" || fail "strict KLD gate: rc=$rc $(cat "$T/o7")"
for r in arch-test gate-test; do
  curl -sf "$URL_A/api/models/EchoLabs33/$r" >/dev/null && fail "EchoLabs33/$r was created despite the refusal"
done
ok "refused: --device cuda for SSMs, a manifest architecture contradicting config.json, a failed KLD gate (nothing uploaded)"

# 6. a source in mamba_ssm's layout (zoo/manifest.json's mamba2-1.3b): only
#    config, safetensors and card are fetched, the layout is converted
#    (docs/ZOO.md), the result is tiny-mamba2 exactly (tensor bytes, golden
#    logits), the card says so, verify --full converts the base the same way
"$PY" - "$root/zoo/manifest.json" "$T/m-ssm.json" "$root" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["root"] = sys.argv[3]
base = [m for m in d["models"] if m["name"] == "tiny-mamba2"][0]
tok = {"repo": "hxzoo-fixtures/tiny-tokenizer", "revision": "main"}
d["models"] = [dict(base, name="tiny-mamba2-ssm", source="hxzoo-fixtures/tiny-mamba2-ssm", layout="mamba_ssm",
                    tokenizer=tok, target="EchoLabs33/tiny-mamba2-ssm-hxq", test_model=True),
               dict(base, name="tiny-mamba2-pickle", source="hxzoo-fixtures/tiny-mamba2-pickle", layout="mamba_ssm",
                    tokenizer=tok, target="EchoLabs33/tiny-mamba2-pickle-hxq", test_model=True)]
json.dump(d, open(sys.argv[2], "w"))
PY
"$HXZOO" build tiny-mamba2-ssm --manifest "$T/m-ssm.json" >"$T/o8" 2>&1 || fail "build tiny-mamba2-ssm: $(cat "$T/o8")"
grep -q "  3 files, " "$T/o8" && grep -q "mamba_ssm layout converted into $T/zb/tiny-mamba2-ssm/source: transformers Mamba2 config.json, 1 tensor renamed" "$T/o8" ||
  fail "layout conversion: $(cat "$T/o8")"
grep -q "tiny-mamba2-ssm: published [0-9a-f]\{40\} (new commit)" "$T/o8" || fail "tiny-mamba2-ssm not published: $(cat "$T/o8")"
[ -z "$(find "$HF_HUB_CACHE" -name pytorch_model.bin)" ] || fail "a pickle was downloaded: $(find "$HF_HUB_CACHE" -name pytorch_model.bin)"
"$(dirname "$HXZOO")/tools/check_logits" "$T/zb/tiny-mamba2-ssm/source" "$root/tests/golden/logits_tiny-mamba2.json" 1e-4 >"$T/o9" 2>&1 ||
  fail "the converted model's logits differ from transformers' for tiny-mamba2: $(cat "$T/o9")"
"$PY" - "$T/zb/tiny-mamba2-ssm/source" "$root/tests/fixtures/tiny-mamba2" EchoLabs33/tiny-mamba2-ssm-hxq <<'PY' || fail "converted layout or its card"
import json, os, struct, sys
from huggingface_hub import snapshot_download
conv, fix, repo = sys.argv[1:4]
def tensors(d):
    b = open(os.path.join(d, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
a, b = tensors(conv), tensors(fix)
assert a == b, sorted(set(a) ^ set(b))  # same names (embedding renamed back), dtypes, shapes and bytes
cc, fc = json.load(open(os.path.join(conv, "config.json"))), json.load(open(os.path.join(fix, "config.json")))
for k in ("model_type", "hidden_size", "num_hidden_layers", "vocab_size", "state_size", "conv_kernel", "expand",
          "head_dim", "num_heads", "n_groups", "chunk_size", "use_bias", "use_conv_bias", "tie_word_embeddings",
          "time_step_limit", "layer_norm_epsilon", "residual_in_fp32"):
    assert cc[k] == fc[k], (k, cc[k], fc[k])
assert open(os.path.join(conv, "tokenizer.json")).read() == open(os.path.join(fix, "tokenizer.json")).read()
p = snapshot_download(repo)
text = open(os.path.join(p, "README.md")).read()
assert "| source layout | mamba_ssm (" in text and "| tokenizer | hxzoo-fixtures/tiny-tokenizer at commit " in text, text
assert "| license | apache-2.0 (from the source model card) |" in text
assert "tokenizer.json" in os.listdir(p) and json.load(open(os.path.join(p, "config.json")))["model_type"] == "mamba2"
src = json.load(open(os.path.join(p, "hxzoo_build.json")))["source"]
assert src["layout"] == "mamba_ssm" and len(src["tokenizer"]["commit"]) == 40, src
PY
"$HXZOO" -q verify EchoLabs33/tiny-mamba2-ssm-hxq --full --json >"$T/v-ssm.json" || fail "verify --full tiny-mamba2-ssm: $(cat "$T/v-ssm.json")"
"$PY" - "$T/v-ssm.json" <<'PY' || fail "verify --full tiny-mamba2-ssm: $(cat "$T/v-ssm.json")"
import json, sys
d = json.load(open(sys.argv[1]))
got = {c["check"]: c["result"] for c in d["checks"]}
assert d["sound"] and got.get("base layout") == "ok", got
assert all(got.get(k) == "confirmed" for k in ["base perplexity", "HXQ perplexity", "KLD mean", "top-1 agreement", "min cosine"]), got
assert not [c for c in d["checks"] if c["result"] in ("fail", "contradicted", "unchecked")], d["checks"]
PY
[ -z "$(find "$HF_HUB_CACHE" -name pytorch_model.bin)" ] || fail "verify downloaded a pickle"
"$HXZOO" build tiny-mamba2-pickle --manifest "$T/m-ssm.json" >"$T/o10" 2>&1 && fail "a pickle-only mamba_ssm source was built"
grep -q "only \*.safetensors are read, never pytorch_model.bin" "$T/o10" || fail "pickle-only refusal: $(cat "$T/o10")"
[ -z "$(find "$HF_HUB_CACHE" -name pytorch_model.bin)" ] || fail "the pickle-only source's pickle was downloaded"
ok "mamba_ssm layout: no pickle fetched, converted exactly (bytes, golden logits), card states it, verify --full converts the base too; pickle-only refused"
exit 0
