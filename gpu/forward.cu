/* forward.cu - the CUDA backend of the evaluation engine (gpu_model.h): a
 * batch of sequences through the transformer one layer at a time; each
 * linear's weight converted to float32 on the host from its stored form
 * (model/weight.h) when its layer runs, copied into one device buffer and
 * multiplied with cublasSgemm (cuBLAS opened with dlopen, so no binary
 * links libcublas); our kernels for the rest. Same order of operations as
 * model/forward.c. FP32 activations. */
#include <cublas_v2.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/common.cuh"

extern "C" {
#include "gpu/gpu_model.h"
#include "model/model_internal.h"
}

/* ---------------------------------------------------------------- cuBLAS */
static struct {
    int tried;
    hx_status st;
    char err[512];
    void *lib;
    cublasHandle_t h;
    decltype(&cublasCreate_v2) create;
    decltype(&cublasSgemm_v2) sgemm;
} g_blas;

/* Open cuBLAS once per process (not thread-safe: eval is single-threaded
 * on the host side). */
static hx_status blas_open(void)
{
    if (g_blas.tried) {
        if (g_blas.st) hx_seterr("%s", g_blas.err);
        return g_blas.st;
    }
    g_blas.tried = 1;
    static const char *names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
    const char *last = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !g_blas.lib; i++)
        if (!(g_blas.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL))) last = dlerror();
    if (!g_blas.lib) {
        snprintf(g_blas.err, sizeof g_blas.err, "cuBLAS not loadable (last error: %s)", last);
        g_blas.st = HX_ENOTFOUND;
    } else {
        *(void **)&g_blas.create = dlsym(g_blas.lib, "cublasCreate_v2");
        *(void **)&g_blas.sgemm = dlsym(g_blas.lib, "cublasSgemm_v2");
        cublasStatus_t cs;
        if (!g_blas.create || !g_blas.sgemm) {
            snprintf(g_blas.err, sizeof g_blas.err, "cuBLAS: cublasCreate_v2/cublasSgemm_v2 missing");
            g_blas.st = HX_ENOTFOUND;
        } else if ((cs = g_blas.create(&g_blas.h)) != CUBLAS_STATUS_SUCCESS) {
            snprintf(g_blas.err, sizeof g_blas.err, "cublasCreate failed (status %d)", (int)cs);
            g_blas.st = HX_EINTERNAL;
        }
    }
    if (g_blas.st) hx_seterr("%s", g_blas.err);
    return g_blas.st;
}

/* y[T, ldy] columns [0, out) = x[T, in] W[out, in]^T, all row-major on the
 * device. In cuBLAS's column-major terms: y^T (out x T) = W (in x out)^T . x^T. */
static hx_status sgemm_linear(const float *x, int T, int in, const float *W, int out, float *y,
                              int ldy)
{
    const float one = 1.f, zero = 0.f;
    cublasStatus_t cs = g_blas.sgemm(g_blas.h, CUBLAS_OP_T, CUBLAS_OP_N, out, T, in, &one, W, in, x,
                                     in, &zero, y, ldy);
    if (cs != CUBLAS_STATUS_SUCCESS)
        return HX_FAIL(HX_EINTERNAL, "cublasSgemm(%d x %d, T=%d) failed (status %d)", out, in, T,
                       (int)cs);
    return HX_OK;
}

/* --------------------------------------------------------------- kernels */
__global__ void embed_kernel(const float *E, const int32_t *ids, int T, int dim, float *x)
{
    int t = blockIdx.x;
    if (t >= T) return;
    const float *src = E + (size_t)ids[t] * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) x[(size_t)t * dim + i] = src[i];
}

#define RED_THREADS 256

/* One block per row; the sum of squares in double like the CPU. */
__global__ void rmsnorm_kernel(const float *x, const float *w, int dim, double eps, float *y)
{
    __shared__ double part[RED_THREADS];
    const float *a = x + (size_t)blockIdx.x * dim;
    float *o = y + (size_t)blockIdx.x * dim;
    double s = 0;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) s += (double)a[i] * a[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k) part[threadIdx.x] += part[threadIdx.x + k];
        __syncthreads();
    }
    float r = (float)(1.0 / sqrt(part[0] / dim + eps));
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = w[i] * (a[i] * r);
}

