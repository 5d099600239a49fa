#!/usr/bin/env python3
"""gen_tiny_models.py ROOT - two tiny random-weight models that exercise the
forward-pass features the real fixtures do not, with golden logits from
transformers (fp32, CPU):
  tests/fixtures/tiny-qwen2      Qwen2ForCausalLM: q/k/v biases, untied
                                 lm_head, rope_theta 1e6, GQA 4/2, BF16 weights
  tests/fixtures/tiny-llama3rope LlamaForCausalLM: rope_scaling llama3
                                 (factor 8, original_max_position_embeddings 32),
                                 untied, F16 weights
Golden: tests/golden/logits_tiny-*.json (all logits of 48 fixed ids).
Run once with .venv-torch; outputs committed (about 0.3 MB)."""
import json, os, sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

root = sys.argv[1] if len(sys.argv) > 1 else "."
torch.manual_seed(1234)
common = dict(vocab_size=384, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
models = {
    "tiny-qwen2": (Qwen2ForCausalLM, Qwen2Config(rope_theta=1e6, **common), torch.bfloat16),
    "tiny-llama3rope": (LlamaForCausalLM, LlamaConfig(
        rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                           "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
        **common), torch.float16),
}
ids = torch.randint(3, 384, (48,)).tolist()
for name, (cls, cfg, dt) in models.items():
    m = cls(cfg)
    with torch.no_grad():  # larger-than-init weights so that errors show
        for n, p in m.named_parameters():
            if p.ndim == 2:
                p.mul_(3.0)
            elif "bias" in n:
                p.normal_(0, 0.5)
            else:
                p.normal_(1.0, 0.2)
    d = os.path.join(root, "tests/fixtures", name)
    m.to(dt).save_pretrained(d, safe_serialization=True)
    m2 = cls.from_pretrained(d, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        lg = m2(input_ids=torch.tensor([ids])).logits[0].float().numpy()
    rows = [{"pos": p, "idx": list(range(lg.shape[1])), "val": [float(x) for x in lg[p]]}
            for p in range(len(ids))]
    with open(os.path.join(root, "tests/golden", f"logits_{name}.json"), "w") as f:
        json.dump({"model": name, "ids": ids, "vocab": lg.shape[1], "rows": rows}, f)
    print(name, lg.shape, file=sys.stderr)
