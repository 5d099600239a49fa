#!/usr/bin/env bash
# hub_kill.sh - kill -9 a download, an upload, and the server itself at
# random moments, then run again: every file must verify, the cache and the
# server must hold nothing corrupt, and the upload must commit exactly once.
. "$(dirname "$0")/lib/hub.sh"
ROUNDS=${HUB_KILL_ROUNDS:-4}
make_model "$T/src" 160000000
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/base >/dev/null || fail "import"
# slow every request a little so that kills land mid-transfer
start_server K "$T/root" --multipart-chunk 16000000 --faults "slow=1:40"
export HF_ENDPOINT=$URL_K HF_TOKEN=hf_t HF_HUB_CACHE=$T/cache

rand_ms() { echo $(( (RANDOM % $1) + $2 )); }
check_cache() {
  # every blob verifies against its name; no temp files left visible
  local repo=$T/cache/models--org--base
  for b in "$repo"/blobs/*; do
    case $b in *.incomplete) continue ;; esac
    n=$(basename "$b")
    if [ ${#n} = 64 ]; then
      [ "$(sha256sum "$b" | cut -d' ' -f1)" = "$n" ] || fail "corrupt blob $n"
    fi
  done
  find "$repo/snapshots" -name '*.tmp*' | grep -q . && fail "temp files left in snapshots"
  return 0
}

for i in $(seq "$ROUNDS"); do
  "$HXZOO" -q download org/base --no-progress >/dev/null 2>&1 &
  p=$!
  sleep "0.$(printf '%03d' "$(rand_ms 400 30)")"
  kill -9 $p 2>/dev/null; wait $p 2>/dev/null
  check_cache
  [ "$i" -lt "$ROUNDS" ] && continue
done
snap=$("$HXZOO" -q download org/base --no-progress) || fail "download after kill -9"
same_tree "$T/src" "$snap" || fail "content after kill -9"
check_cache
ok "kill -9 of downloads ($ROUNDS times), then a complete verified download"

make_model "$T/new" 120000000
n0=$(commits "$URL_K" org/base)
for i in $(seq "$ROUNDS"); do
  "$HXZOO" -q upload org/base "$T/new" --no-progress >/dev/null 2>&1 &
  p=$!
  sleep "0.$(printf '%03d' "$(rand_ms 700 50)")"
  kill -9 $p 2>/dev/null; wait $p 2>/dev/null
done
"$HXZOO" -q upload org/base "$T/new" --no-progress >/dev/null || fail "upload after kill -9"
n1=$(commits "$URL_K" org/base)
[ "$n1" = $((n0 + 1)) ] || fail "expected exactly one new commit after killed uploads, got $n0 -> $n1"
ok "kill -9 of uploads ($ROUNDS times), then exactly one commit"

# the server killed mid-upload: no half commit, restart, finish
make_model "$T/new2" 120000000
n0=$(commits "$URL_K" org/base)
"$HXZOO" -q upload org/base "$T/new2" --no-progress >/dev/null 2>&1 &
p=$!
# kill the server once the upload is under way (bytes of it in the server's
# tmp/), whatever the machine's speed; the kill must land before the end
while kill -0 $p 2>/dev/null; do
  [ -n "$(find "$T/root/tmp" -type f -size +0 2>/dev/null | head -n 1)" ] && break
  sleep 0.05
done
inflight=$(find "$T/root/tmp" -type f -size +0 2>/dev/null | wc -l)
kill9_server K
wait $p 2>/dev/null
[ "$inflight" -gt 0 ] || fail "the server was not killed mid-upload (nothing in transfer in its tmp/)"
start_server K2 "$T/root" --multipart-chunk 16000000
# the restarted server drops the crashed transfers (multipart dirs stay, for resuming)
[ -z "$(find "$T/root/tmp" -maxdepth 1 -type f 2>/dev/null)" ] || fail "crashed uploads left in the server's tmp/ after restart"
export HF_ENDPOINT=$URL_K2
n_mid=$(commits "$URL_K2" org/base)
[ "$n_mid" = "$n0" ] || [ "$n_mid" = $((n0 + 1)) ] || fail "server state after crash: $n0 -> $n_mid commits"
"$HXZOO" -q upload org/base "$T/new2" --no-progress >/dev/null || fail "upload after server crash"
[ "$(commits "$URL_K2" org/base)" = $((n0 + 1)) ] || fail "not exactly one commit after the server crash"
rm -rf "$T/cache"
snap=$("$HXZOO" -q download org/base --no-progress) || fail "download after server crash"
same_tree "$T/new2" "$snap" || fail "content after server crash"
ok "server kill -9 mid-upload: no half commit, restart, exactly one commit, content verified"
exit 0
