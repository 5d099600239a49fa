#!/usr/bin/env bash
# regen_hxq.sh [BUILD] - regenerate the golden logits of the HXQ fixtures
# after a change of `hxzoo compress` output: compresses stories260K (kept
# in tests/fixtures/stories260k-hxq), SmolLM2-135M (.cache) and the tiny
# Mamba, Mamba2 and Zamba2 fixtures (tests/fixtures/tiny-*) with the
# current build, runs tests/golden/gen_logits.py --hxq (helix-substrate
# 0.3.3 loader, .venv-torch) and records the weight digests. The tiny
# fixtures use the text of their dense goldens (48 ids, shorter than
# Zamba2's chunk_size: transformers 4.57's Zamba2 torch path is wrong
# across chunks).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
hx=$root/$build/hxzoo
py=$root/.venv-torch/bin/python
g=$root/tests/golden
S="Once upon a time, there was a little girl named Lily. She loved to play"
T="Robert Boulter is an English film, television and theatre actor. He had a guest @-@ starring role on the television series The Bill in 2000."
rm -rf "$root/tests/fixtures/stories260k-hxq"
"$hx" -q compress "$root/tests/fixtures/stories260k" "$root/tests/fixtures/stories260k-hxq"
rm -f "$root/tests/fixtures/stories260k-hxq/hxq_receipt.json"
"$py" "$g/gen_logits.py" "$root/tests/fixtures/stories260k-hxq" "$g/logits_stories260k_hxq.json" "$S" --hxq
sha256sum "$root/tests/fixtures/stories260k-hxq/model.safetensors" | cut -d' ' -f1 > "$g/logits_stories260k_hxq.weights.sha256"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for m in tiny-mamba tiny-mamba2 tiny-zamba2; do
  text=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["text"], end="")' "$g/logits_$m.json")
  "$hx" -q compress "$root/tests/fixtures/$m" "$tmp/$m"
  "$py" "$g/gen_logits.py" "$tmp/$m" "$g/logits_${m}_hxq.json" "$text" --hxq
  # the same ids as the dense golden, or the comparison would be meaningless
  "$py" -c 'import json, sys; a, b = (json.load(open(f))["ids"] for f in sys.argv[1:]); sys.exit(a != b)' \
    "$g/logits_$m.json" "$g/logits_${m}_hxq.json"
  sha256sum "$tmp/$m/model.safetensors" | cut -d' ' -f1 > "$g/logits_${m}_hxq.weights.sha256"
done
smol=$root/.cache/smollm2-135m
if [ -f "$smol/model.safetensors" ]; then
  "$hx" -q compress "$smol" "$tmp/hxq"
  "$py" "$g/gen_logits.py" "$tmp/hxq" "$g/logits_smollm2_hxq.json" "$T" --hxq
  sha256sum "$tmp/hxq/model.safetensors" | cut -d' ' -f1 > "$g/logits_smollm2_hxq.weights.sha256"
fi
