/* hxq_gemv.cu - fused HXQ GEMV for decode (batch 1..8).
 *
 * Two kernels; v2 is the default, v1 (the first design) is kept for
 * comparison and selected with HXG_GEMV=v1 in the environment (read once).
 * Both: exact F32 weights (codebook[index]) times x in FP32 with FMA, a
 * fixed reduction order (no atomics: bit-reproducible), the sidecar as a
 * per-row CSR correction (value - codebook[index], added in entry order),
 * then the bias; y written only for rows < rows.
 *
 * v2 (docs/GPU.md "GEMV"): persistent blocks of 16 warps (one or two per
 * SM, at most one per row group), each building the 64 KB lane-private
 * codebook table once and then streaming row groups through it. A row
 * group is R consecutive rows (R per batch size, table kR) taken by a
 * team of T warps (T = 1..16, chosen per launch from the shape by
 * choose_log_t); the team's warps split the row's 32-bit index words into
 * contiguous ranges of 32-word segments, lane l taking word l of each
 * segment, so every index load is a coalesced 128-byte warp load
 * (ld.global.nc.L1::no_allocate) and every x load (4 columns: a float4 or
 * 4 BF16) is contiguous across the warp. The next step's index loads (U
 * words per lane and row) are issued before the current step is computed,
 * across row-group boundaries (two register buffers, the loop body
 * unrolled twice). A lookup is one byte permute (the address) and one
 * shared load. Per group: the sidecar corrections (strided over the
 * team's lanes, the first entry prefetched) go into the lane
 * accumulators, a transposed butterfly reduces all R*B of them over the
 * warp at once, the team's partials are added in warp order through
 * shared memory (a named barrier per team), then the bias.
 *
 * v1: one block of 8 warps per R consecutive rows (R = 4 for batch <= 4,
 * else 2), each block building the 32 KB table; thread t takes the 16-byte
 * chunks t, t+256, ... of each row. */
#include <stdlib.h>
#include <string.h>

#include <atomic>

#include "gpu/hxq_gemv.cuh"

namespace {

template <typename T> __device__ __forceinline__ void store_y(T *p, float v);
template <> __device__ __forceinline__ void store_y<float>(float *p, float v) { *p = v; }
template <> __device__ __forceinline__ void store_y<__nv_bfloat16>(__nv_bfloat16 *p, float v)
{
    *p = __float2bfloat16_rn(v);
}

} // namespace

/* ======================================================================= v1 */
namespace v1 {

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

} // namespace v1

