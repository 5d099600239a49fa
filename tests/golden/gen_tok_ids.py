#!/usr/bin/env python3
"""gen_tok_ids.py ROOT - golden token-id digests from the Python `tokenizers`
package for tests/integration/tok_wikitext.sh.

For each committed tokenizer (tests/fixtures/tokenizers/NAME/tokenizer.json,
or .json.zst, decompressed with the zstd command), and mistral-metaspace
(mistral's vocabulary in the layout transformers writes for legacy=False:
no normalizer, a Metaspace pre-tokenizer with prepend_scheme "first" and no
split; tests/integration/tok_wikitext.sh derives the same file), and texts
built from tests/fixtures/eval/wiki.test.raw:
  raw    the whole file, add_special_tokens=False
  helix  non-empty HF lines joined with "\\n\\n", add_special_tokens=True
  gptq   all HF lines joined with "\\n\\n", add_special_tokens=True
writes count and SHA-256 of the ids as little-endian int32 into
tests/golden/tok_ids.json. HF lines: the lines of wiki.test.raw each keeping
its trailing "\\n", whitespace-only lines replaced by "".

Also writes tests/golden/tok_vectors.inp and tok_vectors-NAME.out for the
tokenizers of VECTOR_TOKENIZERS: edge-case strings (runs of spaces, for
which GPT-NeoX has added tokens; tabs, newlines, Unicode that NFC changes,
special-token text, emoji, CJK, code) and seeded random mixes of them, with
their ids (add_special_tokens=False), in the llama.cpp test-vector layout
that tests/unit/test_tokenizer.c reads."""
import hashlib, json, os, random, subprocess, sys, time
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


def tokenizer_json(name):
    """The text of a tokenizer fixture; NAME-metaspace: NAME re-laid as above."""
    base = name[:-len("-metaspace")] if name.endswith("-metaspace") else name
    p = os.path.join(root, "tests/fixtures/tokenizers", base, "tokenizer.json")
    if os.path.exists(p):
        js = open(p, encoding="utf-8").read()
    else:
        js = subprocess.run(["zstd", "-dc", p + ".zst"], check=True, capture_output=True).stdout.decode("utf-8")
    if base == name:
        return js
    j = json.loads(js)
    j["normalizer"] = None
    j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    return json.dumps(j)


VECTOR_TOKENIZERS = ("neox", "mistral", "mistral-metaspace")
VECTOR_ATOMS = [" ", "  ", "   ", " " * 7, " " * 24, " " * 25, " " * 49, "\t", "\t\t", "\n", "\n\n", "\r\n",
                "\u00a0", "\u3000", "\u2009", "e\u0301", "\u00e9", "A\u030a", "\u212b", "\u1100\u1161", "\uac00",
                "\ufb01", "\u2460", "\u216b", "\u0130", "\u00df", "\u65e5\u672c\u8a9e", "\U0001f999",
                "\U0001f468\u200d\U0001f469\u200d\U0001f467", "'s", "'S", "'ll", "n't", "Hello", "world", " the",
                "12345", "3.14", "...", "<|endoftext|>", "<|padding|>", "<s>", "</s>", "<unk>", "def f(x):",
                "    return x", "\u2581", "\u2581\u2581", "\u0120", "\u0109", "\u200b", "\ufeff",
                "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac", " @-@ ", " = = ", "x" * 40]


def vector_texts():
    out = ["", " ", "\n", "a  b", "a   b", "Hello   world  ", " " * 30 + "x", "\t\tx\n\n  y",
           "    def f(x):\n        return x  # two  spaces\n", "a<|endoftext|>b", " <|endoftext|> ",
           "<s> x</s>", "e\u0301t\u00e9 \u212b \ufb01", "I'm don't you'll we're they've He'D",
           "3.14159 1,000,000 2024-01-01", " = = Gameplay = = \n"]
    out += VECTOR_ATOMS
    rnd = random.Random(20240801)
    for _ in range(200):
        out.append("".join(rnd.choice(VECTOR_ATOMS) if rnd.random() < 0.75 else
                           chr(rnd.choice([rnd.randrange(33, 127), rnd.randrange(0xa1, 0x3000),
                                           rnd.randrange(0x1f300, 0x1fa00)]))
                           for _ in range(rnd.randrange(1, 20))))
    return out


def write_vectors(name, tok):
    base = os.path.join(root, "tests/golden/tok_vectors")
    sep = "\n__ggml_vocab_test__\n"
    texts = [t for t in vector_texts() if sep not in t]
    with open(base + ".inp", "w", encoding="utf-8", newline="") as f:
        f.write("".join(t + sep for t in texts))
    with open(base + "-" + name + ".out", "w", encoding="utf-8", newline="") as f:
        for t in texts:
            f.write("".join(" %d" % i for i in tok.encode(t, add_special_tokens=False).ids) + "\n")


res = {}
for name in ("gpt2", "llama2", "qwen2", "neox", "mistral", "mistral-metaspace"):
    tok = Tokenizer.from_str(tokenizer_json(name))
    if name in VECTOR_TOKENIZERS:
        write_vectors(name, tok)
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
