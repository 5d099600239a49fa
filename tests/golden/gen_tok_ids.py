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
