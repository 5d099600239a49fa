#!/usr/bin/env bash
# model_tiny.sh - forward-pass features not covered by the real fixtures,
# on tiny random-weight models with transformers' golden logits
# (tests/golden/gen_tiny_models.py): Qwen2 q/k/v biases + untied lm_head +
# BF16 weights; Llama-3 rope_scaling + F16 weights.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
tools=$(dirname "$hx")/tools
fail=0
for m in tiny-qwen2 tiny-llama3rope; do
  "$tools/check_logits" "$root/tests/fixtures/$m" "$root/tests/golden/logits_$m.json" 1e-4 || fail=1
done
exit $fail
