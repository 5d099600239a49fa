#!/usr/bin/env bash
# asan_hostile.sh - hostile and unusual input against hxzoo built with
# ASan/UBSan (build/asan/hxzoo, made by `make test-asan` before the
# integration tests), each a regression test of a memory error found in
# review (issue "Hardening"):
#  - request targets made only of a query (`GET ?a`), of slashes: an HTTP
#    error, and the server stays up (it read past its path buffer);
#  - DELETE /api/repos/delete naming the repo type: the repo is deleted (the
#    type was read after its JSON was freed: 404, or an ASan report);
#  - a tokenizer.json whose added token has a negative id: a clear refusal
#    (it freed and wrote index -1);
#  - JSON numbers out of range (1e20, 1e300, 1e400) as LFS sizes in
#    preupload, LFS batch, commit, verify and as a completion's part
#    number: 400, and the server stays up (converting them to integers was
#    undefined behaviour, which UBSan's float-cast-overflow check reports).
. "$(dirname "$0")/lib/hub.sh"
asan=${HXZOO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/build/asan/hxzoo
# make test builds it first (test-asan): its absence is a failure, not a skip
[ -x "$asan" ] || fail "$asan not built (run make test-asan first)"
HXZOO=$asan
export ASAN_OPTIONS=abort_on_error=0:exitcode=66 UBSAN_OPTIONS=halt_on_error=1:exitcode=66
make_model "$T/src" 1000
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/m >/dev/null || fail "import"
start_server S "$T/root"
port=${URL_S##*:}
raw() { # request line -> the status line of the answer
  "$PY" - "$port" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(sys.argv[2].encode() + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.split(b"\r\n", 1)[0].decode(errors="replace"))
PY
}
for line in "GET ?a HTTP/1.1" "GET ?api/models HTTP/1.1" "GET //// HTTP/1.1" "GET /?x=1 HTTP/1.1"; do
  st=$(raw "$line") || fail "no answer to '$line' (server died?)"
  case $st in HTTP/1.1\ [45]??*) ;; *) fail "'$line' answered '$st'" ;; esac
  kill -0 "$PID_S" 2>/dev/null || fail "the ASan server died on '$line'"
done
st=$(raw "GET /api/models/org/m HTTP/1.1")
case $st in "HTTP/1.1 200"*) ;; *) fail "normal request after the hostile ones: '$st'" ;; esac
ok "hostile request targets answered with errors; the ASan/UBSan server stays up"

"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/gone >/dev/null 2>&1 || true
"$PY" - "$port" <<'PY' || fail "DELETE /api/repos/delete with a type"
import json, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Bearer hf_t", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
assert call("POST", "/api/repos/create", {"name": "gone", "organization": "org", "type": "model"}) in (200, 409)
assert call("GET", "/api/models/org/gone") == 200
st = call("DELETE", "/api/repos/delete", {"name": "gone", "organization": "org", "type": "model"})
assert st == 200, st
assert call("GET", "/api/models/org/gone") in (401, 404)
PY
kill -0 "$PID_S" 2>/dev/null || fail "the ASan server died on the delete"
ok "DELETE /api/repos/delete with a type deletes the repo"

"$PY" - "$port" <<'PY' || fail "JSON numbers out of range under UBSan (see above)"
import hashlib, json, os, sys, urllib.request, urllib.error
base = "http://127.0.0.1:%s" % sys.argv[1]
def call(method, url, body, ctype="application/json"):
    req = urllib.request.Request(url if url.startswith("http") else base + url, method=method, data=body,
                                 headers={"Authorization": "Bearer hf_t", "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def batch(size):
    return call("POST", "/org/m.git/info/lfs/objects/batch", json.dumps(
        {"operation": "upload", "transfers": ["basic", "multipart"], "objects": [{"oid": "a" * 64, "size": size}]}).encode(),
        "application/vnd.git-lfs+json")
for v in ("1e20", "1e300", "1e400", "-1e300"):
    st, b = call("POST", "/api/models/org/m/preupload/main", ('{"files":[{"path":"x.bin","size":%s}]}' % v).encode())
    assert st == 400 and b"files[0].size" in b, ("preupload", v, st, b)
    st, b = call("POST", "/org/m.git/info/lfs/objects/batch", ('{"operation":"upload","objects":[{"oid":"%s","size":%s}]}'
                 % ("a" * 64, v)).encode(), "application/vnd.git-lfs+json")
    assert st == 400 and b"objects[0].size" in b, ("batch", v, st, b)
    nd = ('{"key":"header","value":{"summary":"x"}}\n{"key":"lfsFile","value":{"path":"w.bin","oid":"%s","size":%s}}\n'
          % ("0" * 64, v)).encode()
    st, b = call("POST", "/api/models/org/m/commit/main", nd, "application/x-ndjson")
    assert st == 400 and b"size must be an integer" in b, ("commit", v, st, b)
st, b = batch(200 << 20)  # multipart with the default 64 MiB chunk: 4 parts
o = json.loads(b)["objects"][0]["actions"]
parts = [{"partNumber": 1e300, "etag": "x"}] + [{"partNumber": i, "etag": "x"} for i in (2, 3, 4)]
st, b = call("POST", o["upload"]["href"], json.dumps({"oid": "a" * 64, "parts": parts}).encode())
assert st == 400 and b"partNumber" in b, ("completion", st, b)
st, b = call("POST", o["verify"]["href"], b'{"oid":"%s","size":1e300}' % (b"a" * 64))
assert st == 400 and b"size must be" in b, ("verify", st, b)
PY
kill -0 "$PID_S" 2>/dev/null || fail "the ASan/UBSan server died on a JSON number out of range"
ok "JSON numbers out of range (1e20..1e400) answered 400; the ASan/UBSan server stays up"

tj=$T/tok
mkdir -p "$tj"
"$PY" - "$tj/tokenizer.json" <<'PY'
import json, sys
v = {"a": 0, "b": 1, "ab": 2}
t = {"version": "1.0", "added_tokens": [{"id": -1, "content": "<x>", "special": True}],
     "normalizer": None, "pre_tokenizer": None, "post_processor": None, "decoder": None,
     "model": {"type": "BPE", "vocab": v, "merges": ["a b"]}}
json.dump(t, open(sys.argv[1], "w"))
PY
"$HXZOO" tokenize "$tj/tokenizer.json" --text ab >"$T/tok.out" 2>&1; rc=$?
[ $rc = 5 ] && grep -q "added token '<x>' has id -1" "$T/tok.out" || fail "negative added-token id: rc=$rc $(tail -3 "$T/tok.out")"
ok "a negative added-token id is refused (exit 5) by the ASan/UBSan build"
exit 0
