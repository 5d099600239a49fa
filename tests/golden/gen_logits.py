#!/usr/bin/env python3
"""gen_logits.py MODEL_DIR OUT.json TEXT [--hxq] - golden logits from
transformers (float32, CPU) for tests/tools/check_logits.c.

The text is encoded with the model's tokenizer (add_special_tokens=True).
For small vocabularies every logit of every position is stored; otherwise,
for 4 positions, the top-32 logits plus every 97th vocabulary entry.
--hxq: MODEL_DIR is an HXQ directory, loaded by the original loader
(helix-substrate 0.3.3's HF quantizer, CPU naive path, float32).
Run once with .venv-torch; the outputs are committed."""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hxqlib  # noqa: E402 (tests/hxqlib.py: the golden format)

model_dir, out, text = sys.argv[1], sys.argv[2], sys.argv[3]
if "--hxq" in sys.argv:
    import helix_substrate  # noqa: F401  (registers the hxq quantizer)
torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained(model_dir)
ids = tok(text, add_special_tokens=True).input_ids
model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
model.eval()
if model.config.model_type == "zamba2" and len(ids) >= model.config.chunk_size:
    # transformers 4.57 Zamba2MambaMixer.torch_forward sums the inter-chunk
    # state recurrence over the wrong axis: wrong beyond one chunk
    sys.exit("%s: %d ids, not shorter than chunk_size %d: transformers' Zamba2 would be wrong"
             % (model_dir, len(ids), model.config.chunk_size))
with torch.no_grad():
    logits = model(input_ids=torch.tensor([ids])).logits[0].float().numpy()
n, V = logits.shape
hxqlib.write_golden(out, model_dir.rstrip("/").split("/")[-1], ids, logits, text)
print(out, n, V, file=sys.stderr)
