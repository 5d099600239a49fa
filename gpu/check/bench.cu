/* bench.cu - gpu-check's helpers (bench.h): cuBLAS (gpu/cublas.cuh), random
 * layers generated on the device, timing with events and graphs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "gpu/check/bench.h"
#include "gpu/common.cuh"
#include "gpu/cublas.cuh"
#include "gpu/hxq_gemv.cuh"

static_assert(HXG_CHECK_GEMV2_UMIN == HXG_GEMV2_UMIN && HXG_CHECK_GEMV2_UMAX == HXG_GEMV2_UMAX &&
                  HXG_CHECK_GEMV2_TMAX == HXG_GEMV2_TMAX &&
                  HXG_CHECK_GEMV2_BLOCKED_MAX_B == HXG_GEMV2_BLOCKED_MAX_B,
              "gpu-check's GEMV tolerance must be derived from the kernel's bounds");

/* ------------------------------------------------------------ cuBLAS */
struct hxg_blas {
    hxg_cublas_api api; /* gpu/cublas.cuh */
    cublasHandle_t h;
    void *ws;
};

extern "C" void hxg_blas_close(hxg_blas *b)
{
    if (!b) return;
    if (b->h && b->api.destroy) b->api.destroy(b->h);
    if (b->ws) cudaFree(b->ws);
    hxg_cublas_unload(&b->api);
    free(b);
}

extern "C" const char *hxg_blas_name(const hxg_blas *b) { return b->api.name; }

extern "C" hx_status hxg_blas_open(void *stream, hxg_blas **out)
{
    *out = NULL;
    hxg_blas *b = (hxg_blas *)calloc(1, sizeof *b);
    if (!b) return HX_FAIL(HX_ENOMEM, "out of memory");
    hx_status st = hxg_cublas_load(&b->api);
    if (st) {
        hxg_blas_close(b);
        return st;
    }
#define NEED(field, sym)                                                                 \
    do {                                                                                 \
        if (!b->api.field) {                                                             \
            hxg_blas_close(b);                                                           \
            return HX_FAIL(HX_ENOTFOUND, "cuBLAS: symbol %s missing", sym);              \
        }                                                                                \
    } while (0)
    NEED(create, "cublasCreate_v2");
    NEED(destroy, "cublasDestroy_v2");
    NEED(set_stream, "cublasSetStream_v2");
    NEED(set_workspace, "cublasSetWorkspace_v2");
    NEED(gemm_ex, "cublasGemmEx");
#undef NEED
    cublasStatus_t cs = b->api.create(&b->h);
    if (cs != CUBLAS_STATUS_SUCCESS) {
        b->h = NULL;
        hxg_blas_close(b);
        return HX_FAIL(HX_EINTERNAL, "cublasCreate failed (status %d)", (int)cs);
    }
    /* A fixed workspace keeps cuBLAS capturable into graphs. */
    const size_t wsz = 64u << 20;
    cudaError_t e = cudaMalloc(&b->ws, wsz);
    if (e != cudaSuccess) {
        hxg_blas_close(b);
        return hxg_cuda_fail(e, "cuBLAS workspace", __FILE__, __LINE__);
    }
    if ((cs = b->api.set_stream(b->h, (cudaStream_t)stream)) != CUBLAS_STATUS_SUCCESS ||
        (cs = b->api.set_workspace(b->h, b->ws, wsz)) != CUBLAS_STATUS_SUCCESS) {
        hxg_blas_close(b);
        return HX_FAIL(HX_EINTERNAL, "cuBLAS setup failed (status %d)", (int)cs);
    }
    *out = b;
    return HX_OK;
}

extern "C" hx_status hxg_blas_linear_bf16(hxg_blas *b, const void *W, int64_t rows, int64_t cols,
                                          const void *x, int64_t M, void *y)
{
    /* Column-major view: W is [cols x rows] (ld cols), x is [cols x M],
     * y is [rows x M] (ld rows): y = op(W)^T x. */
    const float one = 1.f, zero = 0.f;
    cublasStatus_t cs = b->api.gemm_ex(b->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)rows, (int)M, (int)cols,
                                       &one, W, CUDA_R_16BF, (int)cols, x, CUDA_R_16BF, (int)cols,
                                       &zero, y, CUDA_R_16BF, (int)rows, CUBLAS_COMPUTE_32F,
                                       CUBLAS_GEMM_DEFAULT);
    if (cs != CUBLAS_STATUS_SUCCESS)
        return HX_FAIL(HX_EINTERNAL, "cublasGemmEx(%lld x %lld, M=%lld) failed (status %d)",
                       (long long)rows, (long long)cols, (long long)M, (int)cs);
    return HX_OK;
}

