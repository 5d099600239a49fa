/* hxq.h - the HXQ codec: public API.
 *
 * HXQ (the helix-substrate 0.3.3 format, see docs/HXQ-FORMAT.md) stores a
 * compressed 2-D weight W[out,in] of module M as
 *   M.codebook           F32[256]     centroids (sorted ascending here)
 *   M.indices            U8[out,in]   W'[o,i] = codebook[indices[o,i]]
 *   M.sidecar_positions  I64[n]       ascending flat positions o*in+i
 *   M.sidecar_values     F32[n]       W'[p] = value (replaces the centroid)
 * Everything else (embeddings, lm_head, norms, biases) is kept dense.
 *
 * Three layers:
 *   hxq_fit_*       the scalar quantizer on a weighted, sorted point set
 *   hxq_encode      one tensor: histogram -> codebook+sidecar -> indices
 *   hxq_compress    a whole model directory -> an HXQ model directory
 * plus the decoder (hxq_decode, hxq_load_f32) used by verify/eval. */
#ifndef HX_HXQ_H
#define HX_HXQ_H

#include "codec/dtype.h"
#include "codec/safetensors.h"
#include "common/hx.h"

#define HXQ_K_MAX 256
/* Version of the encoder, recorded in receipts; a new value means zoo models
 * are rebuilt (it changes whenever the output for a given input changes). */
#define HXQ_CODEC_VERSION "hxzoo-codec 2"
#define HXQ_DEFAULT_SIDECAR_FRACTION 0.001

/* ---------------------------------------------------------------- fit */
/* A group of values of a tensor, in ascending value order: w elements whose
 * values sum to s1 and whose squares sum to s2 (after subtracting the
 * shift used by the fitter, see quant.c). For BF16/F16 sources each point is
 * one distinct value. */
typedef struct hxq_point {
    double w, s1, s2;
    double v; /* representative value: s1/w */
} hxq_point;

/* Exact optimal k-level quantizer of the points (1-D k-means, dynamic
 * programming, SMAWK per row): O(k n). Writes up to k
 * centroids (ascending) and returns how many were used (< k only when
 * there are fewer points). starts[j] = first point of cluster j (may be
 * NULL). Returns -1 on allocation failure. */
int hxq_fit_exact(const hxq_point *p, size_t n, int k, double *cent, size_t *starts);
/* Fast near-optimal fit: companded initialisation, up to max_iter Lloyd
 * steps, then the windowed exact DP refinement (see quant.c). Same outputs
 * as hxq_fit_exact. */
int hxq_fit_fast(const hxq_point *p, size_t n, int k, int max_iter, double *cent, size_t *starts);
/* Warm-started fit: start from the runs of the given sorted centroids and
 * run the windowed exact refinement (+-win points); cent is updated. */
int hxq_fit_warm(const hxq_point *p, size_t n, int k, double *cent, size_t win);
/* Same, with each boundary's window reaching the boundaries `reach`
 * clusters away on either side (a window in clusters, not points: for fine
 * point sets whose density in value varies, e.g. F32 buckets). */
int hxq_fit_refine(const hxq_point *p, size_t n, int k, double *cent, int reach);
/* Lloyd iterations (nearest-centroid runs, then means) from the given
 * sorted centroids, to a fixed point or max_iter. */
void hxq_lloyd(const hxq_point *p, size_t n, int k, double *cent, int max_iter);
/* Sum of squared errors of the points against sorted centroids with the
 * nearest-centroid (lowest index on ties) assignment. */
double hxq_points_sse(const hxq_point *p, size_t n, const double *cent, int k);

/* ------------------------------------------------------------ encode */
typedef enum {
    HXQ_FIT_FAST = 0, /* windowed exact DP (F32: then on the fine points) (default) */
    HXQ_FIT_EXACT = 1 /* exact DP on every distinct value */
} hxq_fit_mode;

