/* hxq_expand.cu - expand rows of an HXQ layer into a dense matrix in BF16
 * or F32 (codebook lookup, then the sidecar values written at their
 * positions): the first half of "expand + cuBLAS GEMM", the evaluation
 * engine's path for many-token matrix products (gpu/forward.cu), where
 * the tensor-core GEMM of cuBLAS outruns the fused WMMA kernel. */
#include "gpu/common.cuh"

namespace {

template <typename T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}

/* out[r, c] = cb[idx[(o0 + r) * ld + c]], r < rows, c < cols (row stride
 * cols); four codes (one aligned 32-bit word) per step; the codebook in
 * shared memory. */
template <typename OUT>
__global__ void expand_kernel(const uint8_t *__restrict__ idx, int64_t ld,
                              const float *__restrict__ cb, int64_t o0, int64_t rows, int64_t cols,
                              OUT *__restrict__ out)
{
    __shared__ float t[256];
    for (int i = threadIdx.x; i < 256; i += blockDim.x) t[i] = cb[i];
    __syncthreads();
    const int64_t c4 = (cols + 3) / 4, n = rows * c4;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = e / c4, c = (e - r * c4) * 4;
        const uint32_t w = *reinterpret_cast<const uint32_t *>(idx + (o0 + r) * ld + c);
        OUT *o = out + r * cols + c;
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (c + k < cols) o[k] = from_f32<OUT>(t[(w >> (8 * k)) & 0xffu]);
    }
}

/* the sidecar values of rows [o0, o0 + rows) replace the codebook's */
template <typename OUT>
__global__ void scatter_kernel(const uint32_t *__restrict__ row_ptr,
                               const uint32_t *__restrict__ ent, const float *__restrict__ val,
                               int64_t o0, int64_t rows, int64_t cols, OUT *__restrict__ out)
{
    for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows;
         r += (int64_t)gridDim.x * blockDim.x)
        for (uint32_t e = row_ptr[o0 + r]; e < row_ptr[o0 + r + 1]; e++)
            out[r * cols + (ent[e] >> 8)] = from_f32<OUT>(val[e]);
}

template <typename OUT>
hx_status launch(const hxg_linear *w, int64_t o0, int64_t rows, OUT *out, cudaStream_t s)
{
    expand_kernel<OUT><<<hxg_grid_for((uint64_t)rows * ((w->cols + 3) / 4)), 256, 0, s>>>(
        w->indices, w->ld, w->codebook, o0, rows, w->cols, out);
    HXG_LAUNCHED("hxq expand");
    if (w->sc_n) {
        scatter_kernel<OUT><<<hxg_grid_for((uint64_t)rows), 256, 0, s>>>(w->row_ptr, w->sc_ent, w->sc_val, o0, rows,
                                                          w->cols, out);
        HXG_LAUNCHED("hxq sidecar scatter");
    }
    return HX_OK;
}

} // namespace

extern "C" hx_status hxg_hxq_expand(const hxg_linear *w, int64_t o0, int64_t o1, void *out,
                                    hxg_dtype t, void *stream)
{
    if (!w || !out || o0 < 0 || o1 > w->rows || o0 >= o1)
        return HX_FAIL(HX_EINVAL, "hxq_expand: rows [%lld, %lld) of %lld", (long long)o0,
                       (long long)o1, w ? (long long)w->rows : -1LL);
    cudaStream_t s = (cudaStream_t)stream;
    return t == HXG_BF16 ? launch(w, o0, o1 - o0, (__nv_bfloat16 *)out, s)
                         : launch(w, o0, o1 - o0, (float *)out, s);
}
