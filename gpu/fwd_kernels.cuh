/* fwd_kernels.cuh - the kernels of the CUDA forward pass (forward.cu):
 * dense dtype conversion, embedding gather, RMSNorm, RoPE, softmax, SwiGLU,
 * residual adds, the one-kernel decode attention, and the scoring fold
 * (per-row log-sum-exp / target / KL / argmax over a block of logits).
 * Internal to forward.cu, included once. Element types are chosen at run
 * time by a DT_* code where a kernel is memory-bound anyway. */
#ifndef HX_GPU_FWD_KERNELS_CUH
#define HX_GPU_FWD_KERNELS_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "gpu/gpu_model.h"
}

enum { DT_F32 = 0, DT_BF16 = 1, DT_F16 = 2 };

static inline size_t dt_bytes(int dt) { return dt == DT_F32 ? 4 : 2; }

static __device__ __forceinline__ float ld_any(const void *p, int dt, size_t i)
{
    if (dt == DT_BF16) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    if (dt == DT_F16) return __half2float(((const __half *)p)[i]);
    return ((const float *)p)[i];
}

static __device__ __forceinline__ void st_any(void *p, int dt, size_t i, float v)
{
    if (dt == DT_BF16)
        ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn(v);
    else if (dt == DT_F16)
        ((__half *)p)[i] = __float2half_rn(v);
    else
        ((float *)p)[i] = v;
}

__global__ void convert_any(const void *__restrict__ src, int sdt, void *__restrict__ dst, int ddt,
                            size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        st_any(dst, ddt, i, ld_any(src, sdt, i));
}

__global__ void embed_dense(const void *__restrict__ E, int dt, const int32_t *__restrict__ ids,
                            int dim, float *__restrict__ x)
{
    const size_t row = (size_t)ids[blockIdx.x] * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        x[(size_t)blockIdx.x * dim + i] = ld_any(E, dt, row + i);
}

/* HXQ embedding row: codebook lookup, then its sidecar entries replace */
__global__ void embed_hxq(const uint8_t *__restrict__ idx, int64_t ld, const float *__restrict__ cb,
                          const uint32_t *__restrict__ row_ptr, const uint32_t *__restrict__ ent,
                          const float *__restrict__ val, const int32_t *__restrict__ ids, int dim,
                          float *__restrict__ x)
{
    const int64_t row = ids[blockIdx.x];
    float *o = x + (size_t)blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = cb[idx[row * ld + i]];
    __syncthreads();
    for (uint32_t e = row_ptr[row] + threadIdx.x; e < row_ptr[row + 1]; e += blockDim.x)
        o[ent[e] >> 8] = val[e];
}

/* Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread
 * gets the result. Fixed order: bit-reproducible. */
template <typename T> static __device__ T block_sum(T v, T *sh)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads(); /* sh may still be read from a previous call */
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    T s = 0;
    for (int w = 0; w < nw; w++) s += sh[w];
    return s;
}

static __device__ float block_max(float v, float *sh)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    float m = sh[0];
    for (int w = 1; w < nw; w++) m = fmaxf(m, sh[w]);
    return m;
}

/* y[r] = w * (x[row] * 1/sqrt(mean(x[row]^2) + eps)), row = rowmap ? rowmap[r]
 * : r; the sum of squares in double, as on the CPU. One block per row. */
__global__ void rmsnorm_rows(const float *__restrict__ x, int ldx, const int32_t *__restrict__ rowmap,
                             const float *__restrict__ w, int dim, double eps, void *__restrict__ y,
                             int ydt)
{
    __shared__ double sh[32];
    const int row = rowmap ? rowmap[blockIdx.x] : (int)blockIdx.x;
    const float *a = x + (size_t)row * ldx;
    double s = 0;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) s += (double)a[i] * a[i];
    s = block_sum(s, sh);
    const float r = (float)(1.0 / sqrt(s / dim + eps));
    const size_t o = (size_t)blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) st_any(y, ydt, o + i, w[i] * (a[i] * r));
}

__global__ void bias_kernel(float *__restrict__ y, int ldy, const float *__restrict__ b, int T,
                            int out)
{
    const size_t n = (size_t)T * out;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[(i / out) * ldy + i % out] += b[i % out];
}

__global__ void add_kernel(float *__restrict__ x, const float *__restrict__ y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] += y[i];
}

/* out = silu(g) * u in the compute dtype */
__global__ void swiglu_convert(const float *__restrict__ g, const float *__restrict__ u,
                               void *__restrict__ out, int dt, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const float a = g[i];
        st_any(out, dt, i, a / (1.0f + expf(-a)) * u[i]);
    }
}

/* src[T, nheads, hd] (F32): rotate the halves (i, i + hd/2) of each head by
 * the table angles of position pos0 + t, write to dst in dtype dt. */
