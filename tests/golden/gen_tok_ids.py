#!/usr/bin/env python3
"""gen_tok_ids.py ROOT - golden token-id digests from the Python `tokenizers`
package for tests/integration/tok_wikitext.sh.

For each committed tokenizer (tests/fixtures/tokenizers/NAME/tokenizer.json,
or .json.zst, decompressed with the zstd command) and texts built from
tests/fixtures/eval/wiki.test.raw:
  raw    the whole file, add_special_tokens=False
  helix  non-empty HF lines joined with "\\n\\n", add_special_tokens=True
  gptq   all HF lines joined with "\\n\\n", add_special_tokens=True
writes count and SHA-256 of the ids as little-endian int32 into
tests/golden/tok_ids.json. HF lines: the lines of wiki.test.raw each keeping
its trailing "\\n", whitespace-only lines replaced by ""."""
import hashlib, json, os, subprocess, sys, time
import numpy as np
from tokenizers import Tokenizer

root = sys.argv[1] if len(sys.argv) > 1 else "."
raw = open(os.path.join(root, "tests/fixtures/eval/wiki.test.raw"), encoding="utf-8", newline="").read()
lines = [l if l.strip() else "" for l in raw.splitlines(keepends=True)]
texts = {
    "raw": (raw, False),
    "helix": ("\n\n".join([l for l in lines if l.strip()]), True),
    "gptq": ("\n\n".join(lines), True),
}


def sha_ids(ids):
    return hashlib.sha256(np.asarray(ids, dtype="<i4").tobytes()).hexdigest()


def protocols(tok):
    """Token and window counts of each protocol, computed with the loops of
    the original evaluation code (docs: hxq-format-reference.md section 4)."""
    out = {}
    # helix: eval_ppl_cpu.py, n_tokens=8192, seq_len=2048
    text = texts["helix"][0]
    tok.enable_truncation(max_length=8193)
    ids = tok.encode(text, add_special_tokens=True).ids
    tok.no_truncation()
    n_eval, windows = 0, 0
    for i in range(0, len(ids) - 1, 2048):
        chunk = ids[i:min(i + 2048 + 1, len(ids))]
        windows += 1
        n_eval += len(chunk) - 1
        if n_eval >= 8192:
            break
    out["helix"] = {"text_sha256": hashlib.sha256(text.encode()).hexdigest(), "ids": len(ids),
                    "ids_sha256": sha_ids(ids), "windows": windows, "scored": n_eval}
    # gptq: all lines, nsamples = numel // 2048, each scoring 2047 shifted targets
    text = texts["gptq"][0]
    ids = tok.encode(text, add_special_tokens=True).ids
    ns = len(ids) // 2048
    out["gptq"] = {"text_sha256": hashlib.sha256(text.encode()).hexdigest(), "ids": len(ids),
                   "ids_sha256": sha_ids(ids), "windows": ns, "scored": ns * 2047}
    # sliding: HF perplexity docs loop, max_length 2048, stride 512
    prev_end, windows, scored = 0, 0, 0
    for begin in range(0, len(ids), 512):
        end = min(begin + 2048, len(ids))
        trg = end - prev_end
        windows += 1
        scored += min(trg, end - begin - 1)
        prev_end = end
        if end == len(ids):
            break
    out["sliding"] = {"ids": len(ids), "windows": windows, "scored": scored}
    return out


res = {}
for name in ("gpt2", "llama2", "qwen2"):
    d = os.path.join(root, "tests/fixtures/tokenizers", name)
    p = os.path.join(d, "tokenizer.json")
    if os.path.exists(p):
        tok = Tokenizer.from_file(p)
    else:
        js = subprocess.run(["zstd", "-dc", p + ".zst"], check=True, capture_output=True).stdout
        tok = Tokenizer.from_str(js.decode("utf-8"))
    res[name] = {}
    res[name]["protocols"] = protocols(tok)
    for tname, (text, special) in texts.items():
        t0 = time.time()
        ids = tok.encode(text, add_special_tokens=special).ids
        dt = time.time() - t0
        b = np.asarray(ids, dtype="<i4").tobytes()
        res[name][tname] = {"count": len(ids), "sha256": hashlib.sha256(b).hexdigest(),
                            "first": ids[:8], "seconds": round(dt, 3)}
        print(name, tname, len(ids), round(dt, 3), file=sys.stderr)
with open(os.path.join(root, "tests/golden/tok_ids.json"), "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
# flat copy for the shell test: "TOKENIZER WHAT FIELD VALUE"
with open(os.path.join(root, "tests/golden/tok_ids.txt"), "w") as f:
    for name, r in res.items():
        for what in ("raw", "helix", "gptq"):
            f.write(f"{name} text:{what} ids {r[what]['count']}\n")
            f.write(f"{name} text:{what} ids_sha256 {r[what]['sha256']}\n")
        for proto, d in r["protocols"].items():
            for k, v in d.items():
                f.write(f"{name} protocol:{proto} {k} {v}\n")
