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
[ -f "$fix/model.safetensors" ] || { echo "skip: $fix not present (make fixtures)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
"$tools/check_logits" "$fix" "$root/tests/golden/logits_smollm2.json" 1e-4 || fail=1
out=$("$hx" -q generate "$fix" --prompt "The capital of France is" --max-tokens 8) || fail=1
echo "generate: $out"
case $out in "The capital of France is"*) ;; *) echo "generate: prompt not echoed"; fail=1 ;; esac
"$hx" -q compress "$fix" "$tmp/hxq" || fail=1
want=$(cat "$root/tests/golden/logits_smollm2_hxq.weights.sha256")
got=$(sha256sum "$tmp/hxq/model.safetensors" | cut -d' ' -f1)
if [ "$want" != "$got" ]; then
  echo "hxzoo compress output changed ($got, golden made for $want):"
  echo "regenerate tests/golden/logits_smollm2_hxq.json (see tests/golden/README.md)"
  echo "skip: golden HXQ logits are stale; regenerate with tests/golden/regen_hxq.sh"
  [ $fail -eq 0 ] && exit 77
else
  "$tools/check_logits" "$tmp/hxq" "$root/tests/golden/logits_smollm2_hxq.json" 1e-4 || fail=1
fi
exit $fail
