#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job, end to end, on the bundled stories260K
# model: a local Hub (`hxzoo serve`) holds it as the upstream repo, then
#   hxzoo build stories260k     resolve, download, compress, validate
#                               (gates + CPU perplexity), card, upload, verify
#   the model card it published
#   hxzoo verify --full         every claim of the card re-measured
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
hx="$root/$build/hxzoo"
work=$(mktemp -d "${TMPDIR:-/tmp}/hxzoo-demo.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "== hxzoo serve: a local Hub with stories260K as the upstream repo hxzoo-fixtures/stories260k"
"$hx" -q serve --root "$work/hub" --import "$root/tests/fixtures/stories260k" hxzoo-fixtures/stories260k
"$hx" -q serve --root "$work/hub" --port 0 --port-file "$work/port" >"$work/serve.log" 2>&1 &
pid=$!
# until it wrote its port (once listening) or exited
while [ ! -s "$work/port" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
[ -s "$work/port" ] || { cat "$work/serve.log"; echo "demo: hxzoo serve did not start"; exit 1; }
HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"
export HF_ENDPOINT HF_TOKEN=hf_demo HF_HUB_CACHE="$work/cache"
export HXZOO_BUILD_ROOT="$work/zoo-build"
echo "   $HF_ENDPOINT"
echo
echo "== hxzoo build stories260k"
"$hx" build stories260k
echo
echo "== the published model card (README.md of EchoLabs33/stories260k-hxq)"
"$hx" -q download EchoLabs33/stories260k-hxq --include README.md >"$work/snap"
cat "$(cat "$work/snap")/README.md"
echo
echo "== hxzoo verify EchoLabs33/stories260k-hxq --full"
"$hx" -q verify EchoLabs33/stories260k-hxq --full
echo
echo "demo: OK"
