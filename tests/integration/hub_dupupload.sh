#!/usr/bin/env bash
# hub_dupupload.sh - `hxzoo upload` of a folder in which two large files
# have the same content (one LFS object) next to another large file: the
# object is negotiated and sent once and every file lands. The client used
# to list the object twice in its LFS batch; the server answers each, and
# the client stopped reading the answer at the repeat, so the objects after
# it were never uploaded and the commit was refused (422, "LFS object ...
# was never uploaded"). Found while writing the fuzz target of the batch
# answer (tests/fuzz/fuzz_hub_answers.c).
. "$(dirname "$0")/lib/hub.sh"
src=$T/src
mkdir -p "$src/sub"
# binary (a NUL in the sample) and over 1 MB: the server asks for LFS
{ printf '\0'; head -c 2000000 /dev/urandom; } >"$src/a.bin"
cp "$src/a.bin" "$src/sub/a-copy.bin"
{ printf '\0'; head -c 2000000 /dev/urandom; } >"$src/z.bin"
printf 'small\n' >"$src/readme.txt"
start_server U "$T/root"
export HF_ENDPOINT=$URL_U HF_TOKEN=hf_t HF_HUB_CACHE=$T/cache
"$HXZOO" upload org/dup "$src" --json >"$T/up.json" 2>"$T/up.err" || fail "upload: $(cat "$T/up.err")"
"$PY" - "$T/up.json" <<'PY' || fail "upload result: $(cat "$T/up.json")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
res = [e for e in events if "lfs_uploaded" in e]
assert res, events
assert res[-1]["lfs_uploaded"] == 2, res[-1]  # a.bin (= sub/a-copy.bin) and z.bin
PY
"$HXZOO" -q download org/dup >"$T/dl" 2>&1 || fail "download: $(cat "$T/dl")"
snap=$(tail -1 "$T/dl")
for f in a.bin sub/a-copy.bin z.bin readme.txt; do
  cmp -s "$snap/$f" "$src/$f" || fail "$f differs or is missing after the round trip"
done
ok "two files with one content + another LFS file: 2 objects sent, all 4 files published"
exit 0
