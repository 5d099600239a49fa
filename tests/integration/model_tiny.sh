#!/usr/bin/env bash
# model_tiny.sh - forward-pass features not covered by the real fixtures,
# on tiny random-weight models with transformers' golden logits
# (tests/golden/gen_tiny_models.py): Qwen2 q/k/v biases + untied lm_head +
# BF16 weights; Llama-3 rope_scaling + F16 weights. And the state-space
# families (tests/golden/gen_ssm_models.py): Mamba, Mamba2 and Zamba2, each
# against its dense golden and its greedy ids (Zamba2 also a 300-token
# sequence past its chunk), then `hxzoo compress`ed into a temporary
# directory and checked against the logits helix-substrate 0.3.3 +
# transformers computed from the same output (logits_*_hxq.json, made by
# tests/golden/regen_hxq.sh). The compressed weights must be the ones that
# golden was made from (*_hxq.weights.sha256): a difference means the codec
# changed, and fails here until the goldens are regenerated in the same
# commit.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
tools=$(dirname "$hx")/tools
g=$root/tests/golden
fail=0
for m in tiny-qwen2 tiny-llama3rope; do
  "$tools/check_logits" "$root/tests/fixtures/$m" "$g/logits_$m.json" 1e-4 || fail=1
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for m in tiny-mamba tiny-mamba2 tiny-zamba2; do
  fix=$root/tests/fixtures/$m
  "$tools/check_logits" "$fix" "$g/logits_$m.json" 1e-4 "$g/greedy_$m.json" || fail=1
  if [ -f "$g/logits_$m-long.json" ]; then
    "$tools/check_logits" "$fix" "$g/logits_$m-long.json" 1e-4 || fail=1
  fi
  if ! "$hx" -q compress "$fix" "$tmp/$m"; then
    echo "FAIL $m: hxzoo compress"; fail=1; continue
  fi
  want=$(cat "$g/logits_${m}_hxq.weights.sha256")
  got=$(sha256sum "$tmp/$m/model.safetensors" | cut -d' ' -f1)
  if [ "$want" != "$got" ]; then
    echo "FAIL $m: hxzoo compress output changed ($got, the HXQ golden was made from $want):"
    echo "     the codec changed; regenerate the HXQ goldens with tests/golden/regen_hxq.sh in the same commit"
    fail=1
  fi
  # compared even after a digest mismatch: says how far the new output moved
  "$tools/check_logits" "$tmp/$m" "$g/logits_${m}_hxq.json" 1e-4 || fail=1
done
exit $fail
