#!/usr/bin/env bash
# codec_cli.sh - hxzoo compress / inspect / decompress through the binary:
# both fixtures compress; the output decodes (numpy, independent of our C
# decoder) to what `hxzoo decompress` writes; output bytes do not depend on
# --threads; peak memory stays near the largest tensor; corrupted input
# gets a clear error and a non-zero exit, and leaves no output behind.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
py=${PY:-$root/.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/hxzoo-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; fail=1; }

smol=$root/.cache/smollm2-135m
[ -f "$smol/model.safetensors" ] || { echo "FAIL: $smol missing (make fixtures)"; exit 1; }

# 1. both fixtures, default options, 1 vs 2 threads
for fx in stories260k smollm2; do
  src=$root/tests/fixtures/stories260k
  [ $fx = smollm2 ] && src=$smol
  "$hx" -q compress "$src" "$work/$fx-t1" --threads 1 || bad "$fx compress --threads 1"
  "$hx" -q compress "$src" "$work/$fx-t2" --threads 2 --json > "$work/$fx.json" || bad "$fx compress --threads 2"
  if cmp -s "$work/$fx-t1/model.safetensors" "$work/$fx-t2/model.safetensors"; then
    ok "$fx: identical model.safetensors with 1 and 2 threads"
  else
    bad "$fx: output depends on the thread count"
  fi
  "$hx" inspect "$work/$fx-t1" > "$work/$fx.inspect" && grep -q "modules check: ok" "$work/$fx.inspect" \
    && ok "$fx: inspect finds every module complete" || bad "$fx: inspect"
  "$hx" decompress "$work/$fx-t1" "$work/$fx-dense" || bad "$fx decompress"
done

# 2. independent numpy decode == hxzoo decompress; receipt statistics agree
"$py" - "$work" "$smol" <<'PY' || fail=1
import json, sys, os
import numpy as np
sys.path.insert(0, os.path.join(os.environ.get("HXZOO_ROOT", "."), "tests"))
import hxqlib
work, smol = sys.argv[1], sys.argv[2]
for fx, src in (("stories260k", os.path.join(os.environ.get("HXZOO_ROOT", "."), "tests/fixtures/stories260k")), ("smollm2", smol)):
    hxq = os.path.join(work, fx + "-t1")
    dec = hxqlib.decode_hxq(hxq)
    dense = hxqlib.read_safetensors(os.path.join(work, fx + "-dense", "model.safetensors"))
    srcw = hxqlib.read_safetensors(os.path.join(src, "model.safetensors"))
    rec = {t["name"]: t for t in json.load(open(os.path.join(work, fx + ".json")))["tensors"]}
    worst = 0.0
    for m, w in dec.items():
        name = m + ".weight"
        if not np.array_equal(w.astype(np.float32), dense[name].astype(np.float32)):
            print(f"FAIL {fx}: numpy decode of {m} differs from hxzoo decompress"); sys.exit(1)
        r = hxqlib.rel_mse(srcw[name], w)
        worst = max(worst, abs(r - rec[name]["rel_mse"]) / max(r, 1e-30))
    if worst > 1e-6:
        print(f"FAIL {fx}: receipt rel_mse off by {worst:.2e} (relative)"); sys.exit(1)
    print(f"PASS {fx}: numpy decode == hxzoo decompress for {len(dec)} modules; receipt rel_mse exact (worst rel. diff {worst:.1e})")
# memory: peak RSS below the largest source tensor + 64 MB
tot = json.load(open(os.path.join(work, "smollm2.json")))["totals"]
largest = max(t["src_bytes"] for t in json.load(open(os.path.join(work, "smollm2.json")))["tensors"])
if tot["peak_rss_bytes"] > largest + 64 * 2**20:
    print(f"FAIL smollm2: peak RSS {tot['peak_rss_bytes']/2**20:.0f} MB > largest tensor {largest/2**20:.0f} MB + 64 MB"); sys.exit(1)
print(f"PASS smollm2: peak RSS {tot['peak_rss_bytes']/2**20:.0f} MB (largest tensor {largest/2**20:.0f} MB)")
PY

# 3. corrupted inputs: clear errors, exit status 5, nothing written
cp -r "$root/tests/fixtures/stories260k" "$work/trunc"
sz=$(stat -c %s "$work/trunc/model.safetensors")
truncate -s $((sz / 2)) "$work/trunc/model.safetensors"
"$hx" compress "$work/trunc" "$work/trunc-out" 2> "$work/err"; rc=$?
if [ $rc -eq 5 ] && grep -q "model.safetensors" "$work/err" && grep -q "past the end" "$work/err" \
   && [ ! -e "$work/trunc-out/config.json" ]; then
  ok "truncated file: exit 5, '$(head -c 150 "$work/err")'"
else
  bad "truncated file: rc=$rc: $(cat "$work/err")"
fi
cp -r "$root/tests/fixtures/stories260k" "$work/badjson"
printf '\x20\x00\x00\x00\x00\x00\x00\x00{"a": [1, 2}                    ' > "$work/badjson/model.safetensors"
"$hx" compress "$work/badjson" "$work/badjson-out" 2> "$work/err"; rc=$?
[ $rc -eq 5 ] && grep -q "not valid JSON" "$work/err" && ok "malformed header: exit 5" || bad "malformed header: rc=$rc $(cat "$work/err")"
"$hx" compress "$work/nonexistent" "$work/x" 2> "$work/err"; rc=$?
[ $rc -eq 9 ] && grep -q "config.json" "$work/err" && ok "missing source: exit 9" || bad "missing source: rc=$rc"
"$hx" compress --k 300 a b 2> "$work/err"; rc=$?
[ $rc -eq 2 ] && ok "bad option: exit 2 ($(head -1 "$work/err"))" || bad "bad option: rc=$rc"
exit $fail