/* ======================================================================= v2 */
namespace v2 {

constexpr int NW = HXG_GEMV2_WARPS;
constexpr int NT = HXG_GEMV2_THREADS;

constexpr int pow2ceil(int n) { return n <= 1 ? 1 : 2 * pow2ceil((n + 1) / 2); }
constexpr int log2i(int n) { return n <= 1 ? 0 : 1 + log2i(n / 2); }

/* Per batch size B (the tables, index B):
 *   R     rows per group: each x load serves R rows (x is converted to FP32
 *         once per R rows), but fewer groups balance less well;
 *   U     32-bit index words per lane and row in one pipeline step
 *         (R*U*128 bytes per warp and step; the next step's loads are in
 *         flight while a step is computed). F32 x needs twice the
 *         registers for its values: U is halved for it (not for batch 1
 *         with one block per SM);
 *   MINB  minimum resident blocks per SM for __launch_bounds__: 2 means at
 *         most 64 registers and 32 warps per SM (batch 1 and 2, where more
 *         warps hide more latency), 1 means up to 128 registers;
 * the number of accumulators N = R*B and its power-of-two padding NP for
 * the transposed warp reduction, and BLOCKED: each step's products go into
 * a fresh partial that is then added to the accumulator, so a term meets at
 * most 4U + steps roundings in its thread instead of 4 per word (batch <= 4;
 * larger batches lack the registers for the partials).
 * Every instantiation compiles without spills (sm_80 and sm_90). The values
 * were chosen by timing variants on an H200 (gpu-check's GEMV benchmark);
 * the HXG_GEMV2_CFG_R/U/M macros replace the tables in such tuning builds
 * only. */
#ifdef HXG_GEMV2_CFG_R
constexpr int kR[9] = {0, HXG_GEMV2_CFG_R};
#else
constexpr int kR[9] = {0, 2, 2, 4, 4, 2, 2, 2, 2};
#endif
#ifdef HXG_GEMV2_CFG_U
constexpr int kU[9] = {0, HXG_GEMV2_CFG_U};
#else
constexpr int kU[9] = {0, 4, 3, 4, 4, 4, 4, 4, 4};
#endif
#ifdef HXG_GEMV2_CFG_M
constexpr int kMinB[9] = {0, HXG_GEMV2_CFG_M};
#else
constexpr int kMinB[9] = {0, 2, 2, 1, 1, 1, 1, 1, 1};
#endif
template <int B, typename XT> struct Cfg {
    static constexpr bool F32X = sizeof(XT) == 4;
    static constexpr int R = kR[B];
    static constexpr int MINB = kMinB[B];
    static constexpr int U = F32X && (B > 1 || MINB > 1) ? (kU[B] / 2 > 0 ? kU[B] / 2 : 1) : kU[B];
    static constexpr int N = R * B;
    static constexpr int NP = pow2ceil(N);
    static constexpr int LG = log2i(NP);
    static constexpr bool BLOCKED = B <= HXG_GEMV2_BLOCKED_MAX_B;
    static_assert(!BLOCKED || (U >= HXG_GEMV2_UMIN && U <= HXG_GEMV2_UMAX),
                  "the tolerance assumes this U range for the blocked sums");
    static_assert(NP <= 32 && NP >= 2, "one accumulator per lane after the reduction");
};

/* A 32-bit word of the index stream: read once, so it is not allocated in
 * L1 (which keeps x), with a 256-byte L2 prefetch. */
__device__ __forceinline__ uint32_t ld_stream(const uint32_t *p)
{
    uint32_t v;
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.b32 %0, [%1];" : "=r"(v) : "l"(p));
    return v;
}

/* Four x values at p (column col of one input row), loaded raw (XR::raw:
 * a float4, or 4 BF16 in a uint2) and converted to FP32 at use (XR::at).
 * part(p, rem), rem = cols - col: elements at or past cols are 0 and never
 * read (x's padding may hold anything). full(p): all four inside cols. p
 * is aligned for the vector load (gpu.h's x stride and alignment rules). */
template <typename XT> struct XR;
template <> struct XR<float> {
    using raw = float4;
    static __device__ __forceinline__ raw full(const float *__restrict__ p)
    {
        return __ldg(reinterpret_cast<const float4 *>(p));
    }
    static __device__ __forceinline__ raw part(const float *__restrict__ p, int rem)
    {
        if (rem >= 4) return full(p);
        return make_float4(rem > 0 ? __ldg(p) : 0.f, rem > 1 ? __ldg(p + 1) : 0.f,
                           rem > 2 ? __ldg(p + 2) : 0.f, 0.f);
    }
    static __device__ __forceinline__ float at(const raw &v, int k)
    {
        return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w;
    }
};
template <> struct XR<__nv_bfloat16> {
    using raw = uint2;
    static __device__ __forceinline__ raw full(const __nv_bfloat16 *__restrict__ p)
    {
        return __ldg(reinterpret_cast<const uint2 *>(p));
    }
    static __device__ __forceinline__ raw part(const __nv_bfloat16 *__restrict__ p, int rem)
    {
        if (rem >= 4) return full(p);
        const unsigned short *h = reinterpret_cast<const unsigned short *>(p);
        uint32_t lo = rem > 0 ? (uint32_t)__ldg(h) : 0u;
        lo |= rem > 1 ? (uint32_t)__ldg(h + 1) << 16 : 0u;
        return make_uint2(lo, rem > 2 ? (uint32_t)__ldg(h + 2) : 0u);
    }
    static __device__ __forceinline__ float at(const raw &v, int k)
    {
        const uint32_t w = k < 2 ? v.x : v.y;
        return __uint_as_float(k & 1 ? w & 0xffff0000u : w << 16);
    }
};
__device__ __forceinline__ float x1(const float *p) { return __ldg(p); }
__device__ __forceinline__ float x1(const __nv_bfloat16 *p)
{
    return __uint_as_float((uint32_t)__ldg(reinterpret_cast<const unsigned short *>(p)) << 16);
}

/* The value, hidden from the optimizer: the per-warp constants derived
 * from threadIdx are kept in registers instead of being recomputed in
 * every pipeline step (register-pressure rematerialization). */
__device__ __forceinline__ int opaque(int v)
{
    int r;
    asm volatile("mov.b32 %0, %1;" : "=r"(r) : "r"(v));
    return r;
}

/* The table entry at a byte offset ((index << 8) | (lane << 2)). */
__device__ __forceinline__ float lut_at(const float *lut, uint32_t off)
{
    return *reinterpret_cast<const float *>(reinterpret_cast<const char *>(lut) + off);
}

/* Barrier of one team (T warps, T >= 2): named barrier 1 + team index in
 * the block (barrier 0 is __syncthreads). Orders the shared partials. */
__device__ __forceinline__ void team_sync(int id, int nthreads)
{
    asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(nthreads) : "memory");
}

