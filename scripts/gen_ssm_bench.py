#!/usr/bin/env python3
"""gen_ssm_bench.py OUTDIR [--models mamba-130m,zamba2-1.2b] [--tokenizer PATH | NAME=PATH]...
                  [--seed N] [--no-check]
Random-weight models at the real shapes of two published state-space models,
for benchmarks (not run by the tests). Each is written by save_pretrained
(safetensors) into OUTDIR/NAME-random:
  mamba-130m    state-spaces/mamba-130m-hf, F32 (as published): 24 layers,
                hidden 768, state 16, conv 4, expand 2 (1536), time_step_rank
                48, vocab 50280, no in/out_proj bias, tied embeddings,
                bos = eos = pad = 0; 129M parameters, 0.52 GB
  zamba2-1.2b   Zyphra/Zamba2-1.2B, BF16: 38 layers, hybrid (shared block +
                mamba) at 5, 11, 17, 23, 29, 35 over 1 shared block, hidden
                2048, 64 mamba heads x 64, 1 group, state 128, conv 4,
                chunk 256, 32 attention heads (MHA, head_dim 128 over the
                4096-wide [hidden, embeddings] input), MLP 8192 (gelu),
                adapters rank 128 on q/k/v and gate_up, RoPE theta 10000,
                vocab 32000, tied embeddings, bos 1, eos 2, pad 0;
                1.215B parameters (406 tensors), 2.4 GB
Where the values come from:
  mamba-130m: the config.json of state-spaces/mamba-130m-hf as copied by its
    fine-tunes on the Hub (e.g. monsoon-nlp/mamba130-proteinpretrain-quinoa,
    "_name_or_path": "state-spaces/mamba-130m-hf"): the values above, with
    layer_norm_epsilon 1e-5, residual_in_fp32 true, use_conv_bias true, no
    tie_word_embeddings key (PretrainedConfig's default, true).
  zamba2-1.2b: Zyphra/Zamba2-1.2B's config at revision 4f8e85cd (pre-
    transformers keys: hidden_size 2048, num_hidden_layers 38, the m/g layer
    pattern, mamba_headdim 64, state_size 128, ffn_hidden_size 8192,
    num_attention_heads = num_key_value_heads = 32, num_mem_blocks 1,
    lora_rank 128, use_shared_attention_lora true, use_mem_rope true,
    rope_theta 10000, rms_norm_eps 1e-5, vocab_size 32000) and a shape trace
    of the current config (revision 6b05bf29, transformers 5.14: n_groups 1,
    64 mamba heads, chunk 256, tie_word_embeddings true, 406 parameter
    tensors, 1.22B parameters - which this config reproduces exactly).
    hidden_act is not in either source: "gelu" is Zamba2Config's default and
    what Zyphra/Zamba2-2.7B-Instruct-v2's config.json says.
Zamba2's shared block is stored once, under the first hybrid layer
(model.layers.5.shared_transformer.*, adapters 0-5), as in the published
checkpoints (transformers 4.57.6's save_pretrained cannot save it unaided;
see tests/golden/gen_ssm_models.py).
The weights are random with SSM parameters in realistic ranges (A = -[1, 16],
softplus(dt_bias) in [1e-3, 1e-1], D ~ 1), nn.Linear-scale projections and
small embeddings, so that activations stay finite through every layer; a
16-token forward checks that (--no-check skips it).
--tokenizer copies a tokenizer (a tokenizer.json[.zst] file, or a directory
with tokenizer.json[.zst] and tokenizer_config.json / special_tokens_map.json)
into every model directory; NAME=PATH for one model only. Its largest id must
be below the model's vocab_size (e.g. tests/fixtures/tokenizers/gpt2 fits
mamba-130m, tests/fixtures/tokenizers/llama2 fits zamba2-1.2b).
Peak memory: about 2x the model (~5 GB for zamba2-1.2b). Run with .venv-torch."""
import argparse, json, math, os, shutil, subprocess, sys, time

import torch
from transformers import MambaConfig, MambaForCausalLM, Zamba2Config, Zamba2ForCausalLM
from transformers.modeling_utils import no_init_weights


def mamba_130m():
    return MambaForCausalLM, MambaConfig(
        vocab_size=50280, hidden_size=768, num_hidden_layers=24, state_size=16, conv_kernel=4, expand=2,
        time_step_rank=48, use_bias=False, use_conv_bias=True, hidden_act="silu", layer_norm_epsilon=1e-5,
        residual_in_fp32=True, initializer_range=0.1, bos_token_id=0, eos_token_id=0, pad_token_id=0,
        tie_word_embeddings=True), torch.float32


def zamba2_1_2b():
    hybrid = {5, 11, 17, 23, 29, 35}
    return Zamba2ForCausalLM, Zamba2Config(
        vocab_size=32000, hidden_size=2048, num_hidden_layers=38,
        layers_block_type=["hybrid" if i in hybrid else "mamba" for i in range(38)],
        mamba_d_state=128, mamba_d_conv=4, mamba_expand=2, mamba_ngroups=1, n_mamba_heads=64, chunk_size=256,
        intermediate_size=8192, hidden_act="gelu", num_attention_heads=32, num_key_value_heads=32,
        num_mem_blocks=1, use_shared_attention_adapter=True, adapter_rank=128, use_mem_rope=True,
        rope_theta=10000.0, rms_norm_eps=1e-5, max_position_embeddings=4096, use_conv_bias=True,
        add_bias_linear=False, bos_token_id=1, eos_token_id=2, pad_token_id=0,
        tie_word_embeddings=True), torch.bfloat16


