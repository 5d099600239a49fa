/* common.cuh - internal helpers of the CUDA code: error reporting into
 * hx_seterr, the device-side layer struct, BF16 helpers. Not for C code:
 * C callers use gpu.h. */
#ifndef HX_GPU_COMMON_CUH
#define HX_GPU_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "gpu/gpu.h"

/* Record a CUDA failure and return the hx_status for it. */
hx_status hxg_cuda_fail(cudaError_t e, const char *what, const char *file, int line);

/* Evaluate a CUDA runtime call; on failure set the error detail and return
 * from the calling function (which must return hx_status). */
#define HXG_CUDA(call)                                                                 \
    do {                                                                               \
        cudaError_t hxg_e_ = (call);                                                   \
        if (hxg_e_ != cudaSuccess) return hxg_cuda_fail(hxg_e_, #call, __FILE__, __LINE__); \
    } while (0)

/* After a kernel launch: report a launch-configuration error. */
#define HXG_LAUNCHED(what) HXG_CUDA(cudaPeekAtLastError())

/* Rows of the index matrix are padded to this many bytes on the device. */
#define HXG_LD_ALIGN 64

struct hxg_linear {
    int64_t rows, cols;
    int64_t ld;            /* bytes per index row, multiple of HXG_LD_ALIGN */
    float *codebook;       /* [256] */
    uint8_t *indices;      /* [rows, ld] */
    uint32_t *row_ptr;     /* [rows + 1] */
    uint32_t *sc_ent;      /* [sc_n]  col << 8 | index */
    float *sc_val;         /* [sc_n] */
    uint64_t sc_n;
    float *bias;           /* [rows] or NULL */
};

/* Allocate a layer's device buffers (contents undefined; row_ptr zeroed
 * when sc_n == 0). Used by the upload and by the benchmark, which fills
 * them with kernels. */
hx_status hxg_linear_alloc(int64_t rows, int64_t cols, uint64_t sc_n, int with_bias,
                           hxg_linear **out);

static inline int64_t hxg_round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* Blocks of 256 threads for a grid-stride loop over n items (at most 8192:
 * the loops take the rest). */
static inline int hxg_grid_for(uint64_t n)
{
    uint64_t b = (n + 255) / 256;
    return (int)(b < 8192 ? (b ? b : 1) : 8192);
}

#endif