__global__ void bias_kernel(float *y, const float *b, int T, int out)
{
    size_t n = (size_t)T * out;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += b[i % out];
}

__global__ void add_kernel(float *x, const float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] += y[i];
}

__global__ void swiglu_kernel(float *g, const float *u, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float a = g[i];
        g[i] = a / (1.0f + expf(-a)) * u[i];
    }
}

/* v[T, nheads, hd]: rotate halves (i, i + hd/2) by the table angle of
 * position pos0 + t. */
__global__ void rope_kernel(float *v, int T, int nheads, int hd, int pos0, const float *cosT,
                            const float *sinT)
{
    int half = hd / 2;
    size_t n = (size_t)T * nheads * half;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n;
         e += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(e % half);
        size_t th = e / half; /* t * nheads + h */
        int t = (int)(th / nheads);
        float *x = v + th * hd;
        float c = cosT[(size_t)(pos0 + t) * half + i], s = sinT[(size_t)(pos0 + t) * half + i];
        float a = x[i], b = x[i + half];
        x[i] = a * c - b * s;
        x[i + half] = b * c + a * s;
    }
}

#define ATT_THREADS 128

/* Causal grouped-query attention, one block per (query row t, head h):
 * scores over the keys [0, pos0 + t] of this layer's cache into dynamic
 * shared memory (after the q row), softmax, then the product with V, each
 * thread owning output dims. q[T, nh*hd], K/V[max_ctx, kvh*hd],
 * out[T, nh*hd]. */
__global__ void attention_kernel(const float *q, const float *K, const float *V, float *out,
                                 int nh, int kvh, int hd, int pos0, float scale)
{
    extern __shared__ float sm[];
    __shared__ float red[ATT_THREADS];
    int t = blockIdx.x, h = blockIdx.y, g = h / (nh / kvh);
    int qd = nh * hd, kvd = kvh * hd, L = pos0 + t + 1;
    float *qs = sm, *S = sm + hd;
    const float *qr = q + (size_t)t * qd + (size_t)h * hd;
    for (int i = threadIdx.x; i < hd; i += blockDim.x) qs[i] = qr[i];
    __syncthreads();
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < L; j += blockDim.x) {
        const float *k = K + (size_t)j * kvd + (size_t)g * hd;
        float d = 0;
        for (int i = 0; i < hd; i++) d += qs[i] * k[i];
        d *= scale;
        S[j] = d;
        mx = fmaxf(mx, d);
    }
    red[threadIdx.x] = mx;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + k]);
        __syncthreads();
    }
    mx = red[0];
    __syncthreads();
    float sum = 0;
    for (int j = threadIdx.x; j < L; j += blockDim.x) {
        float e = expf(S[j] - mx);
        S[j] = e;
        sum += e;
    }
    red[threadIdx.x] = sum;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k) red[threadIdx.x] += red[threadIdx.x + k];
        __syncthreads();
    }
    float inv = 1.0f / red[0];
    float *o = out + (size_t)t * qd + (size_t)h * hd;
    for (int i = threadIdx.x; i < hd; i += blockDim.x) {
        const float *vcol = V + (size_t)g * hd + i;
        float acc = 0;
        for (int j = 0; j < L; j++) acc += S[j] * vcol[(size_t)j * kvd];
        o[i] = acc * inv;
    }
}

/* ------------------------------------------------------------ the model */
struct hxg_dlayer {
    float *attn_norm, *mlp_norm, *bq, *bk, *bv, *bo; /* device; biases NULL when absent */
};