/* Sum each of NP values over the 32 lanes with a transposed butterfly:
 * while more than one value is live, each level exchanges half of them
 * (lanes with bit o set keep the upper half), so NP values cost
 * NP - 1 + (5 - log2 NP) shuffles instead of 5 NP. Every output is a
 * 5-level binary tree over the lanes (fixed order, exact same as a plain
 * xor-shuffle tree's depth). Lane l returns the sum of value
 * l >> (5 - log2 NP). */
template <int NP> __device__ __forceinline__ float warp_sum_transposed(float (&v)[NP], int lane)
{
#pragma unroll
    for (int lvl = 0; lvl < 5; lvl++) {
        const int o = 16 >> lvl;
        const int n = (NP >> lvl) > 1 ? (NP >> lvl) : 1;
        if (n > 1) {
            const bool up = (lane & o) != 0;
#pragma unroll
            for (int i = 0; i < n / 2; i++) {
                const float send = up ? v[i] : v[i + n / 2];
                const float keep = up ? v[i + n / 2] : v[i];
                v[i] = keep + __shfl_xor_sync(0xffffffffu, send, o);
            }
        } else {
            v[0] += __shfl_xor_sync(0xffffffffu, v[0], o);
        }
    }
    return v[0];
}

template <int B, typename XT, typename YT>
__global__ void __launch_bounds__(NT, Cfg<B, XT>::MINB)
    gemv2_kernel(const uint8_t *__restrict__ idx, int64_t ld, int rows, int cols,
                 const float *__restrict__ cb, const uint32_t *__restrict__ row_ptr,
                 const uint32_t *__restrict__ sc_ent, const float *__restrict__ sc_val,
                 const float *__restrict__ bias, const XT *__restrict__ x, int64_t ldx,
                 YT *__restrict__ y, int64_t ldy, int logT)
{
    using C = Cfg<B, XT>;
    constexpr int R = C::R, U = C::U, N = C::N, NP = C::NP, LG = C::LG;
    extern __shared__ float4 smem4[];
    float *const lut = reinterpret_cast<float *>(smem4);
    float *const part = lut + HXG_LUT2_WORDS; /* [2][NW][32] */

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int T = 1 << logT, tw = warp & (T - 1); /* warp within the team */
    /* Teams are numbered across blocks first, so that the groups (taken
     * team, team + nteams, ...) spread evenly over the SMs. */
    const int team = (warp >> logT) * (int)gridDim.x + (int)blockIdx.x;
    const int nteams = (NW >> logT) * (int)gridDim.x;
    const int G = (rows + R - 1) / R;
    const int nw = (cols + 3) >> 2;         /* index words per row */
    const int nseg = (nw + 31) >> 5;        /* 32-word segments per row */
    const int K = (nseg + T - 1) >> logT;   /* segments per warp of a team */
    const int S = (K + U - 1) / U;          /* pipeline steps per row group */
    const int kend = opaque(min(K, nseg - tw * K)); /* this warp's segments (<= 0: none) */
    const int w0 = opaque(tw * K * 32 + lane);      /* this lane's first word of a row */
    const uint32_t laneoff = (uint32_t)lane << 2;
    const int64_t ldw = ld >> 2;
    const uint32_t *const idx32 = reinterpret_cast<const uint32_t *>(idx);
    /* After the transposed reduction lane l holds accumulator vi (r = vr,
     * batch vb); one lane per accumulator (the owner) stores it. */
    const int vi = lane >> (5 - LG);
    const bool owner = (lane & ((32 >> LG) - 1)) == 0 && vi < N;
    const int vr = vi / B, vb = vi - vr * B;

    /* Steps 0 .. sfull-1 of a row group are whole for this warp: all their
     * U segments are the warp's and every lane's 4 columns of each are
     * < cols, so they need no checks (nfull: segments wholly inside cols). */
    const int nfull = cols >> 7;
    const int sfull = opaque(max(0, min(kend, nfull - tw * K)) / U);
    /* This lane's x (column 4 * w0 of input row 0; batch b at + b * ldx). */
    const XT *const xw = x + 4 * w0;

    /* Row r of group gg, from this lane's first word (rows past the end: a
     * copy of the last row, computed but never stored). */
    auto row_base = [&](int gg, int r) {
        return idx32 + (int64_t)min(gg * R + r, rows - 1) * ldw + w0;
    };
    /* Index words of step st (zero where past the row). */
    auto load_step = [&](uint32_t(&q)[R][U], const uint32_t *const(&rb)[R], int st) {
        const int so = st * U * 32;
        if (st < sfull) { /* warp-uniform */
#pragma unroll
            for (int r = 0; r < R; r++)
#pragma unroll
                for (int u = 0; u < U; u++) q[r][u] = ld_stream(rb[r] + so + 32 * u);
        } else {
#pragma unroll
            for (int r = 0; r < R; r++)
#pragma unroll
                for (int u = 0; u < U; u++)
                    q[r][u] = st * U + u < kend && w0 + so + 32 * u < nw ? ld_stream(rb[r] + so + 32 * u)
                                                                      : 0u;
        }
    };
    /* CSR bounds of group gg's rows (rows past the end: empty) and the
     * bias of the owner's row. */
    auto load_rows = [&](uint32_t(&rpx)[R + 1], float &pbx, int gg) {
#pragma unroll
        for (int r = 0; r <= R; r++) rpx[r] = __ldg(row_ptr + min(gg * R + r, rows));
        const int row = gg * R + vr;
        pbx = bias && tw == 0 && owner && row < rows ? __ldg(bias + row) : 0.f;
    };

    int g = team, s = 0;
    uint32_t qa[R][U], qb[R][U], rp[R + 1], rpn[R + 1];
    const uint32_t *rb[R];
    float pb = 0.f, pbn = 0.f;
    /* The first step's loads go out before the table is built. */
    if (g < G) {
#pragma unroll
        for (int r = 0; r < R; r++) rb[r] = row_base(g, r);
        load_step(qa, rb, 0);
        load_rows(rp, pb, g);
    }
    for (int e = tid; e < 256 * 8; e += NT) { /* entry e >> 3, lanes 4(e & 7) .. +3 */
        const float v = __ldg(cb + (e >> 3));
        smem4[(e >> 3) * 16 + (e & 7)] = make_float4(v, v, v, v);
    }
    __syncthreads();
    if (g >= G) return; /* the whole team: no barrier of it is waited for */

    float acc[R][B];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int b = 0; b < B; b++) acc[r][b] = 0.f;
    uint32_t pen = 0; /* the lane's first sidecar entry of the group, prefetched */
    float pval = 0.f;
    int buf = 0;

    using XR_ = XR<XT>;
    /* Products of word slot u (x of its 4 columns raw in xr) into t. */
    auto madd = [&](float(&t)[R][B], const uint32_t(&q)[R][U], int u,
                    const typename XR_::raw(&xr)[B]) {
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int k = 0; k < 4; k++) {
                const float wv = lut_at(lut, __byte_perm(q[r][u], laneoff, 0x5504u + 16u * k));
#pragma unroll
                for (int b = 0; b < B; b++) t[r][b] = fmaf(wv, XR_::at(xr[b], k), t[r][b]);
            }
    };
    /* One step's products: into a fresh partial t (at most 4U sequential
     * FMAs) then added to acc (BLOCKED), else straight into acc. A whole
     * step needs no checks; in a partial one, slots past the warp's
     * segments are skipped (warp-uniform) and words past cols have index 0
     * and x 0 (a zero product). */
    auto compute = [&](const uint32_t(&q)[R][U]) {
        float tb[R][B];
        float(&t)[R][B] = C::BLOCKED ? tb : acc;
        if (C::BLOCKED)
#pragma unroll
            for (int r = 0; r < R; r++)
#pragma unroll
                for (int b = 0; b < B; b++) tb[r][b] = 0.f;
        const XT *const xs = xw + s * (U * 128);
        if (s < sfull) { /* warp-uniform */
#pragma unroll
            for (int u = 0; u < U; u++) {
                typename XR_::raw xr[B];
#pragma unroll
                for (int b = 0; b < B; b++) xr[b] = XR_::full(xs + b * ldx + 128 * u);
                madd(t, q, u, xr);
            }
        } else {
            const int colb = (w0 + s * U * 32) * 4;
#pragma unroll
            for (int u = 0; u < U; u++) {
                if (s * U + u < kend) { /* warp-uniform */
                    typename XR_::raw xr[B];
#pragma unroll
                    for (int b = 0; b < B; b++)
                        xr[b] = XR_::part(xs + b * ldx + 128 * u, cols - colb - 128 * u);
                    madd(t, q, u, xr);
                }
            }
        }
        if (C::BLOCKED)
#pragma unroll
            for (int r = 0; r < R; r++)
#pragma unroll
                for (int b = 0; b < B; b++) acc[r][b] += tb[r][b];
    };

    /* Group g done: sidecar corrections into acc, warp reduction, the
     * team's partials in warp order, bias, store. */
    auto epilogue = [&]() {
        const uint32_t stride = 32u << logT;
        uint32_t e = rp[0] + (uint32_t)(tw * 32 + lane);
        if (e < rp[R]) {
            uint32_t en = pen;
            float val = pval;
            for (;;) {
                const float delta = val - lut_at(lut, ((en & 0xffu) << 8) | laneoff);
                const int col = (int)(en >> 8);
                int er = 0;
#pragma unroll
                for (int r = 1; r < R; r++) er += e >= rp[r];
#pragma unroll
                for (int b = 0; b < B; b++) {
                    const float xe = x1(x + b * ldx + col);
#pragma unroll
                    for (int r = 0; r < R; r++)
                        if (er == r) acc[r][b] = fmaf(xe, delta, acc[r][b]);
                }
                if (rp[R] - e <= stride) break;
                e += stride;
                en = __ldg(sc_ent + e);
                val = __ldg(sc_val + e);
            }
        }
        float v[NP];
#pragma unroll
        for (int i = 0; i < NP; i++) v[i] = i < N ? acc[i / B][i % B] : 0.f;
        float tot = warp_sum_transposed<NP>(v, lane);
        if (T > 1) {
            float *pp = part + buf * (NW * 32);
            if (owner) pp[warp * 32 + vi] = tot;
            team_sync(1 + (warp >> logT), 32 << logT);
            if (tw == 0 && owner)
                for (int p = 1; p < T; p++) tot += pp[(warp + p) * 32 + vi];
        }
        if (tw == 0 && owner) {
            const int row = g * R + vr;
            if (row < rows) {
                if (bias) tot += pb;
                store_y<YT>(y + vb * ldy + row, tot);
            }
        }
    };

    /* One pipeline step: the next step's loads (the next row group's first
     * step after a group's last), then this step's products; after a
     * group's last step its epilogue. False when the warp is done. */
    auto body = [&](uint32_t(&cur)[R][U], uint32_t(&nxt)[R][U]) -> bool {
        const int sn = s + 1;
        const int gn = g + nteams;
        if (sn < S) {
            load_step(nxt, rb, sn);
        } else if (gn < G) {
            const uint32_t *rbn[R];
#pragma unroll
            for (int r = 0; r < R; r++) rbn[r] = row_base(gn, r);
            load_step(nxt, rbn, 0);
            load_rows(rpn, pbn, gn);
#pragma unroll
            for (int r = 0; r < R; r++) rb[r] = rbn[r]; /* the current group's are done */
        }
        if (s == 0) {
            const uint32_t e = rp[0] + (uint32_t)(tw * 32 + lane);
            if (e < rp[R]) {
                pen = __ldg(sc_ent + e);
                pval = __ldg(sc_val + e);
            }
        }
        compute(cur);
        if (sn < S) {
            s = sn;
            return true;
        }
        epilogue();
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int b = 0; b < B; b++) acc[r][b] = 0.f;
#pragma unroll
        for (int r = 0; r <= R; r++) rp[r] = rpn[r];
        pb = pbn;
        buf ^= 1;
        g = gn, s = 0;
        return g < G;
    };
    while (body(qa, qb) && body(qb, qa)) {
    }
}

