#!/usr/bin/env bash
# hub_hostile.sh - hostile input on both sides. The client against a fake
# Hub (Python http.server) listing '../' / absolute / backslash names,
# oversized and malformed JSON, a wrong hash: refused with a clear error,
# nothing written outside the cache. The server against bad names, bodies
# and JSON: 4xx answers, nothing stored.
. "$(dirname "$0")/lib/hub.sh"
have_py || { echo "FAIL: python venv missing"; exit 1; }
cat >"$T/fake.py" <<'PY'
import json, sys, hashlib
import fakehub
mode = sys.argv[2]
C = "a" * 40
def entry(path, data=b"x"):
    oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return {"type": "file", "oid": oid, "size": len(data), "path": path}
class H(fakehub.Handler):
    def do_GET(self):
        p = self.path
        if "/revision/" in p:
            return self.send(200, json.dumps({"id": "org/m", "sha": C}).encode())
        if "/tree/" in p:
            if mode.startswith("path:"):
                return self.send(200, json.dumps([entry("ok.txt"), entry(mode[5:])]).encode())
            if mode == "bigjson":
                return self.send(200, b"[" + b" " * (70 << 20) + b"]")
            if mode == "badjson":
                return self.send(200, b'[{"type":"file","path":')
            if mode == "hugesize":
                e = entry("big.bin"); e["size"] = 9e15; return self.send(200, json.dumps([e]).encode())
            if mode == "badhash":
                e = entry("f.txt", b"expected"); return self.send(200, json.dumps([e]).encode())
            if mode in ("selflink", "twolinks"):
                with open(sys.argv[1] + ".pages", "a") as f: f.write("x")
                nxt = self.path if mode == "selflink" else self.path.split("&cursor=")[0] + (
                    "&cursor=b" if "cursor=a" in self.path else "&cursor=a")
                link = '<http://127.0.0.1:%d%s>; rel="next"' % (self.server.server_address[1], nxt)
                return self.send(200, json.dumps([entry("ok.txt")]).encode(), extra=[("Link", link)])
        if "/resolve/" in p:
            return self.send(200, b"x" if mode != "badhash" else b"tampered", "application/octet-stream",
                             [("X-Repo-Commit", C)])
        self.send(404, b'{"error":"nope"}')
fakehub.serve(H, sys.argv[1])
PY
fake() {  # fake MODE -> sets FAKE_URL
  start_fake "$T/fake.py" "$T/fake.port" "$1"
}
for bad in "../evil.txt" "/abs/evil.txt" 'dir\evil.txt' "a/../../evil.txt" ".git/config"; do
  fake "path:$bad"
  HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c/cache "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
  [ $rc = 5 ] && grep -q "unsafe repo path" "$T/err" || fail "hostile name '$bad' not refused: rc=$rc $(cat "$T/err")"
  [ -z "$(find "$T/c" -name '*evil*' 2>/dev/null)" ] && [ ! -e "$T/evil.txt" ] || fail "something was written for '$bad'"
  [ -e "$T/c/cache/models--org--m/snapshots/$(printf 'a%.0s' $(seq 40))/ok.txt" ] && fail "partial snapshot written for '$bad'"
  kill "${SERVER_PIDS[-1]}"
done
ok "file names with .., absolute paths, backslashes, .git refused before writing"
fake bigjson
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c2 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
[ $rc = 5 ] && grep -q "larger than" "$T/err" || fail "oversized JSON: rc=$rc $(cat "$T/err")"
fake badjson
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c3 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
[ $rc = 5 ] && grep -q "not a JSON array" "$T/err" || fail "malformed JSON: rc=$rc $(cat "$T/err")"
fake hugesize
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c6 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
[ $rc = 5 ] && grep -q "has no valid size (9e+15; at most 1099511627776)" "$T/err" ||
  fail "a listed size of 9e15 bytes: rc=$rc $(cat "$T/err")"