struct hxg_model {
    hx_model *cpu; /* its weights (stored form) and its RoPE tables */
    hx_model_config cfg;
    int max_ctx, max_tokens;
    float *norm;
    hxg_dlayer *layers;
    float *rope_cos, *rope_sin;
    float *x, *xn, *q, *k, *v, *att, *hb, *hb2, *logits;
    float *wdev;   /* one float32 weight (the largest) */
    float *whost;  /* its host staging buffer */
    size_t wfloats;
    int32_t *ids;
    hx_seq *seqs;
    int nseq, T;
    size_t att_smem;
    uint64_t bytes;
    void **allocs; /* every device allocation, freed together */
    size_t n_allocs, cap_allocs;
};

#define VBLOCK_MAX 4096

static hx_status dev_alloc(hxg_model *g, float **p, size_t n_floats)
{
    *p = NULL;
    if (g->n_allocs == g->cap_allocs) {
        size_t cap = g->cap_allocs ? 2 * g->cap_allocs : 64;
        void **a = (void **)realloc(g->allocs, cap * sizeof *a);
        if (!a) return HX_FAIL(HX_ENOMEM, "out of memory");
        g->allocs = a;
        g->cap_allocs = cap;
    }
    size_t n = (n_floats ? n_floats : 1) * sizeof(float);
    HXG_CUDA(cudaMalloc((void **)p, n));
    g->allocs[g->n_allocs++] = *p;
    g->bytes += n;
    return HX_OK;
}

/* Device copy of a host array (NULL stays NULL). */
static hx_status dev_copy(hxg_model *g, float **p, const float *src, size_t n)
{
    *p = NULL;
    if (!src) return HX_OK;
    hx_status st = dev_alloc(g, p, n);
    if (st) return st;
    HXG_CUDA(cudaMemcpy(*p, src, n * sizeof(float), cudaMemcpyHostToDevice));
    return HX_OK;
}

extern "C" int hxg_built_with_cuda(void) { return 1; }

extern "C" hx_status hxg_probe(char *desc, size_t desc_len)
{
    hxg_device_info di;
    hx_status st = hxg_device_probe(0, &di);
    if (st) return st;
    if (desc && desc_len)
        snprintf(desc, desc_len, "%s (cc %d.%d, %d SMs, %.1f GiB)", di.name, di.cc_major,
                 di.cc_minor, di.sm_count, di.total_mem / 1073741824.0);
    return HX_OK;
}

extern "C" void hxg_model_free(hxg_model *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n_allocs; i++) cudaFree(g->allocs[i]);
    free(g->allocs);
    free(g->layers);
    free(g->whost);
    free(g->seqs);
    free(g);
}

extern "C" uint64_t hxg_model_bytes(const hxg_model *g) { return g ? g->bytes : 0; }

static size_t largest_weight(const hx_model *m)
{
    const hx_model_config *c = &m->cfg;
    size_t qd = (size_t)c->n_heads * c->head_dim, dim = c->dim, hid = c->hidden;
    size_t w = qd * dim > hid * dim ? qd * dim : hid * dim;
    size_t head = (size_t)VBLOCK_MAX * dim;
    return w > head ? w : head;
}

extern "C" uint64_t hxg_model_bytes_for(const hx_model_config *c, int max_ctx, int max_tokens,
                                        uint64_t largest_weight_bytes)
{
    uint64_t T = (uint64_t)max_tokens, dim = c->dim, qd = (uint64_t)c->n_heads * c->head_dim;
    uint64_t kvd = (uint64_t)c->n_kv_heads * c->head_dim, hid = c->hidden;
    uint64_t fl = T * (2 * dim + 2 * qd + 2 * kvd + 2 * hid) + T * VBLOCK_MAX +
                  (uint64_t)max_ctx * c->head_dim + (uint64_t)c->n_layers * (2 * dim + qd + 2 * kvd + dim);
    uint64_t w = (uint64_t)c->hidden * dim > (uint64_t)VBLOCK_MAX * dim ? (uint64_t)c->hidden * dim
                                                                         : (uint64_t)VBLOCK_MAX * dim;
    (void)largest_weight_bytes;
    return (fl + w) * 4;
}