/* SM count per device ordinal (0: not yet asked). */
static std::atomic<int> g_sms[64];

/* Team size: the power of two T (1 .. HXG_GEMV2_TMAX, at most the row's
 * segments) minimizing waves * (R * U * steps + 8 + (T > 1 ? 8 + T : 0)),
 * where waves = ceil(groups / teams), teams = resident warps / T and steps
 * = ceil(segments per warp / U): the slot-rows a warp streams per group
 * (a partial last step costs a whole one), plus a group's epilogue and,
 * for teams, the barrier (waiting for the team's slowest warp). Many rows:
 * T = 1 (a warp per row group, no barrier); rows fewer than the warps:
 * teams, so that all warps stream. */
static int choose_log_t(int64_t groups, int64_t nseg, int64_t warps, int R, int U)
{
    int best_lt = 0;
    double best = 0;
    for (int lt = 0; (1 << lt) <= HXG_GEMV2_TMAX; lt++) {
        const int64_t T = (int64_t)1 << lt;
        if (lt > 0 && T > nseg) break;
        const int64_t teams = warps / T > 0 ? warps / T : 1;
        const int64_t waves = (groups + teams - 1) / teams;
        const int64_t K = (nseg + T - 1) / T;
        const int64_t steps = (K + U - 1) / U;
        const double cost = (double)waves * (double)(R * U * steps + 8 + (T > 1 ? 8 + T : 0));
        if (lt == 0 || cost < best) best = cost, best_lt = lt;
    }
    return best_lt;
}

