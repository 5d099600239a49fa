#!/usr/bin/env bash
# interop_zoo.sh [BUILD_DIR] - part of `make interop`: publish SmolLM2-135M
# with `hxzoo build` to a local `hxzoo serve`, then, in the torch venv, run
# the loading snippet of the published card exactly as written (import
# helix_substrate + transformers from_pretrained of the repo id) and
# generate text with it.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$root/$build ;; esac
hx=$build/hxzoo
py=${TPY:-$root/.venv-torch/bin/python}
src=${SMOLLM2_DIR:-$root/.cache/smollm2-135m}
[ -x "$py" ] || { echo "interop_zoo: no $py (make venv-torch)"; exit 1; }
[ -f "$src/model.safetensors" ] || { echo "interop_zoo: no $src (make fixtures)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/hxzoo-interop-zoo.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$hx" -q serve --root "$work/hub" --import "$src" HuggingFaceTB/SmolLM2-135M-Instruct
"$hx" -q serve --root "$work/hub" --port 0 --port-file "$work/port" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"
export HF_ENDPOINT HF_TOKEN=hf_interop HF_HUB_CACHE="$work/cache" HXZOO_BUILD_ROOT="$work/zb"
echo "=== interop zoo: hxzoo build smollm2-135m -> $HF_ENDPOINT"
"$hx" -q build smollm2-135m
echo "=== interop zoo: the card's snippet, run as written, then generate"
CUDA_VISIBLE_DEVICES='' TOKENIZERS_PARALLELISM=false PYTHONWARNINGS=ignore "$py" - <<'PY'
import re, torch
from huggingface_hub import hf_hub_download
card = open(hf_hub_download("EchoLabs33/smollm2-135m-instruct-hxq", "README.md")).read()
snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
print(snippet)
env = {}
exec(snippet, env)          # import helix_substrate + from_pretrained, exactly as the card says
model, tok = env["model"], env["tokenizer"]
n = sum(type(m).__name__ == "HelixLinear" for m in model.modules())
assert n == 210, f"{n} HelixLinear modules (expected 210: 30 layers x 7 projections)"
ids = tok("The capital of France is", return_tensors="pt").input_ids
with torch.no_grad():
    out = model.generate(ids, max_new_tokens=12, do_sample=False)
text = tok.decode(out[0], skip_special_tokens=True)
print("generated:", text)
assert text.startswith("The capital of France is") and len(text) > len("The capital of France is") + 3
print("interop zoo: PASS (%d HelixLinear modules)" % n)
PY