__global__ void rope_convert(const float *__restrict__ src, void *__restrict__ dst, int dt, int T,
                             int nheads, int hd, int pos0, const float *__restrict__ cosT,
                             const float *__restrict__ sinT)
{
    const int half = hd / 2;
    const size_t n = (size_t)T * nheads * half;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n;
         e += (size_t)gridDim.x * blockDim.x) {
        const int i = (int)(e % half);
        const size_t th = e / half; /* t * nheads + h */
        const int t = (int)(th / nheads);
        const float c = cosT[(size_t)(pos0 + t) * half + i], s = sinT[(size_t)(pos0 + t) * half + i];
        const float a = src[th * hd + i], b = src[th * hd + i + half];
        st_any(dst, dt, th * hd + i, a * c - b * s);
        st_any(dst, dt, th * hd + i + half, b * c + a * s);
    }
}

/* Causal softmax of score rows: block (i, h) takes row i of head h,
 * S + h*hstride + i*ldS, keys [0, Lk); query position pos_first + i sees
 * keys <= its position. P (compute dtype, same layout) gets the
 * probabilities, zeros for the masked keys up to Lk. */
__global__ void softmax_rows(const float *__restrict__ S, size_t ldS, size_t hstride,
                             void *__restrict__ P, int pdt, int pos_first, int Lk)
{
    __shared__ float sh[32];
    const size_t off = blockIdx.y * hstride + blockIdx.x * ldS;
    const float *s = S + off;
    const int valid = min(pos_first + (int)blockIdx.x + 1, Lk);
    float m = -INFINITY;
    for (int j = threadIdx.x; j < valid; j += blockDim.x) m = fmaxf(m, s[j]);
    m = block_max(m, sh);
    float sum = 0;
    for (int j = threadIdx.x; j < valid; j += blockDim.x) sum += expf(s[j] - m);
    sum = block_sum(sum, sh);
    const float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < Lk; j += blockDim.x)
        st_any(P, pdt, off + j, j < valid ? expf(s[j] - m) * inv : 0.f);
}

/* Decode attention, one block (256 threads) per (query row t, head h):
 * scores of the keys [0, pos0 + t] (a warp per key, lanes over the head
 * dimensions), softmax, then the product with V (thread groups over keys,
 * partial sums added in a fixed order). q[n, nh*hd], K/V[*, kvh*hd] and
 * out[n, nh*hd] in the compute dtype T. Shared memory: the q row, the
 * scores of up to pos0 + n keys, 256 partial sums. */
template <typename T>
__global__ void __launch_bounds__(256)
    decode_attention_kernel(const T *__restrict__ q, const T *__restrict__ K,
                            const T *__restrict__ V, T *__restrict__ out, int nh, int kvh, int hd,
                            int pos0, float scale)
{
    extern __shared__ float sm[];
    __shared__ float red[32];
    const int t = blockIdx.x, h = blockIdx.y, g = h / (nh / kvh);
    const int qd = nh * hd, kvd = kvh * hd, L = pos0 + t + 1;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    float *qs = sm, *S = sm + hd, *part = S + L;
    for (int i = threadIdx.x; i < hd; i += blockDim.x)
        qs[i] = (float)q[(size_t)t * qd + (size_t)h * hd + i];
    __syncthreads();
    for (int j = warp; j < L; j += nw) {
        const T *k = K + (size_t)j * kvd + (size_t)g * hd;
        float d = 0;
        for (int i = lane; i < hd; i += 32) d += qs[i] * (float)k[i];
        for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
        if (lane == 0) S[j] = d * scale;
    }
    __syncthreads();
    float m = -INFINITY;
    for (int j = threadIdx.x; j < L; j += blockDim.x) m = fmaxf(m, S[j]);
    m = block_max(m, red);
    float sum = 0;
    for (int j = threadIdx.x; j < L; j += blockDim.x) {
        const float e = expf(S[j] - m);
        S[j] = e;
        sum += e;
    }
    sum = block_sum(sum, red); /* its barriers also publish S */
    const int groups = blockDim.x / hd, gi = threadIdx.x / hd, i = threadIdx.x % hd;
    if (gi < groups) {
        float acc = 0;
        for (int j = gi; j < L; j += groups) acc += S[j] * (float)V[(size_t)j * kvd + (size_t)g * hd + i];
        part[gi * hd + i] = acc;
    }
    __syncthreads();
    if (threadIdx.x < hd) {
        float acc = 0;
        for (int k = 0; k < groups; k++) acc += part[k * hd + threadIdx.x];
        out[(size_t)t * qd + (size_t)h * hd + threadIdx.x] = (T)(acc / sum);
    }
}

