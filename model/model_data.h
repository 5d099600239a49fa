/* model_data.h - the data of a loaded model: struct hx_model (config,
 * weights, KV cache, activations and scratch) and its layers' weights. For
 * the code that computes with it: model/ (the CPU forward pass, through
 * model_internal.h) and the CUDA backend (gpu/forward.cu, which is C++).
 * Not for the model's users, who see the opaque hx_model of model.h. */
#ifndef HX_MODEL_DATA_H
#define HX_MODEL_DATA_H

#include "model/model.h"
#include "model/weight.h"

#define HX_MAX_SLOTS 64          /* per-thread scratch slots (>= threads) */

/* The state-space mixer of a Mamba / Mamba2 / Zamba2 layer. */
typedef struct hx_mixer {
    hx_weight in_proj, out_proj;
    hx_weight x_proj, dt_proj;   /* Mamba-1 only */
    float *in_b, *out_b;         /* projection biases (use_bias), else NULL */
    float *dt_b;                 /* dt_proj.bias (Mamba-1) or dt_bias (Mamba-2), float32 */
    float *conv_w, *conv_b;      /* transposed, [d_conv][conv_dim]; [conv_dim] or NULL */
    float *A;                    /* -exp(A_log): [d_inner][d_state] (Mamba-1) or [n_heads] */
    float *D;                    /* [d_inner] (Mamba-1) or [n_heads] */
    float *gnorm;                /* gated RMSNorm weight [d_inner] (Mamba-2) */
} hx_mixer;

/* A LoRA-style adapter of Zamba2's shared blocks: y += B (A x). */
typedef struct hx_lora {
    int on;
    hx_weight a, b;              /* [rank, in], [out, rank] */
} hx_lora;

/* One of Zamba2's shared transformer blocks (used at several depths). */
typedef struct hx_shared_block {
    float *in_norm, *ff_norm;    /* [2 dim], [dim] */
    hx_weight wq, wk, wv, wo, wgu, wd;
} hx_shared_block;

typedef struct hx_layer {
    float *attn_norm, *mlp_norm; /* state-space layers: attn_norm is the block's input norm */
    float *bq, *bk, *bv, *bo;              /* NULL when absent */
    hx_weight wq, wk, wv, wo, wg, wu, wd;  /* [out, in], as stored */
    hx_mixer mix;                /* Mamba, Mamba2, Zamba2 */
    /* Zamba2 hybrid layers: the j-th hybrid layer (use) runs shared block
     * `block` with its own adapters, then `linear`, before its mixer */
    int use, block;
    hx_weight linear;
    hx_lora aq, ak, av, agu;
} hx_layer;

/* One sequence of a batch: rows [off, off+n) of the activations, at
 * positions pos0.. ; K and V: its keys and values (pos0 + n rows). */
typedef struct hx_seq {
    int off, n, pos0;
    const float *K, *V;
} hx_seq;

struct hx_model {
    hx_model_config cfg;
    hx_st_model *st;          /* open for the model's lifetime: weights map into it */
    hx_weight embed, lm_head_own;
    const hx_weight *lm_head; /* &embed when tied */
    float *norm;
    hx_layer *layers;
    hx_shared_block *blocks;  /* Zamba2 */
    int max_ctx, max_tokens, mlp_rows, pos;
    float *kcache, *vcache;   /* [layer][max_ctx][kv_dim], allocated on first use */
    float *rope_cos, *rope_sin; /* [max_ctx][head_dim/2] */
    /* activations and scratch for max_tokens rows (hb, hb2: mlp_rows) */
    float *x, *xn, *q, *k, *v, *att, *hb, *hb2;
    /* nslots attention slots of hx_att_slot_floats: the scores of the
     * task's query rows (all heads of a key/value group), their queries
     * gathered, their outputs and their 1 / softmax sums */
    float *scores;
    /* state-space layers: in_proj output, conv output, scan output, and
     * for Mamba-1 the x_proj output, its dt columns and dt (max_tokens rows
     * each); Zamba2: the embeddings of the rows, the shared block's input
     * [hidden, embeddings] and the adapters' rank-wide intermediate */
    float *s_in, *s_conv, *s_y, *s_xdbl, *s_dtin, *s_dt;
    float *x0, *cat, *lora_t;
    /* token order: per layer the last d_conv-1 conv inputs and the scan
     * state (allocated on the first forward call, zero at position 0) */
    float *conv_state, *ssm_state;
    float *tiles;  /* nslots weight tiles of HX_TILE_BYTES */
    int tile_busy[HX_MAX_SLOTS]; /* slot flags, used with __atomic builtins (the
                                  * header is also read by C++: gpu/forward.cu) */
    int nslots, threads;
    /* the batch being evaluated (batch.c) */
    int batch_T, batch_n;
    hx_seq *batch;
};

#endif
