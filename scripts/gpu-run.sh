#!/usr/bin/env bash
# gpu-run.sh [--no-sanitize] - the one script a session with a lent GPU runs
# on the device machine (docs/GPU.md "Running it on a lent GPU": the three
# device-tool calls that scripts/gpu-pack.sh prints). Installs nothing
# system-wide; works in .gpu-work/ (git-ignored; GPU_WORK=DIR to move it).
#
# Every phase runs under its own `timeout`, capped by what is left of the
# run's budget (GPU_RUN_BUDGET, default 420 s wall), and is recorded in
# $OUT/gpu-session.json (name, status pass/fail/skipped with the reason,
# seconds, budget, key figures from its receipts), which is rewritten after
# every phase, so a run cut short still reports what it did. $OUT (default
# ./out) receives only these files (the device tool returns at most 8,
# two folder levels deep):
#   gpu-session.json  the session report (this script)
#   gpu-report.json   build/gpu-check's own report
#   nvidia-smi.txt    the card as found (queries only; settings never touched)
#   logs.tar.gz       logs/<phase>.log of every phase, the receipts
#                     (logs/<phase>.*.json), gpu-eval.sh's fixture receipts
#                     (logs/fixtures/), the zoo build's stage receipts
#
# Phases, in the order they run, with their budget (max seconds; expected
# on an H100/H200 in brackets). The 7B checkpoint generator (numpy,
# single-threaded, 15.2 GB written; 80 s on the 2-core dev VM) is started in
# the background at the start so that it overlaps the phases before 7b-gen.
#   setup                  --   unpack .gpu-carry, nvidia-smi, flags [5]
#   gpu-check              60   build/gpu-check, full run [15]
#   fixtures               45   scripts/gpu-eval.sh: stories260k, -hxq, lockstep;
#                               cpu vs cuda --dtype f32 (0.1%) and bf16 (1%) [10]
#   smollm2-make           60   reassemble the GGUF (.gpu-smol/a+b, sha256 against
#                               .gpu-smol/w/SHA256SUMS), gguf wheel, make_smollm2.py [20]
#   smollm2-compress       30   hxzoo compress [3]
#   smollm2-eval-cpu       60   hxzoo eval HXQ --base BF16, helix 4 x 2048 [15]
#   smollm2-eval-cuda-f32  30   same on cuda --dtype f32: within 0.1% of the CPU [5]
#   smollm2-eval-cuda-bf16 30   same, --dtype bf16: PPL within 1% of the CPU [5]
#   smollm2-decode-hxq     30   hxzoo generate --device cuda --max-tokens 256 --json [5]
#   smollm2-decode-bf16    30   same on the BF16 source [5]
#   smollm2-build         150   hxzoo serve + --import, hxzoo build smollm2-135m
#                               --device cuda, hxzoo verify --full, the card [60]
#   smollm2-torch          75   scripts/gpu_torch_ppl.py: hxzoo vs PyTorch +
#                               transformers on the BF16 source, same ids, PPL + tokens/s [30]
#   7b-gen                150   waits for the background generator [0-60]
#   7b-compress            60   hxzoo compress, 16 threads [25]
#   7b-eval-probe          60   hxzoo eval HXQ --base SRC --protocol gptq, 2 windows:
#                               tokens/s, to predict the full run [5-30]
#   7b-eval               120   the same on the whole WikiText-2 test set
#                               (issue target: < 30 s); skipped with the prediction
#                               when the probe says it cannot finish in time
#   7b-decode-hxq          45   hxzoo generate --max-tokens 64 on the 7B HXQ
#   7b-decode-bf16         45   same on the BF16 source
#   sanitizer              90   compute-sanitizer memcheck build/gpu-check --quick
#   throughput             60   scripts/gpu_throughput.py --shape smollm2-135m (only
#                               when >= 60 s are left)
# Measured on an H200 (2026-12-04, s): setup 2, gpu-check 17, fixtures 7,
# smollm2-make 8, -compress 0.4, -eval-cpu 14, -eval-cuda 1-2, -decode 1.5 each,
# -build 4.6, -torch 21, 7b-gen 22 (generator 47 in the background),
# 7b-compress 10, 7b-eval-probe 4.5, 7b-eval 27, 7b-decode 3-4, sanitizer 1.5.
# Sum of the expected times ~320 s; the budget's deadline caps the rest, and
# a phase that no longer has its minimum time is "skipped: out of time". Run
# the device call with timeout_s=540 (the budget plus the final tarball and
# a margin).
#
# Status: pass, fail (non-zero exit, a timeout, a disagreement, a missing
# option), or skipped with the reason (a dependency did not pass, the
# SmolLM2 parts are not on the machine, out of time, CPU mode). Exit status
# 1 when any phase failed, else 0 (skips are listed, not failures).
#
# Environment:
#   GPU_RUN_DEVICE=cpu  CPU mode, for checking the plumbing on a machine
#                       without a GPU: --device cpu everywhere, no gpu-check
#                       or sanitizer, bf16 runs skipped (CUDA only), short
#                       settings (--max-windows 1, 8 generated tokens), the
#                       7B generator's --tiny shape; budget default 3600 s
#   GPU_RUN_BUDGET=S    the run's wall budget (default 420; CPU mode 3600)
#   GPU_RUN_SCALE=N     multiply every phase's budget by N (default 1; CPU
#                       mode 10: a 2-core machine evaluates ~50x slower)
#   GPU_RUN_ONLY=RE     run only the phases whose name matches the ERE RE
#   GPU_RUN_SKIP=RE     skip the phases whose name matches RE
#   GPU_RUN_PY=PY       python with numpy + tokenizers (default python3)
#   GPU_RUN_TORCH_PY=PY python with torch + transformers (default: GPU_RUN_PY)
#   GPU_WORK=DIR        work folder (default .gpu-work); a complete 7B
#                       checkpoint of the same shape found there is reused
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
SELF=$ROOT/scripts/gpu-run.sh
J=$ROOT/scripts/gpu_session.py

