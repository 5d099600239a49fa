#!/usr/bin/env bash
# hub_limits.sh - the server's limits and signed URLs (issue "Hardening",
# docs/HUB.md "Limits" and "Security"), each a regression test:
#  - a request with a body is checked at its headers: a bad, missing or
#    read-only token, or a Content-Length over the route's limit, is
#    answered before any of the body is sent (the test sends only the
#    headers: the server used to wait for the body);
#  - an NDJSON commit is parsed as it arrives: a 200 MB commit of regular
#    files goes through with the server's peak memory far below its size
#    (it used to buffer up to 512 MiB a connection); a line over the limit
#    and a body streamed past its route's limit are refused with 413;
#  - a cap on concurrent connections (further ones wait, they are not
#    refused);
#  - JSON numbers out of range (1e20, 1e400, -1, 1.5) answer 400 naming the
#    field (their conversion to an integer was undefined behaviour);
#  - LFS URLs are signed for one repo, operation and object and expire;
#    verify checks its signature (it answered anyone whether an object was
#    stored);
#  - two uploads of one multipart part at once both succeed (they shared
#    one temp file name and clobbered each other).
. "$(dirname "$0")/lib/hub.sh"
have_py || { echo "FAIL: python venv missing"; exit 1; }
printf 'hf_w w write org\nhf_r r read\nhf_x x write other\n' >"$T/tokens"
make_model "$T/src"
for r in a b; do "$HXZOO" -q serve --root "$T/root" --import "$T/src" "org/$r" >/dev/null || fail "import org/$r"; done
"$HXZOO" -q serve --root "$T/root" --import "$T/src" org/priv --private >/dev/null || fail "import org/priv"
start_server S "$T/root" --tokens "$T/tokens" --multipart-chunk 1000000
cat >"$T/h.py" <<'PY'
# helpers: raw HTTP over a socket (send the headers, maybe a body, shut
# the write side, read the answer to its end), and JSON requests
import hashlib, hmac, json, os, socket, sys, urllib.parse, urllib.request, urllib.error
URL = os.environ["URL"]
PORT = int(URL.rsplit(":", 1)[1])
def raw(head, body=b""):
    s = socket.create_connection(("127.0.0.1", PORT))
    try:
        s.sendall(head.encode() + b"\r\n" + body)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    data = b""
    while True:
        try:
            b = s.recv(65536)
        except OSError:
            break
        if not b:
            break
        data += b
    s.close()
    return data.decode(errors="replace")
def status(ans):
    return ans.split("\r\n", 1)[0]
