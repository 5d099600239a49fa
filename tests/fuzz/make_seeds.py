#!/usr/bin/env python3
"""make_seeds.py BUILD_DIR - (re)generate the committed seed corpora
tests/fuzz/corpus/<target>/ from the repository's fixtures and from the
answers of a local `hxzoo serve` (BUILD_DIR/hxzoo), deterministically except
for the server's commit ids and timestamps. Every seed is small (the largest
are two fixture tokenizer.json files, ~20 kB); the whole corpus stays a few
hundred kB. Run by hand after a format change; the fuzzers add their own
inputs to build/fuzz/corpus/ (git-ignored), not here.

Python 3 standard library plus the `zstd` and `curl` programs."""
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
MARK = b"--8<-- "


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*p):
    with open(os.path.join(*p), "rb") as f:
        return f.read()


def parts(first, named):
    """the fuzz container (tests/fuzz/util.h): first part, then NAME parts"""
    out = first
    for name, data in named:
        out += b"\n" + MARK + name.encode() + b"\n" + data
    return out


# ---- safetensors ------------------------------------------------------------
def st_load(path):
    b = read(path)
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", None)
    data = b[8 + n:]
    t = {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in h.items()}
    return t, meta


def st_bytes(tensors, meta=None, pad=0):
    h, off, blob = {}, 0, b""
    if meta is not None:
        h["__metadata__"] = meta
    for name in sorted(tensors):
        dt, shape, raw = tensors[name]
        h[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blob += raw
    hj = json.dumps(h, separators=(",", ":")).encode() + b" " * pad
    return struct.pack("<Q", len(hj)) + hj + blob


def smallest(tensors, k, maxb):
    keep = sorted((len(v[2]), n) for n, v in tensors.items() if len(v[2]) <= maxb)[:k]
    return {n: tensors[n] for _, n in keep}


def safetensors_seeds():
    models = ["tiny-llama3rope", "tiny-qwen2", "tiny-mamba", "tiny-mamba2", "tiny-zamba2", "stories260k"]
    for m in models:
        t, meta = st_load(os.path.join(FIX, m, "model.safetensors"))
        put("fuzz_st_header", m + ".safetensors", st_bytes(smallest(t, 4, 512), meta))
    # an HXQ module (codebook, indices, sidecar) as the codec writes it
    t, meta = st_load(os.path.join(FIX, "stories260k-hxq", "model.safetensors"))
    mod = "model.layers.0.self_attn.q_proj"
    hxq = {n: v for n, v in t.items() if n.startswith(mod + ".")}
    hxq["model.norm.weight"] = t["model.norm.weight"]
    put("fuzz_st_header", "hxq-module.safetensors", st_bytes(hxq, meta, pad=7))
    put("fuzz_hxq_decode", "hxq-module.safetensors", st_bytes(hxq, meta))
    nosc = {n: v for n, v in hxq.items() if "sidecar" not in n}
    nosc["model.layers.0.mlp.down_proj.weight"] = ("BF16", [2, 2], b"\x80\x3f\x00\x40\x00\x00\x80\xbf")
    put("fuzz_hxq_decode", "no-sidecar-and-dense.safetensors", st_bytes(nosc, meta))
    put("fuzz_st_header", "empty-header.safetensors", struct.pack("<Q", 2) + b"{}")
    put("fuzz_st_header", "zero-size.safetensors",
        st_bytes({"a": ("F16", [0, 3], b""), "b": ("BF16", [2], b"\x80\x3f\x00\x40"),
                  "c": ("I64", [1], b"\x07" + b"\x00" * 7), "d": ("BOOL", [3], b"\x01\x00\x01")},
                 {"format": "pt", "note": "x"}))

    # model directories: a sharded one (index + 2 shards) and a single file
    t, meta = st_load(os.path.join(FIX, "tiny-qwen2", "model.safetensors"))
    small = smallest(t, 4, 256)
    names = sorted(small)
    s1 = {n: small[n] for n in names[:2]}
    s2 = {n: small[n] for n in names[2:]}
    f1, f2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    index = {"metadata": {"total_size": sum(len(v[2]) for v in small.values())},
             "weight_map": {**{n: f1 for n in s1}, **{n: f2 for n in s2}}}
    put("fuzz_st_model", "sharded", parts(json.dumps(index, indent=2).encode(),
                                          [(f1, st_bytes(s1, meta)), (f2, st_bytes(s2, meta))]))
    put("fuzz_st_model", "single", parts(b"", [("model.safetensors", st_bytes(smallest(t, 3, 256), meta))]))
    return hxq, meta


# ---- JSON files ---------------------------------------------------------------
def json_seeds(hxq, meta):
    configs = ["stories260k", "stories260k-hxq", "tiny-llama3rope", "tiny-qwen2", "tiny-mamba", "tiny-mamba2",
               "tiny-zamba2"]
    for m in configs:
        c = read(FIX, m, "config.json")
        put("fuzz_config", m + ".json", c)
        put("fuzz_pyjson", m + ".json", c)
    put("fuzz_pyjson", "generation_config.json", read(FIX, "tiny-mamba2", "generation_config.json"))
    put("fuzz_pyjson", "python-tokens.json",
        '{"a": [0.0, Infinity, -Infinity], "NaN_key": "NaN Infinity", "b": {"c": -1e999}, "d": "\\"Infinity"}')
    put("fuzz_pyjson", "nan.json", '{"x": NaN}')

    # quantization_config + the header of its weights
    cfg = read(FIX, "stories260k-hxq", "config.json")
    put("fuzz_hxq_config", "stories260k-hxq", parts(cfg, [("model.safetensors", st_bytes(hxq, meta))]))
    c = json.loads(cfg)
    q = c["quantization_config"]
    q["compressed_modules"] = ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj"]
    q["quant_method"] = "helix"
    q["n_clusters"] = q.pop("codebook_size")
    put("fuzz_hxq_config", "helix-alias", parts(json.dumps(c).encode(), [("model.safetensors", st_bytes(hxq, meta))]))
    put("fuzz_hxq_config", "no-header.json", cfg)

    # the zoo manifest: the repo's and a one-model one
    man = read(ROOT, "zoo", "manifest.json")
    put("fuzz_manifest", "manifest.json", man)
    mj = json.loads(man)
    one = {"root": "/data", "models": [m for m in mj["models"] if m.get("name") == "stories260k"][:1]}
    put("fuzz_manifest", "one-model.json", json.dumps(one, indent=1))


# ---- tokenizers ------------------------------------------------------------------
def reduce_tokenizer(tok, keep):
    m = tok["model"]
    vocab = {k: v for k, v in m["vocab"].items() if v < keep}
    merges = []
    for mg in m["merges"]:
        a, b = mg if isinstance(mg, list) else mg.split(" ", 1)
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(mg)
    m["vocab"], m["merges"] = vocab, merges
    remap = {}
    for i, at in enumerate(tok.get("added_tokens") or []):
        if at["id"] >= keep:
            remap[at["id"]] = keep + i
            at["id"] = keep + i
    pp = json.dumps(tok.get("post_processor"))
    for old, new in remap.items():
        pp = pp.replace("[%d]" % old, "[%d]" % new)
    tok["post_processor"] = json.loads(pp)
    return tok


def tokenizer_seeds():
    put("fuzz_tokenizer", "stories260k.json", read(FIX, "stories260k", "tokenizer.json"))
    put("fuzz_tokenizer", "tiny-mamba.json", read(FIX, "tiny-mamba", "tokenizer.json"))
    for name, keep in (("gpt2", 400), ("qwen2", 400), ("llama2", 400)):
        raw = subprocess.run(["zstd", "-dc", os.path.join(FIX, "tokenizers", name, "tokenizer.json.zst")],
                             check=True, capture_output=True).stdout
        tok = reduce_tokenizer(json.loads(raw), keep)
        put("fuzz_tokenizer", name + "-400.json", json.dumps(tok, ensure_ascii=False, separators=(",", ":")))


# ---- the Hub: answers of hxzoo serve, and a model card from hxzoo build ----------
def curl(*args, data=None):
    cmd = ["curl", "-sS", "--max-time", "60"] + list(args) + (["--data-binary", "@-"] if data is not None else [])
    return subprocess.run(cmd, input=data, check=True, capture_output=True).stdout


def hub_seeds(build):
    hx = os.path.join(ROOT, build, "hxzoo")
    tmp = tempfile.mkdtemp(prefix="hxzoo-seeds.")
    srv = None
    try:
        src = os.path.join(tmp, "src")
        os.makedirs(os.path.join(src, "sub"))
        shutil.copy(os.path.join(FIX, "tiny-qwen2", "config.json"), src)
        with open(os.path.join(src, "model.safetensors"), "wb") as f:
            f.write(st_bytes(smallest(st_load(os.path.join(FIX, "tiny-qwen2", "model.safetensors"))[0], 4, 256)))
        with open(os.path.join(src, "sub", "a b.txt"), "w") as f:
            f.write("hello\n")
        with open(os.path.join(src, ".gitattributes"), "w") as f:
            f.write("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
        hub = os.path.join(tmp, "hub")
        subprocess.run([hx, "-q", "serve", "--root", hub, "--import", src, "org/m"], check=True)
        subprocess.run([hx, "-q", "serve", "--root", hub, "--import", os.path.join(FIX, "stories260k"),
                        "hxzoo-fixtures/stories260k"], check=True)
        pf = os.path.join(tmp, "port")
        srv = subprocess.Popen([hx, "serve", "--root", hub, "--port", "0", "--port-file", pf,
                                "--multipart-chunk", "5000000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(pf) and os.path.getsize(pf):
                break
            time.sleep(0.05)
        ep = "http://127.0.0.1:" + open(pf).read().strip()
        api = ep + "/api/models/org/m"

        # repo info, tree pages (Link: next), paths-info
        rev = curl(api + "/revision/main?expand=sha")
        put("fuzz_hub_answers", "revision.json", rev)
        tree = curl(api + "/tree/main?recursive=true&expand=false")
        put("fuzz_hub_tree", "tree.json", tree)
        p1 = curl(api + "/tree/main?recursive=true&expand=false&limit=2")
        p2 = curl(api + "/tree/main?recursive=true&expand=false&limit=2&cursor=2")
        put("fuzz_hub_tree", "two-pages", parts(p1, [("page2", p2)]))
        put("fuzz_hub_tree", "tree-expand.json", curl(api + "/tree/main?recursive=true&expand=true"))
        put("fuzz_hub_tree", "paths-info.json",
            curl("-X", "POST", "-H", "Content-Type: application/json", api + "/paths-info/main",
                 data=b'{"paths":["config.json","model.safetensors","sub"],"expand":true}'))
        # the cache's listing, as hxzoo download leaves it
        env = dict(os.environ, HF_ENDPOINT=ep, HF_HUB_CACHE=os.path.join(tmp, "cache"))
        subprocess.run([hx, "-q", "download", "org/m"], check=True, env=env, stdout=subprocess.DEVNULL)
        trees = os.path.join(tmp, "cache", "models--org--m", "trees")
        for fn in sorted(os.listdir(trees))[:1]:
            put("fuzz_hub_tree", "cached-tree.json", read(trees, fn))

        # preupload for the fuzz target's fixed files (tests/fuzz/fuzz_hub_answers.c)
        files = [("config.json", 50), ("model.safetensors", 3000000), ("sub/a b.txt", 0), ("big.bin", 12000000)]
        body = {"files": [{"path": p, "size": s, "sample": base64.b64encode(b"\0" * 8).decode()} for p, s in files]}
        put("fuzz_hub_answers", "preupload.json",
            curl("-X", "POST", "-H", "Content-Type: application/json", api + "/preupload/main",
                 data=json.dumps(body).encode()))
        # LFS batch for its fixed objects: basic, multipart (over the 5 MB chunk), empty
        objs = [("a" * 64, 3000000), ("0123456789abcdef" * 4, 12000000), ("c" * 64, 0)]
        batch = {"operation": "upload", "transfers": ["basic", "multipart"], "hash_algo": "sha256",
                 "ref": {"name": "main"}, "objects": [{"oid": o, "size": s} for o, s in objs]}
        put("fuzz_hub_answers", "lfs-batch.json",
            curl("-X", "POST", "-H", "Content-Type: application/vnd.git-lfs+json", ep + "/org/m.git/info/lfs/objects/batch",
                 data=json.dumps(batch).encode()))
        # a commit answer
        head = json.loads(rev)["sha"]
        nd = (json.dumps({"key": "header", "value": {"summary": "seed", "parentCommit": head}}) + "\n" +
              json.dumps({"key": "file", "value": {"path": "seed.txt", "content": "c2VlZAo=", "encoding": "base64"}}) + "\n")
        put("fuzz_hub_answers", "commit.json",
            curl("-X", "POST", "-H", "Content-Type: application/x-ndjson", api + "/commit/main", data=nd.encode()))
        put("fuzz_hub_answers", "error.json", curl(ep + "/api/models/org/none/revision/main"))

        # raw answers (head + body) for the HTTP layer
        put("fuzz_hub_http", "tree-link.http", curl("-i", api + "/tree/main?recursive=true&expand=false&limit=2"))
        put("fuzz_hub_http", "repo-not-found.http", curl("-i", ep + "/api/models/org/none/revision/main"))
        put("fuzz_hub_http", "entry-not-found.http", curl("-i", ep + "/org/m/resolve/main/nothing.txt"))
        put("fuzz_hub_http", "resolve-lfs.http", curl("-i", "-r", "0-7", ep + "/org/m/resolve/main/model.safetensors"))
        put("fuzz_hub_http", "resolve-head.http", curl("-I", ep + "/org/m/resolve/main/config.json"))
        put("fuzz_hub_http", "rate-limit.http",
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nRateLimit: \"api\";r=0;t=12\r\n"
            b"X-Error-Message: slow down\r\nContent-Length: 26\r\n\r\n{\"error\":\"rate limited\"}\n")
        put("fuzz_hub_http", "gated.http",
            b"HTTP/1.1 403 Forbidden\r\nX-Error-Code: GatedRepo\r\nContent-Type: application/json\r\n\r\n"
            b"{\"error\":\"Access to model org/g is restricted.\"}")

        # a model card as hxzoo build renders it (and the repo's card after the upload)
        env = dict(os.environ, HF_ENDPOINT=ep, HF_TOKEN="hf_seed", HF_HUB_CACHE=os.path.join(tmp, "cache"),
                   HXZOO_BUILD_ROOT=os.path.join(tmp, "zoo-build"))
        subprocess.run([hx, "-q", "build", "stories260k", "--no-upload", "--threads", "2"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        card = read(tmp, "zoo-build", "stories260k", "repo", "README.md")
        put("fuzz_card", "hxzoo-card.md", card)
    finally:
        if srv:
            srv.terminate()
            srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    put("fuzz_card", "original-style.md",
        "---\nlibrary_name: transformers\ntags:\n  - hxq\n  - helixcode\nlicense: apache-2.0\n"
        "base_model: Qwen/Qwen2.5-3B-Instruct\nmodel-index:\n- name: x\n  results: []\n---\n# x\n\n"
        "| Metric | Value |\n|---|---|\n| **Baseline PPL (WikiText-2)** | 8.1234 |\n| PPL delta | +0.69% |\n"
        "| context length | 2048 |\n| stride | 512 |\n"
        "```python\n| not | a row |\n```\n| `model.safetensors` | 42 | " + "ab" * 32 + " |\n")
    put("fuzz_card", "flow-list.md", "---\r\ntags: [a, 'b', \"c\"]\nlicense: 'mit'\nempty:\n---\nno table\n")


def names_seeds():
    """fields A NUL B NUL C NUL D (tests/fuzz/fuzz_hub_names.c)"""
    ga = open(os.path.join(ROOT, "hub", "server", "store.c")).read()  # the default .gitattributes lines
    lines = [l.split('"')[1].replace("\\n", "\n") for l in ga.split("store_default_gitattributes =", 1)[1]
             .split(";", 1)[0].splitlines() if l.strip().startswith('"')]
    seeds = {
        "lfs-attr": ["*.safetensors", "model.safetensors", "".join(lines), "aGVsbG8gd29ybGQ="],
        "sets": ["[!a-c]?/[]x]*.[^b]in", "sub/a b.txt", "/sub/*.txt -filter\n!x\n# c\n", "AA=="],
        "stars": ["*a*a*a*b", "a" * 300 + "/b", "", "===="],
        "names": ["sub/", "org/model-name_1.0", "refs/pr/1", "%2Fx%00%zz%41"],
        "commit": ["?", "0123456789abcdef0123456789abcdef01234567", "", ""],
    }
    for name, f in seeds.items():
        put("fuzz_hub_names", name, "\0".join(f))


def server_seeds():
    """HTTP requests to the in-process server (tests/fuzz/fuzz_hub_server.c;
    @NAME@ placeholders become signed paths there)"""
    def req(method, path, body=b"", token="hf_w", headers=()):
        if isinstance(body, str):
            body = body.encode()
        h = [f"{method} {path} HTTP/1.1", "Host: fuzz"]
        if token:
            h.append(f"Authorization: Bearer {token}")
        h += list(headers)
        if body or method in ("POST", "PUT"):
            h.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(h) + "\r\n\r\n").encode() + body
    ndjson = "\n".join(json.dumps(x) for x in [
        {"key": "header", "value": {"summary": "fuzz", "description": ""}},
        {"key": "file", "value": {"path": "sub/b.txt", "content": "aGVsbG8=", "encoding": "base64"}},
        {"key": "lfsFile", "value": {"path": "m.bin", "algo": "sha256", "oid": "ab" * 32, "size": 3000}},
        {"key": "deletedFile", "value": {"path": "sub/a.txt"}},
        {"key": "deletedFolder", "value": {"path": "old"}},
    ]) + "\n"
    pre = json.dumps({"files": [{"path": "x.safetensors", "size": 12, "sample": "aGVsbG8="},
                                {"path": "sub/y.txt", "size": 5, "sample": "aGVsbG8="}],
                      "gitIgnore": ["*.tmp", "[!a]*"], "gitAttributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n"})
    batch = json.dumps({"operation": "upload", "transfers": ["basic", "multipart"], "hash_algo": "sha256",
                        "objects": [{"oid": "cd" * 32, "size": 5000}, {"oid": "ef" * 32, "size": 10}]})
    bad_batch = json.dumps({"operation": "upload", "objects": [{"oid": "x", "size": 1e300}]})
    seeds = {
        "info": req("GET", "/api/models/org/pub", token=None),
        "info-rev-expand": req("GET", "/api/models/org/pub/revision/main?expand=siblings&expand=lastModified",
                               token="hf_r"),
        "info-private": req("GET", "/api/models/org/priv", token="hf_r"),
        "tree": req("GET", "/api/models/org/pub/tree/main/sub?recursive=1&expand=1&limit=1&cursor=1"),
        "paths-info": req("POST", "/api/models/org/pub/paths-info/main", "paths=sub&paths=config.json&expand=1",
                          headers=("Content-Type: application/x-www-form-urlencoded",)),
        "resolve-range": req("GET", "/org/pub/resolve/main/config.json", token=None,
                             headers=("Range: bytes=3-9,-4",)),
        "resolve-lfs-head": req("HEAD", "/org/pub/resolve/main/model.safetensors"),
        "refs-commits": req("GET", "/api/models/org/pub/refs?include_prs=1") +
                        req("GET", "/api/models/org/pub/commits/main?p=1&limit=1"),
        "commits-bad-page": req("GET", "/api/models/org/pub/commits/main?p=1e18&limit=9"),
        "create-delete": req("POST", "/api/repos/create", json.dumps({"name": "n", "organization": "org",
                                                                      "type": "dataset", "private": True})) +
                         req("DELETE", "/api/repos/delete", json.dumps({"name": "n", "organization": "org",
                                                                        "type": "dataset"})),
        "preupload": req("POST", "/api/models/org/pub/preupload/main", pre),
        "commit": req("POST", "/api/models/org/pub/commit/main", ndjson,
                      headers=("Content-Type: application/x-ndjson",)),
        "lfs-batch": req("POST", "/org/pub.git/info/lfs/objects/batch", batch,
                         headers=("Content-Type: application/vnd.git-lfs+json",)),
        "lfs-batch-bad-size": req("POST", "/org/pub.git/info/lfs/objects/batch", bad_batch,
                                  headers=("Content-Type: application/vnd.git-lfs+json",)),
        "basic-upload": req("PUT", "@BASIC@", b"b" * 100, token=None),
        "multipart": req("PUT", "@PART1@", b"m" * 1024, token=None) + req("PUT", "@PART2@", b"m" * 1024, token=None)
                     + req("PUT", "@PART3@", b"m" * 952, token=None)
                     + req("POST", "@COMPLETE@", json.dumps({"oid": "x", "parts": [
                         {"partNumber": i, "etag": "e"} for i in (1, 2, 3)]}), token=None)
                     + req("POST", "@VERIFY@", json.dumps({"oid": "x", "size": 3000})),
        "complete": req("POST", "@COMPLETE@", '{"oid": "x", "parts": [{"partNumber": 1, "etag": @ETAG1@___________________________}, '
                        '{"partNumber": 2, "etag": @ETAG2@___________________________}, '
                        '{"partNumber": 3, "etag": @ETAG3@___________________________}]}', token=None),
        "commit-inline": req("POST", "/api/models/org/pub/commit/main", "\n".join(json.dumps(x) for x in [
            {"key": "header", "value": {"summary": "s", "description": "d"}},
            {"key": "file", "value": {"path": "sub/c.txt", "content": "aGVsbG8=", "encoding": "base64"}},
            {"key": "file", "value": {"path": "x.safetensors", "content": "", "encoding": "base64"}}]),
                             headers=("Content-Type: application/x-ndjson",)),
        "lfs-get": req("GET", "@GET@", token=None, headers=("Range: bytes=0-10",)),
        "settings-gated": req("PUT", "/api/models/org/pub/settings", json.dumps({"gated": "auto", "private": False}),
                              headers=("Content-Type: application/json",)),
        "branch-tag": req("POST", "/api/models/org/pub/branch/dev", json.dumps({"startingPoint": "main"}))
                      + req("POST", "/api/models/org/pub/tag/main", json.dumps({"tag": "v1", "message": "m"})),
        "validate-yaml": req("POST", "/api/validate-yaml", json.dumps({"content": "---\nlicense: mit\n---\n",
                                                                       "repoType": "model"})),
        "query-only": b"GET ?a HTTP/1.1\r\nHost: x\r\n\r\n",
        "bad-token": req("GET", "/api/models/org/priv/tree/main", token="hf_nope"),
        "whoami": req("GET", "/api/whoami-v2"),
    }
    for name, data in seeds.items():
        put("fuzz_hub_server", name, data)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    hxq, meta = safetensors_seeds()
    json_seeds(hxq, meta)
    tokenizer_seeds()
    names_seeds()
    server_seeds()
    hub_seeds(build)
    total = 0
    for d in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, d))
        size = sum(os.path.getsize(os.path.join(OUT, d, f)) for f in files)
        total += size
        print("%-18s %3d files %8d bytes" % (d, len(files), size))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
