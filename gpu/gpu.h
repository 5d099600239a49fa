/* gpu.h - C-callable API of the CUDA kernels (the .cu files in gpu/): fused HXQ linear
 * layers on an NVIDIA GPU. Plain C types only; no CUDA header is needed to
 * include it. See docs/GPU.md for the kernel design and the tolerances.
 *
 * Semantics (identical to helix-substrate 0.3.3's loader, §2.5 of the
 * format reference): for a layer W[rows=out, cols=in]
 *   W'[o,i] = codebook[indices[o,i]]
 *   W'.flat[sc_pos[j]] = sc_val[j]              (the sidecar REPLACES)
 *   y[b,o]  = sum_i x[b,i] * W'[o,i] + bias[o]
 *
 * Storage on the device (hxg_linear_upload builds it):
 *   - the codebook (F32[256], unused entries zero),
 *   - the indices, one byte each, rows padded to a multiple of 64 bytes
 *     (padding bytes are 0; the kernels multiply them by a zero x),
 *   - the sidecar as per-row CSR: row_ptr U32[rows+1] and entries
 *     U32 (col << 8 | index at that position) + F32 value, so each kernel
 *     derives the correction value - codebook-as-the-kernel-sees-it, in
 *     a fixed order (no atomics: results are bit-reproducible),
 *   - the bias as F32 (optional).
 *
 * Every function returns HX_OK or an hx_status with the detail in
 * hx_lasterr(); CUDA errors come back as HX_EINTERNAL ("cuda: ..."),
 * allocation failures as HX_ENOMEM. `stream` is a cudaStream_t (NULL: the
 * default stream). Functions do not synchronize unless they say so. */
#ifndef HX_GPU_H
#define HX_GPU_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" { /* hx.h has no C++ guard of its own */
#endif

#include "common/hx.h"

typedef enum { HXG_F32 = 0, HXG_BF16 = 1 } hxg_dtype;

/* Most rows a GEMV launch handles as one batch (decode). */
#define HXG_GEMV_MAX_BATCH 8

/* ---- device ---- */
typedef struct hxg_device_info {
    int ordinal;
    char name[256];
    int cc_major, cc_minor;
    int sm_count;
    uint64_t total_mem;
    int l2_bytes;
    int mem_clock_khz;     /* 0 if the runtime does not report it */
    int mem_bus_bits;
    double peak_bw_gbs;    /* from clock x bus width, else a known table, else 0 */
    const char *peak_bw_source; /* "clock*bus", "table:<name>" or "unknown" */
    int driver_version, runtime_version;
} hxg_device_info;

/* Is a usable CUDA device there? Returns HX_OK and fills *info (may be
 * NULL) or HX_ENOTFOUND with the reason in hx_lasterr(). */
hx_status hxg_device_probe(int ordinal, hxg_device_info *info);

/* ---- device memory helpers (thin wrappers, for C callers) ---- */
hx_status hxg_malloc(void **p, size_t n);
void hxg_free(void *p);
hx_status hxg_h2d(void *dst, const void *src, size_t n);
hx_status hxg_d2h(void *dst, const void *src, size_t n);
hx_status hxg_memset(void *p, int byte, size_t n);
hx_status hxg_sync(void);

/* ---- an HXQ linear layer resident on the device ---- */
typedef struct hxg_linear hxg_linear; /* opaque */

/* Copy one HXQ module to the device. codebook has k <= 256 entries;
 * indices rows*cols bytes (each < k); sc_pos strictly ascending, each
 * < rows*cols (sc_n may be 0); bias F32[rows] or NULL. Validates all of
 * it (HX_EFORMAT naming `name` on bad input). */
hx_status hxg_linear_upload(const char *name, const float *codebook, int k, const uint8_t *indices,
                            int64_t rows, int64_t cols, const int64_t *sc_pos, const float *sc_val,
                            uint64_t sc_n, const float *bias, hxg_linear **out);
void hxg_linear_free(hxg_linear *w);
int64_t hxg_linear_rows(const hxg_linear *w);
int64_t hxg_linear_cols(const hxg_linear *w);
/* Device bytes the layer occupies (indices incl. padding, codebook,
 * sidecar, bias). */