def req(method, u, body=None, tok="hf_w", ctype="application/json"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    h = {"Content-Type": ctype}
    if tok:
        h["Authorization"] = "Bearer " + tok
    r = urllib.request.Request(u if u.startswith("http") else URL + u, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(r, timeout=120) as a:
            return a.status, a.read().decode(errors="replace"), a.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace"), e.headers
def batch(repo, oid, size, op="upload", transfers=("basic", "multipart")):
    st, b, _ = req("POST", "/%s.git/info/lfs/objects/batch" % repo,
                   {"operation": op, "transfers": list(transfers), "objects": [{"oid": oid, "size": size}]},
                   ctype="application/vnd.git-lfs+json")
    assert st == 200, (st, b)
    return json.loads(b)["objects"][0]
def expect(what, got, code, text=None):
    st, body = got[0], got[1]
    if st != code or (text and text not in body):
        print("FAIL: %s: HTTP %s %s (wanted %s%s)" % (what, st, body[:300], code, " with '%s'" % text if text else ""))
        sys.exit(1)
PY
export URL=$URL_S
pyrun() { PYTHONPATH=$T "$PY" - "$@"; }

# --- 1. limits: checked at the headers, before the body
ROOT=$T/root pyrun <<'PY' || fail "checks at the headers (see above)"
from h import *
big = 400 << 20  # announced, never sent
def head(method, path, tok, n, ctype="application/x-ndjson"):
    a = "Authorization: Bearer %s\r\n" % tok if tok else ""
    return ("%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n" % (method, path, a, ctype, n))
for tok, code, what in [("hf_bad", "401", "unknown token"), (None, "401", "no token"),
                        ("hf_r", "403", "read-only token"), ("hf_x", "403", "token of another namespace")]:
    st = status(raw(head("POST", "/api/models/org/a/commit/main", tok, big)))
    assert st.startswith("HTTP/1.1 " + code), "commit, %s: answered '%s' before its body, wanted %s" % (what, st, code)
st = status(raw(head("POST", "/api/models/org/priv/preupload/main", "hf_x", big, "application/json")))
assert st.startswith("HTTP/1.1 404"), "preupload of another's private repo: '%s'" % st
for path, n in [("/api/models/org/a/preupload/main", (4 << 20) + 1), ("/org/a.git/info/lfs/objects/batch", (1 << 20) + 1),
                ("/api/repos/create", (1 << 20) + 1), ("/api/models/org/a/paths-info/main", (8 << 20) + 1)]:
    ans = raw(head("POST", path, "hf_w", n, "application/json"))
    assert status(ans).startswith("HTTP/1.1 413") and "larger than the" in ans, "%s with %d bytes: '%s'" % (path, n, ans[-300:])
# an LFS PUT whose Content-Length is over the signed size: 413 at once;
# under it: the body is read (not stored) and answered 400
oid = hashlib.sha256(b"hello").hexdigest()
href = batch("org/a", oid, 5)["actions"]["upload"]["href"]
ans = raw("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (href[len(URL):], big))
assert status(ans).startswith("HTTP/1.1 413") and "signed object has 5 bytes" in ans, ans[-300:]
ans = raw("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n" % href[len(URL):], b"hell")
assert status(ans).startswith("HTTP/1.1 400") and "signed object has 5 bytes" in ans, ans[-300:]
# create_pr is refused before the streamed commit's lines are parsed: the
# file's blob is never stored
data = b"create_pr must not store me\n"
blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
import base64
nd = (json.dumps({"key": "header", "value": {"summary": "pr"}}) + "\n" +
      json.dumps({"key": "file", "value": {"path": "pr.txt", "encoding": "base64",
                                           "content": base64.b64encode(data).decode()}}) + "\n").encode()
st, b, _ = req("POST", "/api/models/org/a/commit/main?create_pr=1", nd, ctype="application/x-ndjson")
assert st == 400 and "pull requests are not supported" in b, (st, b)
assert not os.path.exists(os.path.join(os.environ["ROOT"], "objects", "git", blob)), "create_pr stored a blob"
print("ok - unauthenticated/unauthorized bodies and bodies over a route's limit answered at the headers; create_pr refused before any blob is stored")
PY
ok "checked at the headers: 401/403 for tokens, 413 for Content-Length over the route's limit"

# a 200 MB NDJSON commit of regular files (9 MiB each, under the 10 MiB
# LFS threshold) is parsed as it arrives: the server's peak memory stays far
# below the body (it used to keep the whole body, up to 512 MiB)
hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
start_server M "$T/root" --tokens "$T/tokens"
before=$(hwm "$PID_M")
URL=$URL_M pyrun "$T/big" <<'PY' || fail "a large streamed commit (see above)"
from h import *
import base64, http.client
n, files = 9 << 20, 16
def lines():
    yield (json.dumps({"key": "header", "value": {"summary": "many regular files"}}) + "\n").encode()
    for i in range(files):
        data = bytes([65 + i]) * n
        yield (json.dumps({"key": "file", "value": {"path": "big/f%02d.txt" % i, "encoding": "base64",
                                                     "content": base64.b64encode(data).decode()}}) + "\n").encode()
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
c.request("POST", "/api/models/org/b/commit/main", body=lines(), encode_chunked=True,
          headers={"Authorization": "Bearer hf_w", "Content-Type": "application/x-ndjson"})
r = c.getresponse()
body = r.read().decode()
assert r.status == 200, (r.status, body)
st, b, _ = req("GET", "/api/models/org/b/tree/main/big")
assert st == 200 and len(json.loads(b)) == files, (st, b[:200])
print("ok - %d regular files of %d MiB (%d MB of NDJSON) committed" % (files, n >> 20, files * (4 * n // 3) // 1000000))
PY
after=$(hwm "$PID_M")
if grep -qa -e __tsan_init -e __asan_init "$HXZOO"; then
  echo "note: sanitizer build (shadow memory): peak memory not checked ($before -> $after MiB)"
else
  [ "$after" -lt $((before + 100)) ] || fail "peak memory of the server went from $before to $after MiB for a 200 MB commit"
  ok "a 200 MB commit is streamed: the server's peak memory grew by $((after - before)) MiB"
fi

pyrun <<'PY' || fail "bodies over the limit while streaming (see above)"
from h import *
import http.client
# one NDJSON line over 16 MiB
hdr = json.dumps({"key": "header", "value": {"summary": "x"}}) + "\n"
line = '{"key":"file","value":{"path":"x.txt","content":"' + "A" * (17 << 20) + '"}}\n'
expect("a commit line of 17 MiB", req("POST", "/api/models/org/a/commit/main", (hdr + line).encode(),
       ctype="application/x-ndjson"), 413, "line 2 of the commit is longer than 16777216 bytes")
# a chunked body (no Content-Length) past its route's limit: counted, not kept, 413 at its end
def chunks():
    for _ in range(5):
        yield b" " * (1 << 20)
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
c.request("POST", "/api/models/org/a/preupload/main", body=chunks(), encode_chunked=True,
          headers={"Authorization": "Bearer hf_w", "Content-Type": "application/json"})
r = c.getresponse()
b = r.read().decode()
assert r.status == 413 and "4194304 bytes" in b, (r.status, b)
# more operations than a commit may have
ops = "".join('{"key":"deletedFile","value":{"path":"d/%d"}}\n' % i for i in range(100001))
expect("a commit of 100,001 operations", req("POST", "/api/models/org/a/commit/main", (hdr + ops).encode(),
       ctype="application/x-ndjson"), 413, "at most 100000 operations")
print("ok - a 17 MiB commit line, 100,001 operations and a chunked 5 MiB preupload answered 413")
PY
ok "an NDJSON line over 16 MiB, over 100,000 operations, a chunked body over its limit: 413"

# the cap on connections: with 2, a third connection waits (in the listen
# queue) until one closes, then it is answered
start_server C "$T/root" --max-connections 2
URL=$URL_C pyrun "$T/C.log" <<'PY' || fail "connection cap (see above)"
from h import *
get = b"GET /api/models/org/a HTTP/1.1\r\nHost: x\r\n\r\n"
def answer(s):  # one whole answer on a kept-alive connection
    d = b""
    while b"\r\n\r\n" not in d:
        k = s.recv(65536)
        assert k, "the server closed the connection before answering"
        d += k
    head, rest = d.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(rest) < n:
        k = s.recv(65536)
        assert k, "the server closed the connection mid-answer"
        rest += k
    return head.split(b"\r\n")[0].decode()
a, b = (socket.create_connection(("127.0.0.1", PORT)) for _ in range(2))
for s in (a, b):
    s.sendall(get)
    assert answer(s).startswith("HTTP/1.1 200")
log = open(sys.argv[1]).read()
assert "connection limit reached (2 connections)" in log, "no 'connection limit reached' in the log:\n" + log
c = socket.create_connection(("127.0.0.1", PORT))
c.sendall(get)
a.close()  # frees a place: c is accepted and answered
assert answer(c).startswith("HTTP/1.1 200")
print("ok - 2 connections held: the limit is reached; a third is answered once one closes")
PY
ok "connection cap (--max-connections 2): reached, further connections wait"
stop_server C

# --- 2. numbers are range-checked before they are converted
pyrun <<'PY' || fail "numeric range checks (see above)"
from h import *
for v in ("1e20", "1e400", "-1", "1.5", "1e308"):
    body = ('{"files":[{"path":"a.bin","size":%s,"sample":""}]}' % v).encode()
    expect("preupload size " + v, req("POST", "/api/models/org/a/preupload/main", body), 400, "files[0].size")
    body = ('{"operation":"upload","transfers":["basic"],"objects":[{"oid":"%s","size":%s}]}' % ("a" * 64, v)).encode()
    expect("LFS batch size " + v, req("POST", "/org/a.git/info/lfs/objects/batch", body,
                                      ctype="application/vnd.git-lfs+json"), 400, "objects[0].size")
    nd = ('{"key":"header","value":{"summary":"x"}}\n{"key":"lfsFile","value":{"path":"w.bin","algo":"sha256",'
          '"oid":"%s","size":%s}}\n' % ("0" * 64, v)).encode()
    expect("commit lfsFile size " + v, req("POST", "/api/models/org/a/commit/main", nd, ctype="application/x-ndjson"),
           400, "lfsFile w.bin: size must be an integer")
# completion partNumber and verify size (valid signatures)
data = os.urandom(2_500_000)
oid = hashlib.sha256(data).hexdigest()
o = batch("org/a", oid, len(data))
comp, vhref = o["actions"]["upload"]["href"], o["actions"]["verify"]["href"]
for v in ("1e300", "0", "4", "1.5"):
    body = ('{"oid":"%s","parts":[{"partNumber":%s,"etag":"x"},{"partNumber":2,"etag":"x"},'
            '{"partNumber":3,"etag":"x"}]}' % (oid, v)).encode()
    expect("completion partNumber " + v, req("POST", comp, body, tok=None), 400, "parts[0].partNumber")
expect("verify size 1e20", req("POST", vhref, ('{"oid":"%s","size":1e20}' % oid).encode()), 400, "size must be")
print("ok - sizes and part numbers out of range answered 400 naming the field")
PY
ok "JSON numbers out of range (1e20, 1e400, -1, 1.5): 400 naming the field"

# --- 3. signed LFS URLs: bound to repo, operation, object; expiring; verify checked
pyrun "$T/root/secret" <<'PY' || fail "signed URLs (see above)"
from h import *
import time
secret = open(sys.argv[1]).read()[:64]
data = b"signed content"
oid = hashlib.sha256(data).hexdigest()
o = batch("org/a", oid, len(data), transfers=("basic",))
up, vh = o["actions"]["upload"]["href"], o["actions"]["verify"]["href"]
assert "repo=model%2Forg%2Fa" in up and "&exp=" in up, up
def other_repo(u):
    return u.replace("repo=model%2Forg%2Fa", "repo=model%2Forg%2Fb")
expect("an upload URL of org/a used for org/b", req("PUT", other_repo(up), data, tok=None), 403, "does not match")
expect("a verify URL used as an upload URL", req("PUT", up.split("?")[0] + "?" + vh.split("?")[1], data, tok=None),
       403, "does not match")
expect("verify without a signature", req("POST", vh.split("?")[0], {"oid": oid, "size": len(data)}), 403, "missing")
expect("verify of org/a signed for org/b", req("POST", other_repo(vh), {"oid": oid, "size": len(data)}), 403)
expect("the upload", req("PUT", up, data, tok=None), 200)
expect("verify with its signature", req("POST", vh, {"oid": oid, "size": len(data)}), 200)
# verify is no existence oracle: org/priv's LFS object, no signature
st, b, _ = req("GET", "/api/models/org/priv/tree/main", tok="hf_w")
lfs = [e["lfs"]["oid"] for e in json.loads(b) if "lfs" in e][0]
expect("verify of a private object without a signature", req("POST", "/_lfs/verify/" + lfs, {"oid": lfs, "size": 1},
       tok=None), 403)
# a signature made with the server's key, but expired (or expiring too late)
def forged(op, route, exp):
    msg = "hxzoo-lfs-v2\n%s\nmodel/org/a\n%s\n%d\n0\n%d" % (op, oid, len(data), exp)
    sig = hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
    return "%s/_lfs/%s/%s?repo=model%%2Forg%%2Fa&size=%d&chunk=0&exp=%d&sig=%s" % (URL, route, oid, len(data), exp, sig)
now = int(time.time())
expect("a valid forged signature (the test knows the key)", req("POST", forged("verify", "verify", now + 600),
       {"oid": oid, "size": len(data)}), 200)
expect("an expired verify URL", req("POST", forged("verify", "verify", now - 1), {"oid": oid}), 403, "expired")
expect("an expired upload URL", req("PUT", forged("up", "upload", now - 3600), data, tok=None), 403, "expired")
expect("a URL valid for 30 days", req("POST", forged("verify", "verify", now + 30 * 86400), {"oid": oid}), 403,
       "expires too late")
# download URLs from the batch are bound to their repo too
dl = batch("org/a", oid, len(data), op="download")["actions"]["download"]["href"]
expect("a download URL", req("GET", dl, tok=None), 200)
expect("a download URL of org/a used for org/b", req("GET", other_repo(dl), tok=None), 403)
print("ok - signatures: repo, operation, object and expiry bound; verify signed")
PY
ok "LFS URLs bound to repo+operation+object, expiring; verify needs its signature"

# --- 4. two uploads of one multipart part at once: both succeed
pyrun "$T/root" <<'PY' || fail "concurrent uploads of one part (see above)"
from h import *
import threading
data = os.urandom(2_500_000)
oid = hashlib.sha256(data).hexdigest()
o = batch("org/a", oid, len(data))
hd = o["actions"]["upload"]["header"]
chunk = int(hd["chunk_size"])
parts = [hd[k] for k in sorted(k for k in hd if k.isdigit())]
etags, res = {}, []
def put(i, k):
    st, b, h = req("PUT", parts[i], data[i * chunk:(i + 1) * chunk], tok=None, ctype="application/octet-stream")
    res.append((i, k, st, b))
    etags.setdefault(i, []).append(h.get("ETag"))
ts = [threading.Thread(target=put, args=(0, k)) for k in range(8)] + \
     [threading.Thread(target=put, args=(i, 0)) for i in range(1, len(parts))]
[t.start() for t in ts]; [t.join() for t in ts]
bad = [r for r in res if r[2] != 200]
assert not bad, "uploads of one part at once failed: %s" % bad
done = False
for e in etags[0]:  # the last upload of part 1 to finish recorded its ETag
    body = {"oid": oid, "parts": [{"partNumber": 1, "etag": e}] +
            [{"partNumber": i + 1, "etag": etags[i][0]} for i in range(1, len(parts))]}
    st, b, _ = req("POST", o["actions"]["upload"]["href"], body, tok=None)
    if st == 200:
        done = True
        break
assert done, "no ETag of the 8 uploads of part 1 completes the object"
assert os.path.exists(os.path.join(sys.argv[1], "objects", "lfs", oid))
left = [f for f in os.listdir(os.path.join(sys.argv[1], "tmp")) if ".tmp." in f]
assert not left, left
print("ok - 8 uploads of one part at once: all 200, the object completes, no temp file left")
PY
ok "two (eight) uploads of one part at once do not clobber each other"
exit 0
