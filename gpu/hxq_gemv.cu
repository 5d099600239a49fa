/* hxq_gemv.cu - fused HXQ GEMV for decode (batch 1..8).
 *
 * One block of 8 warps computes R consecutive output rows for all B inputs.
 * The warps split the columns: thread t of the block takes the 16-byte
 * index chunks t, t+256, t+512, ... of each of its R rows (16-byte
 * streaming loads, the next chunk's loads issued before the current one is
 * used), looks every index up in the lane-private codebook table in shared
 * memory (FP32, exact) and accumulates x*w in FP32 with FMA. x is read as
 * float4 (F32) or 4xBF16 per 4 columns and reused for the R rows.
 *
 * Reduction is in a fixed order (warp shuffle tree, then the 8 warps'
 * partials summed in warp order), then warp r adds the sidecar corrections
 * of row r (CSR, in entry order per lane, then a shuffle tree) and the
 * bias: no atomics, bit-reproducible results. */
#include "gpu/hxq_gemv.cuh"

namespace {

template <typename T> struct XLoad;
template <> struct XLoad<float> {
    static __device__ __forceinline__ void four(const float *p, float v[4])
    {
        float4 t = __ldg(reinterpret_cast<const float4 *>(p));
        v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
    }
    static __device__ __forceinline__ float one(const float *p) { return __ldg(p); }
};
template <> struct XLoad<__nv_bfloat16> {
    static __device__ __forceinline__ void four(const __nv_bfloat16 *p, float v[4])
    {
        uint2 t = __ldg(reinterpret_cast<const uint2 *>(p));
        v[0] = __uint_as_float(t.x << 16);
        v[1] = __uint_as_float(t.x & 0xffff0000u);
        v[2] = __uint_as_float(t.y << 16);
        v[3] = __uint_as_float(t.y & 0xffff0000u);
    }
    static __device__ __forceinline__ float one(const __nv_bfloat16 *p)
    {
        return __bfloat162float(p[0]);
    }
};

template <typename T> __device__ __forceinline__ void store_y(T *p, float v);
template <> __device__ __forceinline__ void store_y<float>(float *p, float v) { *p = v; }
template <> __device__ __forceinline__ void store_y<__nv_bfloat16>(__nv_bfloat16 *p, float v)
{
    *p = __float2bfloat16_rn(v);
}

struct Ident {
    __device__ __forceinline__ float operator()(float v) const { return v; }
};

template <int B, int R, typename XT, typename YT>
__global__ void __launch_bounds__(HXG_GEMV_THREADS)
    hxq_gemv_kernel(const uint8_t *__restrict__ idx, int64_t ld, int rows, int cols,
                    const float *__restrict__ cb, const uint32_t *__restrict__ row_ptr,
                    const uint32_t *__restrict__ sc_ent, const float *__restrict__ sc_val,
                    const float *__restrict__ bias, const XT *__restrict__ x, int64_t ldx,
                    YT *__restrict__ y, int64_t ldy)
{
    __shared__ __align__(16) float lut[HXG_LUT_WORDS];
    __shared__ float red[HXG_GEMV_WARPS][R * B];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int row0 = blockIdx.x * R;
    const int nchunk = (int)(ld >> 4);

    const uint4 *base[R];
#pragma unroll
    for (int r = 0; r < R; r++) {
        int row = min(row0 + r, rows - 1); /* rows past the end compute a copy, never stored */
        base[r] = reinterpret_cast<const uint4 *>(idx + (int64_t)row * ld);
    }

    /* First chunk's loads go out before the table is built. */
    int c = tid;
    uint4 q[R];
#pragma unroll
    for (int r = 0; r < R; r++) q[r] = c < nchunk ? __ldcs(base[r] + c) : make_uint4(0, 0, 0, 0);

    hxg_lut_fill(lut, cb, tid, HXG_GEMV_THREADS, Ident());
    __syncthreads();
    const float *tl = lut + lane;

    float acc[R][B];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int b = 0; b < B; b++) acc[r][b] = 0.f;

    for (; c < nchunk; c += HXG_GEMV_THREADS) {
        uint4 qn[R];
        const int cn = c + HXG_GEMV_THREADS;
#pragma unroll
        for (int r = 0; r < R; r++)
            qn[r] = cn < nchunk ? __ldcs(base[r] + cn) : make_uint4(0, 0, 0, 0);

#pragma unroll
        for (int w = 0; w < 4; w++) {
            const int col = c * 16 + w * 4;
            if (col >= cols) break; /* padding: nothing left in this chunk */
            float xv[B][4];
            if (col + 4 <= cols) {
#pragma unroll
                for (int b = 0; b < B; b++) XLoad<XT>::four(x + b * ldx + col, xv[b]);
            } else {
#pragma unroll
                for (int b = 0; b < B; b++)
#pragma unroll
                    for (int k = 0; k < 4; k++)
                        xv[b][k] = col + k < cols ? XLoad<XT>::one(x + b * ldx + col + k) : 0.f;
            }
#pragma unroll
            for (int r = 0; r < R; r++) {
                const uint32_t word = w == 0 ? q[r].x : w == 1 ? q[r].y : w == 2 ? q[r].z : q[r].w;
#pragma unroll
                for (int k = 0; k < 4; k++) {
                    const float wv = tl[((word >> (8 * k)) & 0xffu) << 5];
#pragma unroll
                    for (int b = 0; b < B; b++) acc[r][b] = fmaf(wv, xv[b][k], acc[r][b]);
                }
            }
        }
#pragma unroll
        for (int r = 0; r < R; r++) q[r] = qn[r];
    }

