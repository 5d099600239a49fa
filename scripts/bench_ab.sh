#!/usr/bin/env bash
# bench_ab.sh BIN_A BIN_B [ROUNDS] - two hxzoo binaries (e.g. before/after
# a change) side by side on the same inputs, alternating which runs first:
# `compress` of SmolLM2-135M (wall s, peak RSS), `eval` of SmolLM2-135M
# (helix protocol, tok/s and PPL), `generate` on stories260k (500 tokens,
# wall s) and `compress` of stories260k. Prints one row per run and the
# median B/A ratios; the output bytes and PPL must be the same for both.
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
smol=$root/.cache/smollm2-135m
text=$root/tests/fixtures/eval/wiki.test.raw
W=$(mktemp -d "${TMPDIR:-/tmp}/hxzoo-ab.XXXXXX")
trap 'rm -rf "$W"' EXIT
[ -f "$smol/model.safetensors" ] || { echo "no $smol (make fixtures)"; exit 2; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "A = $A"; echo "B = $B"
# run LABEL BIN WHAT: one timed run; prints "LABEL WHAT seconds extra"
run() {
  local bin=$2 what=$3 t0 t1 extra=
  t0=$(date +%s.%N)
  case $what in
    compress-smol)
      /usr/bin/time -f %M -o "$W/rss" "$bin" -q compress "$smol" "$W/out-$1" --force
      extra="rss_mb=$(( $(cat "$W/rss") / 1024 )) sha=$(sha256sum "$W/out-$1/model.safetensors" | cut -c1-12)" ;;
    eval-smol)
      "$bin" -q eval "$smol" --text "$text" --protocol helix --json >"$W/eval-$1.json"
      extra="$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("tok_s=%.1f ppl=%.8f" % (j.get("tokens_per_s",0), j["model"]["ppl"] if "model" in j else j["ppl"]))' "$W/eval-$1.json")" ;;
    generate-260k)
      "$bin" -q generate "$root/tests/fixtures/stories260k" --prompt "Once upon a time" --max-tokens 500 --ids \
        >"$W/gen-$1.txt"
      extra="sha=$(sha256sum "$W/gen-$1.txt" | cut -c1-12)" ;;
    compress-260k)
      "$bin" -q compress "$root/tests/fixtures/stories260k" "$W/s-$1" --force
      extra="sha=$(sha256sum "$W/s-$1/model.safetensors" | cut -c1-12)" ;;
  esac
  t1=$(date +%s.%N)
  printf '%s %s %.3f %s\n' "$1" "$what" "$(echo "$t1 - $t0" | bc)" "$extra"
}
for what in compress-260k generate-260k compress-smol eval-smol; do
  for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then run A "$A" $what; run B "$B" $what; else run B "$B" $what; run A "$A" $what; fi
  done
done | tee "$W/rows"
echo "median seconds, B/A (below 1: B faster):"
python3 - "$W/rows" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
bad = False
for what in dict.fromkeys(r[1] for r in rows):
    a = statistics.median(float(r[2]) for r in rows if r[1] == what and r[0] == "A")
    b = statistics.median(float(r[2]) for r in rows if r[1] == what and r[0] == "B")
    same = len({" ".join(x for x in r[3:] if x.startswith(("sha=", "ppl="))) for r in rows if r[1] == what}) == 1
    print(f"  {what:14s} A {a:8.3f}  B {b:8.3f}  B/A {b / a:5.2f}  outputs {'identical' if same else 'DIFFER'}")
    bad = bad or not same
sys.exit(1 if bad else 0)
PY