typedef struct hxq_params {
    int k;                   /* codebook size, 2..256 (default 256) */
    double sidecar_fraction; /* max sidecar entries / elements (0 = none) */
    int compat_033;          /* reproduce 0.3.3's sidecar selection */
    double compat_percentile;/* 0.3.3: 99.9, or 99.95 for q/k */
    int compat_cap;          /* 0.3.3: 512, or 256 for UNKNOWN */
    int threads;             /* worker threads (>= 1) */
    hxq_fit_mode fit;
    int no_pad;              /* keep the codebook at the levels used */
    int release_source;      /* src is a read-only file mapping: drop its pages
                              * as the index pass goes (lower peak memory) */
} hxq_params;

void hxq_params_default(hxq_params *p);

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

/* Result of encoding one tensor. The caller owns the buffers (free with
 * hxq_encoded_free). indices has rows*cols bytes. */
typedef struct hxq_encoded {
    uint64_t rows, cols;
    int k;                      /* codebook entries (== params.k unless no_pad) */
    float codebook[HXQ_K_MAX];
    uint8_t *indices;
    int64_t *sc_pos;            /* ascending */
    float *sc_val;
    uint64_t sc_n;
    hxq_stats stats;
} hxq_encoded;

/* Encode a 2-D tensor of a float dtype (BF16, F16, F32). src may be
 * unaligned (straight from an mmap). name is used in error messages.
 * Non-finite values are refused with HX_EFORMAT. */
hx_status hxq_encode(const char *name, const void *src, hx_dtype dt, uint64_t rows, uint64_t cols,
                     const hxq_params *p, hxq_encoded *out);
void hxq_encoded_free(hxq_encoded *e);

/* Fault injection for the tests (tests/unit/test_codec.c): nonzero makes
 * every codebook fit report failure (its out-of-memory path); the counts
 * of index-buffer threads the encoder started and that have finished. */
extern int hxq_fault_fit;
extern unsigned hxq_idx_threads_started, hxq_idx_threads_done;

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
const char *hxq_route_name(hxq_route r);

/* ------------------------------------------------------ whole models */
typedef struct hxq_options {
    hxq_params params;
    int exact_f16;            /* store exact tensors as F16 like 0.3.3 */
    uint64_t max_shard_bytes; /* shard the output above this (0 = never) */
    int json;                 /* machine-readable summary on stdout */
    int force;                /* ignore a previous partial run */
    const char *quant_method; /* "hxq" (default), "helix" or "cdna_v3" */
    const char *command_line; /* recorded in the receipt */
} hxq_options;

void hxq_options_default(hxq_options *o);

typedef struct hxq_tensor_report {
    char *name;
    hxq_route route;
    hxq_class cls;
    hx_dtype src_dtype;
    int64_t rows, cols;          /* the first two dimensions (cols -1 for 1-D) */
    int ndim;                    /* the whole shape, e.g. a conv1d kernel [C, 1, K] */
    int64_t shape[HX_ST_MAX_DIMS];
    uint64_t nelem;              /* product of the shape */
    uint64_t src_bytes, out_bytes;
    hxq_stats stats; /* compressed tensors only */
} hxq_tensor_report;

typedef struct hxq_report {
    hxq_tensor_report *t;
    size_t n;
    uint64_t src_bytes, out_bytes;
    uint64_t compressed_params, exact_params;
    double seconds;
    uint64_t peak_rss;
    int shards;
    double min_cosine, mean_cosine;
} hxq_report;

/* Compress SRC_DIR (config.json + safetensors) into OUT_DIR. Resumable: an
 * interrupted run continues at the first unfinished shard. Writes
 * config.json (with quantization_config), the weights, copied tokenizer and
 * generation files, and hxq_receipt.json. */
hx_status hxq_compress(const char *src_dir, const char *out_dir, const hxq_options *o,
                       hxq_report *rep);
void hxq_report_free(hxq_report *r);
/* The receipt as JSON text (caller frees). */
char *hxq_report_json(const hxq_report *r, const hxq_options *o, const char *src_dir);

#endif
