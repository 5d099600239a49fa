#!/usr/bin/env bash
# hub_dupblobs.sh - a repo in which several files have the same content
# (two empty __init__.py, two copies of a config, two large files with equal
# bytes: one LFS object): `hxzoo download` fetches each blob once and links
# every path to it. It used to lock the same blob twice from one process
# (flock per open file description) and wait forever; the download runs
# under a generous `timeout` so that such a hang fails instead of stalling.
. "$(dirname "$0")/lib/hub.sh"
src=$T/src
mkdir -p "$src/pkg/a" "$src/pkg/b"
: >"$src/pkg/a/__init__.py"
: >"$src/pkg/b/__init__.py"
printf '{"x": 1}\n' >"$src/c1.json"
printf '{"x": 1}\n' >"$src/c2.json"
head -c 12000000 /dev/urandom >"$src/big1.bin"
cp "$src/big1.bin" "$src/big2.bin"
"$HXZOO" -q serve --root "$T/root" --import "$src" org/dups >/dev/null || fail "import"
start_server D "$T/root"
export HF_ENDPOINT=$URL_D HF_TOKEN=hf_t HF_HUB_CACHE=$T/cache
# the limit is the assertion here: the regression this guards was a deadlock
timeout 120 "$HXZOO" -q download org/dups >"$T/out" 2>&1; rc=$?
[ $rc = 124 ] && fail "download of a repo with duplicate-content files hangs"
[ $rc = 0 ] || fail "download rc=$rc: $(cat "$T/out")"
snap=$(tail -1 "$T/out")
for f in pkg/a/__init__.py pkg/b/__init__.py c1.json c2.json big1.bin big2.bin; do
  cmp -s "$snap/$f" "$src/$f" || fail "$f differs or is missing in $snap"
done
n=$(find "$T/cache" -path '*/blobs/*' -type f | wc -l)
# 4 blobs: the empty file, the config, the big file, and the .gitattributes
# that serve --import writes
[ "$n" = 4 ] || fail "expected 4 blobs (empty, config, big, .gitattributes), found $n"
ok "duplicate-content files: 6 paths from 3 blobs, each fetched once"
# and a second download (everything cached) still completes
"$HXZOO" -q download org/dups >/dev/null 2>&1 || fail "cached re-download"
ok "cached re-download of the same repo"
exit 0
