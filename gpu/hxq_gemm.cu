/* hxq_gemm.cu - HXQ GEMM for prefill and evaluation windows (M > 8).
 *
 * y[M, rows] = x[M, cols] (BF16) . W'^T, block tile 128 tokens x 128 output
 * rows, k-step 32, 8 warps on tensor cores (WMMA m16n16k16 BF16, FP32
 * accumulators). Per k-step each thread loads 16 index bytes of one W row
 * (one 16-byte load), looks them up in the lane-private codebook table (the
 * codebook rounded to BF16) and writes 16 BF16 weights into the shared W
 * tile; the x tile is loaded with 16-byte loads. Register double
 * buffering: the next step's loads are in flight during the current step's
 * matrix products.
 *
 * Epilogue, per output element, in a fixed order: accumulator + the
 * sidecar corrections of its row in entry order (x * (value - bf16(cb)),
 * FP32) + bias; so at sidecar positions the effective weight is the FP32
 * sidecar value, elsewhere the BF16-rounded codebook value. */
#include <atomic>

#include <mma.h>

#include "gpu/hxq_gemm.cuh"

using namespace nvcuda;

namespace {

struct ToBf16 {
    __device__ __forceinline__ float operator()(float v) const
    {
        return __bfloat162float(__float2bfloat16_rn(v));
    }
};

template <typename T> __device__ __forceinline__ void store_out(T *p, float v);
template <> __device__ __forceinline__ void store_out<float>(float *p, float v) { *p = v; }
template <> __device__ __forceinline__ void store_out<__nv_bfloat16>(__nv_bfloat16 *p, float v)
{
    *p = __float2bfloat16_rn(v);
}

/* Load 8 BF16 of x row m starting at column k, zero past cols/M. */
__device__ __forceinline__ uint4 load_x8(const __nv_bfloat16 *__restrict__ x, int64_t ldx, int M,
                                         int cols, int m, int k)
{
    if (m >= M || k >= cols) return make_uint4(0, 0, 0, 0);
    const __nv_bfloat16 *p = x + (int64_t)m * ldx + k;
    if (k + 8 <= cols) return __ldg(reinterpret_cast<const uint4 *>(p));
    uint16_t h[8];
    for (int i = 0; i < 8; i++)
        h[i] = k + i < cols ? __bfloat16_as_ushort(p[i]) : (uint16_t)0;
    return make_uint4(h[0] | (uint32_t)h[1] << 16, h[2] | (uint32_t)h[3] << 16,
                      h[4] | (uint32_t)h[5] << 16, h[6] | (uint32_t)h[7] << 16);
}

/* Two looked-up words (BF16 values in the high halves) -> one BF16 pair. */
__device__ __forceinline__ uint32_t pack2(const float *tl, uint32_t word, int k0)
{
    const uint32_t a = __float_as_uint(tl[((word >> (8 * k0)) & 0xffu) << 5]);
    const uint32_t b = __float_as_uint(tl[((word >> (8 * k0 + 8)) & 0xffu) << 5]);
    return __byte_perm(a, b, 0x7632);
}

__device__ __forceinline__ void dequant16(const float *tl, uint4 q, uint4 out[2])
{
    out[0] = make_uint4(pack2(tl, q.x, 0), pack2(tl, q.x, 2), pack2(tl, q.y, 0), pack2(tl, q.y, 2));
    out[1] = make_uint4(pack2(tl, q.z, 0), pack2(tl, q.z, 2), pack2(tl, q.w, 0), pack2(tl, q.w, 2));
}

template <typename YT>
__global__ void __launch_bounds__(HXG_GEMM_THREADS)
    hxq_gemm_kernel(const uint8_t *__restrict__ idx, int64_t ld, int rows, int cols,
                    const float *__restrict__ cb, const uint32_t *__restrict__ row_ptr,
                    const uint32_t *__restrict__ sc_ent, const float *__restrict__ sc_val,
                    const float *__restrict__ bias, const __nv_bfloat16 *__restrict__ x,
                    int64_t ldx, int M, YT *__restrict__ y, int64_t ldy)
{
    extern __shared__ __align__(128) unsigned char smem[];
    float *lut = reinterpret_cast<float *>(smem);
    __nv_bfloat16 *As = reinterpret_cast<__nv_bfloat16 *>(smem + HXG_LUT_WORDS * 4);
    __nv_bfloat16 *Bs = As + 2 * HXG_GEMM_BM * HXG_GEMM_LDS;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp >> 2, wn = warp & 3; /* warp tile: rows wm*64.., cols wn*32.. */
    const int n0 = blockIdx.x * HXG_GEMM_BN, m0 = blockIdx.y * HXG_GEMM_BM;

    /* This thread's load slots. x: rows ar and ar+64, 8 columns at ac. */
    const int ar = tid >> 2, ac = (tid & 3) * 8;
    /* W: row br, 16 columns at bc. */
    const int br = tid >> 1, bc = (tid & 1) * 16;
    const uint4 *wrow =
        reinterpret_cast<const uint4 *>(idx + (int64_t)min(n0 + br, rows - 1) * ld + bc);

    const int ksteps = (cols + HXG_GEMM_BK - 1) / HXG_GEMM_BK;

    uint4 ra0 = load_x8(x, ldx, M, cols, m0 + ar, ac);
    uint4 ra1 = load_x8(x, ldx, M, cols, m0 + ar + 64, ac);
    uint4 rq = __ldcs(wrow);

    hxg_lut_fill(lut, cb, tid, HXG_GEMM_THREADS, ToBf16());
    __syncthreads();
    const float *tl = lut + lane;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.f);

