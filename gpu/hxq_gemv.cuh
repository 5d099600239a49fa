/* hxq_gemv.cuh - the fused HXQ decode GEMV (hxq_gemv.cu): tunables and the
 * shared-memory codebook table, also used by the GEMM. */
#ifndef HX_GPU_HXQ_GEMV_CUH
#define HX_GPU_HXQ_GEMV_CUH

#include "gpu/common.cuh"

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

#endif