template <int B, typename XT, typename YT>
hx_status launch_b(const hxg_linear *w, const void *x, int64_t ldx, void *y, int64_t ldy,
                   cudaStream_t s)
{
    using C = Cfg<B, XT>;
    auto kern = gemv2_kernel<B, XT, YT>;
    /* Resident blocks per SM, per device ordinal (0: not yet known). The
     * opt-in shared memory size is set with it, once per device (racing
     * first calls both set it, which is harmless), so that the attribute
     * call stays out of graph captures after a device's first launch. */
    static std::atomic<int> occ[64];
    int dev = 0;
    HXG_CUDA(cudaGetDevice(&dev));
    const bool cached = dev >= 0 && dev < 64;
    int per_sm = cached ? occ[dev].load() : 0, sms = cached ? g_sms[dev].load() : 0;
    if (!per_sm || !sms) {
        HXG_CUDA(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      HXG_GEMV2_SMEM));
        HXG_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kern, HXG_GEMV2_THREADS,
                                                               HXG_GEMV2_SMEM));
        HXG_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
        if (per_sm < 1 || sms < 1)
            return HX_FAIL(HX_EINTERNAL, "hxq_gemv: kernel does not fit on device %d (%d blocks/SM)",
                           dev, per_sm);
        if (cached) occ[dev].store(per_sm), g_sms[dev].store(sms);
    }
    const int64_t groups = (w->rows + C::R - 1) / C::R;
    const int64_t nseg = ((w->cols + 3) / 4 + 31) / 32;
    const int64_t resident = (int64_t)sms * per_sm;
    const int lt = choose_log_t(groups, nseg, resident * NW, C::R, C::U);
    /* Every block gets at least one team (teams are dealt to the blocks
     * in turn), so that all SMs stream when there are fewer teams than
     * warp slots; the table is built once per block. */
    const int64_t blocks = groups < resident ? groups : resident;
    kern<<<(unsigned)blocks, HXG_GEMV2_THREADS, HXG_GEMV2_SMEM, s>>>(
        w->indices, w->ld, (int)w->rows, (int)w->cols, w->codebook, w->row_ptr, w->sc_ent,
        w->sc_val, w->bias, (const XT *)x, ldx, (YT *)y, ldy, lt);
    HXG_LAUNCHED("hxq_gemv2_kernel");
    return HX_OK;
}

} // namespace v2