MODELS = {"mamba-130m": mamba_130m, "zamba2-1.2b": zamba2_1_2b}


def fill(m):
    """every parameter (shared ones once) from its own distribution"""
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("A_log"):
                p.copy_(torch.log(torch.empty(p.shape).uniform_(1.0, 16.0)))
            elif n.endswith("dt_bias") or n.endswith("dt_proj.bias"):
                dt = torch.exp(torch.empty(p.shape).uniform_(math.log(1e-3), math.log(1e-1)))
                p.copy_(dt + torch.log(-torch.expm1(-dt)))
            elif n.endswith(".D"):
                p.normal_(1.0, 0.1)
            elif "conv1d.weight" in n:
                p.uniform_(-0.5, 0.5)
            elif n.endswith("bias"):
                p.zero_()
            elif "norm" in n:
                p.normal_(1.0, 0.1)
            elif "embed" in n or n == "lm_head.weight":
                p.normal_(0.0, 0.1)
            elif p.ndim == 2:
                k = 1.0 / math.sqrt(p.shape[1])
                p.uniform_(-k, k)
            else:
                raise SystemExit(f"no rule for {n} {tuple(p.shape)}")


def later_shared_copies(m):
    seen, later = set(), []
    for i, layer in enumerate(m.model.layers):
        st = getattr(layer, "shared_transformer", None)
        if st is not None:
            if id(st) in seen:
                later.append(rf"^model\.layers\.{i}\.shared_transformer\.")
            seen.add(id(st))
    return later


def tokenizer_max_id(path):
    raw = open(path, "rb").read()
    if path.endswith(".zst"):
        raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    j = json.loads(raw)
    ids = list(j["model"]["vocab"].values()) if isinstance(j["model"].get("vocab"), dict) else \
        range(len(j["model"].get("vocab") or []))
    return max([*ids, *(t["id"] for t in j.get("added_tokens", []))])


def copy_tokenizer(src, dst, vocab):
    files = []
    if os.path.isdir(src):
        for f in ("tokenizer.json", "tokenizer.json.zst", "tokenizer_config.json", "special_tokens_map.json"):
            if os.path.exists(os.path.join(src, f)):
                files.append(os.path.join(src, f))
    else:
        files.append(src)
    tj = [f for f in files if os.path.basename(f).startswith("tokenizer") and ".json" in f
          and "config" not in os.path.basename(f)]
    if not tj:
        raise SystemExit(f"--tokenizer {src}: no tokenizer.json[.zst]")
    top = tokenizer_max_id(tj[0])
    if top >= vocab:
        raise SystemExit(f"--tokenizer {src}: its ids reach {top}, the model's vocab_size is {vocab}")
    for f in files:
        name = os.path.basename(f)
        if f in tj:
            name = "tokenizer.json.zst" if f.endswith(".zst") else "tokenizer.json"
        shutil.copyfile(f, os.path.join(dst, name))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    ap.add_argument("outdir")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--tokenizer", action="append", default=[], help="PATH or NAME=PATH")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-check", action="store_true")
    a = ap.parse_args()
    names = a.models.split(",")
    for n in names:
        if n not in MODELS:
            raise SystemExit(f"unknown model {n} (known: {', '.join(MODELS)})")
    toks = {}
    for t in a.tokenizer:
        name, _, path = t.partition("=") if "=" in t and t.split("=", 1)[0] in MODELS else ("", "", t)
        for n in ([name] if name else names):
            toks[n] = path
    for n in names:
        t0 = time.time()
        torch.manual_seed(a.seed)
        cls, cfg, dt = MODELS[n]()
        with no_init_weights():
            m = cls._from_config(cfg, dtype=dt)
        m.tie_weights()  # post_init skips it under no_init_weights
        assert m.lm_head.weight is m.get_input_embeddings().weight
        fill(m)
        m.eval()
        if cls is Zamba2ForCausalLM:
            m._tied_weights_keys = ["lm_head.weight", *later_shared_copies(m)]
        d = os.path.join(a.outdir, f"{n}-random")
        os.makedirs(d, exist_ok=True)
        m.save_pretrained(d, safe_serialization=True)
        if n in toks:
            copy_tokenizer(toks[n], d, cfg.vocab_size)
        nparam = sum(p.numel() for p in m.parameters())
        msg = f"{n}: {nparam / 1e6:.1f}M parameters, {dt} -> {d} ({time.time() - t0:.0f} s"
        if not a.no_check:
            t1 = time.time()
            x = torch.randint(3, cfg.vocab_size, (1, 16), generator=torch.Generator().manual_seed(a.seed))
            for mod in m.modules():  # one chunk of 16, not 16 tokens padded to 256 (same result, 300x less work)
                if hasattr(mod, "chunk_size"):
                    mod.chunk_size = 16
            with torch.no_grad():
                lg = m(input_ids=x, use_cache=False).logits.float()
            if not torch.isfinite(lg).all():
                raise SystemExit(f"{n}: non-finite logits")
            msg += f"; 16-token forward {time.time() - t1:.1f} s, logits std {lg.std():.2f}"
        print(msg + ")", file=sys.stderr)
        del m


if __name__ == "__main__":
    main()