    /* Fixed-order reduction. */
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int b = 0; b < B; b++) {
            float v = acc[r][b];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
            if (lane == 0) red[warp][r * B + b] = v;
        }
    __syncthreads();

    if (warp < R) {
        const int row = row0 + warp;
        if (row >= rows) return;
        float s[B];
#pragma unroll
        for (int b = 0; b < B; b++) s[b] = 0.f;
        const uint32_t e0 = row_ptr[row], e1 = row_ptr[row + 1];
        for (uint32_t e = e0 + lane; e < e1; e += 32) {
            const uint32_t en = sc_ent[e];
            const int col = (int)(en >> 8);
            const float delta = sc_val[e] - cb[en & 0xffu];
#pragma unroll
            for (int b = 0; b < B; b++) s[b] = fmaf(XLoad<XT>::one(x + b * ldx + col), delta, s[b]);
        }
#pragma unroll
        for (int b = 0; b < B; b++) {
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) s[b] += __shfl_xor_sync(0xffffffffu, s[b], o);
        }
        if (lane < B) {
            float sb = 0.f;
#pragma unroll
            for (int b = 0; b < B; b++)
                if (b == lane) sb = s[b];
            float t = 0.f;
#pragma unroll
            for (int wi = 0; wi < HXG_GEMV_WARPS; wi++) t += red[wi][warp * B + lane];
            t += sb;
            if (bias) t += bias[row];
            store_y<YT>(y + lane * ldy + row, t);
        }
    }
}

template <int B, typename XT, typename YT>
hx_status launch_b(const hxg_linear *w, const void *x, int64_t ldx, void *y, int64_t ldy,
                   cudaStream_t s)
{
    constexpr int R = B <= 4 ? 4 : 2;
    const int blocks = (int)((w->rows + R - 1) / R);
    hxq_gemv_kernel<B, R, XT, YT><<<blocks, HXG_GEMV_THREADS, 0, s>>>(
        w->indices, w->ld, (int)w->rows, (int)w->cols, w->codebook, w->row_ptr, w->sc_ent,
        w->sc_val, w->bias, (const XT *)x, ldx, (YT *)y, ldy);
    HXG_LAUNCHED("hxq_gemv_kernel");
    return HX_OK;
}

template <typename XT, typename YT>
hx_status launch_xy(const hxg_linear *w, const void *x, int64_t ldx, int batch, void *y,
                    int64_t ldy, cudaStream_t s)
{
    switch (batch) {
    case 1: return launch_b<1, XT, YT>(w, x, ldx, y, ldy, s);
    case 2: return launch_b<2, XT, YT>(w, x, ldx, y, ldy, s);
    case 3: return launch_b<3, XT, YT>(w, x, ldx, y, ldy, s);
    case 4: return launch_b<4, XT, YT>(w, x, ldx, y, ldy, s);
    case 5: return launch_b<5, XT, YT>(w, x, ldx, y, ldy, s);
    case 6: return launch_b<6, XT, YT>(w, x, ldx, y, ldy, s);
    case 7: return launch_b<7, XT, YT>(w, x, ldx, y, ldy, s);
    default: return launch_b<8, XT, YT>(w, x, ldx, y, ldy, s);
    }
}

} // namespace

extern "C" hx_status hxg_hxq_gemv(const hxg_linear *w, const void *x, hxg_dtype xt, int64_t ldx,
                                  int batch, void *y, hxg_dtype yt, int64_t ldy, void *stream)
{
    if (!w || !x || !y) return HX_FAIL(HX_EINVAL, "hxq_gemv: NULL argument");
    if (batch < 1 || batch > HXG_GEMV_MAX_BATCH)
        return HX_FAIL(HX_EINVAL, "hxq_gemv: batch %d outside 1..%d", batch, HXG_GEMV_MAX_BATCH);
    const size_t xs = xt == HXG_F32 ? 4 : 2;
    if (ldx < w->cols || ldx % 4 != 0 || ((uintptr_t)x % (4 * xs)) != 0)
        return HX_FAIL(HX_EINVAL,
                       "hxq_gemv: x row stride %lld must be >= cols (%lld), a multiple of 4, and x "
                       "aligned to %zu bytes",
                       (long long)ldx, (long long)w->cols, 4 * xs);
    if (batch > 1 && ldy < w->rows)
        return HX_FAIL(HX_EINVAL, "hxq_gemv: y row stride %lld < rows %lld", (long long)ldy,
                       (long long)w->rows);
    cudaStream_t s = (cudaStream_t)stream;
    if (xt == HXG_F32)
        return yt == HXG_F32 ? launch_xy<float, float>(w, x, ldx, batch, y, ldy, s)
                             : launch_xy<float, __nv_bfloat16>(w, x, ldx, batch, y, ldy, s);
    return yt == HXG_F32 ? launch_xy<__nv_bfloat16, float>(w, x, ldx, batch, y, ldy, s)
                         : launch_xy<__nv_bfloat16, __nv_bfloat16>(w, x, ldx, batch, y, ldy, s);
}
