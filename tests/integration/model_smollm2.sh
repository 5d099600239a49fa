#!/usr/bin/env bash
# model_smollm2.sh - the CPU forward pass on SmolLM2-135M-Instruct (BF16,
# made by `make fixtures` into .cache/smollm2-135m): tokenizer ids and
# golden logits from transformers, dense and after `hxzoo compress` (as
# loaded by helix-substrate 0.3.3), plus a greedy generation smoke test.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
tools=$(dirname "$hx")/tools
fix=${SMOLLM2_DIR:-$root/.cache/smollm2-135m}
[ -f "$fix/model.safetensors" ] || { echo "FAIL: $fix not present (make fixtures)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
"$tools/check_logits" "$fix" "$root/tests/golden/logits_smollm2.json" 1e-4 || fail=1
out=$("$hx" -q generate "$fix" --prompt "The capital of France is" --max-tokens 8) || fail=1
echo "generate: $out"
case $out in "The capital of France is"*) ;; *) echo "generate: prompt not echoed"; fail=1 ;; esac
"$hx" -q compress "$fix" "$tmp/hxq" || fail=1
# the HXQ golden holds for the weights it was made from: a different digest
# means the codec changed, and the golden must be regenerated with it
want=$(cat "$root/tests/golden/logits_smollm2_hxq.weights.sha256")
got=$(sha256sum "$tmp/hxq/model.safetensors" | cut -d' ' -f1)
if [ "$want" != "$got" ]; then
  echo "FAIL hxzoo compress output changed ($got, the HXQ golden was made from $want):"
  echo "     the codec changed; regenerate the HXQ goldens with tests/golden/regen_hxq.sh"
  echo "     (needs .venv-torch: make venv-torch; and make fixtures) in the same commit"
  fail=1
fi
# compared even after a digest mismatch: says how far the new output moved
"$tools/check_logits" "$tmp/hxq" "$root/tests/golden/logits_smollm2_hxq.json" 1e-4 || fail=1
exit $fail
