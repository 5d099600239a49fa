/* model_internal.h - the hx_model structure shared by load.c (weights),
 * forward.c (the forward pass) and generate.c. Not a public header. */
#ifndef HX_MODEL_INTERNAL_H
#define HX_MODEL_INTERNAL_H

#include "model/model.h"

#define QBLOCK 128      /* query rows per attention task */
#define HX_MAX_SLOTS 64 /* attention scratch slots (>= threads) */

typedef struct hx_layer {
    float *attn_norm, *mlp_norm;
    float *wq, *wk, *wv, *wo;     /* [out, in] row-major */
    float *bq, *bk, *bv, *bo;     /* NULL when absent */
    float *wg, *wu, *wd;
} hx_layer;

struct hx_model {
    hx_model_config cfg;
    float *embed;   /* [vocab, dim] */
    float *lm_head; /* == embed when tied */
    float *norm;
    hx_layer *layers;
    int max_ctx, pos;
    float *kcache, *vcache; /* [layer][max_ctx][kv_dim] */
    float *rope_cos, *rope_sin; /* [max_ctx][head_dim/2] */
    /* scratch for max_ctx rows */
    float *x, *xn, *q, *k, *v, *att, *hb, *hb2;
    float *scores; /* nslots attention scratch slots of QBLOCK x max_ctx */
    int nslots;
    int threads;
};

#endif
