/* bench.h - helpers of the GPU self-check and benchmark (gpu-check): cuBLAS
 * loaded at run time, random layers generated on the device, timing with
 * CUDA events and graphs. C-callable; implemented in bench.cu. */
#ifndef HX_GPU_BENCH_H
#define HX_GPU_BENCH_H

#include "gpu/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- cuBLAS, dlopen'ed (libcublas.so.13 / .12 / .so): the binary does
 * not depend on it, and a machine without it still runs the HXQ checks. */
typedef struct hxg_blas hxg_blas;
hx_status hxg_blas_open(void *stream, hxg_blas **out);
const char *hxg_blas_name(const hxg_blas *b); /* the library that was loaded */
void hxg_blas_close(hxg_blas *b);
/* y[M, rows] = x[M, cols] . W[rows, cols]^T, all BF16 row-major (compact
 * strides), FP32 compute: cublasGemmEx, the BF16 baseline. */
hx_status hxg_blas_linear_bf16(hxg_blas *b, const void *W, int64_t rows, int64_t cols,
                               const void *x, int64_t M, void *y);

/* ---- device-side random data ---- */
hx_status hxg_stream_create(void **s);
void hxg_stream_destroy(void *s);
/* BF16 values in (-scale, scale), never zero. */
hx_status hxg_rand_bf16(void *p, size_t n, uint64_t seed, float scale);
/* A random HXQ layer generated on the device: a smooth sorted codebook,
 * indices concentrated around the middle of the codebook (like real
 * layers), floor(sidecar_frac * cols) sidecar entries per row at
 * distinct ascending columns, optional bias. */
hx_status hxg_linear_random(int64_t rows, int64_t cols, double sidecar_frac, int with_bias,
                            uint64_t seed, hxg_linear **out);
/* Copy a layer back into host arrays in the upload format (sidecar as
 * ascending flat positions); the caller frees the five arrays. */
hx_status hxg_linear_download(const hxg_linear *w, float **codebook, uint8_t **indices,
                              int64_t **sc_pos, float **sc_val, uint64_t *sc_n, float **bias);

/* ---- the GEMV kernels by name (gpu/hxq_gemv.cu) ---- */
/* hxg_hxq_gemv with an explicit kernel: 1 = v1, 2 = v2, 0 = the default
 * (HXG_GEMV=v1 in the environment selects v1, else v2). */
hx_status hxg_bench_gemv(int variant, const hxg_linear *w, const void *x, hxg_dtype xt,
                         int64_t ldx, int batch, void *y, hxg_dtype yt, int64_t ldy, void *stream);
/* v2's launch bounds the tolerance (gpu_check.c, compare_case) is derived
 * from; bench.cu checks at compile time that they are hxq_gemv.cuh's. */
#define HXG_CHECK_GEMV2_UMIN 1          /* U range of the blocked sums */
#define HXG_CHECK_GEMV2_UMAX 8
#define HXG_CHECK_GEMV2_TMAX 16         /* most warps per team */
#define HXG_CHECK_GEMV2_BLOCKED_MAX_B 4 /* blocked sums up to this batch */

/* ---- timing ---- */
/* Time fn(ctx, i) (asynchronous work on `stream`): `warmup` calls, then
 * `samples` samples of `reps` calls each between two events; returns the
 * median and the minimum time per call in microseconds. */
typedef hx_status (*hxg_op)(void *ctx, int i);
hx_status hxg_time_op(hxg_op fn, void *ctx, void *stream, int warmup, int reps, int samples,
                      double *med_us, double *min_us);
/* Capture `n` calls fn(ctx, 0..n-1) on `stream` into a CUDA graph and time
 * its replays (median and min over `samples` replays, microseconds). If
 * capture fails, times the plain calls instead and sets *graphed = 0. */
hx_status hxg_time_graph(hxg_op fn, void *ctx, void *stream, int n, int samples, double *med_us,
                         double *min_us, int *graphed);
/* Device-to-device copy bandwidth in GB/s, counting bytes read + written. */
hx_status hxg_copy_bw(size_t bytes, double *gbs);

#ifdef __cplusplus
}
#endif
#endif
