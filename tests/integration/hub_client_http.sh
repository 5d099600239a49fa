#!/usr/bin/env bash
# hub_client_http.sh - the client's HTTP behaviour seen from a fake Hub
# (Python http.server) that logs every request: file bytes are asked for
# with Accept-Encoding: identity; a 200 answer to a Range request (a server
# that ignores Range) restarts the file from byte 0, for the chunks of a
# large file too; a 403 is asked once and a 500 again; after a 303 to a
# POST the client sends a GET without the POST's body, and a retry after
# that redirect repeats the original POST.
. "$(dirname "$0")/lib/hub.sh"
have_py || { echo "FAIL: python venv missing"; exit 1; }
export HXZOO_RETRIES=2
cat >"$T/fake.py" <<'PY'
import json, sys, hashlib, os
import fakehub
log_path, mode = sys.argv[1] + ".log", sys.argv[2]
C = "c" * 40
BIG = 64 * 1024 * 1024 + 1000  # >= 64 MiB: fetched as parallel Range chunks
big = (bytes(range(256)) * (BIG // 256 + 1))[:BIG]
small = b"small file body\n" * 300
def sha1(b): return hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()
big256 = hashlib.sha256(big).hexdigest()
ptr = b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (big256.encode(), BIG)
files = {"big.bin": big, "s.txt": small}
tree = [{"type": "file", "path": "s.txt", "size": len(small), "oid": sha1(small)},
        {"type": "file", "path": "big.bin", "size": BIG, "oid": sha1(ptr),
         "lfs": {"oid": big256, "size": BIG, "pointerSize": len(ptr)}}]
if mode in ("small", "403file"):
    tree = tree[:1]
state = {"n": 0}
class H(fakehub.Handler):
    protocol_version = "HTTP/1.1"
    def record(self, body_len):
        e = {"m": self.command, "p": self.path, "range": self.headers.get("Range"),
             "ae": self.headers.get("Accept-Encoding"), "ct": self.headers.get("Content-Type"),
             "cl": self.headers.get("Content-Length"), "body": body_len}
        with open(log_path, "a") as f: f.write(json.dumps(e) + "\n")
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        self.record(len(body))
        p = self.path
        if mode == "303":
            if p == "/api/repos/create" and self.command == "POST":
                return self.send(303, b"", extra=[("Location", "/api/created")])
            if p == "/api/created":
                state["n"] += 1
                if state["n"] == 1:  # busy once: the client retries the whole request
                    return self.send(503, b'{"error":"busy"}')
                return self.send(200, b'{"url":"http://x/org/m","name":"m"}')
            return self.send(403, b'{"error":"stop here"}', extra=[("X-Error-Message", "stop here")])
        if mode == "403" and "/revision/" in p:
            return self.send(403, b'{"error":"Forbidden"}', extra=[("X-Error-Message", "Forbidden")])
        if mode == "500" and "/revision/" in p:
            return self.send(500, b'{"error":"Internal Error"}')
        if "/revision/" in p:
            return self.send(200, json.dumps({"id": "org/m", "sha": C}).encode())
        if "/tree/" in p:
            return self.send(200, json.dumps(tree).encode())
        if "/resolve/" in p:
            if mode == "403file":
                return self.send(403, b'{"error":"Storage limit exceeded"}',
                                 extra=[("X-Error-Message", "Storage limit exceeded")])
            name = p.split("/resolve/", 1)[1].split("/", 1)[1]
            # a server that ignores Range: always the whole file with 200
            return self.send(200, files[name], "application/octet-stream", [("X-Repo-Commit", C)])
        self.send(404, b'{"error":"nope"}')
    do_GET = do_POST = do_PUT = do_HEAD = handle_any
fakehub.serve(H, sys.argv[1])
PY
fake() {  # fake MODE -> FAKE_URL; the request log is $T/fake.port.log
  rm -f "$T/fake.port.log"
  start_fake "$T/fake.py" "$T/fake.port" "$1"
}
q() { "$PY" - "$T/fake.port.log" "$@"; }  # q ARGS <<'PY' ... (reads the log as L)

# 1. a server that answers every Range request with the whole file (200)
fake norange
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c1 "$HXZOO" -q download org/m >"$T/out" 2>"$T/err" ||
  fail "download from a server that ignores Range: $(cat "$T/err")"
q "$(cat "$T/out")" <<'PY' || fail "Range / Accept-Encoding requests"
import json, sys, hashlib, os
L = [json.loads(l) for l in open(sys.argv[1])]
big = [e for e in L if e["p"].endswith("/big.bin")]
ranged = [e for e in big if e["range"]]
assert len(ranged) >= 2, big                      # the chunks asked for ranges ...
assert all(e["ae"] == "identity" for e in ranged), ranged
whole = [e for e in big if not e["range"]]
assert len(whole) == 1, big                       # ... then the file once, from byte 0
assert big.index(whole[0]) == len(big) - 1, big
assert all(e["ae"] == "identity" for e in L if "/resolve/" in e["p"]), L
p = os.path.join(sys.argv[2], "big.bin")
BIG = 64 * 1024 * 1024 + 1000
assert os.path.getsize(p) == BIG
print("chunked file fetched whole after", len(ranged), "ranged answers of 200")
PY
ok "chunks answered 200 (Range ignored): the file is fetched again from byte 0; ranges ask for identity"

# a partial single-stream file resumed with Range, answered 200: restarted at 0
fake small
oid=$("$PY" -c 'import hashlib; b=b"small file body\n"*300; print(hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest())')
mkdir -p "$T/c2/models--org--m/blobs"
printf 'small file body\nsmall file' >"$T/c2/models--org--m/blobs/$oid.incomplete"
snap=$(HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c2 "$HXZOO" -q download org/m 2>"$T/err") ||
  fail "resume against a server that ignores Range: $(cat "$T/err")"
cmp -s "$snap/s.txt" <("$PY" -c 'import sys; sys.stdout.buffer.write(b"small file body\n"*300)') ||
  fail "resumed file content (a whole body appended at an offset?)"
q <<'PY' || fail "resume requests"
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if "/resolve/" in l]
assert [bool(e["range"]) for e in L] == [True, False], L
assert L[0]["range"].startswith("bytes=26-") and L[0]["ae"] == "identity", L
PY
ok "a resumed file answered 200 to its Range restarts from byte 0"

# 2. retries: a 403 is not asked again (file or API); a 500 is
fake 403
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c3 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
[ $rc = 8 ] && grep -q "Forbidden" "$T/err" || fail "403 on the revision: rc=$rc $(cat "$T/err")"
[ "$(grep -c /revision/ "$T/fake.port.log")" = 1 ] || fail "a 403 was retried: $(cat "$T/fake.port.log")"
kill "${SERVER_PIDS[-1]}"
fake 403file
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c5 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
[ $rc = 8 ] && grep -q "Storage limit exceeded" "$T/err" || fail "403 on a file: rc=$rc $(cat "$T/err")"
[ "$(grep -c /resolve/ "$T/fake.port.log")" = 1 ] || fail "a 403 file answer was retried: $(cat "$T/fake.port.log")"
kill "${SERVER_PIDS[-1]}"
fake 500
HF_ENDPOINT=$FAKE_URL HF_HUB_CACHE=$T/c4 "$HXZOO" -q download org/m >/dev/null 2>"$T/err"; rc=$?
[ $rc = 7 ] && [ "$(grep -c /revision/ "$T/fake.port.log")" = 3 ] || fail "500: rc=$rc, $(grep -c /revision/ "$T/fake.port.log") requests (want 1 + HXZOO_RETRIES=2)"
ok "403 (API and file) asked once, 500 retried (HXZOO_RETRIES)"

# 3. 303 after a POST: GET without the body; a retry repeats the POST
fake 303
mkdir -p "$T/up" && printf 'x\n' >"$T/up/a.txt"
HF_ENDPOINT=$FAKE_URL HF_TOKEN=hf_x "$HXZOO" -q upload org/m "$T/up" --no-progress >/dev/null 2>"$T/err"
rc=$?
[ $rc = 8 ] && grep -q "stop here" "$T/err" || fail "upload did not get past the redirected create (rc=$rc): $(cat "$T/err")"
q <<'PY' || fail "303: $(cat "$T/fake.port.log")"
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
seq = [(e["m"], e["p"]) for e in L[:4]]
assert seq == [("POST", "/api/repos/create"), ("GET", "/api/created")] * 2, seq
for e in L[:4]:
    if e["m"] == "GET":
        assert e["body"] == 0 and e["cl"] in (None, "0") and e["ct"] is None, e
    else:
        assert e["body"] > 0 and e["ct"] == "application/json", e
PY
ok "303 to a POST: GET without body or Content-Type; the retry starts again with the POST"
exit 0
