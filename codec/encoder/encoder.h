/* encoder.h - the HXQ encoder of one tensor: public API of codec/encoder/.
 *
 * hxq_encode turns a dense 2-D BF16/F16/F32 tensor into the HXQ parts of
 * codec/hxq.h (codebook, indices, sidecar): histogram -> codebook + sidecar
 * (the scalar quantizer of quant.c) -> indices (encode.c). The whole-model
 * pipeline on top of it is compress/compress.h; the fit internals the
 * tests reach are in encoder_internal.h. */
#ifndef HX_ENCODER_H
#define HX_ENCODER_H

#include "codec/hxq.h"

/* Version of the encoder, recorded in receipts; a new value means zoo models
 * are rebuilt (it changes whenever the output for a given input changes). */
#define HXQ_CODEC_VERSION "hxzoo-codec 2"
#define HXQ_DEFAULT_SIDECAR_FRACTION 0.001

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

#endif