# ---------------------------------------------------------------- helpers
# (available to the phases, which run as `bash gpu-run.sh --phase NAME`)
why() { printf '%s\n' "$*" >"$L/$PHASE.reason"; }
fig() { python3 "$J" fig "$@" >"$L/$PHASE.fig.json" 2>>"$L/$PHASE.log"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# hx ARGS: build/hxzoo with the carried libraries
hx() { "$ROOT/build/hxzoo" "$@"; }
# dtype_args DT: --dtype DT when hxzoo eval has it; f32 without it is the default
dtype_args() { [ "$HAS_DTYPE" = 1 ] && echo "--dtype $1"; }

WIKI=tests/fixtures/eval/wiki.test.raw

# ---------------------------------------------------------------- phases
ph_gpu_check() {
  local bin=build/gpu-check
  "$bin" --help >/dev/null 2>&1 # usage: exits 2 when the binary starts
  if [ $? != 2 ]; then
    local NVCC t0; t0=$(now)
    NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    echo "build/gpu-check missing or not runnable here: rebuilding with $NVCC"
    if command -v make >/dev/null 2>&1; then
      make -j16 NVCC="$NVCC" build/gpu-check 2>&1 | tail -5
    else
      mkdir -p build/gpu/check build/common
      local A="-gencode arch=compute_90,code=sm_90" f
      for f in device hxq_gemv hxq_gemm cublas; do "$NVCC" -std=c++17 -O3 -I. $A -c gpu/$f.cu -o build/gpu/$f.cu.o & done
      "$NVCC" -std=c++17 -O3 -I. $A -c gpu/check/bench.cu -o build/gpu/check/bench.cu.o &
      wait
      for f in gpu/ref gpu/check/gpu_check common/hx common/buf; do cc -std=c11 -O2 -D_GNU_SOURCE -I. -c $f.c -o build/$f.o; done
      g++ -o build/gpu-check build/gpu/check/gpu_check.o build/gpu/check/bench.cu.o build/gpu/*.o \
        build/common/hx.o build/common/buf.o -L"$(dirname "$NVCC")/../lib64" -lcudart_static -static-libstdc++ -ldl -lrt -lpthread -lm
    fi
    echo "rebuilt in $(secs "$t0") s"
  fi
  "$bin" --json "$L/gpu-check.report.json"
  local rc=$?
  cp "$L/gpu-check.report.json" "$OUT/gpu-report.json" 2>/dev/null
  fig gpucheck "$L/gpu-check.report.json"
  case $rc in
    0) return 0 ;;
    77) why "gpu-check: $(python3 "$J" get "$L/gpu-check.report.json" reason)"; return 77 ;;
    *) why "gpu-check exit status $rc"; return 1 ;;
  esac
}

ph_sanitizer() {
  local cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
  [ -n "$cs" ] || { why "compute-sanitizer not on this machine"; return 77; }
  "$cs" --tool memcheck --error-exitcode 9 build/gpu-check --quick
  local rc=$?
  [ $rc = 0 ] || why "compute-sanitizer memcheck --quick: exit $rc"
  return $((rc != 0))
}

ph_fixtures() {
  local d=$L/fixtures dts="f32 bf16"
  [ "$CPU_MODE" = 1 ] && dts=f32
  GPU_EVAL_DEVICE=$DEV GPU_EVAL_DTYPES=$dts bash scripts/gpu-eval.sh "$ROOT/build" "$d" 2>&1 | tee "$L/fixtures.lines"
  local rc=${PIPESTATUS[0]}
  fig fixtures "$d" "$L/fixtures.lines"
  case $rc in
    0) [ "$CPU_MODE" = 1 ] && why "cpu mode: the 'cuda' side ran on the CPU; bf16 (CUDA only) not run"; return 0 ;;
    77) why "$(grep -m1 '^skipped' "$L/fixtures.lines")"; return 77 ;;
    *) why "$(grep '^FAIL' "$L/fixtures.lines" | head -6)"; return 1 ;;
  esac
}

smol_parts_missing() {
  local s=$ROOT/.gpu-smol absent=()
  [ -s "$s/a/gguf.part0" ] || absent+=(a/gguf.part0)
  [ -s "$s/b/gguf.part1" ] || absent+=(b/gguf.part1)
  [ -s "$s/w/SHA256SUMS" ] || absent+=(w/SHA256SUMS)
  [ ${#absent[@]} = 0 ] && return 1
  echo "${absent[*]}"
}

ph_smollm2_make() {
  local s=$ROOT/.gpu-smol miss t0
  if miss=$(smol_parts_missing); then
    why "smollm2 parts not on the machine (missing .gpu-smol/$miss: calls 1-2 of docs/GPU.md not made, or the machine was not warm)"
    return 77
  fi
  t0=$(now)
  cat "$s/a/gguf.part0" "$s/b/gguf.part1" >"$W/smollm2.gguf"
  local want got
  want=$(awk '$2 == "smollm2.gguf" { print $1 }' "$s/w/SHA256SUMS")
  got=$(sha256sum <"$W/smollm2.gguf" | cut -d' ' -f1)
  echo "GGUF reassembled in $(secs "$t0") s: sha256 $got (manifest $want)"
  [ "$want" = "$got" ] || { why "reassembled GGUF sha256 $got != manifest $want"; return 1; }
  rm -rf "$W/site"
  mkdir -p "$W/site"
  local whl
  whl=$(ls "$s"/w/*.whl "$s"/w/*.zip 2>/dev/null | head -1)
  [ -n "$whl" ] || { why "no gguf wheel in .gpu-smol/w"; return 1; }
  if ! "$PY" -m pip install -q --no-index --no-deps --target "$W/site" "$whl"; then
    echo "pip install failed: unpacking $whl with zipfile"
    "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$W/site" ||
      { why "cannot install $whl"; return 1; }
  fi
  # gguf imports yaml (for model-card metadata only); a stub when it is absent
  PYTHONPATH=$W/site "$PY" -c 'import yaml' 2>/dev/null ||
    printf 'def safe_load(*a, **k):\n    return {}\n' >"$W/site/yaml.py"
  PYTHONPATH=$W/site SMOLLM2_GGUF=$W/smollm2.gguf "$PY" tests/fixtures/make_smollm2.py "$W/smollm2-135m" ||
    { why "make_smollm2.py failed: $(tail -2 "$L/$PHASE.log" | tr '\n' ' ')"; return 1; }
  rm -f "$W/smollm2.gguf"
  local ref st match=null
  ref=$(awk '$2 == "smollm2-135m/model.safetensors" { print $1 }' "$s/w/SHA256SUMS")
  st=$(sha256sum <"$W/smollm2-135m/model.safetensors" | cut -d' ' -f1)
  if [ -n "$ref" ]; then [ "$ref" = "$st" ] && match=true || match=false; fi
  printf '{"gguf_sha256": "%s", "safetensors_sha256": "%s", "safetensors_matches_packing_machine": %s, "seconds": %s}\n' \
    "$got" "$st" "$match" "$(secs "$t0")" >"$L/$PHASE.fig.json"
  [ "$match" = false ] && why "note: model.safetensors differs from the packing machine's conversion ($ref)"
  return 0
}

ph_compress() { # SRC DST
  hx compress "$1" "$2" --json --force >"$L/$PHASE.receipt.json" || { why "hxzoo compress failed (exit $?)"; return 1; }
  fig compress "$L/$PHASE.receipt.json"
}

# eval_pair PHASE-ARGS: ph_smollm2_eval DEVICE DTYPE REF_PHASE TOL...
ph_smollm2_eval() {
  local d=$1 dt=$2 ref=$3; shift 3
  local r=$L/$PHASE.receipt.json
  if [ "$HAS_DTYPE" = 0 ] && [ "$dt" != f32 ]; then
    why "hxzoo eval has no --dtype option (cannot run $dt)"; return 1
  fi
  local ea; ea="--device $d $(dtype_args "$dt") ${EVAL_SHORT:-}"
  # shellcheck disable=SC2086
  hx -q eval "$W/smollm2-135m-hxq" --base "$W/smollm2-135m" --text "$WIKI" --protocol helix $ea --receipt "$r" ||
    { why "hxzoo eval $ea failed: $(tail -2 "$L/$PHASE.log" | tr '\n' ' ')"; return 1; }
  if [ -z "$ref" ]; then
    fig eval "$r"
    return 0
  fi
  if [ ! -s "$L/$ref.receipt.json" ]; then
    fig eval "$r"
    why "ran (figures recorded), but there is no CPU reference to compare with ($ref did not pass)"
    return 1
  fi
  fig eval-vs "$r" "$L/$ref.receipt.json"
  local out
  out=$(python3 "$J" agree "$r" "$L/$ref.receipt.json" "$@")
  local rc=$?
  echo "$out"
  [ "$HAS_DTYPE" = 0 ] && out="$out (no --dtype option: the default dtype ran)"
  why "$out"
  return $rc
}

ph_smollm2_torch() {
  local hd="f32,bf16" short=()
  [ "$CPU_MODE" = 1 ] && { hd=f32; short=(--max-windows 1); }
  "$TPY" scripts/gpu_torch_ppl.py "$W/smollm2-135m" --text "$WIKI" --device "$DEV" --hxzoo-dtypes "$hd" \
    "${short[@]}" --json "$L/$PHASE.report.json"
  local rc=$?
  fig torchppl "$L/$PHASE.report.json"
  [ $rc = 0 ] || why "gpu_torch_ppl.py: $(python3 "$J" get "$L/$PHASE.report.json" error) $(grep FAILED "$L/$PHASE.log" | head -3 | tr '\n' ' ')"
  return $rc
}

ph_decode() { # MODEL_DIR MAX_TOKENS
  local m=$1 n=$2 miss=()
  [ "$GEN_HAS_DEVICE" = 1 ] || miss+=(--device)
  [ "$GEN_HAS_JSON" = 1 ] || miss+=(--json)
  if [ ${#miss[@]} != 0 ]; then
    why "hxzoo generate has no ${miss[*]} option (decode tokens/s on $DEV cannot be measured with this build)"
    return 1
  fi
  local t0; t0=$(now)
  hx generate "$m" --device "$DEV" --prompt "The history of the city begins" --max-tokens "$n" \
    --json "$L/$PHASE.out.json" || { why "hxzoo generate failed: $(tail -2 "$L/$PHASE.log" | tr '\n' ' ')"; return 1; }
  fig generate "$L/$PHASE.out.json"
  python3 "$J" meta "$L/$PHASE.fig.json" "wall_s=$(secs "$t0")" "max_tokens=$n"
  python3 "$J" get "$L/$PHASE.out.json" decode_tokens_per_s >/dev/null ||
    why "note: the JSON output has no decode_tokens_per_s"
  return 0
}

ph_7b_gen() {
  while [ ! -e "$W/7b-gen.rc" ]; do sleep 1; done
  local rc; rc=$(cat "$W/7b-gen.rc")
  cp "$W/7b-gen.log" "$L/$PHASE.gen.log" 2>/dev/null
  local last; last=$(tail -1 "$W/7b-gen.log" 2>/dev/null)
  printf '{"generator_wall_s": %s, "reused": %s, "shape": "%s", "last_line": "%s", "disk_free_after_gb": %s}\n' \
    "$(cat "$W/7b-gen.secs" 2>/dev/null || echo null)" "$(cat "$W/7b-gen.reused" 2>/dev/null || echo false)" \
    "$SHAPE_7B" "${last//\"/\'}" "$(df -B1G --output=avail "$W" | tail -1 | tr -d ' ')" >"$L/$PHASE.fig.json"
  [ "$rc" = 0 ] || { why "gen_scale_ckpt.py exit $rc: $last"; return 1; }
}

ph_7b_eval() { # MAX_WINDOWS (0: all) [PROBE_PHASE]
  local mw=$1 probe=${2:-} r=$L/$PHASE.receipt.json a=() t0
  [ "$mw" != 0 ] && a=(--max-windows "$mw")
  if [ -n "$probe" ]; then # predict the full run from the probe's tokens/s
    local plan fwd tps left pred
    plan=$(hx eval "$W/7b-hxq" --text "$WIKI" --protocol gptq --seq-len 2048 --plan 2>&1)
    echo "$plan"
    fwd=$(echo "$plan" | awk '/forward/ { for (i = 1; i < NF; i++) if ($i == "forward") print $(i + 1) }' | head -1)
    tps=$(python3 "$J" get "$L/$probe.receipt.json" tokens_per_s)
    left=$((PHASE_LIMIT))
    if [ -n "$fwd" ] && [ -n "$tps" ]; then
      # lockstep: both models run the forward tokens; tokens_per_s counts both
      pred=$(awk -v f="$fwd" -v t="$tps" 'BEGIN { printf "%.0f", 2 * f / t }')
      echo "predicted: $pred s for 2 x $fwd forward tokens at the probe's $tps tokens/s; $left s available"
      if [ "$pred" -gt $((left - 10)) ] && [ "$mw" = 0 ]; then
        why "predicted $pred s (2 x $fwd forward tokens at the probe's $tps tokens/s) > the $left s left for it; issue target < 30 s"
        return 77
      fi
    fi
  fi
  t0=$(now)
  hx -q eval "$W/7b-hxq" --base "$W/7b-src" --text "$WIKI" --protocol gptq --seq-len 2048 --device "$DEV" \
    "${a[@]}" --receipt "$r" || { why "hxzoo eval failed: $(tail -2 "$L/$PHASE.log" | tr '\n' ' ')"; return 1; }
  fig eval "$r"
  local wall; wall=$(secs "$t0")
  python3 "$J" meta "$L/$PHASE.fig.json" "wall_with_load_s=$wall"
  if [ "$mw" = 0 ] && [ "$CPU_MODE" = 0 ]; then
    local met; met=$(awk -v w="$(python3 "$J" get "$r" wall_time_s)" 'BEGIN { print (w < 30) ? "true" : "false" }')
    python3 "$J" meta "$L/$PHASE.fig.json" "target_30s_met=$met"
  fi
  return 0
}

ph_smollm2_build() {
  local hub=$W/hub z=$W/zb tgt=EchoLabs33/smollm2-135m-instruct-hxq
  rm -rf "$hub" "$z" "$W/hfcache" "$W/card"
  hx -q serve --root "$hub" --import "$W/smollm2-135m" HuggingFaceTB/SmolLM2-135M-Instruct >/dev/null ||
    { why "serve --import failed"; return 1; }
  rm -f "$W/port"
  # the binary itself, not the hx function: $! must be the server's pid
  "$ROOT/build/hxzoo" serve --root "$hub" --port 0 --port-file "$W/port" >"$L/$PHASE.serve.log" 2>&1 &
  SERVE_PID=$!
  trap 'kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null' EXIT
  local _
  for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
  [ -s "$W/port" ] || { why "hxzoo serve did not start: $(tail -2 "$L/$PHASE.serve.log")"; return 1; }
  # the environment of tests/integration/lib/hub.sh + zoo_smollm2.sh
  unset HF_TOKEN HF_HUB_OFFLINE HF_HOME HF_HUB_CACHE
  export HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_XET=1 HF_HUB_ETAG_TIMEOUT=30 \
    HF_HUB_DOWNLOAD_TIMEOUT=30 HXZOO_RETRY_BASE_MS=50
  HF_ENDPOINT=http://127.0.0.1:$(cat "$W/port")
  export HF_ENDPOINT HF_TOKEN=hf_test HF_HUB_CACHE=$W/hfcache HXZOO_BUILD_ROOT=$z
  local t0 brc vrc commit card b_s v_s
  t0=$(now)
  hx build smollm2-135m --device "$DEV" 2>&1 | tee "$L/$PHASE.build.log"
  brc=${PIPESTATUS[0]}
  b_s=$(secs "$t0")
  mkdir -p "$L/$PHASE.receipts"
  cp "$z"/smollm2-135m/receipts/*.json "$L/$PHASE.receipts/" 2>/dev/null
  commit=$(grep -o 'published [0-9a-f]\{40\}' "$L/$PHASE.build.log" | tail -1 | cut -d' ' -f2)
  t0=$(now)
  hx verify "$tgt" --full 2>&1 | tee "$L/$PHASE.verify.log"
  vrc=${PIPESTATUS[0]}
  v_s=$(secs "$t0")
  hx -q download "$tgt" --include README.md --local-dir "$W/card" >/dev/null 2>&1 &&
    cp "$W/card/README.md" "$L/$PHASE.card.md"
  card=$(grep -m1 '^| device |' "$W/card/README.md" 2>/dev/null)
  python3 - "$L/$PHASE.receipts" "$L/$PHASE.verify.log" >"$L/$PHASE.fig.json" <<PY
import json, os, re, sys
d, vlog = sys.argv[1:3]
stages = {}
for fn in sorted(os.listdir(d)):
    try:
        r = json.load(open(os.path.join(d, fn)))
    except ValueError:
        continue
    stages[fn[:-5]] = {k: r[k] for k in ("wall_s", "peak_rss_bytes", "device", "dtype") if k in r}
    ev = r.get("eval") if isinstance(r.get("eval"), dict) else r
    for k in ("device", "dtype", "ppl", "base_ppl", "kld_mean", "top1", "top1_agreement", "scored", "seconds"):
        if isinstance(ev.get(k), (int, float, str)) and not isinstance(ev.get(k), bool):
            stages[fn[:-5]][k] = ev[k]
v = [l.rstrip() for l in open(vlog, errors="replace")] if os.path.exists(vlog) else []
claims = [l.split(None, 1) for l in v if l.startswith("  ") and len(l.split()) > 1]
verdict = [l for l in v if re.search(r": (NOT )?SOUND\b|UNSOUND", l)]
print(json.dumps({"build_exit": $brc, "build_s": $b_s, "published_commit": "${commit:-}" or None,
                  "card_device_line": """${card//\"/\'}""" or None, "verify_exit": $vrc, "verify_s": $v_s,
                  "verify_verdict": verdict[-1] if verdict else (v[-1] if v else None),
                  "verify_claims": {c[0]: sum(1 for x in claims if x[0] == c[0]) for c in claims},
                  "verify_not_ok": [l.strip() for l in v if l.startswith("  ") and l.split()[0] not in ("ok", "confirmed")][:20],
                  "stages": stages}, indent=1))
PY
  local bad=()
  [ "$brc" = 0 ] || bad+=("hxzoo build exit $brc: $(grep -v '^\s*$' "$L/$PHASE.build.log" | tail -2 | tr '\n' ' ')")
  [ -n "$commit" ] || bad+=("no 'published <commit>' line")
  [ "$vrc" = 0 ] || bad+=("hxzoo verify --full exit $vrc")
  if [ ${#bad[@]} != 0 ]; then why "${bad[*]}"; return 1; fi
  why "published $commit; card: $card; verify --full exit 0"
  return 0
}

ph_throughput() {
  local a=(--shape smollm2-135m --device "$DEV" --windows 8)
  [ "$CPU_MODE" = 1 ] && a=(--shape smollm2-135m --device cpu --windows 1 --seq-len 512 --no-bf16)
  "$TPY" scripts/gpu_throughput.py "${a[@]}" --json "$L/$PHASE.report.json"
  local rc=$?
  fig throughput "$L/$PHASE.report.json"
  [ $rc = 0 ] || why "gpu_throughput.py exit $rc: $(grep -m2 -E 'FAILED|Error' "$L/$PHASE.log" | tr '\n' ' ')"
  return $rc
}

# ---------------------------------------------------------------- one phase, in a child
if [ "${1:-}" = --phase ]; then
  PHASE=$2
  shift 2
  fn=$1
  shift
  "$fn" "$@"
  exit $?
fi

# ---------------------------------------------------------------- the run
sanitize=1
[ "${1:-}" = --no-sanitize ] && sanitize=0
T0=$(date +%s)
CPU_MODE=0 DEV=cuda
[ "${GPU_RUN_DEVICE:-cuda}" = cpu ] && CPU_MODE=1 DEV=cpu
BUDGET=${GPU_RUN_BUDGET:-$([ $CPU_MODE = 1 ] && echo 3600 || echo 420)}
DEADLINE=$((T0 + BUDGET))
SCALE=${GPU_RUN_SCALE:-$([ $CPU_MODE = 1 ] && echo 10 || echo 1)}
OUT=${OUT:-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=${GPU_WORK:-$ROOT/.gpu-work}
mkdir -p "$W"
W=$(cd "$W" && pwd)
L=$W/logs
PY=${GPU_RUN_PY:-python3}
TPY=${GPU_RUN_TORCH_PY:-$PY}
SHAPE_7B=7b
[ $CPU_MODE = 1 ] && SHAPE_7B="7b --tiny"
EVAL_SHORT=
[ $CPU_MODE = 1 ] && EVAL_SHORT="--max-windows 1"
export ROOT SELF J OUT W L PY TPY DEV CPU_MODE SHAPE_7B EVAL_SHORT WIKI

# A fresh work folder, except a complete 7B checkpoint of the same shape.
for f in "$W"/* "$W"/.[!.]*; do
  [ -e "$f" ] || continue
  [ "$f" = "$W/7b-src" ] && [ "$(cat "$W/7b-src/.complete" 2>/dev/null)" = "$SHAPE_7B" ] && continue
  rm -rf "$f"
done
mkdir -p "$L"
STATE=$W/phases.jsonl META=$W/meta.json
: >"$STATE"
echo '{}' >"$META"

declare -A ST RS
GEN_PID=
finish() {
  python3 "$J" write "$STATE" "$META" "$OUT/gpu-session.json"
  local tmp=$OUT/.logs.tar.gz
  tar -C "$W" -czf "$tmp" logs 2>/dev/null
  if [ "$(stat -c %s "$tmp")" -gt $((15 * 1024 * 1024)) ]; then # the tool returns files up to 16 MiB
    find "$L" -type f -size +1M -exec sh -c 'tail -c 1000000 "$1" >"$1.t" && mv "$1.t" "$1"' _ {} \;
    tar -C "$W" -czf "$tmp" logs 2>/dev/null
  fi
  mv "$tmp" "$OUT/logs.tar.gz"
}
cleanup() {
  [ -n "$GEN_PID" ] && kill -- -"$GEN_PID" 2>/dev/null
  [ -n "$GEN_PID" ] && kill "$GEN_PID" 2>/dev/null
  return 0
}
trap cleanup EXIT
TPID=
on_term() {
  echo "gpu-run: terminated"
  # timeout passes the signal on to the phase's process group
  if [ -n "$TPID" ]; then
    kill -TERM "$TPID" 2>/dev/null && wait "$TPID"
    echo "terminated (the run got SIGTERM/SIGINT) during this phase" >"$L/$CUR.reason"
    python3 "$J" add "$STATE" "$CUR" fail "$(secs "$CUR_T0")" "" "$L/$CUR.reason" ""
  fi
  python3 "$J" meta "$META" "terminated=true"
  finish
  exit 143
}
trap on_term TERM INT

# record NAME STATUS SECONDS BUDGET
record() {
  ST[$1]=$2
  RS[$1]=$(head -c 200 "$L/$1.reason" 2>/dev/null | head -1)
  python3 "$J" add "$STATE" "$1" "$2" "$3" "$4" "$L/$1.reason" "$L/$1.fig.json"
  finish
  local r=""
  [ -s "$L/$1.reason" ] && r=": $(head -c 300 "$L/$1.reason" | tr '\n' ' ')"
  printf '== %-24s %-7s %7.1f s%s\n' "$1" "$2" "$3" "$r"
}
skip() { # NAME REASON
  printf '%s\n' "$2" >"$L/$1.reason"
  record "$1" skipped 0 ""
}
# phase NAME BUDGET MIN_S "DEPS" FUNCTION [ARGS...]: run FUNCTION in a child
# under timeout min(BUDGET, time left); skipped when a dependency did not
# pass, when the phase is not selected, or when less than MIN_S is left.
phase() {
  local name=$1 budget=$2 min=$3 deps=$4; shift 4
  if [ -n "${GPU_RUN_ONLY:-}" ] && ! [[ $name =~ $GPU_RUN_ONLY ]]; then skip "$name" "not selected (GPU_RUN_ONLY)"; return; fi
  if [ -n "${GPU_RUN_SKIP:-}" ] && [[ $name =~ $GPU_RUN_SKIP ]]; then skip "$name" "not selected (GPU_RUN_SKIP)"; return; fi
  local d
  for d in $deps; do
    if [ "${ST[$d]:-}" != pass ]; then
      if [[ ${RS[$d]:-} == needs\ * ]]; then skip "$name" "${RS[$d]}" # the root cause, not a chain
      else skip "$name" "needs $d, which did not pass (${ST[$d]:-not run}${RS[$d]:+: ${RS[$d]}})"; fi
      return
    fi
  done
  local left=$((DEADLINE - $(date +%s)))
  if [ $left -lt "$min" ]; then skip "$name" "out of time: $left s left of the ${BUDGET} s budget, needs >= $min"; return; fi
  budget=$((budget * SCALE))
  local t=$((budget < left ? budget : left))
  [ $t -ge 1 ] || t=1 # timeout 0 would mean no limit
  local s; s=$(now)
  # in the background + wait: a TERM to this script is then handled at once
  PHASE_LIMIT=$t timeout -k 5 "$t" bash "$SELF" --phase "$name" "$@" >"$L/$name.log" 2>&1 &
  TPID=$! CUR=$name CUR_T0=$s
  wait $TPID
  local rc=$? st
  TPID=
  local dur; dur=$(secs "$s")
  case $rc in
    0) st=pass ;;
    77) st=skipped ;;
    124 | 137) st=fail; echo "timeout after $t s (budget $budget s)$([ -s "$L/$name.reason" ] && echo "; $(cat "$L/$name.reason")")" >"$L/$name.reason.t"
      mv "$L/$name.reason.t" "$L/$name.reason" ;;
    *) st=fail; [ -s "$L/$name.reason" ] || echo "exit $rc: $(tail -3 "$L/$name.log" | tr '\n' ' ')" >"$L/$name.reason" ;;
  esac
  record "$name" $st "$dur" "$t"
}

# ---------------------------------------------------------------- setup
s0=$(now)
{ nvidia-smi; nvidia-smi -q; } >"$OUT/nvidia-smi.txt" 2>&1
GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "gpu: ${GPU:-none}; $(uname -r); $(nproc) cpus; mode $DEV; budget $BUDGET s"
# cuBLAS for gpu-check's BF16 baseline and the CUDA forward pass: the
# toolkit's and PyTorch's copies of libcublas.so.13 on the search path.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -e "$d/libcublas.so.13" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
tl=$("$TPY" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null)
[ -n "$tl" ] && [ -e "$tl/libcublas.so.13" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:$tl"
# The packed carry (scripts/gpu-pack.sh): binaries into build/, libraries
# into build/gpu-libs, appended last (the machine's own copies win). CPU mode
# in a checkout that has its own build/hxzoo leaves that build alone.
if [ -d .gpu-carry ] && { [ $CPU_MODE = 0 ] || [ ! -e build/hxzoo ]; }; then
  mkdir -p build
  rm -rf build/gpu-libs
  if [ -e .gpu-carry/build.tar.xz ]; then
    python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall("build")' .gpu-carry/build.tar.xz
  else # the first gpu-pack.sh: binaries as files, libraries alone in a tarball
    cp .gpu-carry/gpu-check .gpu-carry/hxzoo build/
    [ -e .gpu-carry/gpu-libs.tar.xz ] &&
      python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall("build")' .gpu-carry/gpu-libs.tar.xz
  fi
fi
[ -d build/gpu-libs ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:$ROOT/build/gpu-libs"
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
HX_OK=1 HAS_DTYPE=0 GEN_HAS_DEVICE=0 GEN_HAS_JSON=0
if build/hxzoo --help >/dev/null 2>&1; then
  build/hxzoo eval --help 2>&1 | grep -q -- '--dtype' && HAS_DTYPE=1
  build/hxzoo generate --help 2>&1 | grep -q -- '--device' && GEN_HAS_DEVICE=1
  build/hxzoo generate --help 2>&1 | grep -q -- '--json' && GEN_HAS_JSON=1
else
  HX_OK=0
  { echo "build/hxzoo does not start here:"; build/hxzoo --help 2>&1 | head -3; ldd build/hxzoo 2>&1 | grep 'not found'; } |
    tee "$L/setup.reason"
fi
export HAS_DTYPE GEN_HAS_DEVICE GEN_HAS_JSON
DISK_GB=$(df -B1G --output=avail "$W" | tail -1 | tr -d ' ')
python3 "$J" meta "$META" "tool=scripts/gpu-run.sh" "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "mode=$DEV" \
  "budget_s=$BUDGET" "gpu=${GPU:-none}" "kernel=$(uname -r)" "cpus=$(nproc)" \
  "mem_gb=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "disk_free_gb=$DISK_GB" \
  "build_info=$(tr '\n' ';' <.gpu-carry/BUILD-INFO 2>/dev/null || git rev-parse HEAD 2>/dev/null)" \
  "hxzoo_eval_has_dtype=$HAS_DTYPE" "hxzoo_generate_has_device=$GEN_HAS_DEVICE" \
  "hxzoo_generate_has_json=$GEN_HAS_JSON" "smollm2_parts=$(smol_parts_missing >/dev/null && echo missing || echo present)"

# The 7B generator, in the background from here (its own process group).
want_7b=1
[ -n "${GPU_RUN_ONLY:-}" ] && ! [[ 7b-gen =~ $GPU_RUN_ONLY ]] && want_7b=0
[ -n "${GPU_RUN_SKIP:-}" ] && [[ 7b-gen =~ $GPU_RUN_SKIP ]] && want_7b=0
if [ $want_7b = 1 ]; then
  if [ "$(cat "$W/7b-src/.complete" 2>/dev/null)" = "$SHAPE_7B" ]; then
    echo 0 >"$W/7b-gen.rc"
    echo true >"$W/7b-gen.reused"
    cp "$W/7b-src/.secs" "$W/7b-gen.secs" 2>/dev/null
    echo "7B checkpoint ($SHAPE_7B) reused from $W/7b-src" >"$W/7b-gen.log"
  elif [ $CPU_MODE = 0 ] && [ "$DISK_GB" -lt 30 ]; then
    echo 1 >"$W/7b-gen.rc"
    echo "not started: $DISK_GB GB free on $W, 30 GB needed (15 GB source + 9 GB HXQ)" >"$W/7b-gen.log"
  else
    rm -rf "$W/7b-src"
    # shellcheck disable=SC2016
    ss=setsid
    command -v setsid >/dev/null || ss=
    $ss bash -c 's=$(date +%s.%N); "$1" scripts/gen_scale_ckpt.py "$2/7b-src" --shape $3 >"$2/7b-gen.log" 2>&1; rc=$?
      awk -v a="$s" -v b="$(date +%s.%N)" "BEGIN { printf \"%.1f\", b - a }" >"$2/7b-gen.secs"
      [ $rc = 0 ] && echo "$3" >"$2/7b-src/.complete" && cp "$2/7b-gen.secs" "$2/7b-src/.secs"
      echo $rc >"$2/7b-gen.rc"' _ "$PY" "$W" "$SHAPE_7B" </dev/null &
    GEN_PID=$!
  fi
fi
if [ $HX_OK = 1 ]; then record setup pass "$(secs "$s0")" ""; else record setup fail "$(secs "$s0")" ""; fi
export PHASE_LIMIT=0

# ---------------------------------------------------------------- the phases
if [ $CPU_MODE = 1 ]; then
  skip gpu-check "cpu mode"
else
  phase gpu-check 60 10 "" ph_gpu_check
fi
phase fixtures 45 10 "setup" ph_fixtures
phase smollm2-make 60 20 "setup" ph_smollm2_make
phase smollm2-compress 30 5 "smollm2-make" ph_compress "$W/smollm2-135m" "$W/smollm2-135m-hxq"
phase smollm2-eval-cpu 60 10 "smollm2-compress" ph_smollm2_eval cpu f32 ""
if [ $CPU_MODE = 1 ]; then
  # the "cuda" side on the CPU: the plumbing of the comparison
  phase smollm2-eval-cuda-f32 30 5 "smollm2-compress" ph_smollm2_eval cpu f32 smollm2-eval-cpu 0.001 1e-4 0.01 0.005
  skip smollm2-eval-cuda-bf16 "cpu mode: bf16 is CUDA only"
else
  phase smollm2-eval-cuda-f32 30 5 "smollm2-compress" ph_smollm2_eval cuda f32 smollm2-eval-cpu 0.001 1e-4 0.01 0.005
  phase smollm2-eval-cuda-bf16 30 5 "smollm2-compress" ph_smollm2_eval cuda bf16 smollm2-eval-cpu 0.01
fi
SMOL_TOK=256
[ $CPU_MODE = 1 ] && SMOL_TOK=8
phase smollm2-decode-hxq 30 5 "smollm2-compress" ph_decode "$W/smollm2-135m-hxq" $SMOL_TOK
phase smollm2-decode-bf16 30 5 "smollm2-make" ph_decode "$W/smollm2-135m" $SMOL_TOK
phase smollm2-build 150 45 "smollm2-make" ph_smollm2_build
phase smollm2-torch 75 20 "smollm2-make" ph_smollm2_torch
if [ $want_7b = 1 ]; then
  phase 7b-gen 150 5 "" ph_7b_gen
else
  skip 7b-gen "not selected"
fi
[ "${ST[7b-gen]:-}" = pass ] || cleanup
phase 7b-compress 60 15 "setup 7b-gen" ph_compress "$W/7b-src" "$W/7b-hxq"
phase 7b-eval-probe 60 10 "7b-compress" ph_7b_eval 2
if [ $CPU_MODE = 1 ]; then
  phase 7b-eval 120 10 "7b-eval-probe" ph_7b_eval 1 7b-eval-probe
else
  phase 7b-eval 120 20 "7b-eval-probe" ph_7b_eval 0 7b-eval-probe
fi
B7_TOK=64
[ $CPU_MODE = 1 ] && B7_TOK=8
phase 7b-decode-hxq 45 10 "7b-compress" ph_decode "$W/7b-hxq" $B7_TOK
phase 7b-decode-bf16 45 10 "setup 7b-gen" ph_decode "$W/7b-src" $B7_TOK
rm -rf "$W/7b-hxq"
if [ $CPU_MODE = 1 ]; then
  skip sanitizer "cpu mode"
elif [ $sanitize = 0 ]; then
  skip sanitizer "--no-sanitize"
else
  phase sanitizer 90 20 "" ph_sanitizer
fi
phase throughput 60 60 "setup" ph_throughput

python3 "$J" meta "$META" "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "wall_s=$(($(date +%s) - T0))"
finish
python3 - "$OUT/gpu-session.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print(f"total {r.get('wall_s')} s; pass {len(s['pass'])}, fail {len(s['fail'])}, skipped {len(s['skipped'])}")
for k in ("fail", "skipped"):
    if s[k]:
        print(f"  {k}: {', '.join(s[k])}")
PY
ls -la "$OUT"
[ -z "$(python3 "$J" get "$OUT/gpu-session.json" summary.fail | tr -d '[]')" ]
