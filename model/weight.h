/* weight.h - one weight of a model in its stored form, the abstraction the
 * CPU and CUDA backends both consume: either dense (BF16/F16/F32, pointing
 * into the read-only mapping of its safetensors file) or an HXQ module
 * (256-entry F32 codebook, U8 indices in the mapping, sidecar positions and
 * values). Nothing is decoded at open: rows are converted to float32 on the
 * fly, a tile at a time, for the matrix products (hx_weight_rows_f32), and
 * the pages of a weight can be dropped from the resident set once a layer
 * is done (hx_weight_release). No whole-model float32 copy exists. */
#ifndef HX_WEIGHT_H
#define HX_WEIGHT_H

#include "codec/safetensors.h"

#include <stdint.h>

typedef enum { HX_WEIGHT_DENSE = 0, HX_WEIGHT_HXQ } hx_weight_kind;

/* hx_weight_open flags */
#define HX_WEIGHT_NO_SIDECAR 1 /* decode codebook[indices] only (the original's
                                * rebuild of an HXQ nn.Embedding) */

typedef struct hx_weight {
    hx_weight_kind kind;
    int64_t rows, cols;          /* [out, in]; a 1-D tensor is rows 1 */
    const hx_st_tensor *parts[4];/* the stored tensors (for release/bytes) */
    int nparts;
    /* dense */
    hx_dtype dtype;
    const void *data;            /* in the mapping, possibly unaligned */
    /* HXQ */
    int k;
    float codebook[256];
    const uint8_t *indices;      /* rows*cols bytes, in the mapping */
    int64_t *sc_pos;             /* ascending, unique, < rows*cols (owned copy) */
    float *sc_val;
    uint64_t sc_n;
} hx_weight;

/* Open weight `name` ("model.layers.0.mlp.down_proj.weight") of the model,
 * stored dense or as the HXQ module "model.layers.0.mlp.down_proj". rows,
 * cols: the expected shape (cols 0: a 1-D tensor of `rows` elements).
 * Everything untrusted is checked here (dtypes, shapes, indices < k when
 * k < 256, sidecar positions in range), so decoding cannot fail later. */
hx_status hx_weight_open(const hx_st_model *st, const char *name, int64_t rows, int64_t cols,
                         int flags, hx_weight *w);
void hx_weight_close(hx_weight *w);
/* Is the weight stored in the model (dense or HXQ)? */
int hx_weight_exists(const hx_st_model *st, const char *name);

/* Rows [r0, r1) as float32, (r1-r0)*cols values, exactly as
 * helix-substrate's loader rebuilds them (codebook lookup, then the
 * sidecar values replace). Thread-safe. */
void hx_weight_rows_f32(const hx_weight *w, int64_t r0, int64_t r1, float *dst);
/* Rows as stored when they are float32 already (and aligned), else NULL. */
const float *hx_weight_f32_direct(const hx_weight *w);
/* A 1-D weight (norm, bias) as a malloc'd float32 array. */
float *hx_weight_vector_f32(const hx_weight *w);

/* Drop the weight's pages from the resident set (the file stays cached). */
void hx_weight_release(const hx_weight *w);
/* Drop the pages of rows [r0, r1) only (a block of the output layer). */
void hx_weight_release_rows(const hx_weight *w, int64_t r0, int64_t r1);
/* Bytes the weight occupies as stored. */
uint64_t hx_weight_bytes(const hx_weight *w);

#endif
