#!/usr/bin/env bash
# gpu-eval.sh [BUILD_DIR] [OUT_DIR] - GPU-vs-CPU perplexity agreement of
# `hxzoo eval --device cuda` on the committed fixtures (no download, no
# Python): stories260k and stories260k-hxq, protocol helix with 512-token
# windows on tests/fixtures/eval/valid-head30k.txt (4096 scored tokens), and
# the lockstep run stories260k-hxq --base stories260k. Each pair must agree
# within 0.1% in PPL (base PPL too, KLD within 1e-4 absolute + 1%, top-1
# within 0.5%). Writes the receipts into OUT_DIR (eval-*.json) and prints
# one line per run with the GPU tokens/s.
# Exit: 0 all agree, 1 a disagreement or a failed run, 77 no CUDA device
# (the refusal itself is asserted by tests/integration/gpu_eval.sh).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
hx=$build/hxzoo
fx=$root/tests/fixtures
text=$fx/eval/valid-head30k.txt
args=(--text "$text" --protocol helix --seq-len 512 --n-tokens 4096)

# field NAME [N] FILE: the Nth (default 1st) numeric value of "NAME" in a receipt
field() {
  local name=$1 n=$2 f=$3
  awk -v k="\"$name\":" -v n="$n" '$1 == k { c++; if (c == n) { gsub(/[,]/, "", $2); print $2; exit } }' "$f"
}
# close A B RELTOL [ABSTOL]: |A-B| <= ABSTOL + RELTOL*|B|
close() {
  awk -v a="$1" -v b="$2" -v r="$3" -v t="${4:-0}" \
    'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= t + r * m) }'
}

"$hx" eval "$fx/stories260k" "${args[@]}" --device cuda --receipt "$out/probe.json" \
  >"$out/probe.log" 2>&1
rc=$?
if [ $rc != 0 ]; then
  if grep -q "no CUDA device:" "$out/probe.log"; then
    echo "skipped: $(grep -o 'no CUDA device:.*' "$out/probe.log")"
    exit 77
  fi
  echo "FAIL: hxzoo eval --device cuda (rc=$rc):"; cat "$out/probe.log"
  exit 1
fi

fail=0
run() { # name model [base]
  local name=$1 model=$2 base=${3:-} ba=()
  [ -n "$base" ] && ba=(--base "$base")
  for dev in cpu cuda; do
    if ! "$hx" eval "$model" "${ba[@]}" "${args[@]}" --device $dev \
         --receipt "$out/eval-$name-$dev.json" >"$out/eval-$name-$dev.log" 2>&1; then
      echo "FAIL $name on $dev:"; tail -5 "$out/eval-$name-$dev.log"; fail=1; return
    fi
  done
  local c=$out/eval-$name-cpu.json g=$out/eval-$name-cuda.json ok=1
  local pc pg; pc=$(field ppl 1 "$c"); pg=$(field ppl 1 "$g")
  close "$pg" "$pc" 0.001 || ok=0
  local line="$name: PPL cpu $pc cuda $pg"
  if [ -n "$base" ]; then
    local bc bg kc kg tc tg
    bc=$(field ppl 2 "$c"); bg=$(field ppl 2 "$g")
    kc=$(field kld_mean 1 "$c"); kg=$(field kld_mean 1 "$g")
    tc=$(field top1_agreement 1 "$c"); tg=$(field top1_agreement 1 "$g")
    close "$bg" "$bc" 0.001 || ok=0
    close "$kg" "$kc" 0.01 1e-4 || ok=0
    close "$tg" "$tc" 0.005 || ok=0
    line="$line; base PPL cpu $bc cuda $bg; KLD cpu $kc cuda $kg; top-1 cpu $tc cuda $tg"
  fi
  line="$line; tokens/s cpu $(field tokens_per_s 1 "$c") cuda $(field tokens_per_s 1 "$g")"
  if [ $ok = 1 ]; then echo "PASS $line"; else echo "FAIL $line"; fail=1; fi
}
run stories260k "$fx/stories260k"
run stories260k-hxq "$fx/stories260k-hxq"
run lockstep "$fx/stories260k-hxq" "$fx/stories260k"
exit $fail