/* ------------------------------------------------------------ GEMV variants */
extern "C" hx_status hxg_bench_gemv(int variant, const hxg_linear *w, const void *x, hxg_dtype xt,
                                    int64_t ldx, int batch, void *y, hxg_dtype yt, int64_t ldy,
                                    void *stream)
{
    return hxg_hxq_gemv_variant(variant, w, x, xt, ldx, batch, y, yt, ldy, stream);
}

/* ------------------------------------------------------------ random */
__device__ __forceinline__ uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__global__ void rand_bf16_kernel(__nv_bfloat16 *p, size_t n, uint64_t seed, float scale)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint64_t h = mix64(seed ^ (i * 0xd1b54a32d192ed03ull));
        /* uniform in (-1, 1), odd multiples of 2^-24: never zero */
        float u = ((float)(h >> 40) + 0.5f) * (1.0f / 8388608.0f) - 1.0f;
        p[i] = __float2bfloat16_rn(u * scale);
    }
}

__global__ void rand_idx_kernel(uint8_t *idx, int64_t rows, int64_t cols, int64_t ld, uint64_t seed)
{
    const int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        uint64_t h = mix64(seed ^ ((uint64_t)i * 0xd1b54a32d192ed03ull));
        /* mean of 4 uniform bytes: concentrated around the middle */
        uint32_t s = (uint32_t)(h & 255) + (uint32_t)((h >> 8) & 255) + (uint32_t)((h >> 16) & 255) +
                     (uint32_t)((h >> 24) & 255);
        int64_t o = i / cols, c = i % cols;
        idx[o * ld + c] = (uint8_t)(s >> 2);
    }
}

__global__ void rand_sidecar_kernel(const uint8_t *idx, int64_t rows, int64_t cols, int64_t ld,
                                    int per_row, const float *cb, uint32_t *row_ptr, uint32_t *ent,
                                    float *val, uint64_t seed)
{
    const int64_t n = rows * per_row;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t <= rows;
         t += (int64_t)gridDim.x * blockDim.x)
        row_ptr[t] = (uint32_t)(t * per_row);
    if (!per_row) return;
    const int64_t seg = cols / per_row;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n;
         t += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = t / per_row, k = t % per_row;
        uint64_t h = mix64(seed ^ ((uint64_t)t * 0x9e3779b97f4a7c15ull));
        int64_t c = k * seg + (int64_t)(h % (uint64_t)seg);
        uint8_t q = idx[o * ld + c];
        float u = ((float)((h >> 40) & 0xffffff) + 0.5f) * (1.0f / 16777216.0f) - 0.5f;
        ent[t] = ((uint32_t)c << 8) | q;
        val[t] = cb[q] + (u < 0 ? -0.08f : 0.08f) + u * 0.05f; /* an outlier */
    }
}

static unsigned grid_for(size_t n)
{
    size_t g = (n + 255) / 256;
    return (unsigned)std::min<size_t>(g ? g : 1, 65536);
}

extern "C" hx_status hxg_stream_create(void **s)
{
    cudaStream_t st;
    HXG_CUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    *s = st;
    return HX_OK;
}
extern "C" void hxg_stream_destroy(void *s)
{
    if (s) cudaStreamDestroy((cudaStream_t)s);
}

extern "C" hx_status hxg_rand_bf16(void *p, size_t n, uint64_t seed, float scale)
{
    rand_bf16_kernel<<<grid_for(n), 256>>>((__nv_bfloat16 *)p, n, seed, scale);
    HXG_LAUNCHED("rand_bf16_kernel");
    return HX_OK;
}

