#!/usr/bin/env bash
# eval_memory.sh - the evaluation engine's peak memory does not grow with the
# model's depth: a 4-layer and a 16-layer random Llama of the same width
# (tests/fixtures/make_synth_llama.py), each compressed and evaluated
# against its dense original (helix protocol, 4 windows of 256) in one
# process; the peak RSS (VmHWM, from the receipt) of the 16-layer run must
# be within 1.25x of the 4-layer one. A whole-model float32 copy would make
# it ~3x. Also: both runs report one window group and sane numbers.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
hx=${HXZOO:-$root/build/hxzoo}
py=${PY:-$root/.venv/bin/python}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for n in 4 16; do
  "$py" "$root/tests/fixtures/make_synth_llama.py" "$tmp/d$n" --layers $n || fail "generate $n layers"
  "$hx" -q compress "$tmp/d$n" "$tmp/q$n" >/dev/null || fail "compress $n layers"
  "$hx" -q eval "$tmp/q$n" --base "$tmp/d$n" --text "$root/tests/fixtures/eval/valid-head30k.txt" \
    --protocol helix --seq-len 256 --n-tokens 1024 --receipt "$tmp/r$n.json" >/dev/null || fail "eval $n layers"
done
"$py" - "$tmp/r4.json" "$tmp/r16.json" <<'PY' || exit 1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    assert r["groups"] == 1 and r["tokens"]["scored_done"] == 1024, r
    assert r["kld_mean"] > 0 and r["top1_agreement"] > 0.5, r
ra, rb = a["peak_rss_bytes"], b["peak_rss_bytes"]
ratio = rb / ra
print(f"peak RSS: 4 layers {ra/1e6:.1f} MB, 16 layers {rb/1e6:.1f} MB, ratio {ratio:.3f} (limit 1.25)")
sys.exit(0 if ratio <= 1.25 else 1)
PY
