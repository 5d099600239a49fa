#!/usr/bin/env bash
# bench_scale.sh [BUILD_DIR] [7b|14b|all] - the scale benchmark (make
# bench-scale; not part of make test). 7b: a synthetic Qwen2.5-7B-shaped
# BF16 checkpoint (scripts/gen_scale_ckpt.py: real shapes and config, 4
# shards + index, the Qwen2 tokenizer) imported into `hxzoo serve` as
# Qwen/Qwen2.5-7B-Instruct, then `hxzoo build qwen2.5-7b --device cpu` end to
# end (download, compress, validate with the manifest's helix protocol, card,
# upload, verify) and `hxzoo verify --full` of the published repo
# (SCALE_VERIFY_FULL=0 skips it). 14b: a Qwen2.5-14B-shaped checkpoint,
# `hxzoo compress`, and a one-window evaluation against it
# (SCALE_14B_SEQ, default 2048). Each step's wall time and peak RSS (the
# stage receipts; /usr/bin/time for the rest) go to docs/bench/scale-*.json.
# Disk: about 60 GB for 7b (store 15 + cache 15 + build 8 + published 8 +
# verify's download 8, plus slack), 50 GB for 14b; checked up front. Work
# directory $SCALE_DIR (default /tmp/hxzoo-scale), removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
what=${2:-all}
hx=$root/$build/hxzoo
py=$root/.venv/bin/python
work=${SCALE_DIR:-/tmp/hxzoo-scale}
out=$root/docs/bench
need_gb=0
case $what in 7b) need_gb=60 ;; 14b) need_gb=50 ;; all) need_gb=60 ;; *) echo "usage: $0 [BUILD] [7b|14b|all]"; exit 2 ;; esac
mkdir -p "$work" "$out"
avail=$(df -BG --output=avail "$work" | tail -1 | tr -dc 0-9)
if [ "$avail" -lt "$need_gb" ]; then
  echo "bench-scale: needs about $need_gb GB free in $work, $avail GB available (set SCALE_DIR)"; exit 1
fi
echo "bench-scale: work dir $work ($avail GB free, about $need_gb GB needed)"
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
timed() { # timed NAME CMD...: run, record wall s and peak RSS KB in $work/NAME.time
  local n=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$n.time" "$@"
}

if [ "$what" = 7b ] || [ "$what" = all ]; then
  timed gen7 "$py" "$root/scripts/gen_scale_ckpt.py" "$work/src7" --shape 7b
  timed import7 "$hx" -q serve --root "$work/hub" --import "$work/src7" Qwen/Qwen2.5-7B-Instruct
  rm -rf "$work/src7"
  "$hx" serve --root "$work/hub" --port 0 --port-file "$work/port" >"$work/serve.log" 2>&1 &
  srv=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  export HF_ENDPOINT=http://127.0.0.1:$(cat "$work/port") HF_TOKEN=hf_test HF_HUB_CACHE=$work/cache
  export HXZOO_BUILD_ROOT=$work/zb
  (cd "$root" && timed build7 "$hx" build qwen2.5-7b --device cpu) 2>&1 | tee "$work/build7.log"
  vf=skipped
  if [ "${SCALE_VERIFY_FULL:-1}" != 0 ]; then
    (cd "$root" && timed verify7 "$hx" verify EchoLabs33/qwen2.5-7b-instruct-helix --full --json \
       >"$work/verify7.json") || true
    vf=$work/verify7.json
  fi
  "$py" - "$work" "$vf" "$out/scale-7b.json" <<'PY'
import glob, json, os, sys
work, vf, dst = sys.argv[1:4]
def t(n):
    p = os.path.join(work, n + ".time")
    if not os.path.exists(p): return None
    w, kb = open(p).read().split()[-2:]
    return {"wall_s": float(w), "peak_rss_bytes": int(kb) * 1024}
stages = {}
for p in sorted(glob.glob(os.path.join(work, "zb", "qwen2.5-7b", "receipts", "*.json"))):
    r = json.load(open(p))
    keep = {k: r[k] for k in ("wall_s", "peak_rss_bytes", "eval", "bytes", "files", "commit", "seconds") if k in r}
    stages[os.path.basename(p)[:-5]] = keep
res = {"shape": "Qwen2.5-7B-Instruct (synthetic BF16)", "generate": t("gen7"), "import": t("import7"),
       "build": t("build7"), "stages": stages, "verify_full": t("verify7")}
if vf != "skipped" and os.path.exists(vf) and os.path.getsize(vf):
    v = json.load(open(vf))
    res["verify_full_sound"] = v.get("sound")
    res["verify_full_counts"] = v.get("counts")
json.dump(res, open(dst, "w"), indent=2)
print(json.dumps(res, indent=2))
PY
  kill "$srv" 2>/dev/null || true; srv=""
  rm -rf "$work/hub" "$work/cache" "$work/zb"
fi

if [ "$what" = 14b ] || [ "$what" = all ]; then
  timed gen14 "$py" "$root/scripts/gen_scale_ckpt.py" "$work/src14" --shape 14b
  timed compress14 "$hx" -q compress "$work/src14" "$work/q14" >/dev/null
  (cd "$root" && timed eval14 "$hx" eval "$work/q14" --base "$work/src14" --text tests/fixtures/eval/wiki.test.raw \
     --protocol helix --seq-len "${SCALE_14B_SEQ:-2048}" --max-windows 1 --receipt "$work/eval14.json")
  "$py" - "$work" "$out/scale-14b.json" <<'PY'
import json, os, sys
work, dst = sys.argv[1:3]
def t(n):
    w, kb = open(os.path.join(work, n + ".time")).read().split()[-2:]
    return {"wall_s": float(w), "peak_rss_bytes": int(kb) * 1024}
e = json.load(open(os.path.join(work, "eval14.json")))
res = {"shape": "Qwen2.5-14B-Instruct (synthetic BF16)", "generate": t("gen14"), "compress": t("compress14"),
       "eval_one_window": t("eval14"),
       "eval": {k: e.get(k) for k in ("protocol", "settings", "tokens", "delta_pct", "kld_mean", "top1_agreement",
                                      "wall_time_s", "tokens_per_s", "groups", "peak_rss_bytes")}}
json.dump(res, open(dst, "w"), indent=2)
print(json.dumps(res, indent=2))
PY
fi