extern "C" hx_status hxg_linear_random(int64_t rows, int64_t cols, double sidecar_frac,
                                       int with_bias, uint64_t seed, hxg_linear **out)
{
    *out = NULL;
    int per_row = (int)floor(sidecar_frac * (double)cols);
    if (per_row > cols) per_row = (int)cols;
    hxg_linear *w;
    hx_status st = hxg_linear_alloc(rows, cols, (uint64_t)rows * per_row, with_bias, &w);
    if (st) return st;
    float cb[256];
    for (int j = 0; j < 256; j++) {
        double p = (j + 0.5) / 256.0;
        cb[j] = (float)(0.01 * log(p / (1 - p))); /* logistic quantiles: sorted, no zero */
    }
    std::vector<float> bias;
    if (with_bias) {
        bias.resize((size_t)rows);
        uint64_t s = seed;
        for (auto &b : bias) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            b = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.2f;
        }
    }
    cudaError_t e = cudaMemcpy(w->codebook, cb, sizeof cb, cudaMemcpyHostToDevice);
    if (e == cudaSuccess && with_bias)
        e = cudaMemcpy(w->bias, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) {
        hxg_linear_free(w);
        return hxg_cuda_fail(e, "random layer", __FILE__, __LINE__);
    }
    rand_idx_kernel<<<grid_for((size_t)(rows * cols)), 256>>>(w->indices, rows, cols, w->ld, seed);
    rand_sidecar_kernel<<<grid_for((size_t)rows * (per_row + 1)), 256>>>(
        w->indices, rows, cols, w->ld, per_row, w->codebook, w->row_ptr, w->sc_ent, w->sc_val,
        seed * 31 + 7);
    if ((e = cudaPeekAtLastError()) != cudaSuccess) {
        hxg_linear_free(w);
        return hxg_cuda_fail(e, "random layer kernels", __FILE__, __LINE__);
    }
    *out = w;
    return HX_OK;
}

extern "C" hx_status hxg_linear_download(const hxg_linear *w, float **codebook, uint8_t **indices,
                                         int64_t **sc_pos, float **sc_val, uint64_t *sc_n,
                                         float **bias)
{
    const int64_t rows = w->rows, cols = w->cols;
    float *cb = (float *)malloc(256 * 4);
    uint8_t *idx = (uint8_t *)malloc((size_t)(rows * cols));
    uint32_t *rp = (uint32_t *)malloc((size_t)(rows + 1) * 4);
    uint32_t *ent = (uint32_t *)malloc((size_t)(w->sc_n ? w->sc_n : 1) * 4);
    int64_t *pos = (int64_t *)malloc((size_t)(w->sc_n ? w->sc_n : 1) * 8);
    float *val = (float *)malloc((size_t)(w->sc_n ? w->sc_n : 1) * 4);
    float *b = w->bias ? (float *)malloc((size_t)rows * 4) : NULL;
    hx_status st = HX_OK;
    cudaError_t e = cudaSuccess;
    if (!cb || !idx || !rp || !ent || !pos || !val || (w->bias && !b)) {
        st = HX_FAIL(HX_ENOMEM, "out of host memory");
        goto fail;
    }
    e = cudaMemcpy(cb, w->codebook, 256 * 4, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess)
        e = cudaMemcpy2D(idx, (size_t)cols, w->indices, (size_t)w->ld, (size_t)cols, (size_t)rows,
                         cudaMemcpyDeviceToHost);
    if (e == cudaSuccess) e = cudaMemcpy(rp, w->row_ptr, (size_t)(rows + 1) * 4, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess && w->sc_n) e = cudaMemcpy(ent, w->sc_ent, w->sc_n * 4, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess && w->sc_n) e = cudaMemcpy(val, w->sc_val, w->sc_n * 4, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess && b) e = cudaMemcpy(b, w->bias, (size_t)rows * 4, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) {
        st = hxg_cuda_fail(e, "downloading a layer", __FILE__, __LINE__);
        goto fail;
    }
    for (int64_t o = 0; o < rows; o++)
        for (uint32_t j = rp[o]; j < rp[o + 1]; j++) pos[j] = o * cols + (ent[j] >> 8);
    free(rp);
    free(ent);
    *codebook = cb;
    *indices = idx;
    *sc_pos = pos;
    *sc_val = val;
    *sc_n = w->sc_n;
    *bias = b;
    return HX_OK;
fail:
    free(cb); free(idx); free(rp); free(ent); free(pos); free(val); free(b);
    return st;
}

