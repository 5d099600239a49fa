/* model.h - the CPU forward pass of Llama- and Qwen2-family causal LMs
 * (RMSNorm, RoPE with rope_theta / rope_scaling, grouped-query attention,
 * SwiGLU, optional q/k/v/o biases, tied or untied embeddings) and of the
 * state-space families Mamba, Mamba2 and Zamba2 (model/mamba.c, mamba2.c,
 * zamba2.c), from a Hugging Face model directory whose weights are dense safetensors (BF16/F16/F32) or
 * HXQ modules (codebook + indices + sidecar). Weights stay in their stored
 * form, mapped from the files (model/weight.h); each matrix product converts
 * a tile of rows to float32 and multiplies it with BLAS (sgemm), so no
 * float32 copy of the model exists. All arithmetic is float32.
 *
 * Two ways to run it:
 *   - token order (hx_model_forward): a KV cache lets a sequence be fed in
 *     pieces (prefill, then one token at a time; generation);
 *   - layer order (hx_model_batch_*): a batch of independent sequences is
 *     taken through one layer at a time, the layer's pages dropped after
 *     it, so the resident memory is one layer plus the batch's activations
 *     whatever the model's size (the evaluation engine, eval/). */
#ifndef HX_MODEL_H
#define HX_MODEL_H

#include "common/hx.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { HX_ROPE_DEFAULT = 0, HX_ROPE_LINEAR, HX_ROPE_LLAMA3 } hx_rope_type;

/* The layer families: a transformer (llama, qwen2, mistral), or a stack of
 * state-space mixers (Mamba-1 selective scan; Mamba-2 SSD), or Zamba2's
 * Mamba-2 stack with shared transformer blocks at its "hybrid" layers. */
typedef enum { HX_ARCH_TRANSFORMER = 0, HX_ARCH_MAMBA, HX_ARCH_MAMBA2, HX_ARCH_ZAMBA2 } hx_arch;

typedef enum { HX_ACT_SILU = 0, HX_ACT_GELU, HX_ACT_GELU_TANH } hx_act;

#define HX_MAX_LAYERS 1024
#define HX_MAX_CONV 64 /* widest conv1d kernel */
#define HX_MAX_STATE 256 /* largest SSM state (d_state) */

/* The state-space mixer of a Mamba / Mamba2 / Zamba2 layer, as transformers
 * 4.57 computes it. */
typedef struct hx_ssm_config {
    int d_inner;        /* expand * hidden_size */
    int d_state;        /* N */
    int d_conv;         /* causal depthwise kernel width */
    int conv_dim;       /* channels through the conv: d_inner (Mamba-1), d_inner + 2 G N */
    int dt_rank;        /* Mamba-1 time_step_rank */
    int n_heads, head_dim, n_groups; /* Mamba-2: d_inner = n_heads * head_dim */
    int d_mlp;          /* Mamba-2 in_proj columns before the gate (ignored, as transformers does) */
    int in_rows;        /* in_proj output rows */
    int conv_bias, proj_bias;
    double dt_min, dt_max; /* clamp of softplus(dt + bias) (Mamba-2 time_step_limit; Zamba2: time_step_min, inf) */
    int norm_group;     /* gated RMSNorm group (Mamba2: d_inner, as transformers; Zamba2: d_inner / n_groups) */
    double norm_eps;    /* of the gated RMSNorm */
} hx_ssm_config;

typedef struct hx_model_config {
    char model_type[32];
    hx_arch arch;
    /* transformer sizes; for Zamba2 those of its shared blocks (attention over
     * 2 * dim inputs, head_dim = 2 dim / n_heads, hidden: its MLP) */
    int vocab, dim, n_layers, n_heads, n_kv_heads, head_dim, hidden;
    int max_pos;
    double rms_eps, rope_theta;
    hx_rope_type rope_type;
    double rope_factor, rope_low_freq, rope_high_freq;
    int rope_orig_max_pos;
    int tie_embeddings;
    int bos_id;         /* -1 if none */
    int eos_ids[8];     /* eos_token_id (int or list) */
    int n_eos;
    float attn_scale;   /* score scale: 1/sqrt(head_dim); Zamba2 1/sqrt(head_dim/2) */
    hx_act act;         /* MLP activation (transformers' hidden_act) */
    hx_ssm_config ssm;  /* Mamba, Mamba2, Zamba2 */
    /* Zamba2: which layers are hybrid (a shared block before the mixer),
     * how many shared blocks, LoRA adapters on q/k/v and on gate_up, RoPE */
    unsigned char hybrid[HX_MAX_LAYERS];
    int n_hybrid, n_mem_blocks, adapter_rank, attn_adapter, use_rope;
    int hxq;            /* the directory holds HXQ modules */
    int hxq_modules;    /* how many weights were decoded from HXQ */
} hx_model_config;