extern "C" hx_status hxg_model_create(hx_model *cpu, int max_ctx, int max_tokens, hxg_model **out)
{
    *out = NULL;
    const hx_model_config *c = &cpu->cfg;
    if (max_ctx < 1 || max_ctx > cpu->max_ctx || max_tokens < max_ctx)
        return HX_FAIL(HX_EINVAL, "GPU context %d / batch %d outside [1, %d] of the loaded model",
                       max_ctx, max_tokens, cpu->max_ctx);
    if (c->n_kv_heads < 1 || c->n_heads % c->n_kv_heads || c->head_dim % 2)
        return HX_FAIL(HX_EINVAL, "unsupported head layout (%d heads, %d kv heads, head_dim %d)",
                       c->n_heads, c->n_kv_heads, c->head_dim);
    hx_status st = hxg_device_probe(0, NULL);
    if (!st) st = blas_open();
    if (st) return st;
    hxg_model *g = (hxg_model *)calloc(1, sizeof *g);
    if (!g) return HX_FAIL(HX_ENOMEM, "out of memory");
    g->cpu = cpu;
    g->cfg = *c;
    g->max_ctx = max_ctx;
    g->max_tokens = max_tokens;
    g->layers = (hxg_dlayer *)calloc((size_t)c->n_layers, sizeof *g->layers);
    g->wfloats = largest_weight(cpu);
    g->whost = (float *)malloc(g->wfloats * sizeof(float));
    if (!g->layers || !g->whost) {
        hxg_model_free(g);
        return HX_FAIL(HX_ENOMEM, "out of memory");
    }
    size_t dim = c->dim, qd = (size_t)c->n_heads * c->head_dim,
           kvd = (size_t)c->n_kv_heads * c->head_dim, hid = c->hidden, T = max_tokens,
           half = c->head_dim / 2;
    st = dev_copy(g, &g->norm, cpu->norm, dim);
    for (int l = 0; l < c->n_layers && !st; l++) {
        const hx_layer *L = &cpu->layers[l];
        hxg_dlayer *D = &g->layers[l];
        st = dev_copy(g, &D->attn_norm, L->attn_norm, dim);
        if (!st) st = dev_copy(g, &D->mlp_norm, L->mlp_norm, dim);
        if (!st) st = dev_copy(g, &D->bq, L->bq, qd);
        if (!st) st = dev_copy(g, &D->bk, L->bk, kvd);
        if (!st) st = dev_copy(g, &D->bv, L->bv, kvd);
        if (!st) st = dev_copy(g, &D->bo, L->bo, dim);
    }
    if (!st) st = dev_copy(g, &g->rope_cos, cpu->rope_cos, (size_t)max_ctx * half);
    if (!st) st = dev_copy(g, &g->rope_sin, cpu->rope_sin, (size_t)max_ctx * half);
    if (!st) st = dev_alloc(g, &g->wdev, g->wfloats);
    if (!st) st = dev_alloc(g, &g->x, T * dim);
    if (!st) st = dev_alloc(g, &g->xn, T * dim);
    if (!st) st = dev_alloc(g, &g->q, T * qd);
    if (!st) st = dev_alloc(g, &g->k, T * kvd);
    if (!st) st = dev_alloc(g, &g->v, T * kvd);
    if (!st) st = dev_alloc(g, &g->att, T * qd);
    if (!st) st = dev_alloc(g, &g->hb, T * hid);
    if (!st) st = dev_alloc(g, &g->hb2, T * hid);
    if (!st) st = dev_alloc(g, &g->logits, T * VBLOCK_MAX);
    if (!st) st = dev_alloc(g, (float **)&g->ids, T);
    if (!st) {
        /* q row + the scores of the longest row */
        g->att_smem = ((size_t)c->head_dim + max_ctx) * sizeof(float);
        int dev = 0, optin = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
        if (g->att_smem + ATT_THREADS * sizeof(float) > (size_t)optin)
            st = HX_FAIL(HX_EINVAL, "context %d too long for the attention kernel (%zu bytes of "
                                    "shared memory, at most %d)", max_ctx, g->att_smem, optin);
        else if (g->att_smem > 48 * 1024) {
            cudaError_t e = cudaFuncSetAttribute(attention_kernel,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 (int)g->att_smem);
            if (e != cudaSuccess) st = hxg_cuda_fail(e, "attention smem", __FILE__, __LINE__);
        }
    }
    if (st) {
        hx_preerr("GPU model (%.1f MiB on the device so far)", g->bytes / 1048576.0);
        hxg_model_free(g);
        return st;
    }
    *out = g;
    return HX_OK;
}

