#!/usr/bin/env bash
# The committed stories260k fixture reproduces the model's published greedy
# text (numpy reference forward pass; no torch). Also checks the llama2.c
# checkpoint when the shared data directory is present.
set -u
root=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
py=${PY:-$root/.venv/bin/python}
[ -x "$py" ] || { echo "FAIL: no Python venv at $py"; exit 1; }
raw=()
ckpt=${HXZOO_SHARED:-$root/../shared}/data/stories260K/stories260K.bin
[ -f "$ckpt" ] && raw=(--raw "$ckpt")
exec "$py" "$root/tests/fixtures/check_stories260k.py" "$root/tests/fixtures/stories260k" "${raw[@]}"
