/* model_internal.h - the hx_model structure shared by load.c (weights and
 * buffers), forward.c (the layer computations), batch.c (layer-major
 * evaluation of a batch of sequences) and generate.c. Not a public header. */
#ifndef HX_MODEL_INTERNAL_H
#define HX_MODEL_INTERNAL_H

#include "model/model.h"
#include "model/weight.h"

#define QBLOCK 128               /* query rows per attention task */
#define HX_MAX_SLOTS 64          /* per-thread scratch slots (>= threads) */
#define HX_TILE_BYTES (4u << 20) /* float32 weight tile of one linear task */

typedef struct hx_layer {
    float *attn_norm, *mlp_norm;
    float *bq, *bk, *bv, *bo;              /* NULL when absent */
    hx_weight wq, wk, wv, wo, wg, wu, wd;  /* [out, in], as stored */
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
    int max_ctx, max_tokens, mlp_rows, pos;
    float *kcache, *vcache;   /* [layer][max_ctx][kv_dim], allocated on first use */
    float *rope_cos, *rope_sin; /* [max_ctx][head_dim/2] */
    /* activations and scratch for max_tokens rows (hb, hb2: mlp_rows) */
    float *x, *xn, *q, *k, *v, *att, *hb, *hb2;
    float *scores; /* nslots attention slots of QBLOCK x max_ctx */
    float *tiles;  /* nslots weight tiles of HX_TILE_BYTES */
    int tile_busy[HX_MAX_SLOTS]; /* slot flags, used with __atomic builtins (the
                                  * header is also read by C++: gpu/forward.cu) */
    int nslots, threads;
    /* the batch being evaluated (batch.c) */
    int batch_T, batch_n;
    hx_seq *batch;
};

/* forward.c */
/* y[T, ldy] columns [0, o1-o0) = x[T, in] * W[o0:o1, in]^T (+ b[o0:o1]) */
void hx_linear(hx_model *m, const float *x, int T, const hx_weight *W, int64_t o0, int64_t o1,
               const float *b, float *y, int ldy);
/* Layer l over the T rows of m->x holding the given sequences. kv_cache:
 * also store the keys/values at their positions in the layer's cache and
 * attend over it (one sequence); otherwise each sequence attends to its own
 * keys and values computed here. */
void hx_layer_apply(hx_model *m, int l, int T, hx_seq *seqs, int nseq, int kv_cache);
void hx_rmsnorm(const float *x, const float *w, int T, int dim, double eps, float *y);
/* m->x rows from token ids (ids checked by the caller) */
void hx_embed_rows(hx_model *m, const int32_t *ids, int T);

#endif
