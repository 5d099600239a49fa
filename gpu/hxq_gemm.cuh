/* hxq_gemm.cuh - the HXQ prefill/evaluation GEMM (hxq_gemm.cu): tile sizes
 * and the shared-memory layout. */
#ifndef HX_GPU_HXQ_GEMM_CUH
#define HX_GPU_HXQ_GEMM_CUH

#include "gpu/hxq_gemv.cuh"

#define HXG_GEMM_BM 128 /* tokens per block */
#define HXG_GEMM_BN 128 /* output rows per block */
#define HXG_GEMM_BK 32  /* columns per k-step */
#define HXG_GEMM_PAD 8  /* bf16 elements of row padding in the tiles */
#define HXG_GEMM_LDS (HXG_GEMM_BK + HXG_GEMM_PAD)
#define HXG_GEMM_THREADS 256 /* 8 warps as 2 (M) x 4 (N), each 64 x 32 */
#define HXG_GEMM_STAGE_LD 36 /* floats per row of a warp's epilogue staging */

/* Dynamic shared memory: LUT (32 KB) + 2 stages of the x tile and the
 * dequantized W tile; the epilogue reuses all of it. */
#define HXG_GEMM_SMEM                                                               \
    (HXG_LUT_WORDS * 4 + 2 * (HXG_GEMM_BM + HXG_GEMM_BN) * HXG_GEMM_LDS * 2)
#define HXG_GEMM_STAGE_BYTES (8 * 64 * HXG_GEMM_STAGE_LD * 4)

#endif