/* ------------------------------------------------------------ timing */
static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

extern "C" hx_status hxg_time_op(hxg_op fn, void *ctx, void *stream, int warmup, int reps,
                                 int samples, double *med_us, double *min_us)
{
    cudaStream_t s = (cudaStream_t)stream;
    hx_status st;
    int i = 0;
    for (int w = 0; w < warmup; w++)
        if ((st = fn(ctx, i++))) return st;
    cudaEvent_t e0, e1;
    HXG_CUDA(cudaEventCreate(&e0));
    HXG_CUDA(cudaEventCreate(&e1));
    std::vector<double> t;
    for (int k = 0; k < samples; k++) {
        HXG_CUDA(cudaEventRecord(e0, s));
        for (int r = 0; r < reps; r++)
            if ((st = fn(ctx, i++))) return st;
        HXG_CUDA(cudaEventRecord(e1, s));
        HXG_CUDA(cudaEventSynchronize(e1));
        float ms = 0;
        HXG_CUDA(cudaEventElapsedTime(&ms, e0, e1));
        t.push_back(ms * 1e3 / reps);
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    HXG_CUDA(cudaGetLastError());
    *med_us = median(t);
    *min_us = *std::min_element(t.begin(), t.end());
    return HX_OK;
}

extern "C" hx_status hxg_time_graph(hxg_op fn, void *ctx, void *stream, int n, int samples,
                                    double *med_us, double *min_us, int *graphed)
{
    cudaStream_t s = (cudaStream_t)stream;
    cudaGraph_t g = NULL;
    cudaGraphExec_t ge = NULL;
    hx_status st = HX_OK;
    *graphed = 0;
    if (cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess) {
        for (int i = 0; i < n && !st; i++) st = fn(ctx, i);
        cudaError_t e = cudaStreamEndCapture(s, &g);
        if (!st && e == cudaSuccess && cudaGraphInstantiate(&ge, g, 0) == cudaSuccess)
            *graphed = 1;
    }
    cudaGetLastError(); /* clear a failed capture */
    if (g) cudaGraphDestroy(g);
    if (!*graphed) {
        if (ge) cudaGraphExecDestroy(ge);
        hx_clearerr();
        /* time the plain launches: one sample = the n calls */
        struct wrap { hxg_op fn; void *ctx; int n; } w = {fn, ctx, n};
        auto all = [](void *c, int) -> hx_status {
            wrap *p = (wrap *)c;
            for (int i = 0; i < p->n; i++) {
                hx_status r = p->fn(p->ctx, i);
                if (r) return r;
            }
            return HX_OK;
        };
        return hxg_time_op(all, &w, stream, 1, 1, samples, med_us, min_us);
    }
    struct gwrap { cudaGraphExec_t ge; cudaStream_t s; } gw = {ge, s};
    auto replay = [](void *c, int) -> hx_status {
        gwrap *p = (gwrap *)c;
        HXG_CUDA(cudaGraphLaunch(p->ge, p->s));
        return HX_OK;
    };
    st = hxg_time_op(replay, &gw, stream, 2, 1, samples, med_us, min_us);
    cudaGraphExecDestroy(ge);
    return st;
}

extern "C" hx_status hxg_copy_bw(size_t bytes, double *gbs)
{
    void *a, *b;
    HXG_CUDA(cudaMalloc(&a, bytes));
    cudaError_t e = cudaMalloc(&b, bytes);
    if (e != cudaSuccess) {
        cudaFree(a);
        return hxg_cuda_fail(e, "copy buffers", __FILE__, __LINE__);
    }
    cudaMemset(a, 1, bytes);
    struct c { void *a, *b; size_t n; } cc = {a, b, bytes};
    auto op = [](void *p, int) -> hx_status {
        c *q = (c *)p;
        HXG_CUDA(cudaMemcpyAsync(q->b, q->a, q->n, cudaMemcpyDeviceToDevice, 0));
        return HX_OK;
    };
    double med, mn;
    hx_status st = hxg_time_op(op, &cc, NULL, 2, 5, 5, &med, &mn);
    cudaFree(a);
    cudaFree(b);
    if (st) return st;
    *gbs = 2.0 * (double)bytes / (med * 1e-6) / 1e9;
    return HX_OK;
}