uint64_t hxg_linear_bytes(const hxg_linear *w);
/* The same for a layer not uploaded yet (planning). */
uint64_t hxg_linear_bytes_for(int64_t rows, int64_t cols, uint64_t sc_n, int with_bias);

/* ---- kernels ---- */
/* Decode GEMV, batch 1..HXG_GEMV_MAX_BATCH: y[b, o] for b < batch.
 * x: device, batch rows of cols elements (F32 or BF16), row stride ldx
 * elements; y: device, batch rows of `rows` elements, stride ldy. FP32
 * products and accumulation, exact F32 weights. */
hx_status hxg_hxq_gemv(const hxg_linear *w, const void *x, hxg_dtype xt, int64_t ldx, int batch,
                       void *y, hxg_dtype yt, int64_t ldy, void *stream);

/* Prefill / evaluation GEMM on tensor cores: y[m, o] for m < M tokens.
 * x: device BF16 [M, cols], row stride ldx (a multiple of 8 elements,
 * 16-byte aligned base). Weights are dequantized to BF16 tiles in shared
 * memory; FP32 accumulation; the sidecar correction and the bias are
 * applied in FP32 in the epilogue. */
hx_status hxg_hxq_gemm(const hxg_linear *w, const void *x, int64_t ldx, int64_t M, void *y,
                       hxg_dtype yt, int64_t ldy, void *stream);

/* y = x W'^T + b for any M: GEMV for M <= HXG_GEMV_MAX_BATCH, GEMM above
 * (x BF16 then). */
hx_status hxg_hxq_linear(const hxg_linear *w, const void *x, hxg_dtype xt, int64_t ldx, int64_t M,
                         void *y, hxg_dtype yt, int64_t ldy, void *stream);

/* Rows [o0, o1) of the layer as a dense matrix out[(o1-o0), cols] (row
 * stride cols) in F32 or BF16: W'[o, i] = codebook[index], the sidecar
 * values written at their positions (BF16: each rounded to nearest even).
 * The engine's path for many-token products: expand, then a cuBLAS GEMM. */
hx_status hxg_hxq_expand(const hxg_linear *w, int64_t o0, int64_t o1, void *out, hxg_dtype t,
                         void *stream);

/* ---- CPU reference (gpu/ref.c; no CUDA needed) ---- */
/* Host-side copy of a layer in the form the reference uses. */
typedef struct hxg_ref_layer {
    int64_t rows, cols;
    const float *codebook;  /* 256 entries */
    const uint8_t *indices; /* rows*cols */
    const int64_t *sc_pos;
    const float *sc_val;
    uint64_t sc_n;
    const float *bias;      /* or NULL */
} hxg_ref_layer;

/* Round a float to the nearest BF16 (ties to even), returned as float
 * (the conversions themselves: common/half.h). */
float hxg_bf16_round(float f);

/* Reference y[o] for one input vector x (double accumulation, replace
 * semantics applied directly: W'[o,i] is the sidecar value where there is
 * one). w_bf16: round every W'[o,i] to BF16 first (what the tensor-core
 * GEMM multiplies). Also returns, per output, the magnitude
 * S[o] = sum_i |x_i| * (|W'[o,i]| + |corr|) + |bias[o]| the error bounds
 * scale with (corr: the sidecar correction, 0 elsewhere). rows_sel: compute
 * only these output rows (n_sel of them), or all when NULL. */
void hxg_ref_gemv(const hxg_ref_layer *L, const double *x, int w_bf16, const int64_t *rows_sel,
                  int64_t n_sel, double *y, double *S);

/* Reference through the CSR path (codebook product + sum of corrections),
 * used to cross-check the CSR builder on the CPU. */
void hxg_ref_gemv_csr(const hxg_ref_layer *L, const double *x, double *y);

/* Build the per-row CSR the device uses. row_ptr[rows+1], ent[sc_n]
 * (col << 8 | index), val[sc_n]. Returns HX_EFORMAT (naming `name`) on
 * unsorted/out-of-range positions or cols >= 2^24. */
hx_status hxg_build_csr(const char *name, const uint8_t *indices, int64_t rows, int64_t cols,
                        const int64_t *sc_pos, const float *sc_val, uint64_t sc_n,
                        uint32_t *row_ptr, uint32_t *ent, float *val);

#ifdef __cplusplus
}
#endif
#endif
