#!/usr/bin/env bash
# zoo_verify_original.sh - hxzoo verify on a repo laid out like the ones the
# original helix-substrate pipeline published (F16 exact tensors, the 0.3.3
# sidecar with fp16 values and 512 cap, "helix" quant_method alias, a card
# in the original's template without per-file hashes or protocol): quick and
# --full verification complete, the structure is sound, and each claim the
# card does not state is reported as such; a PPL claim it does state is
# checked against a re-measurement (this card overstates it: contradicted).
. "$(dirname "$0")/lib/hub.sh"
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
have_py || { echo "FAIL: huggingface_hub not installed in $PY"; exit 1; }
"$HXZOO" -q serve --root "$T/hub" --import "$root/tests/fixtures/stories260k" hxzoo-fixtures/stories260k >/dev/null || fail "import base"
# the original's layout: --compat-0.3.3 sidecar, F16 exact tensors, quant_method "helix"
"$HXZOO" -q compress "$root/tests/fixtures/stories260k" "$T/orig" --compat-0.3.3 --exact-f16 --quant-method helix || fail "compress"
rm -f "$T/orig/hxq_receipt.json"
cat > "$T/orig/README.md" <<'MD'
---
library_name: transformers
tags:
  - hxq
  - helixcode
  - compressed
  - llama
license: apache-2.0
base_model: hxzoo-fixtures/stories260k
---

# stories260k-hxq

HelixCode (HXQ) compressed version of [hxzoo-fixtures/stories260k](https://huggingface.co/hxzoo-fixtures/stories260k)

## Compression Stats

| Metric | Value |
|---|---|
| Base model | hxzoo-fixtures/stories260k |
| Architecture | llama |
| Compression ratio | 2.0x |
| PPL delta | +0.9% |
MD
"$HXZOO" -q serve --root "$T/hub" --import "$T/orig" EchoLabs33/stories260k-helix >/dev/null || fail "import original-style repo"
start_server A "$T/hub"
export HF_ENDPOINT=$URL_A HF_TOKEN=hf_test HF_HUB_CACHE=$T/cache

"$HXZOO" verify EchoLabs33/stories260k-helix >"$T/q" 2>&1; rc=$?
cat "$T/q"
[ $rc = 0 ] || fail "quick verify of an original-style repo: rc=$rc"
grep -q "helix.*older alias" "$T/q" || fail "quant_method alias not reported"
grep -Eq "not stated +file hashes" "$T/q" || fail "missing per-file hashes not reported as 'not stated'"
ok "quick verify: original-style repo is structurally sound; unstated claims reported"

"$HXZOO" verify EchoLabs33/stories260k-helix --full --text "$root/tests/fixtures/eval/valid-head30k.txt" >"$T/f" 2>&1; rc=$?
cat "$T/f"
grep -q "decode .*every index < codebook size" "$T/f" || fail "--full did not decode every module"
grep -Eq "not stated +base perplexity +measured" "$T/f" || fail "--full does not measure what the card leaves unstated"
# the card's "+0.9%" is not what this repo does (about +0.2% on this text): contradicted, exit 11
grep -Eq "contradicted +PPL delta % +card \+0.900, measured" "$T/f" || fail "the card's PPL delta was not checked"
[ $rc = 11 ] || fail "--full: rc=$rc, want 11 (a contradicted claim)"
ok "full verify of an original-style repo: every module decoded, unstated claims measured, the card's PPL delta contradicted (exit 11)"
