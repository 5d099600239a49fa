/* model.h - the CPU forward pass of Llama- and Qwen2-family causal LMs
 * (RMSNorm, RoPE with rope_theta / rope_scaling, grouped-query attention,
 * SwiGLU, optional q/k/v/o biases, tied or untied embeddings) from a Hugging
 * Face model directory whose weights are dense safetensors (BF16/F16/F32) or
 * HXQ modules (codebook + indices + sidecar, decoded to F32 at load time).
 * Matrix products go through BLAS (sgemm, multithreaded), all arithmetic is
 * float32. A KV cache lets a sequence be fed in pieces (prefill, then one
 * token at a time); hx_model_reset starts a new sequence. */
#ifndef HX_MODEL_H
#define HX_MODEL_H

#include "common/hx.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { HX_ROPE_DEFAULT = 0, HX_ROPE_LINEAR, HX_ROPE_LLAMA3 } hx_rope_type;

typedef struct hx_model_config {
    char model_type[32];
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
    int hxq;            /* the directory holds HXQ modules */
    int hxq_modules;    /* how many weights were decoded from HXQ */
} hx_model_config;

typedef struct hx_model hx_model;

/* Parse DIR/config.json. */
hx_status hx_model_config_load(const char *dir, hx_model_config *c);

/* Load a model; max_ctx: the longest sequence it will be fed (KV cache and
 * scratch sizes). */
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

/* Greedy generation: feeds the prompt ids (after a reset), then appends up
 * to max_new tokens, stopping after an EOS id. *out (malloc'd) holds the
 * generated ids only. */
hx_status hx_model_generate(hx_model *m, const int32_t *prompt, int n_prompt, int max_new,
                            int32_t **out, int *n_out);

#endif
