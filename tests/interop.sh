#!/usr/bin/env bash
# interop.sh [BUILD_DIR] - load hxzoo's HXQ output with the original
# helix-substrate 0.3.3 + transformers (make interop). For each fixture and
# each codec mode: hxzoo compress -> hxzoo decompress -> tests/interop.py,
# which also runs our decoder (BUILD_DIR/tools/check_logits) on the HXQ
# directory against the helix-loaded logits and greedy ids.
#   HXZOO_INTEROP_FIXTURES  default "stories260k smollm2 tiny-mamba tiny-mamba2 tiny-zamba2"
#                           (tiny-*: tests/fixtures/tiny-*, the ids of their goldens
#                           tests/golden/{logits,greedy}_tiny-*.json)
#   HXZOO_INTEROP_MODES     default "default compat sharded" (compat = --compat-0.3.3,
#                           sharded = --max-shard-size 40M; 150K for tiny-*)
#   HXZOO_INTEROP_REF=1     also run the original 0.3.3 writer (Python) on
#                           each fixture and check its output the same way
#   HXZOO_INTEROP_KEEP=DIR  keep the outputs under DIR
# Prints one line per run and exits non-zero if any run fails.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$root/$build ;; esac
hxzoo=$build/hxzoo
check_logits=$build/tools/check_logits
py=${TPY:-$root/.venv-torch/bin/python}
[ -x "$hxzoo" ] || { echo "interop: $hxzoo not built"; exit 1; }
[ -x "$check_logits" ] || { echo "interop: $check_logits not built"; exit 1; }
[ -x "$py" ] || { echo "interop: no $py (make venv-torch)"; exit 1; }
export HXZOO_ROOT_T=$root CUDA_VISIBLE_DEVICES= TOKENIZERS_PARALLELISM=false PYTHONWARNINGS=ignore
work=${HXZOO_INTEROP_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/hxzoo-interop.XXXXXX")}
mkdir -p "$work"
[ -n "${HXZOO_INTEROP_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

src_of() {
  case $1 in
    stories260k) echo "$root/tests/fixtures/stories260k" ;;
    smollm2)
      d=$root/.cache/smollm2-135m
      [ -f "$d/model.safetensors" ] || "$root/.venv/bin/python" "$root/tests/fixtures/make_smollm2.py" "$d" >&2
      echo "$d" ;;
    tiny-*) echo "$root/tests/fixtures/$1" ;;
    *) echo "$1" ;;
  esac
}

# the token ids of a fixture's goldens (tiny-*: 48 ids for the logits, an
# 8-id prompt for greedy; all shorter than Zamba2's chunk_size, see interop.py)
ids_of() {
  case $1 in
    tiny-*) echo "--ids $root/tests/golden/logits_$1.json --prompt-ids $root/tests/golden/greedy_$1.json" ;;
  esac
}

results=() fail=0
for fx in ${HXZOO_INTEROP_FIXTURES:-stories260k smollm2 tiny-mamba tiny-mamba2 tiny-zamba2}; do
  src=$(src_of "$fx")
  # shellcheck disable=SC2207
  ids=($(ids_of "$fx"))
  shard=40M
  case $fx in tiny-*) shard=150K ;; esac
  for mode in ${HXZOO_INTEROP_MODES:-default compat sharded}; do
    flags=()
    case $mode in
      compat) flags=(--compat-0.3.3) ;;
      sharded) flags=(--max-shard-size "$shard") ;;  # several shards + index: transformers' sharded loader
    esac
    out=$work/$fx-$mode
    rm -rf "$out"; mkdir -p "$out"
    echo "=== interop $fx ($mode): hxzoo compress ${flags[*]}"
    t0=$(date +%s.%N)
    if ! "$hxzoo" compress "$src" "$out/hxq" "${flags[@]}" --json >"$out/compress.json" 2>"$out/compress.err"; then
      cat "$out/compress.err"; results+=("FAIL $fx $mode (compress)"); fail=1; continue
    fi
    t1=$(date +%s.%N)
    if ! "$hxzoo" decompress "$out/hxq" "$out/dense" >"$out/decompress.log" 2>&1; then
      cat "$out/decompress.log"; results+=("FAIL $fx $mode (decompress)"); fail=1; continue
    fi
    printf 'compress %.2f s\n' "$(echo "$t1 - $t0" | bc)"
    if "$py" "$root/tests/interop.py" --name "$fx-$mode" --hxq "$out/hxq" --dense "$out/dense" \
         --src "$src" "${ids[@]}" --check-logits "$check_logits" --json "$out/interop.json" \
         2>"$out/interop.err"; then
      results+=("PASS $fx $mode")
    else
      grep -v -i warn "$out/interop.err" | tail -20
      results+=("FAIL $fx $mode"); fail=1
    fi
  done
  if [ "${HXZOO_INTEROP_REF:-0}" = 1 ]; then
    out=$work/$fx-original
    rm -rf "$out"; mkdir -p "$out"
    echo "=== interop $fx (original 0.3.3 writer, Python)"
    "$py" - "$src" "$out" <<'PYEOF' || { results+=("FAIL $fx original (writer)"); fail=1; continue; }
import os, sys; sys.path.insert(0, os.path.join(os.environ["HXZOO_ROOT_T"], "tests"))
import hxqlib
hxqlib.write_reference_hxq(sys.argv[1], sys.argv[2] + "/hxq", log=lambda s: None)
hxqlib.decompress_numpy(sys.argv[2] + "/hxq", sys.argv[2] + "/dense")
PYEOF
    if "$py" "$root/tests/interop.py" --name "$fx-original" --hxq "$out/hxq" --dense "$out/dense" \
         --src "$src" "${ids[@]}" --json "$out/interop.json" 2>"$out/interop.err"; then
      results+=("PASS $fx original-0.3.3-writer")
    else
      results+=("FAIL $fx original-0.3.3-writer"); fail=1
    fi
  fi
done
echo "=== interop summary"
printf '%s\n' "${results[@]}"
exit $fail