    auto store_stage = [&](int s) {
        __nv_bfloat16 *a = As + s * HXG_GEMM_BM * HXG_GEMM_LDS;
        __nv_bfloat16 *b = Bs + s * HXG_GEMM_BN * HXG_GEMM_LDS;
        *reinterpret_cast<uint4 *>(a + ar * HXG_GEMM_LDS + ac) = ra0;
        *reinterpret_cast<uint4 *>(a + (ar + 64) * HXG_GEMM_LDS + ac) = ra1;
        uint4 d[2];
        dequant16(tl, rq, d);
        *reinterpret_cast<uint4 *>(b + br * HXG_GEMM_LDS + bc) = d[0];
        *reinterpret_cast<uint4 *>(b + br * HXG_GEMM_LDS + bc + 8) = d[1];
    };

    store_stage(0);
    __syncthreads();

    for (int ks = 0; ks < ksteps; ks++) {
        const int s = ks & 1;
        if (ks + 1 < ksteps) {
            const int k = (ks + 1) * HXG_GEMM_BK;
            ra0 = load_x8(x, ldx, M, cols, m0 + ar, k + ac);
            ra1 = load_x8(x, ldx, M, cols, m0 + ar + 64, k + ac);
            rq = __ldcs(wrow + (ks + 1) * (HXG_GEMM_BK / 16));
        }
        const __nv_bfloat16 *a = As + s * HXG_GEMM_BM * HXG_GEMM_LDS;
        const __nv_bfloat16 *b = Bs + s * HXG_GEMM_BN * HXG_GEMM_LDS;
#pragma unroll
        for (int kk = 0; kk < HXG_GEMM_BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[4];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[2];
#pragma unroll
            for (int i = 0; i < 4; i++)
                wmma::load_matrix_sync(fa[i], a + (wm * 64 + i * 16) * HXG_GEMM_LDS + kk,
                                       HXG_GEMM_LDS);
#pragma unroll
            for (int j = 0; j < 2; j++)
                wmma::load_matrix_sync(fb[j], b + (wn * 32 + j * 16) * HXG_GEMM_LDS + kk,
                                       HXG_GEMM_LDS);
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        if (ks + 1 < ksteps) store_stage(s ^ 1);
        __syncthreads();
    }

    /* Epilogue: stage the warp's 64 x 32 tile (the LUT/tiles are dead now). */
    float *stage = reinterpret_cast<float *>(smem) + warp * 64 * HXG_GEMM_STAGE_LD;
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++)
            wmma::store_matrix_sync(stage + i * 16 * HXG_GEMM_STAGE_LD + j * 16, acc[i][j],
                                    HXG_GEMM_STAGE_LD, wmma::mem_row_major);
    __syncwarp();

    const int o = n0 + wn * 32 + lane; /* this lane's output row (column of y) */
    if (o >= rows) return;
    const int mbase = m0 + wm * 64;
    const int mcount = min(64, M - mbase);
    if (mcount <= 0) return;
    const uint32_t e0 = row_ptr[o], e1 = row_ptr[o + 1];
    for (uint32_t e = e0; e < e1; e++) {
        const uint32_t en = sc_ent[e];
        const int col = (int)(en >> 8);
        const float delta = sc_val[e] - __bfloat162float(__float2bfloat16_rn(cb[en & 0xffu]));
        for (int i = 0; i < mcount; i++)
            stage[i * HXG_GEMM_STAGE_LD + lane] =
                fmaf(__bfloat162float(x[(int64_t)(mbase + i) * ldx + col]), delta,
                     stage[i * HXG_GEMM_STAGE_LD + lane]);
    }
    const float bo = bias ? bias[o] : 0.f;
    for (int i = 0; i < mcount; i++) {
        float v = stage[i * HXG_GEMM_STAGE_LD + lane];
        if (bias) v += bo;
        store_out<YT>(y + (int64_t)(mbase + i) * ldy + o, v);
    }
}