static cudaError_t decode_attention_smem(int bytes)
{
    cudaError_t e = cudaFuncSetAttribute(decode_attention_kernel<float>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(decode_attention_kernel<__nv_bfloat16>,
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    return e;
}

static cudaError_t decode_attention(int dt, const void *q, const void *K, const void *V, void *out,
                                    int n, int nh, int kvh, int hd, int pos0, float scale,
                                    size_t smem)
{
    dim3 grid(n, nh);
    if (dt == DT_BF16)
        decode_attention_kernel<__nv_bfloat16><<<grid, 256, smem>>>(
            (const __nv_bfloat16 *)q, (const __nv_bfloat16 *)K, (const __nv_bfloat16 *)V,
            (__nv_bfloat16 *)out, nh, kvh, hd, pos0, scale);
    else
        decode_attention_kernel<float><<<grid, 256, smem>>>((const float *)q, (const float *)K,
                                                            (const float *)V, (float *)out, nh, kvh,
                                                            hd, pos0, scale);
    return cudaPeekAtLastError();
}

__global__ void state_init(hxg_row_state *s, int n)
{
    for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < n; r += gridDim.x * blockDim.x) {
        hxg_row_state z;
        z.ma = z.mb = -INFINITY;
        z.ta = z.tb = 0;
        z.aa = z.ab = -1;
        z.sa = z.sb = z.u = 0;
        s[r] = z;
    }
}

/* max and its lowest index over the block */
static __device__ void block_argmax(float v, int at, float *shv, int *shi, float *m, int *a)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        const float v2 = __shfl_xor_sync(0xffffffffu, v, o);
        const int a2 = __shfl_xor_sync(0xffffffffu, at, o);
        if (v2 > v || (v2 == v && a2 < at)) v = v2, at = a2;
    }
    __syncthreads();
    if (lane == 0) shv[warp] = v, shi[warp] = at;
    __syncthreads();
    float bv = shv[0];
    int ba = shi[0];
    for (int w = 1; w < nw; w++)
        if (shv[w] > bv || (shv[w] == bv && shi[w] < ba)) bv = shv[w], ba = shi[w];
    *m = bv;
    *a = ba;
}

/* Fold logits block [v0, v0+nv) of row r = blockIdx.x (A: model, B: base
 * or NULL; row stride ld) into s[r], as eval/reduce.c does on the CPU:
 * running max (rescaling the sums when it grows), sums of exp in double,
 * the target's logits, argmax with the lowest index on ties, and the KL
 * accumulator u = sum exp(b - max_b) (b - a). */
__global__ void fold_block(hxg_row_state *__restrict__ st, const float *__restrict__ A,
                           const float *__restrict__ B, int ld, int v0, int nv,
                           const int32_t *__restrict__ tgt)
{
    __shared__ float shv[32];
    __shared__ int shi[32];
    __shared__ double shd[32];
    hxg_row_state *s = &st[blockIdx.x];
    const float *a = A + (size_t)blockIdx.x * ld;
    const float *b = B ? B + (size_t)blockIdx.x * ld : NULL;
    float mx = -INFINITY;
    int at = 0x7fffffff;
    for (int j = threadIdx.x; j < nv; j += blockDim.x)
        if (a[j] > mx) mx = a[j], at = j;
    float bm;
    int ba;
    block_argmax(mx, at, shv, shi, &bm, &ba);
    const float ma = bm > s->ma ? bm : s->ma;
    double sa = 0;
    for (int j = threadIdx.x; j < nv; j += blockDim.x) sa += exp((double)a[j] - ma);
    sa = block_sum(sa, shd);
    float mbn = 0;
    int bb = 0;
    double sb = 0, u = 0;
    if (b) {
        mx = -INFINITY;
        at = 0x7fffffff;
        for (int j = threadIdx.x; j < nv; j += blockDim.x)
            if (b[j] > mx) mx = b[j], at = j;
        block_argmax(mx, at, shv, shi, &mbn, &bb);
        const float mb = mbn > s->mb ? mbn : s->mb;
        for (int j = threadIdx.x; j < nv; j += blockDim.x) {
            const double e = exp((double)b[j] - mb);
            sb += e;
            u += e * ((double)b[j] - a[j]);
        }
        sb = block_sum(sb, shd);
        u = block_sum(u, shd);
    }
    if (threadIdx.x == 0) {
        if (bm > s->ma) {
            s->sa *= exp((double)s->ma - bm);
            s->ma = bm;
            s->aa = v0 + ba;
        }
        s->sa += sa;
        const int t = tgt[blockIdx.x] - v0;
        if (t >= 0 && t < nv) s->ta = a[t], s->tb = b ? b[t] : 0.f;
        if (b) {
            if (mbn > s->mb) {
                const double f = exp((double)s->mb - mbn);
                s->sb *= f;
                s->u *= f;
                s->mb = mbn;
                s->ab = v0 + bb;
            }
            s->sb += sb;
            s->u += u;
        }
    }
}

#endif
