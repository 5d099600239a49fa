/* backend_internal.h - what the evaluation engine (engine.c) needs of a device: one
 * side (model or base) opened on a model directory, taken through a batch
 * of sequences layer by layer, its scored rows normed, and logits of a
 * block of the vocabulary for a block of those rows, on the host. The CPU
 * backend is model/'s layer-order API; the CUDA one is gpu/gpu_model.h's.
 * Internal to eval/. */
#ifndef HX_EVAL_BACKEND_INTERNAL_H
#define HX_EVAL_BACKEND_INTERNAL_H

#include "eval/eval.h"

/* What a side is opened with besides its directory. */
typedef struct hx_backend_opts {
    hx_compute_dtype dtype; /* resolved: F32 or BF16 */
    int share;              /* models sharing the device (1 or 2) */
} hx_backend_opts;

typedef struct hx_row_state hx_row_state;

typedef struct hx_backend {
    const char *device;
    /* max_ctx: longest sequence; max_tokens: rows of one batch */
    hx_status (*open)(const char *dir, int max_ctx, int max_tokens, const hx_backend_opts *o,
                      void **side);
    void (*close)(void *side);
    const hx_model_config *(*config)(void *side);
    hx_status (*begin)(void *side, const int32_t *ids, const int *lens, int nseq);
    hx_status (*layer)(void *side, int l);
    /* final norm of the batch rows `rows` (ascending), kept packed */
    hx_status (*final)(void *side, const int *rows, int nrows);
    /* out[r*(v1-v0) + v-v0] for packed rows [r0, r0+nrows), entries [v0, v1)
     * (NULL for a backend that has score) */
    hx_status (*logits)(void *side, int r0, int nrows, int v0, int v1, float *out);
    /* device bytes a side's buffers need (0 for the CPU) */
    uint64_t (*device_bytes)(const hx_model_config *c, int max_ctx, int max_tokens,
                             hx_compute_dtype dtype);
    /* score the final rows of sides[0] (and sides[1] when ns is 2) on the
     * device into st[0..nrows); NULL: the engine folds logits blocks on the
     * host. A backend has this or logits. */
    hx_status (*score)(void **sides, int ns, int nrows, const int32_t *tgt, hx_row_state *st);
} hx_backend;

extern const hx_backend hx_backend_cpu, hx_backend_cuda;

/* Online reduction of logits blocks (reduce.c): per scored row the running
 * max and sum of exp for model (a) and base (b), the target logits, the
 * argmaxes and the KL accumulator sum exp(b - max_b) (b - a). */
struct hx_row_state {
    float ma, mb, ta, tb;
    int aa, ab;
    double sa, sb, u;
};

void hx_reduce_init(hx_row_state *s, int n);
/* Fold a block [v0, v1) of logits (A model, B base or NULL) into rows
 * [0, n) of s; tgt[r]: each row's target id. Parallel over rows. */
void hx_reduce_block(hx_row_state *s, int n, const float *A, const float *B, int v0, int v1,
                     const int32_t *tgt, int threads);
/* The per-row results: NLL of model and base, KL(base||model), top-1. */
void hx_reduce_finish(const hx_row_state *s, int n, int have_base, double *nll_a, double *nll_b,
                      double *kl, int *agree);

#endif
