#!/usr/bin/env bash
# model_stories260k.sh - the CPU forward pass on the stories260K fixture:
# golden logits from transformers (dense, and after `hxzoo compress` as
# loaded by helix-substrate 0.3.3), and the published greedy text of
# llama2.c's run.c (BOS prompt, 256 steps, temperature 0).
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
tools=$(dirname "$hx")/tools
fix=$root/tests/fixtures/stories260k
[ -f "$fix/model.safetensors" ] || { echo "FAIL: $fix not present"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
"$tools/check_logits" "$fix" "$root/tests/golden/logits_stories260k.json" 1e-4 || fail=1
"$hx" -q generate "$fix" --prompt "" --max-tokens 256 > "$tmp/greedy.txt" || fail=1
if cmp -s "$tmp/greedy.txt" "$root/tests/golden/stories260k_greedy.txt"; then
  echo "greedy text: identical to llama2.c's published output"
else
  echo "greedy text differs:"; diff "$tmp/greedy.txt" "$root/tests/golden/stories260k_greedy.txt" | head; fail=1
fi
# the committed HXQ fixture (made by hxzoo compress) against its golden logits
"$tools/check_logits" "$root/tests/fixtures/stories260k-hxq" "$root/tests/golden/logits_stories260k_hxq.json" 1e-4 || fail=1
# and a fresh compress: identical weights while the codec is unchanged; a
# codec change must regenerate the fixture and its golden in the same commit
"$hx" -q compress "$fix" "$tmp/hxq" || fail=1
want=$(cat "$root/tests/golden/logits_stories260k_hxq.weights.sha256")
got=$(sha256sum "$tmp/hxq/model.safetensors" | cut -d' ' -f1)
fixsha=$(sha256sum "$root/tests/fixtures/stories260k-hxq/model.safetensors" | cut -d' ' -f1)
if [ "$want" != "$got" ] || [ "$fixsha" != "$want" ]; then
  echo "FAIL hxzoo compress output ($got), the committed tests/fixtures/stories260k-hxq ($fixsha)"
  echo "     and the weights of its golden logits ($want) differ: the codec changed; regenerate the"
  echo "     fixture and the HXQ goldens with tests/golden/regen_hxq.sh (needs .venv-torch: make venv-torch;"
  echo "     and make fixtures) in the same commit"
  fail=1
else
  echo "hxzoo compress output is identical to the committed HXQ fixture"
fi
# a tokenizer whose ids exceed the model's vocabulary: a refusal naming the
# id, not a silent NLL computed without the target's logit
"$HXZOO" eval "$fix" --text "$root/tests/fixtures/eval/valid-head30k.txt" --protocol helix --seq-len 512 \
  --n-tokens 1024 --tokenizer "$root/tests/fixtures/tokenizers/qwen2" --device cpu >"$tmp/vocab.out" 2>&1
rc=$?
if [ $rc = 6 ] && grep -q "outside the model's vocabulary of 512" "$tmp/vocab.out"; then
  echo "PASS eval refuses token ids outside the model's vocabulary (exit 6)"
else
  echo "FAIL eval with a larger tokenizer: rc=$rc $(tail -2 "$tmp/vocab.out")"; fail=1
fi
exit $fail