kill "${SERVER_PIDS[-1]}"
fake badhash
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c4 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
[ $rc = 11 ] || fail "lying hash/size: rc=$rc $(cat "$T/err")"
ls "$T/c4/models--org--m/blobs" | grep -qv incomplete && fail "a blob from a lying server was kept"
ok "oversized/malformed JSON and lying content refused with clear errors"
# a listing whose Link: next never ends: refused after one page when it
# points to itself, after 2000 pages when two pages point to each other
# (it used to follow 100,000 pages)
for m in selflink:1 twolinks:2000; do
  fake "${m%%:*}"
  HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c5 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
  n=$(wc -c <"$T/fake.port.pages")
  [ $rc = 5 ] && grep -q "Link: next" "$T/err" && [ "$n" = "${m#*:}" ] ||
    fail "${m%%:*}: rc=$rc after $n pages: $(cat "$T/err")"
  rm -f "$T/fake.port.pages"
  kill "${SERVER_PIDS[-1]}"
done
ok "a Link: next that loops is refused (1 page when it points to itself, 2000 for a cycle)"

# --- the server side
make_model "$T/src"
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/base >/dev/null || fail "import"
start_server S "$T/root"
U=$URL_S
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
for p in "../x" "/abs" 'a\\b' "a/./b" ".git/x" "a//b"; do
  line=$(printf '{"key":"file","value":{"path":"%s","content":"aGk=","encoding":"base64"}}' "$p")
  c=$(code -X POST "$U/api/models/org/base/commit/main" -H 'Content-Type: application/x-ndjson' \
       --data-binary $'{"key":"header","value":{"summary":"x"}}\n'"$line")
  [ "$c" = 422 ] || fail "server accepted path '$p' (HTTP $c)"
done
c=$(code -X POST "$U/api/models/org/base/preupload/main" -H 'Content-Type: application/json' -d '{"files":[{"path":"../x","size":1,"sample":""}]}')
[ "$c" = 422 ] || fail "preupload accepted ../x ($c)"
c=$(code -X POST "$U/api/models/org/base/preupload/main" -H 'Content-Type: application/json' -d '{"files":[{"path":')
[ "$c" = 422 ] || fail "malformed JSON ($c)"
head -c 20000000 /dev/zero | tr '\0' ' ' >"$T/big.json"
c=$(code -X POST "$U/api/models/org/base/preupload/main" -H 'Content-Type: application/json' --data-binary @"$T/big.json")
[ "$c" = 413 ] || fail "oversized JSON body ($c)"
c=$(code -X POST "$U/api/models/org/base/commit/main" -H 'Content-Type: application/x-ndjson' \
     --data-binary $'{"key":"header","value":{"summary":"x"}}\n{"key":"lfsFile","value":{"path":"a.bin","algo":"sha256","oid":"'"$(printf '0%.0s' $(seq 64))"'","size":5}}')
[ "$c" = 422 ] || fail "commit of a never-uploaded LFS object ($c)"
# an LFS upload whose bytes do not match its oid is refused and not stored
oid=$(printf 'hello' | sha256sum | cut -d' ' -f1)
href=$(curl -s -X POST "$U/org/base.git/info/lfs/objects/batch" -H 'Content-Type: application/vnd.git-lfs+json' \
  -d '{"operation":"upload","transfers":["basic"],"objects":[{"oid":"'"$oid"'","size":5}]}' |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["actions"]["upload"]["href"])')
c=$(code -X PUT "$href" --data-binary 'HELLO')
[ "$c" = 400 ] || fail "mismatching LFS upload accepted ($c)"
[ -e "$T/root/objects/lfs/$oid" ] && fail "mismatching LFS content stored"
c=$(code -X PUT "${href%%sig=*}sig=$(printf '0%.0s' $(seq 64))" --data-binary 'hello')
[ "$c" = 403 ] || fail "unsigned LFS upload accepted ($c)"
c=$(code -X PUT "$href" --data-binary 'hello')
[ "$c" = 200 ] && [ -e "$T/root/objects/lfs/$oid" ] || fail "a correct LFS upload failed ($c)"
[ "$(commits "$U" org/base)" = 2 ] || fail "a hostile request created a commit"
ok "server refuses bad names, malformed/oversized JSON, unknown or mismatching LFS objects, bad signatures"
exit 0
