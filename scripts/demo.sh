#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job on the bundled example: compress the
# stories260K model (tests/fixtures/stories260k) to HXQ, show the per-tensor
# table, inspect the result, and check it decodes.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
hx="$root/$build/hxzoo"
work=$(mktemp -d "${TMPDIR:-/tmp}/hxzoo-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$root/tests/fixtures/stories260k"

echo "== hxzoo compress $src"
"$hx" compress "$src" "$work/stories260k-hxq"
echo
echo "== hxzoo inspect (the output directory)"
"$hx" inspect "$work/stories260k-hxq"
echo
echo "== decoding check: hxzoo decompress and compare sizes"
"$hx" decompress "$work/stories260k-hxq" "$work/decoded"
ls -l "$work/stories260k-hxq" | sed 's/^/  /'
if "$hx" --help | grep -q '^  generate'; then
  echo
  echo "== hxzoo generate (greedy) from the compressed model"
  "$hx" generate "$work/stories260k-hxq" --prompt "Once upon a time" --max-tokens 40
fi
echo
echo "demo: OK"
