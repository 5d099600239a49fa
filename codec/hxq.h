/* hxq.h - the HXQ format and its decoder: public API of codec/.
 *
 * HXQ (the helix-substrate 0.3.3 format, see docs/HXQ-FORMAT.md) stores a
 * compressed 2-D weight W[out,in] of module M as
 *   M.codebook           F32[256]     centroids (sorted ascending here)
 *   M.indices            U8[out,in]   W'[o,i] = codebook[indices[o,i]]
 *   M.sidecar_positions  I64[n]       ascending flat positions o*in+i
 *   M.sidecar_values     F32[n]       W'[p] = value (replaces the centroid)
 * Everything else (embeddings, lm_head, norms, biases) is kept dense.
 *
 * This header is the format side, usable alone (the decoder links only
 * codec/ and common/): the decoder (hxq_decode, hxq_load_f32) used by
 * verify/eval, the quality statistics of a reconstruction (hxq_compare) and
 * the routing table (which tensors are compressed). The encoder of one
 * tensor is codec/encoder/encoder.h; the whole-model pipeline (hxzoo
 * compress) is compress/compress.h. */
#ifndef HX_HXQ_H
#define HX_HXQ_H

#include "codec/dtype.h"
#include "codec/safetensors.h"
#include "common/hx.h"

#define HXQ_K_MAX 256 /* most codebook entries */

/* --------------------------------------------------------- statistics */
/* Quality of a reconstruction W' against its source W: hxq_compare below,
 * and the encoder's report of each tensor (codec/encoder/encoder.h). */
typedef struct hxq_stats {
    uint64_t n;           /* elements */
    double cosine;        /* of W and W' (double accumulation) */
    double rel_mse;       /* ||W-W'||^2 / ||W||^2 */
    double rel_mse_vq;    /* same, without the sidecar (codebook only) */
    double max_abs_err;
    double sqnr_db;       /* 10 log10(||W||^2 / ||W-W'||^2) */
    uint64_t sidecar_n;
    double bits_per_weight; /* (indices + codebook + sidecar bytes) * 8 / n */
    int levels_used;      /* distinct centroids fitted */
    double seconds;
} hxq_stats;

/* ------------------------------------------------------------ decode */
/* Reconstruct W' (rows*cols floats): codebook[indices], then sidecar
 * values replace. Validates indices < k and positions in range. */
hx_status hxq_decode(const char *name, const float *codebook, int k, const uint8_t *indices,
                     uint64_t rows, uint64_t cols, const int64_t *sc_pos, const float *sc_val,
                     uint64_t sc_n, float *out);

/* Statistics of W' against the source W (both given; src in its dtype). */
void hxq_compare(const void *src, hx_dtype dt, const float *recon, uint64_t n, hxq_stats *st);

/* Load weight `name` (e.g. "model.layers.0.mlp.down_proj.weight") from a
 * model as F32, whether it is stored dense or as an HXQ module (codebook +
 * indices + sidecar). *out is malloc'd (caller frees); shape/ndim filled. */
hx_status hxq_load_f32(const hx_st_model *m, const char *name, float **out, int64_t *shape,
                       int *ndim);
/* The module of a weight: "a.b.weight" -> "a.b" (whose parts are
 * a.b.codebook, a.b.indices, ...); other names: the name itself. Malloc'd. */
char *hxq_module_name(const char *name);

/* ----------------------------------------------------------- routing */
typedef enum {
    HXQ_ROUTE_COMPRESS = 0, /* codebook + indices + sidecar */
    HXQ_ROUTE_EXACT,        /* kept dense (embeddings, norms, 1-D biases, tiny) */
    HXQ_ROUTE_COPY,         /* 0.3.3 "skip": copied from the source as is */
    HXQ_ROUTE_DROP          /* not written (lm_head tied to the embeddings) */
} hxq_route;

/* 0.3.3 tensor classes (tensor_policy.py), used for the compat parameters. */
typedef enum {
    HXQ_CLASS_NORM, HXQ_CLASS_EMBEDDING, HXQ_CLASS_ATTN_QK, HXQ_CLASS_ATTN_VO,
    HXQ_CLASS_FFN, HXQ_CLASS_LM_HEAD, HXQ_CLASS_UNKNOWN
} hxq_class;

typedef struct hxq_route_info {
    hxq_route route;
    hxq_class cls;
    const char *rule;   /* which rule of the table decided (for inspect/--dry-run) */
    int deviates_033;   /* 1 if 0.3.3 would have compressed it (unloadable, D11) */
} hxq_route_info;

/* Decide what happens to a tensor (the table in route.c). tied: the model
 * ties lm_head to the embeddings and an embedding of the same shape exists. */
hxq_route_info hxq_route_tensor(const char *name, int ndim, const int64_t *shape, int tied,
                                int compat_033);
hxq_class hxq_classify(const char *name, int ndim);
const char *hxq_class_name(hxq_class c);
/* the names of the classes and routes in enum order, NULL-terminated (receipts) */
extern const char *const hxq_class_names[], *const hxq_route_names[];
const char *hxq_route_name(hxq_route r);

#endif
