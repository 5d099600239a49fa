#!/usr/bin/env bash
# regen_hxq.sh [BUILD] - regenerate the golden logits of the HXQ fixtures
# after a change of `hxzoo compress` output: compresses stories260K (kept
# in tests/fixtures/stories260k-hxq) and SmolLM2-135M (.cache) with the
# current build, runs tests/golden/gen_logits.py --hxq (helix-substrate
# 0.3.3 loader, .venv-torch) and records the weight digests.
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
smol=$root/.cache/smollm2-135m
if [ -f "$smol/model.safetensors" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  "$hx" -q compress "$smol" "$tmp/hxq"
  "$py" "$g/gen_logits.py" "$tmp/hxq" "$g/logits_smollm2_hxq.json" "$T" --hxq
  sha256sum "$tmp/hxq/model.safetensors" | cut -d' ' -f1 > "$g/logits_smollm2_hxq.weights.sha256"
fi
