/* hxq_gemv.cuh - the fused HXQ decode GEMV (hxq_gemv.cu): tunables and the
 * shared-memory codebook tables (the 32 KB one is also used by the GEMM). */
#ifndef HX_GPU_HXQ_GEMV_CUH
#define HX_GPU_HXQ_GEMV_CUH

#include "gpu/common.cuh"

/* ---- v1 (HXG_GEMV=v1): one block of 8 warps per 4 or 2 rows ---- */
#define HXG_GEMV_WARPS 8                 /* warps per block: they split the columns */
#define HXG_GEMV_THREADS (HXG_GEMV_WARPS * 32)

/* The codebook as 32 lane-private copies: entry j of lane l lives at
 * word j*32 + l, i.e. always in bank l, so a warp's 32 random lookups never
 * conflict (a single 256-entry table would serialize ~3-4 ways). 32 KB. */
#define HXG_LUT_WORDS (256 * 32)

/* Fill the lane-private table from a 256-entry codebook in global memory,
 * each value passed through `conv` (identity, or BF16 rounding for the
 * GEMM). All threads of the block take part; the caller synchronizes. */
template <typename Conv>
__device__ __forceinline__ void hxg_lut_fill(float *lut, const float *__restrict__ cb, int tid,
                                             int nthreads, Conv conv)
{
    float4 *l4 = reinterpret_cast<float4 *>(lut);
    for (int e = tid; e < HXG_LUT_WORDS / 4; e += nthreads) {
        float v = conv(__ldg(cb + (e >> 3)));
        l4[e] = make_float4(v, v, v, v);
    }
}

/* ---- v2 (default): persistent blocks, one table per block ---- */
#define HXG_GEMV2_WARPS 16 /* warps per block (one table per block) */
#define HXG_GEMV2_THREADS (HXG_GEMV2_WARPS * 32)
/* Warps per team (the warps that split one row group's columns): a power
 * of two, 1 .. HXG_GEMV2_TMAX, chosen per launch. */
#define HXG_GEMV2_TMAX HXG_GEMV2_WARPS
/* Range of U, the 32-bit index words per lane and row in one pipeline
 * step, for the batch sizes with blocked sums (see Cfg in hxq_gemv.cu).
 * gpu-check's tolerance (compare_case) is derived from these bounds
 * (gpu/check/bench.h mirrors them, checked at compile time). */
#define HXG_GEMV2_UMIN 1
#define HXG_GEMV2_UMAX 8
/* Batch sizes up to this one use the blocked sums (each step's products in
 * a fresh partial, then added to the accumulator); larger ones accumulate
 * directly (registers). */
#define HXG_GEMV2_BLOCKED_MAX_B 4
/* The codebook as 32 lane-private copies with a 256-byte stride per entry:
 * entry j of lane l lives at byte j*256 + l*4 (bank l, never a conflict),
 * so the byte address of a lookup is one byte permute of the index word
 * and the lane's offset: (j << 8) | (l << 2). Words j*64 + 32..63 are
 * unused. 64 KB. */
#define HXG_LUT2_WORDS (256 * 64)
/* Dynamic shared memory: the table + the teams' partial sums
 * ([2][HXG_GEMV2_WARPS][32] floats, double-buffered). */
#define HXG_GEMV2_SMEM (HXG_LUT2_WORDS * 4 + 2 * HXG_GEMV2_WARPS * 32 * 4)

/* Internal: the GEMV with an explicit variant (1 = v1, 2 = v2, 0 = the
 * default: HXG_GEMV=v1 in the environment, read once, selects v1, else
 * v2). hxg_hxq_gemv is variant 0. gpu-check's benchmark times both. */
hx_status hxg_hxq_gemv_variant(int variant, const hxg_linear *w, const void *x, hxg_dtype xt,
                               int64_t ldx, int batch, void *y, hxg_dtype yt, int64_t ldy,
                               void *stream);

#endif
