#!/usr/bin/env bash
# hub_faults.sh - the client against an unreliable hxzoo serve: 429 with
# Retry-After, 500s, bodies cut after N bytes, slow answers (client stall
# timeout), a corrupted body, dropped uploads and a commit whose answer is
# lost. Downloads must complete and verify; the upload must commit once.
# A server that lies about sizes must be refused with nothing placed.
. "$(dirname "$0")/lib/hub.sh"
make_model "$T/src" 80000000          # big.bin: chunked parallel download + multipart upload
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/base >/dev/null || fail "import"
export HXZOO_STALL_TIMEOUT=1 HF_TOKEN=hf_t

start_server F "$T/root" --multipart-chunk 8000000 --faults "429=9,500=7,drop=3:300000,slow=13:2500,dropup=3:2000000,commitlost=1"
export HF_ENDPOINT=$URL_F HF_HUB_CACHE=$T/cache1
t0=$(date +%s)
snap=$("$HXZOO" -q download org/base --jobs 4) || fail "download under faults"
same_tree "$T/src" "$snap" || fail "content under faults"
# the faults did fire (the server logs each one it injects)
for k in 429 500 drop slow; do
  grep -q "fault injected: $k\$" "$T/F.log" || fail "no $k fault fired during the download"
done
ok "download completes and verifies under 429/500/drop/slow faults, each fired ($(( $(date +%s) - t0 ))s)"

n0=$(commits "$URL_F" org/base)
make_model "$T/new" 30000000
out=$("$HXZOO" -q upload org/base "$T/new" --json --no-progress --jobs 4) || fail "upload under faults: $out"
echo "$out" | grep -q '"committed":true' || fail "upload did not report its commit: $out"
n1=$(commits "$URL_F" org/base)
[ "$n1" = $((n0 + 1)) ] || fail "expected exactly one new commit, got $n0 -> $n1"
snap=$("$HXZOO" -q download org/base) || fail "download after faulty upload"
same_tree "$T/new" "$snap" || fail "uploaded content"
grep -q '"committed":false' <<<"$("$HXZOO" -q upload org/base "$T/new" --json --no-progress)" || fail "re-publish after faults committed again"
for k in dropup commitlost; do
  grep -q "fault injected: $k\$" "$T/F.log" || fail "no $k fault fired during the upload"
done
ok "upload under faults (dropped parts, lost commit answer, each fired) commits exactly once"
stop_server F

# a corrupted body is detected and fetched again
start_server C "$T/root" --faults "corrupt=2,max=1"
export HF_ENDPOINT=$URL_C HF_HUB_CACHE=$T/cache2
snap=$("$HXZOO" -q download org/base --include 'sub/*' --include config.json 2>"$T/err") || fail "corrupt retry: $(cat "$T/err")"
grep -q "fault injected: corrupt$" "$T/C.log" || fail "the corrupt fault did not fire"
grep -q "does not match" "$T/err" || fail "the corruption was not noticed"
ok "corrupted body detected by hash and fetched again"
stop_server C

# a server lying about sizes is refused, nothing is placed in the cache
start_server L "$T/root" --faults "liesize=1"
export HF_ENDPOINT=$URL_L HF_HUB_CACHE=$T/cache3
"$HXZOO" -q download org/base --include config.json >/dev/null 2>"$T/err"; rc=$?
[ $rc = 11 ] || fail "lying sizes: rc=$rc $(cat "$T/err")"
ls "$T/cache3"/models--org--base/blobs/ | grep -qv incomplete && fail "a blob was placed from a lying server"
[ -z "$(ls -A "$T/cache3"/models--org--base/snapshots/*/ 2>/dev/null)" ] || fail "a snapshot link was created from a lying server"
ok "server lying about sizes: refused (rc 11), nothing placed"
exit 0