typedef struct hx_model hx_model;

/* The family of a config.json model_type ("qwen2", "mamba", ...): 0, or -1
 * when hxzoo has no forward pass for it. */
int hx_arch_of(const char *model_type, hx_arch *a);

/* Parse DIR/config.json. */
hx_status hx_model_config_load(const char *dir, hx_model_config *c);

/* Open a model; max_ctx: the longest sequence it will be fed (KV cache,
 * RoPE tables, attention scratch); max_tokens: the most rows fed at once
 * (a forward call or a whole batch). */
hx_status hx_model_open(const char *dir, int max_ctx, int max_tokens, hx_model **out);
/* hx_model_open(dir, max_ctx, max_ctx, out) */
hx_status hx_model_load(const char *dir, int max_ctx, hx_model **out);
void hx_model_free(hx_model *m);
const hx_model_config *hx_model_cfg(const hx_model *m);

/* Forget the cached sequence. */
void hx_model_reset(hx_model *m);
/* Number of positions in the cache. */
int hx_model_pos(const hx_model *m);

/* Feed n tokens at the current position (n >= 1, total <= max_ctx). If
 * hidden is not NULL it receives the n final (normed) hidden states,
 * n*dim floats; logits are then obtained with hx_model_logits. */
hx_status hx_model_forward(hx_model *m, const int32_t *ids, int n, float *hidden);
/* logits[r*vocab + v] for rows hidden[r*dim], r < rows. */
void hx_model_logits(const hx_model *m, const float *hidden, int rows, float *logits);

/* Layer-order evaluation of a batch: nseq sequences of lens[i] tokens,
 * their ids one after the other in ids (sum of lens <= max_tokens, each
 * <= max_ctx), each starting at position 0. begin embeds them; layer(l)
 * applies layer l to all of them (call l = 0 .. n_layers-1 in order) and
 * drops the layer's pages; final applies the final norm to the given rows
 * of the batch (ascending) and packs them at the start of the returned
 * array (rows*dim floats, valid until the next begin). */
hx_status hx_model_batch_begin(hx_model *m, const int32_t *ids, const int *lens, int nseq);
void hx_model_batch_layer(hx_model *m, int l);
/* The checks of a batch (lengths within max_ctx, total within max_tokens,
 * ids within the vocabulary); *total: its rows. Shared with gpu/. */
hx_status hx_batch_check(const hx_model_config *c, int max_ctx, int max_tokens, const int32_t *ids,
                         const int *lens, int nseq, int *total);
const float *hx_model_batch_final(hx_model *m, const int *rows, int nrows);
/* logits[r*(v1-v0) + v - v0] for vocabulary entries [v0, v1) of rows
 * hidden[r*dim], r < rows (rows <= max_tokens). */
void hx_model_logits_range(hx_model *m, const float *hidden, int rows, int v0, int v1,
                           float *logits);
/* Drop the pages of the output layer's rows [v0, v1) (after a block). */
void hx_model_release_head(hx_model *m, int v0, int v1);

/* Sizes for planning (eval/estimate.c): the stored bytes of layer l (-1:
 * embeddings, -2: output layer), and the bytes of the activation buffers
 * hx_model_open allocates for (max_ctx, max_tokens). */
uint64_t hx_model_layer_bytes(const hx_model *m, int l);
uint64_t hx_model_buffer_bytes(const hx_model_config *c, int max_ctx, int max_tokens);
/* Multiply-adds of one token through the layers (without attention
 * scores) and of one logits row: for time estimates. */
double hx_model_flops_per_token(const hx_model_config *c);

/* Timing of a generation: the prompt (prefill) and the tokens fed back one
 * at a time (decode). */
typedef struct hx_gen_stats {
    int prefill_tokens, decode_tokens;
    double prefill_s, decode_s;
} hx_gen_stats;

/* Greedy generation: feeds the prompt ids (after a reset), then appends up
 * to max_new tokens, stopping after an EOS id. *out (malloc'd) holds the
 * generated ids only. stats may be NULL. */
hx_status hx_model_generate(hx_model *m, const int32_t *prompt, int n_prompt, int max_new,
                            int32_t **out, int *n_out, hx_gen_stats *stats);

#endif