static int grid_for(size_t n)
{
    size_t b = (n + 255) / 256;
    return (int)(b < 4096 ? (b ? b : 1) : 4096);
}

/* y = x W[o0:o1]^T (+ b): the weight rows converted on the host from their
 * stored form, copied to the device buffer, one sgemm. */
static hx_status linear(hxg_model *g, const float *x, int T, const hx_weight *W, int64_t o0,
                        int64_t o1, const float *b, float *y, int ldy)
{
    int out = (int)(o1 - o0), in = (int)W->cols;
    if ((size_t)out * in > g->wfloats)
        return HX_FAIL(HX_EINTERNAL, "weight of %d x %d over the device buffer", out, in);
    hx_weight_rows_f32(W, o0, o1, g->whost);
    HXG_CUDA(cudaMemcpy(g->wdev, g->whost, (size_t)out * in * sizeof(float), cudaMemcpyHostToDevice));
    hx_status st = sgemm_linear(x, T, in, g->wdev, out, y, ldy);
    if (st || !b) return st;
    bias_kernel<<<grid_for((size_t)T * out), 256>>>(y, b, T, out);
    HXG_LAUNCHED("bias");
    return HX_OK;
}

extern "C" hx_status hxg_batch_begin(hxg_model *g, const int32_t *ids, const int *lens, int nseq)
{
    const hx_model_config *c = &g->cfg;
    int T;
    hx_status st = hx_batch_check(c, g->max_ctx, g->max_tokens, ids, lens, nseq, &T);
    if (st) return st;
    hx_seq *s = (hx_seq *)realloc(g->seqs, (size_t)nseq * sizeof *s);
    if (!s) return HX_FAIL(HX_ENOMEM, "out of memory");
    g->seqs = s;
    int off = 0;
    for (int i = 0; i < nseq; i++) {
        s[i].off = off;
        s[i].n = lens[i];
        s[i].pos0 = 0;
        s[i].K = s[i].V = NULL;
        off += lens[i];
    }
    g->nseq = nseq;
    g->T = T;
    /* embeddings gathered on the host from their stored form */
    size_t dim = c->dim;
    for (int t0 = 0; t0 < T;) {
        int n = (int)(g->wfloats / dim);
        if (n > T - t0) n = T - t0;
        for (int t = 0; t < n; t++)
            hx_weight_rows_f32(&g->cpu->embed, ids[t0 + t], ids[t0 + t] + 1, g->whost + (size_t)t * dim);
        HXG_CUDA(cudaMemcpy(g->x + (size_t)t0 * dim, g->whost, (size_t)n * dim * sizeof(float),
                            cudaMemcpyHostToDevice));
        t0 += n;
    }
    hx_weight_release(&g->cpu->embed);
    return HX_OK;
}

