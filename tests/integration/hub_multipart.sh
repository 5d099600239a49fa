#!/usr/bin/env bash
# hub_multipart.sh - the server hashes multipart LFS uploads once, in part
# order, as the parts arrive; this drives the LFS batch/part/complete API
# by hand to check that it still refuses wrong content and accepts right
# content however the parts come: in order, in reverse order, a part sent
# twice (the fallback that hashes the assembled file), concurrently, and
# content whose SHA-256 or size does not match. Then a chunked download
# must be hashed while it arrives.
. "$(dirname "$0")/lib/hub.sh"
have_py || { echo "FAIL: no huggingface_hub in $PY"; exit 1; }
# verbose, to see which hashing path each completion took
printf '#!/bin/sh\nexec "%s" -v "$@"\n' "$HXZOO" >"$T/hxv"; chmod +x "$T/hxv"
HXZOO=$T/hxv start_server M "$T/root" --multipart-chunk 1000000
"$PY" - "$URL_M" "$T/root" <<'PY' || fail "multipart cases (see above)"
import hashlib, json, os, sys, threading, urllib.request, urllib.error
url, root = sys.argv[1], sys.argv[2]
def req(method, u, body=None, ctype="application/json"):
    r = urllib.request.Request(u, data=body, method=method, headers={"Content-Type": ctype, "Authorization": "Bearer hf_t"})
    try:
        with urllib.request.urlopen(r, timeout=60) as a:
            return a.status, a.read(), a.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
st, _, _ = req("POST", url + "/api/repos/create", json.dumps({"name": "mp", "organization": "org"}).encode())
assert st in (200, 409), st
def batch(oid, size):
    st, b, _ = req("POST", url + "/org/mp.git/info/lfs/objects/batch", json.dumps(
        {"operation": "upload", "transfers": ["basic", "multipart"], "objects": [{"oid": oid, "size": size}]}).encode(),
        "application/vnd.git-lfs+json")
    assert st == 200, (st, b)
    o = json.loads(b)["objects"][0]
    up = o["actions"]["upload"]
    hd = up["header"]
    chunk = int(hd["chunk_size"])
    parts = [hd[k] for k in sorted(k for k in hd if k.isdigit())]
    return up["href"], chunk, parts
def stored(oid):
    return os.path.exists(os.path.join(root, "objects", "lfs", oid))
def run(name, data, claimed, order, dup=None, threads=False):
    oid = hashlib.sha256(claimed).hexdigest()
    href, chunk, parts = batch(oid, len(claimed))
    etags = {}
    def put(i):
        st, b, h = req("PUT", parts[i], data[i * chunk:(i + 1) * chunk], "application/octet-stream")
        assert st == 200, (name, i, st, b)
        etags[i] = h["ETag"]
    if threads:
        ts = [threading.Thread(target=put, args=(i,)) for i in order]
        [t.start() for t in ts]; [t.join() for t in ts]
    else:
        for i in order:
            put(i)
    if dup is not None:
        put(dup)
    body = {"oid": oid, "parts": [{"partNumber": i + 1, "etag": etags[i]} for i in range(len(parts))]}
    st, b, _ = req("POST", href, json.dumps(body).encode())
    return st, stored(oid)
big = os.urandom(5_500_000)  # 6 parts of 1 MB (last one short)
n = 6
for name, kw in [("in order", dict(order=range(n))),
                 ("reverse order", dict(order=reversed(range(n)))),
                 ("a part sent twice", dict(order=range(n), dup=2)),
                 ("concurrent parts", dict(order=range(n), threads=True))]:
    data = os.urandom(len(big))
    st, ok = run(name, data, data, **kw)
    assert st == 200 and ok, (name, st, ok)
    print("ok - multipart", name, "accepted")
# wrong content of the right size: refused, not stored
for name, kw in [("in order", dict(order=range(n))), ("reverse order", dict(order=reversed(range(n)))),
                 ("part sent twice", dict(order=range(n), dup=0))]:
    claimed = os.urandom(len(big))
    data = bytearray(claimed); data[len(data) // 2] ^= 1
    st, ok = run("bad " + name, bytes(data), claimed, **kw)
    assert st == 400 and not ok, ("bad " + name, st, ok)
    print("ok - multipart with one flipped byte (%s) refused" % name)
# a part body of the wrong size is refused at once
claimed = os.urandom(2_500_000)
oid = hashlib.sha256(claimed).hexdigest()
href, chunk, parts = batch(oid, len(claimed))
st, _, _ = req("PUT", parts[0], claimed[:chunk - 1], "application/octet-stream")
assert st == 400, st
print("ok - short part refused")
PY
grep -q "hashed in order while receiving" "$T/M.log" || fail "no upload was hashed in order"
grep -q "hashing the assembled file" "$T/M.log" || fail "the fallback path was not exercised"
ok "multipart: in-order hashing, fallback, and refusal of wrong content"

# the client side: an upload with hxzoo (multipart, hashed in order by the
# server) and a download of the chunked file hashed while it arrives (no
# pass over the file afterwards), content intact
mkdir -p "$T/big"
head -c 150000000 /dev/urandom >"$T/big/big.bin"
export HF_ENDPOINT=$URL_M HF_TOKEN=hf_t
"$HXZOO" -q upload org/big "$T/big" --no-progress >/dev/null || fail "upload"
HF_HUB_CACHE=$T/c "$HXZOO" -v download org/big --no-progress >"$T/dl.out" 2>"$T/dl.err" || fail "download"
grep -q "big.bin: hashed in order while transferring" "$T/dl.err" || { cat "$T/dl.err"; fail "chunked download not hashed in order"; }
grep -q "hashing the whole file" "$T/dl.err" && fail "a second pass over the file"
cmp "$T/big/big.bin" "$(tail -1 "$T/dl.out")/big.bin" || fail "downloaded content differs"
ok "chunked download hashed in order while transferring; content intact"
exit 0
