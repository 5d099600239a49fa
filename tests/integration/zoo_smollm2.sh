#!/usr/bin/env bash
# zoo_smollm2.sh - hxzoo build smollm2-135m end to end against `hxzoo serve`
# (SmolLM2-135M-Instruct, BF16, from `make fixtures`, imported as the
# upstream repo): a build killed with SIGKILL during validation resumes
# there, the card passes huggingface_hub's rules, huggingface_hub downloads
# the published repo and `hxzoo verify --full` confirms every claim.
. "$(dirname "$0")/lib/hub.sh"
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
src=${SMOLLM2_DIR:-$root/.cache/smollm2-135m}
[ -f "$src/model.safetensors" ] || { echo "FAIL: $src not present (make fixtures)"; exit 1; }
have_py || { echo "FAIL: huggingface_hub not installed in $PY"; exit 1; }
"$HXZOO" -q serve --root "$T/hub" --import "$src" HuggingFaceTB/SmolLM2-135M-Instruct >/dev/null || fail "import"
start_server A "$T/hub"
export HF_ENDPOINT=$URL_A HF_TOKEN=hf_test HF_HUB_CACHE=$T/cache HXZOO_BUILD_ROOT=$T/zb
tgt=EchoLabs33/smollm2-135m-instruct-hxq
r=$T/zb/smollm2-135m/receipts

# a real interruption: SIGKILL once validation's CPU evaluation is under
# way, i.e. once the engine has logged its plan (the event, not a delay:
# tail ends with the build, so a build that never gets there fails here)
: >"$T/o1"
"$HXZOO" build smollm2-135m >>"$T/o1" 2>&1 &
bp=$!
grep -q -m1 '^eval plan: ' <(tail -n +1 -f --pid=$bp "$T/o1") \
  || { wait $bp; fail "the build ended (rc=$?) before its evaluation started: $(cat "$T/o1")"; }
kill -9 $bp || fail "the build was gone before the kill: $(cat "$T/o1")"
{ wait $bp; rc=$?; } 2>/dev/null # (no "Killed" line from bash)
[ $rc = 137 ] || fail "the build was not killed by SIGKILL (rc=$rc): $(cat "$T/o1")"
grep -q '\[4/7\] validate' "$T/o1" || fail "the evaluation was not the validate stage's: $(cat "$T/o1")"
[ -f "$r/3-compress.json" ] && [ ! -e "$r/4-validate.json" ] || fail "kill did not land during validation: $(cat "$T/o1")"
"$HXZOO" build smollm2-135m >"$T/o2" 2>&1 || fail "resumed build: $(cat "$T/o2")"
grep -q '\[3/7\] compress: done earlier' "$T/o2" || fail "did not resume after compress: $(cat "$T/o2")"
grep -q "published [0-9a-f]\{40\}" "$T/o2" || fail "not published: $(cat "$T/o2")"
ok "killed during validation, resumed at validate, published"

"$PY" - "$tgt" <<'PY' || fail "huggingface_hub rejects the card or the repo"
import sys, os
from huggingface_hub import snapshot_download, ModelCard
from huggingface_hub.repocard import metadata_load
p = snapshot_download(sys.argv[1])
card = ModelCard.load(os.path.join(p, "README.md"), ignore_metadata_errors=False)
meta = metadata_load(os.path.join(p, "README.md"))
assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and meta["base_model_relation"] == "quantized", meta
assert "llama" in meta["tags"] and card.data.eval_results[0].metric_type == "perplexity"
print("card ok", [r.metric_value for r in card.data.eval_results])
PY
ok "SmolLM2 card accepted by huggingface_hub; snapshot_download works"

"$HXZOO" -q verify "$tgt" --full >"$T/v" || fail "full verify: $(cat "$T/v")"
grep -q "confirmed *HXQ perplexity" "$T/v" && grep -q "confirmed *KLD mean" "$T/v" && grep -q "confirmed *min cosine" "$T/v" || fail "claims not confirmed: $(cat "$T/v")"
ok "hxzoo verify --full confirms every claim of the SmolLM2 card"
exit 0