extern "C" hx_status hxg_batch_layer(hxg_model *g, int l)
{
    const hx_model_config *c = &g->cfg;
    const hx_layer *W = &g->cpu->layers[l];
    const hxg_dlayer *L = &g->layers[l];
    int T = g->T, dim = c->dim, hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    size_t nx = (size_t)T * dim, nh = (size_t)T * c->hidden;
    hx_status st;
    rmsnorm_kernel<<<T, RED_THREADS>>>(g->x, L->attn_norm, dim, c->rms_eps, g->xn);
    HXG_LAUNCHED("rmsnorm");
    if ((st = linear(g, g->xn, T, &W->wq, 0, qd, L->bq, g->q, qd)) ||
        (st = linear(g, g->xn, T, &W->wk, 0, kvd, L->bk, g->k, kvd)) ||
        (st = linear(g, g->xn, T, &W->wv, 0, kvd, L->bv, g->v, kvd)))
        return st;
    for (int i = 0; i < g->nseq; i++) {
        const hx_seq *s = &g->seqs[i];
        float *q = g->q + (size_t)s->off * qd, *k = g->k + (size_t)s->off * kvd;
        rope_kernel<<<grid_for((size_t)s->n * qd / 2), 256>>>(q, s->n, c->n_heads, hd, 0,
                                                             g->rope_cos, g->rope_sin);
        HXG_LAUNCHED("rope q");
        rope_kernel<<<grid_for((size_t)s->n * kvd / 2), 256>>>(k, s->n, c->n_kv_heads, hd, 0,
                                                              g->rope_cos, g->rope_sin);
        HXG_LAUNCHED("rope k");
        dim3 grid(s->n, c->n_heads);
        attention_kernel<<<grid, ATT_THREADS, ((size_t)hd + s->n) * sizeof(float)>>>(
            q, k, g->v + (size_t)s->off * kvd, g->att + (size_t)s->off * qd, c->n_heads,
            c->n_kv_heads, hd, 0, 1.0f / sqrtf((float)hd));
        HXG_LAUNCHED("attention");
    }
    if ((st = linear(g, g->att, T, &W->wo, 0, dim, L->bo, g->xn, dim))) return st;
    add_kernel<<<grid_for(nx), 256>>>(g->x, g->xn, nx);
    HXG_LAUNCHED("residual");
    rmsnorm_kernel<<<T, RED_THREADS>>>(g->x, L->mlp_norm, dim, c->rms_eps, g->xn);
    HXG_LAUNCHED("rmsnorm");
    if ((st = linear(g, g->xn, T, &W->wg, 0, c->hidden, NULL, g->hb, c->hidden)) ||
        (st = linear(g, g->xn, T, &W->wu, 0, c->hidden, NULL, g->hb2, c->hidden)))
        return st;
    swiglu_kernel<<<grid_for(nh), 256>>>(g->hb, g->hb2, nh);
    HXG_LAUNCHED("swiglu");
    if ((st = linear(g, g->hb, T, &W->wd, 0, dim, NULL, g->xn, dim))) return st;
    add_kernel<<<grid_for(nx), 256>>>(g->x, g->xn, nx);
    HXG_LAUNCHED("residual");
    const hx_weight *ws[] = {&W->wq, &W->wk, &W->wv, &W->wo, &W->wg, &W->wu, &W->wd};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) hx_weight_release(ws[i]);
    return HX_OK;
}

extern "C" hx_status hxg_batch_final(hxg_model *g, const int *rows, int nrows)
{
    const hx_model_config *c = &g->cfg;
    size_t d = c->dim;
    for (int r = 0; r < nrows; r++) {
        rmsnorm_kernel<<<1, RED_THREADS>>>(g->x + (size_t)rows[r] * d, g->norm, c->dim, c->rms_eps,
                                           g->xn + (size_t)r * d);
        HXG_LAUNCHED("final norm");
    }
    return HX_OK;
}

extern "C" hx_status hxg_logits_range(hxg_model *g, int r0, int nrows, int v0, int v1, float *out)
{
    const hx_model_config *c = &g->cfg;
    int nv = v1 - v0;
    if (nv > VBLOCK_MAX || nrows > g->max_tokens)
        return HX_FAIL(HX_EINVAL, "logits block %d x %d over the device buffer", nrows, nv);
    hx_status st = linear(g, g->xn + (size_t)r0 * c->dim, nrows, g->cpu->lm_head, v0, v1, NULL,
                          g->logits, nv);
    if (st) return st;
    HXG_CUDA(cudaMemcpy(out, g->logits, (size_t)nrows * nv * sizeof(float), cudaMemcpyDeviceToHost));
    hx_weight_release_rows(g->cpu->lm_head, v0, v1);
    return HX_OK;
}