template <typename YT>
hx_status launch(const hxg_linear *w, const void *x, int64_t ldx, int64_t M, void *y, int64_t ldy,
                 cudaStream_t s)
{
    static_assert(HXG_GEMM_STAGE_BYTES <= HXG_GEMM_SMEM, "epilogue staging must fit");
    /* The opt-in shared memory size is a per-device function attribute:
     * set it once per device (a bit per ordinal, set atomically; racing
     * first calls both set it, which is harmless). Keeps the call out of
     * graph captures after a device's first launch. */
    static std::atomic<unsigned long long> smem_set[1];
    int dev = 0;
    HXG_CUDA(cudaGetDevice(&dev));
    const unsigned long long bit = dev < 64 ? 1ull << dev : 0;
    if (!bit || !(smem_set[0].load() & bit)) {
        HXG_CUDA(cudaFuncSetAttribute(hxq_gemm_kernel<YT>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, HXG_GEMM_SMEM));
        smem_set[0].fetch_or(bit);
    }
    /* grid.y is limited to 65535 blocks of HXG_GEMM_BM tokens: launch in
     * slices of M. */
    const int64_t mslice = (int64_t)65535 * HXG_GEMM_BM;
    for (int64_t m0 = 0; m0 < M; m0 += mslice) {
        const int64_t mm = M - m0 < mslice ? M - m0 : mslice;
        dim3 grid((unsigned)((w->rows + HXG_GEMM_BN - 1) / HXG_GEMM_BN),
                  (unsigned)((mm + HXG_GEMM_BM - 1) / HXG_GEMM_BM));
        hxq_gemm_kernel<YT><<<grid, HXG_GEMM_THREADS, HXG_GEMM_SMEM, s>>>(
            w->indices, w->ld, (int)w->rows, (int)w->cols, w->codebook, w->row_ptr, w->sc_ent,
            w->sc_val, w->bias, (const __nv_bfloat16 *)x + m0 * ldx, ldx, (int)mm,
            (YT *)y + m0 * ldy, ldy);
        HXG_LAUNCHED("hxq_gemm_kernel");
    }
    return HX_OK;
}

} // namespace

extern "C" hx_status hxg_hxq_gemm(const hxg_linear *w, const void *x, int64_t ldx, int64_t M,
                                  void *y, hxg_dtype yt, int64_t ldy, void *stream)
{
    if (!w || !x || !y) return HX_FAIL(HX_EINVAL, "hxq_gemm: NULL argument");
    if (M < 1 || M > ((int64_t)1 << 31) / 2)
        return HX_FAIL(HX_EINVAL, "hxq_gemm: M = %lld", (long long)M);
    if (ldx < w->cols || ldx % 8 != 0 || (uintptr_t)x % 16 != 0)
        return HX_FAIL(HX_EINVAL,
                       "hxq_gemm: x row stride %lld must be >= cols (%lld) and a multiple of 8, "
                       "x 16-byte aligned",
                       (long long)ldx, (long long)w->cols);
    if (ldy < w->rows)
        return HX_FAIL(HX_EINVAL, "hxq_gemm: y row stride %lld < rows %lld", (long long)ldy,
                       (long long)w->rows);
    cudaStream_t s = (cudaStream_t)stream;
    return yt == HXG_F32 ? launch<float>(w, x, ldx, M, y, ldy, s)
                         : launch<__nv_bfloat16>(w, x, ldx, M, y, ldy, s);
}

extern "C" hx_status hxg_hxq_linear(const hxg_linear *w, const void *x, hxg_dtype xt, int64_t ldx,
                                    int64_t M, void *y, hxg_dtype yt, int64_t ldy, void *stream)
{
    if (M <= HXG_GEMV_MAX_BATCH)
        return hxg_hxq_gemv(w, x, xt, ldx, (int)M, y, yt, ldy, stream);
    if (xt != HXG_BF16)
        return HX_FAIL(HX_EINVAL, "hxq_linear: the GEMM (M = %lld > %d) takes BF16 x", (long long)M,
                       HXG_GEMV_MAX_BATCH);
    return hxg_hxq_gemm(w, x, ldx, M, y, yt, ldy, stream);
}
