#!/usr/bin/env bash
# bench_scale.sh [BUILD_DIR] [7b|14b|all] - the scale benchmark (make
# bench-scale, issue #10; not part of make test).
#
# 7b: a synthetic Qwen2.5-7B-Instruct-shaped BF16 checkpoint
# (scripts/gen_scale_ckpt.py: the real config, shapes and 4-shard layout with
# index, the Qwen2 tokenizer; checked by scripts/check_scale_ckpt.py)
# imported into `hxzoo serve` (loopback, free port) as Qwen/Qwen2.5-7B-Instruct,
# then `hxzoo build qwen2.5-7b --endpoint URL --device cpu` end to end
# (resolve, download, compress, validate with the manifest's helix protocol on
# WikiText-2, card, upload, verify) and `hxzoo verify --full` of the published
# repo (SCALE_VERIFY_FULL=0 skips it). The build uses the manifest's gates
# (they pass on these weights: measured ΔPPL -0.2%, KLD 0.005 on a 2-layer
# cut); SCALE_GATES=relaxed opens the ΔPPL and KLD gates in a copy of the
# manifest (random weights have a perplexity of ~1e5-1e6, so their ΔPPL is
# no quality signal) should a seed ever make them fail.
# 14b: a Qwen2.5-14B-Instruct-shaped checkpoint (8 shards), `hxzoo compress`,
# and `hxzoo eval` of the result against it with the helix protocol, one
# window (--max-windows 1; SCALE_14B_SEQ sets the window, default 2048).
#
# Per step: wall time, bytes and peak RSS, from the stage receipts of
# `hxzoo build` (wall_s, peak_rss_bytes: VmHWM reset at each stage's start)
# and /usr/bin/time for the other commands; printed as a table and written
# to docs/bench/scale-7b.json / scale-14b.json.
#
# Disk, checked up front (df): 7b about 52 GB at the peak (Hub store 15.2 +
# download cache 15.2 + build output 8.8 + its upload into the store 8.8, plus
# slack; the generated source, 15.2, is deleted once imported, the build
# output once published, before verify --full downloads it again); 14b about
# 50 GB (source 29.5 + HXQ output 16.5, plus slack). Memory: a few GB.
# Time on 2 cores: hours (the 7B evaluation is ~230 TFLOP for base + HXQ).
#
# Work directory: a new one under $SCALE_DIR (default /tmp); everything the
# script creates there (checkpoints, Hub store, Hugging Face cache and home,
# build directory) is removed at the end, also on failure or Ctrl-C, unless
# SCALE_KEEP=1. Exit 0 when every step succeeded.
#
# SCALE_TINY=1: the same steps on --tiny checkpoints (2 layers, widths / 8,
# ~0.3 GB; minutes, 3 GB of disk) to check the plumbing; the summaries then go
# to $SCALE_OUT (default: the work dir, i.e. printed only), not docs/bench.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
what=${2:-all}
case $build in /*) hx=$build/hxzoo ;; *) hx=$root/$build/hxzoo ;; esac
py=$root/.venv/bin/python
out=$root/docs/bench
wiki=$root/tests/fixtures/eval/wiki.test.raw   # = shared/data/eval/wikitext-2-raw/wiki.test.raw
case $what in
  7b) need_gb=52 ;; 14b) need_gb=50 ;; all) need_gb=52 ;;
  *) echo "usage: $0 [BUILD_DIR] [7b|14b|all]" >&2; exit 2 ;;
esac
tiny=()
[ "${SCALE_TINY:-0}" = 1 ] && { tiny=(--tiny); need_gb=3; }
[ -x "$hx" ] || { echo "bench-scale: $hx not found (make all)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-scale: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }
"$py" -c 'import numpy, safetensors' 2>/dev/null || { echo "bench-scale: $py lacks numpy/safetensors (make venv)" >&2; exit 2; }
[ -f "$wiki" ] || { echo "bench-scale: $wiki not found" >&2; exit 2; }

base=${SCALE_DIR:-/tmp}
mkdir -p "$base" "$out"
avail=$(df -BG --output=avail "$base" | tail -1 | tr -dc 0-9)
echo "bench-scale ($what${tiny:+, tiny}): needs about $need_gb GB of free disk in $base (7b: 52 GB, 14b: 50 GB, one after the other; SCALE_TINY=1: 3 GB), $avail GB available"
if [ "$avail" -lt "$need_gb" ]; then
  echo "bench-scale: not enough disk space in $base ($avail GB free, about $need_gb GB needed); set SCALE_DIR to a directory on a larger disk" >&2
  exit 1
fi
work=$(mktemp -d "$base/hxzoo-scale.XXXXXX")
srv=""
# shellcheck disable=SC2317  # (run by the traps)
cleanup() {
  local rc=$?
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  if [ "${SCALE_KEEP:-0}" = 1 ]; then echo "bench-scale: kept $work (SCALE_KEEP=1)"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "bench-scale: work dir $work"
[ ${#tiny[@]} = 0 ] || { out=${SCALE_OUT:-$work}; mkdir -p "$out"; }

# Everything Hugging Face-related stays in the work dir.
export HF_HOME=$work/hf-home HF_HUB_CACHE=$work/cache HF_TOKEN=hf_bench_scale HXZOO_BUILD_ROOT=$work/zb
export HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1
unset HF_HUB_OFFLINE HF_ENDPOINT
# timed NAME CMD...: run CMD; wall seconds and peak RSS (KB) to $work/NAME.time
timed() { local n=$1; shift; /usr/bin/time -f "%e %M" -o "$work/$n.time" "$@"; }
machine() { echo "{\"cpus\": $(nproc), \"mem_bytes\": $(awk '/MemTotal/ {print $2 * 1024}' /proc/meminfo), \"hxzoo_commit\": \"$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo '+dirty')\"}"; }

# The generator itself, at a tiny scale first (seconds): a broken generator
# should not cost an hour.
"$py" "$root/scripts/gen_scale_ckpt.py" "$work/tiny" --shape 7b --tiny >/dev/null
"$py" "$root/scripts/check_scale_ckpt.py" "$work/tiny"
rm -rf "$work/tiny"

rc=0
if [ "$what" = 7b ] || [ "$what" = all ]; then
  name=qwen2.5-7b src=Qwen/Qwen2.5-7B-Instruct
  tgt=$("$py" -c 'import json,sys; print([m["target"] for m in json.load(open(sys.argv[1]))["models"] if m["name"] == sys.argv[2]][0])' \
        "$root/zoo/manifest.json" "$name")
  echo "== 7b: generate"
  timed gen7 "$py" "$root/scripts/gen_scale_ckpt.py" "$work/src7" --shape 7b "${tiny[@]}" | tee "$work/gen7.log"
  "$py" "$root/scripts/check_scale_ckpt.py" "$work/src7"
  echo "== 7b: import into hxzoo serve as $src"
  timed import7 "$hx" -q serve --root "$work/hub" --import "$work/src7" "$src"
  rm -rf "$work/src7"
  "$hx" serve --root "$work/hub" --port 0 --port-file "$work/port" >"$work/serve.log" 2>&1 &
  srv=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  [ -s "$work/port" ] || { cat "$work/serve.log"; echo "bench-scale: hxzoo serve did not start" >&2; exit 1; }
  url=http://127.0.0.1:$(cat "$work/port")
  manifest=$root/zoo/manifest.json
  if [ "${SCALE_GATES:-manifest}" != manifest ]; then
    manifest=$work/manifest.json
    "$py" - "$root/zoo/manifest.json" "$manifest" "$name" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
d["root"] = os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1])))
for m in d["models"]:
    if m["name"] == sys.argv[3]:
        m["gates"]["max_dppl_pct"] = m["gates"]["max_kld"] = 1e6   # the loader's upper bound
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY
  fi
  echo "== 7b: hxzoo build $name --endpoint $url --device cpu --manifest $manifest"
  brc=0
  (cd "$root" && timed build7 "$hx" build "$name" --endpoint "$url" --device cpu --manifest "$manifest") 2>&1 |
    tee "$work/build7.log" || brc=$?
  rm -rf "$work/zb/$name/repo"   # published: free its 8.8 GB before verify --full downloads it
  vrc=skipped
  if [ "$brc" = 0 ] && [ "${SCALE_VERIFY_FULL:-1}" != 0 ]; then
    echo "== 7b: hxzoo verify $tgt --full"
    vrc=0
    (cd "$root" && timed verify7 "$hx" verify "$tgt" --full --json --endpoint "$url" >"$work/verify7.json") || vrc=$?
  fi
  "$py" - "$work" "$name" "$brc" "$vrc" "$(machine)" "$out/scale-7b.json" <<'PY' || rc=1
import glob, json, os, re, sys
work, name, brc, vrc, machine, dst = sys.argv[1:7]
def timed(n):
    p = os.path.join(work, n + ".time")
    if not os.path.exists(p) or not open(p).read().split():
        return None
    w, kb = open(p).read().split()[-2:]
    return {"wall_s": float(w), "peak_rss_bytes": int(kb) * 1024}
gen = open(os.path.join(work, "gen7.log")).read()
m = re.search(r"(\d+) parameters.*?(\d+) bytes written", gen)
steps = [dict(step="generate (gen_scale_ckpt.py)", bytes_out=int(m.group(2)) if m else None, source="time", **(timed("gen7") or {})),
         dict(step="import (hxzoo serve --import)", bytes_in=int(m.group(2)) if m else None, source="time",
              **(timed("import7") or {}))]
rec = {}
for p in sorted(glob.glob(os.path.join(work, "zb", name, "receipts", "*.json"))):
    r = json.load(open(p))
    rec[os.path.basename(p)[:-5]] = r
    s = {"step": "build: " + os.path.basename(p)[:-5], "wall_s": r.get("wall_s"),
         "peak_rss_bytes": r.get("peak_rss_bytes"), "source": "receipt"}
    if "src_bytes" in r: s["bytes_in"], s["bytes_out"] = r["src_bytes"], r["out_bytes"]   # compress
    if "bytes" in r: s["bytes_in"] = r["bytes"]                                         # download (snapshot)
    if "bytes_uploaded" in r: s["bytes_out"] = r["bytes_uploaded"]                      # upload
    if r.get("gates"): s["gates"] = r["gates"]
    ev = r.get("eval") or {}
    if ev:
        s["eval"] = {k: ev.get(k) for k in ("protocol", "seq_len", "n_tokens", "windows", "scored", "device", "groups",
                                            "estimated_peak_bytes", "base_ppl", "ppl", "delta_pct", "kld_mean",
                                            "top1", "seconds")}
    steps.append(s)
b = timed("build7")
if b:
    b.update(step="build (whole process)", source="time",
             note="wall from /usr/bin/time; peak RSS = max of the stages (the stages reset VmHWM, so time's %M is the last stage's)")
    pk = [s["peak_rss_bytes"] for s in steps if s["source"] == "receipt" and s.get("peak_rss_bytes")]
    b["peak_rss_bytes"] = max(pk) if pk else b["peak_rss_bytes"]
    steps.append(b)
v = timed("verify7")
res = {"benchmark": "scale-7b", "shape": "Qwen2.5-7B-Instruct (synthetic BF16, scripts/gen_scale_ckpt.py)",
       "parameters": int(m.group(1)) if m else None, "machine": json.loads(machine),
       "gates": os.environ.get("SCALE_GATES", "manifest"), "build_rc": int(brc), "verify_full_rc": vrc if vrc == "skipped" else int(vrc), "steps": steps}
vf = os.path.join(work, "verify7.json")
if v:
    s = dict(step="verify --full", source="time", **v)
    if os.path.exists(vf) and os.path.getsize(vf):
        rep = json.load(open(vf))
        s["sound"], s["counts"] = rep.get("sound"), rep.get("counts")
    steps.append(s)
json.dump(res, open(dst, "w"), indent=2)
open(dst, "a").write("\n")
mb = lambda x: "-" if x is None else f"{x / 1e6:,.0f}"
print(f"\n{'step':<34} {'wall s':>9} {'peak RSS MB':>12} {'in MB':>10} {'out MB':>10}")
for s in steps:
    w = s.get("wall_s")
    print(f"{s['step']:<34} {('-' if w is None else f'{w:.1f}'):>9} {mb(s.get('peak_rss_bytes')):>12} "
          f"{mb(s.get('bytes_in')):>10} {mb(s.get('bytes_out')):>10}")
    if s.get("eval"):
        e = s["eval"]
        try:
            print(f"{'':<34} eval {e['protocol']} {e['scored']} tokens x {e['seq_len']}: base PPL {e['base_ppl']:.4f}, "
                  f"HXQ {e['ppl']:.4f} ({e['delta_pct']:+.3f}%), KLD {e['kld_mean']:.5f}, top-1 {e['top1']:.4f}")
        except (TypeError, ValueError, KeyError):
            print(f"{'':<34} eval {e}")
    if "sound" in s:
        print(f"{'':<34} sound: {s['sound']}, {s['counts']}")
print(f"written: {dst}")
sys.exit(0 if int(brc) == 0 and vrc in ("skipped", "0") else 1)
PY
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; srv=""
  rm -rf "$work/hub" "$work/cache" "$work/zb" "$work/hf-home"
fi

if [ "$what" = 14b ] || [ "$what" = all ]; then
  echo "== 14b: generate"
  timed gen14 "$py" "$root/scripts/gen_scale_ckpt.py" "$work/src14" --shape 14b "${tiny[@]}" | tee "$work/gen14.log"
  "$py" "$root/scripts/check_scale_ckpt.py" "$work/src14"
  echo "== 14b: hxzoo compress"
  crc=0 erc=skipped
  timed compress14 "$hx" -q compress "$work/src14" "$work/q14" >/dev/null || crc=$?
  if [ "$crc" = 0 ]; then
    echo "== 14b: hxzoo eval (helix, one window)"
    erc=0
    (cd "$root" && timed eval14 "$hx" eval "$work/q14" --base "$work/src14" --text "$wiki" --protocol helix \
       --seq-len "${SCALE_14B_SEQ:-2048}" --max-windows 1 --device cpu --receipt "$work/eval14.json") || erc=$?
  fi
  "$py" - "$work" "$crc" "$erc" "$(machine)" "$out/scale-14b.json" <<'PY' || rc=1
import json, os, re, sys
work, crc, erc, machine, dst = sys.argv[1:6]
def timed(n):
    p = os.path.join(work, n + ".time")
    if not os.path.exists(p) or not open(p).read().split():
        return None
    w, kb = open(p).read().split()[-2:]
    return {"wall_s": float(w), "peak_rss_bytes": int(kb) * 1024}
gen = open(os.path.join(work, "gen14.log")).read()
m = re.search(r"(\d+) parameters.*?(\d+) bytes written", gen)
steps = [dict(step="generate (gen_scale_ckpt.py)", bytes_out=int(m.group(2)) if m else None, **(timed("gen14") or {}))]
c = dict(step="hxzoo compress", **(timed("compress14") or {}))
hr = os.path.join(work, "q14", "hxq_receipt.json")
if os.path.exists(hr):
    t = json.load(open(hr)).get("totals", {})
    c.update(bytes_in=t.get("src_bytes"), bytes_out=t.get("out_bytes"), tensors=t.get("tensors"),
             codec_seconds=t.get("seconds"))
steps.append(c)
e = dict(step="hxzoo eval (helix, 1 window)", **(timed("eval14") or {}))
er = os.path.join(work, "eval14.json")
if os.path.exists(er) and os.path.getsize(er):
    r = json.load(open(er))
    e["eval"] = {k: r.get(k) for k in ("protocol", "settings", "tokens", "delta_pct", "kld_mean", "top1_agreement",
                                       "wall_time_s", "tokens_per_s", "groups", "peak_rss_bytes")}
    e["eval"]["base_ppl"], e["eval"]["ppl"] = (r.get("base") or {}).get("ppl"), (r.get("model") or {}).get("ppl")
steps.append(e)
res = {"benchmark": "scale-14b", "shape": "Qwen2.5-14B-Instruct (synthetic BF16, scripts/gen_scale_ckpt.py)",
       "parameters": int(m.group(1)) if m else None, "machine": json.loads(machine),
       "compress_rc": int(crc), "eval_rc": erc if erc == "skipped" else int(erc), "steps": steps}
json.dump(res, open(dst, "w"), indent=2)
open(dst, "a").write("\n")
mb = lambda x: "-" if x is None else f"{x / 1e6:,.0f}"
print(f"\n{'step':<34} {'wall s':>9} {'peak RSS MB':>12} {'in MB':>10} {'out MB':>10}")
for s in steps:
    w = s.get("wall_s")
    print(f"{s['step']:<34} {('-' if w is None else f'{w:.1f}'):>9} {mb(s.get('peak_rss_bytes')):>12} "
          f"{mb(s.get('bytes_in')):>10} {mb(s.get('bytes_out')):>10}")
    if s.get("eval"):
        v = s["eval"]
        print(f"{'':<34} base PPL {v['base_ppl']}, HXQ {v['ppl']}, dPPL {v['delta_pct']}%, KLD {v['kld_mean']}, "
              f"top-1 {v['top1_agreement']}, {v['tokens_per_s']} tok/s")
print(f"written: {dst}")
sys.exit(0 if crc == "0" and erc == "0" else 1)
PY
  rm -rf "$work/src14" "$work/q14"
fi
exit "$rc"