/* ======================================================================= API */
namespace {

template <int V, typename XT, typename YT>
hx_status launch_xy(const hxg_linear *w, const void *x, int64_t ldx, int batch, void *y,
                    int64_t ldy, cudaStream_t s)
{
#define HXG_CASE(b)                                                                     \
    case b:                                                                             \
        return V == 1 ? v1::launch_b<b, XT, YT>(w, x, ldx, y, ldy, s)                   \
                      : v2::launch_b<b, XT, YT>(w, x, ldx, y, ldy, s)
    switch (batch) {
        HXG_CASE(1);
        HXG_CASE(2);
        HXG_CASE(3);
        HXG_CASE(4);
        HXG_CASE(5);
        HXG_CASE(6);
        HXG_CASE(7);
    default:
        return V == 1 ? v1::launch_b<8, XT, YT>(w, x, ldx, y, ldy, s)
                      : v2::launch_b<8, XT, YT>(w, x, ldx, y, ldy, s);
    }
#undef HXG_CASE
}

template <int V>
hx_status launch_v(const hxg_linear *w, const void *x, hxg_dtype xt, int64_t ldx, int batch,
                   void *y, hxg_dtype yt, int64_t ldy, cudaStream_t s)
{
    if (xt == HXG_F32)
        return yt == HXG_F32 ? launch_xy<V, float, float>(w, x, ldx, batch, y, ldy, s)
                             : launch_xy<V, float, __nv_bfloat16>(w, x, ldx, batch, y, ldy, s);
    return yt == HXG_F32 ? launch_xy<V, __nv_bfloat16, float>(w, x, ldx, batch, y, ldy, s)
                         : launch_xy<V, __nv_bfloat16, __nv_bfloat16>(w, x, ldx, batch, y, ldy, s);
}

/* HXG_GEMV=v1 selects the first kernel; read once. */
int default_variant()
{
    static std::atomic<int> v{0};
    int cur = v.load(std::memory_order_relaxed);
    if (!cur) {
        const char *e = getenv("HXG_GEMV");
        cur = e && !strcmp(e, "v1") ? 1 : 2;
        v.store(cur, std::memory_order_relaxed);
    }
    return cur;
}

} // namespace

hx_status hxg_hxq_gemv_variant(int variant, const hxg_linear *w, const void *x, hxg_dtype xt,
                               int64_t ldx, int batch, void *y, hxg_dtype yt, int64_t ldy,
                               void *stream)
{
    if (!w || !x || !y) return HX_FAIL(HX_EINVAL, "hxq_gemv: NULL argument");
    if (batch < 1 || batch > HXG_GEMV_MAX_BATCH)
        return HX_FAIL(HX_EINVAL, "hxq_gemv: batch %d outside 1..%d", batch, HXG_GEMV_MAX_BATCH);
    if (variant < 0 || variant > 2)
        return HX_FAIL(HX_EINVAL, "hxq_gemv: no variant %d", variant);
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
    if (!variant) variant = default_variant();
    return variant == 1 ? launch_v<1>(w, x, xt, ldx, batch, y, yt, ldy, s)
                        : launch_v<2>(w, x, xt, ldx, batch, y, yt, ldy, s);
}

extern "C" hx_status hxg_hxq_gemv(const hxg_linear *w, const void *x, hxg_dtype xt, int64_t ldx,
                                  int batch, void *y, hxg_dtype yt, int64_t ldy, void *stream)
{
    return hxg_hxq_gemv_variant(0, w, x, xt, ldx, batch, y, yt, ldy, stream);
}
