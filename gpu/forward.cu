/* forward.cu - the CUDA backend of the evaluation engine and of greedy
 * generation (gpu_model.h): weights resident in their stored form, BF16 or
 * F32 compute, cuBLAS for the matrix products (opened at run time by
 * gpu/cublas.cu, so no binary links libcublas), our kernels
 * (gpu/fwd_kernels.cuh) for the rest, scoring on the device. Same order of operations as model/forward.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/common.cuh"
#include "gpu/cublas.cuh"
#include "gpu/fwd_kernels.cuh"

extern "C" {
#include "gpu/gpu_model.h"
#include "model/model_data.h"
}

static_assert(sizeof(hxg_row_state) == 48, "hxg_row_state layout");

/* ---------------------------------------------------------------- cuBLAS */
static struct {
    int tried;
    hx_status st;
    char err[512];
    hxg_cublas_api api; /* gpu/cublas.cuh */
    cublasHandle_t h;
} g_blas;

/* Open cuBLAS once per process (the host side of eval and generate is
 * single-threaded). */
static hx_status blas_open(void)
{
    if (g_blas.tried) {
        if (g_blas.st) hx_seterr("%s", g_blas.err);
        return g_blas.st;
    }
    g_blas.tried = 1;
    const hxg_cublas_api *b = &g_blas.api;
    cublasStatus_t cs;
    if ((g_blas.st = hxg_cublas_load(&g_blas.api))) {
        snprintf(g_blas.err, sizeof g_blas.err, "%s", hx_lasterr());
    } else if (!b->create || !b->gemm_ex || !b->gemm_sb) {
        snprintf(g_blas.err, sizeof g_blas.err,
                 "cuBLAS: cublasCreate_v2/cublasGemmEx/cublasGemmStridedBatchedEx missing");
        g_blas.st = HX_ENOTFOUND;
    } else if ((cs = b->create(&g_blas.h)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(g_blas.err, sizeof g_blas.err, "cublasCreate failed (status %d)", (int)cs);
        g_blas.st = HX_EINTERNAL;
    }
    if (g_blas.st) hx_seterr("%s", g_blas.err);
    return g_blas.st;
}

static cudaDataType_t cu_type(int dt)
{
    return dt == DT_BF16 ? CUDA_R_16BF : dt == DT_F16 ? CUDA_R_16F : CUDA_R_32F;
}

/* Column-major cuBLAS GEMM, batched with strides (batch 1: plain GemmEx),
 * FP32 compute (no TF32: the handle keeps the default math mode). */
static hx_status gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                      const void *A, int at, int lda, long long sa, const void *B, int bt, int ldb,
                      long long sb, float beta, void *C, int ct, int ldc, long long sc, int batch)
{
    cublasStatus_t cs;
    if (batch == 1)
        cs = g_blas.api.gemm_ex(g_blas.h, ta, tb, m, n, k, &alpha, A, cu_type(at), lda, B, cu_type(bt), ldb,
                         &beta, C, cu_type(ct), ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    else
        cs = g_blas.api.gemm_sb(g_blas.h, ta, tb, m, n, k, &alpha, A, cu_type(at), lda, sa, B, cu_type(bt),
                            ldb, sb, &beta, C, cu_type(ct), ldc, sc, batch, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT);
    if (cs != CUBLAS_STATUS_SUCCESS)
        return HX_FAIL(HX_EINTERNAL, "cublasGemm%s(m %d, n %d, k %d, batch %d, types %d/%d/%d) failed (status %d)",
                       batch == 1 ? "Ex" : "StridedBatchedEx", m, n, k, batch, at, bt, ct, (int)cs);
    return HX_OK;
}

/* ------------------------------------------------------------ the model */
/* One weight on the device, in its stored form. */
typedef struct dweight {
    const hx_weight *host;
    hxg_linear *q;   /* HXQ */
    void *dense;     /* dense, as stored */
    int dt;          /* DT_* of dense */
    uint64_t bytes;
} dweight;

typedef struct dlayer {
    float *attn_norm, *mlp_norm, *bq, *bk, *bv, *bo; /* biases NULL when absent */
    dweight w[7];                                    /* q k v o gate up down */
} dlayer;

enum { WQ, WK, WV, WO, WG, WU, WD };

#define VB 32768   /* vocabulary entries per scoring block */
#define RB 4096    /* scored rows per scoring block */
#define QB 512     /* query rows per attention block */
#define MLPC 4096  /* rows per MLP chunk */
#define DEC_MAX 8  /* at most this many rows: the decode paths */

struct hxg_model {
    hx_model *cpu;
    hx_model_config cfg;
    int max_ctx, max_tokens, ct, resident;
    size_t ctsz;                       /* bytes of the compute dtype */
    dweight embed, head_own, *head;    /* head == &embed when tied */
    float *norm;
    dlayer *layers;
    float *rope_cos, *rope_sin;
    /* activations: F32 residual x and GEMM outputs; compute-dtype inputs */
    float *x, *q, *k, *v, *tmp, *hg, *hu, *S, *logits;
    void *xn, *qc, *kc, *vc, *att, *hc, *P, *xf, *wbuf;
    size_t wbuf_elems, ldS;
    int32_t *ids, *rowmap, *tgt;
    hxg_row_state *states;
    void *kcache, *vcache;             /* generation: [layer][max_ctx][kvd] */
    hx_seq *seqs;
    int nseq, T, nfinal, pos, qb;      /* qb: query rows per attention block */
    size_t dec_smem, dec_optin;
    uint64_t bytes, peak;
    void **allocs;                     /* buffers, freed together */
    size_t n_allocs, cap_allocs;
};

static void account(hxg_model *g, int64_t d)
{
    g->bytes += (uint64_t)d;
    if (g->bytes > g->peak) g->peak = g->bytes;
}

static hx_status dev_alloc(hxg_model *g, void **p, size_t n)
{
    *p = NULL;
    if (g->n_allocs == g->cap_allocs) {
        size_t cap = g->cap_allocs ? 2 * g->cap_allocs : 64;
        void **a = (void **)realloc(g->allocs, cap * sizeof *a);
        if (!a) return HX_FAIL(HX_ENOMEM, "out of memory");
        g->allocs = a;
        g->cap_allocs = cap;
    }
    if (!n) n = 16;
    HXG_CUDA(cudaMalloc(p, n));
    g->allocs[g->n_allocs++] = *p;
    account(g, (int64_t)n);
    return HX_OK;
}
#define DEV_ALLOC(g, p, n) dev_alloc(g, (void **)(p), n)

/* Device copy of a host float array (NULL stays NULL). */
static hx_status dev_copy(hxg_model *g, float **p, const float *src, size_t n)
{
    *p = NULL;
    if (!src) return HX_OK;
    hx_status st = DEV_ALLOC(g, p, n * sizeof(float));
    if (st) return st;
    HXG_CUDA(cudaMemcpy(*p, src, n * sizeof(float), cudaMemcpyHostToDevice));
    return HX_OK;
}

static int dt_of(hx_dtype d)
{
    return d == HX_DT_BF16 ? DT_BF16 : d == HX_DT_F16 ? DT_F16 : DT_F32;
}

static uint64_t weight_dev_bytes(const hx_weight *w)
{
    if (w->kind == HX_WEIGHT_HXQ) return hxg_linear_bytes_for(w->rows, w->cols, w->sc_n, 0);
    return (uint64_t)w->rows * (uint64_t)w->cols * hx_dtype_size(w->dtype);
}

/* Upload one weight as stored; the host pages are dropped after. */
static hx_status dw_upload(hxg_model *g, dweight *d, const hx_weight *w, const char *what)
{
    d->host = w;
    if (d->q || d->dense) return HX_OK;
    hx_status st = HX_OK;
    if (w->kind == HX_WEIGHT_HXQ) {
        st = hxg_linear_upload(what, w->codebook, w->k, w->indices, w->rows, w->cols, w->sc_pos,
                               w->sc_val, w->sc_n, NULL, &d->q);
        if (!st) d->bytes = hxg_linear_bytes(d->q);
    } else {
        if (w->dtype != HX_DT_BF16 && w->dtype != HX_DT_F16 && w->dtype != HX_DT_F32)
            return HX_FAIL(HX_EFORMAT, "%s: dense dtype %s not supported on the GPU", what,
                           hx_dtype_name(w->dtype));
        size_t n = (size_t)w->rows * (size_t)w->cols * hx_dtype_size(w->dtype);
        cudaError_t e = cudaMalloc(&d->dense, n);
        if (e == cudaSuccess) e = cudaMemcpy(d->dense, w->data, n, cudaMemcpyHostToDevice);
        if (e != cudaSuccess) {
            cudaFree(d->dense);
            d->dense = NULL;
            st = hxg_cuda_fail(e, "uploading a dense weight", __FILE__, __LINE__);
            hx_preerr("%s", what);
        } else {
            d->dt = dt_of(w->dtype);
            d->bytes = n;
        }
    }
    hx_weight_release(w);
    if (!st) account(g, (int64_t)d->bytes);
    return st;
}

static void dw_free(hxg_model *g, dweight *d)
{
    if (d->q) hxg_linear_free(d->q);
    if (d->dense) cudaFree(d->dense);
    if (d->q || d->dense) account(g, -(int64_t)d->bytes);
    d->q = NULL;
    d->dense = NULL;
    d->bytes = 0;
}

static const char *wname[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                              "down_proj"};

static const hx_weight *host_w(const hx_layer *L, int i)
{
    const hx_weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
    return w[i];
}

static hx_status layer_upload(hxg_model *g, int l)
{
    for (int i = 0; i < 7; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "layer %d %s", l, wname[i]);
        hx_status st = dw_upload(g, &g->layers[l].w[i], host_w(&g->cpu->layers[l], i), nm);
        if (st) return st;
    }
    return HX_OK;
}

extern "C" int hxg_built_with_cuda(void) { return 1; }

extern "C" hx_status hxg_probe(char *name, size_t name_len, char *desc, size_t desc_len)
{
    hxg_device_info di;
    hx_status st = hxg_device_probe(0, &di);
    if (st) return st;
    if (name && name_len) snprintf(name, name_len, "%s", di.name);
    if (desc && desc_len)
        snprintf(desc, desc_len, "%s (cc %d.%d, %d SMs, %.1f GiB)", di.name, di.cc_major,
                 di.cc_minor, di.sm_count, di.total_mem / 1073741824.0);
    return HX_OK;
}

extern "C" hx_status hxg_mem_info(uint64_t *free_b, uint64_t *total_b)
{
    hx_status st = hxg_device_probe(0, NULL);
    if (st) return st;
    size_t f = 0, t = 0;
    HXG_CUDA(cudaMemGetInfo(&f, &t));
    *free_b = f;
    *total_b = t;
    return HX_OK;
}

extern "C" void hxg_model_free(hxg_model *g)
{
    if (!g) return;
    if (g->layers)
        for (int l = 0; l < g->cfg.n_layers; l++)
            for (int i = 0; i < 7; i++) dw_free(g, &g->layers[l].w[i]);
    dw_free(g, &g->embed);
    dw_free(g, &g->head_own);
    for (size_t i = 0; i < g->n_allocs; i++) cudaFree(g->allocs[i]);
    free(g->allocs);
    free(g->layers);
    free(g->seqs);
    free(g);
}

extern "C" uint64_t hxg_model_bytes(const hxg_model *g) { return g ? g->bytes : 0; }
extern "C" uint64_t hxg_model_peak_bytes(const hxg_model *g) { return g ? g->peak : 0; }
extern "C" int hxg_model_resident(const hxg_model *g) { return g ? g->resident : 0; }

static size_t round8(size_t n) { return (n + 7) / 8 * 8; }

/* Elements of the weight scratch: the largest layer weight, or a block of
 * VB rows of the output layer. */
static size_t wbuf_elems_for(const hx_model_config *c)
{
    size_t dim = c->dim, qd = (size_t)c->n_heads * c->head_dim, hid = c->hidden;
    size_t w = qd * dim > hid * dim ? qd * dim : hid * dim;
    size_t head = (size_t)VB * dim;
    return w > head ? w : head;
}

/* The activation and scratch buffers of a model on the device: one table
 * of sizes that both the allocation (hxg_model_create) and the estimate
 * (hxg_model_buffer_bytes) read. */
enum {
    B_X, B_TMP, B_XN, B_XF, B_Q, B_QC, B_ATT, B_K, B_V, B_KC, B_VC, B_HG, B_HU, B_HC, B_S, B_P,
    B_LOGITS, B_STATES, B_WBUF, B_IDS, B_ROWMAP, B_TGT, NBUF
};

static void buffer_sizes(const hx_model_config *c, int max_ctx, int max_tokens, size_t cs,
                         size_t sz[NBUF])
{
    size_t T = (size_t)max_tokens, dim = c->dim, qd = (size_t)c->n_heads * c->head_dim;
    size_t kvd = (size_t)c->n_kv_heads * c->head_dim, hid = c->hidden;
    size_t mlp = T < MLPC ? T : MLPC, qb = T < QB ? T : QB, rb = T < RB ? T : RB;
    size_t scores = (size_t)c->n_heads * qb * round8((size_t)max_ctx);
    sz[B_X] = sz[B_TMP] = T * dim * 4;
    sz[B_XN] = sz[B_XF] = T * dim * cs;
    sz[B_Q] = T * qd * 4;
    sz[B_QC] = sz[B_ATT] = T * qd * cs;
    sz[B_K] = sz[B_V] = T * kvd * 4;
    sz[B_KC] = sz[B_VC] = T * kvd * cs;
    sz[B_HG] = sz[B_HU] = mlp * hid * 4;
    sz[B_HC] = mlp * hid * cs;
    sz[B_S] = scores * 4;
    sz[B_P] = scores * cs;
    sz[B_LOGITS] = rb * VB * 4;
    sz[B_STATES] = rb * sizeof(hxg_row_state);
    sz[B_WBUF] = wbuf_elems_for(c) * cs;
    sz[B_IDS] = sz[B_ROWMAP] = sz[B_TGT] = T * 4;
}

extern "C" uint64_t hxg_model_buffer_bytes(const hx_model_config *c, int max_ctx, int max_tokens,
                                           int compute)
{
    size_t sz[NBUF];
    buffer_sizes(c, max_ctx, max_tokens, compute == HXG_COMPUTE_BF16 ? 2 : 4, sz);
    uint64_t b = 0;
    for (int i = 0; i < NBUF; i++) b += sz[i];
    /* RoPE tables, norms and biases */
    uint64_t qd = (uint64_t)c->n_heads * c->head_dim, kvd = (uint64_t)c->n_kv_heads * c->head_dim;
    return b + (uint64_t)max_ctx * (c->head_dim / 2) * 8 +
           (uint64_t)c->n_layers * (3 * (uint64_t)c->dim + qd + 2 * kvd) * 4 + (uint64_t)c->dim * 4;
}

extern "C" hx_status hxg_model_create(hx_model *cpu, int max_ctx, int max_tokens, int compute,
                                      int share, hxg_model **out)
{
    *out = NULL;
    const hx_model_config *c = &cpu->cfg;
    if (max_ctx < 1 || max_ctx > cpu->max_ctx || max_tokens < 1)
        return HX_FAIL(HX_EINVAL, "GPU context %d / batch %d outside [1, %d] of the loaded model",
                       max_ctx, max_tokens, cpu->max_ctx);
    if (c->arch != HX_ARCH_TRANSFORMER)
        return HX_FAIL(HX_EINVAL, "the CUDA backend has no forward pass for %s (transformers only): use "
                                  "--device cpu", c->model_type);
    if (c->n_kv_heads < 1 || c->n_heads % c->n_kv_heads || c->head_dim % 2 || c->head_dim > 256)
        return HX_FAIL(HX_EINVAL, "unsupported head layout (%d heads, %d kv heads, head_dim %d)",
                       c->n_heads, c->n_kv_heads, c->head_dim);
    if (compute != HXG_COMPUTE_BF16 && compute != HXG_COMPUTE_F32)
        return HX_FAIL(HX_EINVAL, "unknown compute dtype %d", compute);
    hx_status st = hxg_device_probe(0, NULL);
    if (!st) st = blas_open();
    if (st) return st;
    hxg_model *g = (hxg_model *)calloc(1, sizeof *g);
    if (!g) return HX_FAIL(HX_ENOMEM, "out of memory");
    g->cpu = cpu;
    g->cfg = *c;
    g->max_ctx = max_ctx;
    g->max_tokens = max_tokens;
    g->ct = compute == HXG_COMPUTE_BF16 ? DT_BF16 : DT_F32;
    g->ctsz = compute == HXG_COMPUTE_BF16 ? 2 : 4;
    g->layers = (dlayer *)calloc((size_t)c->n_layers, sizeof *g->layers);
    if (!g->layers) {
        hxg_model_free(g);
        return HX_FAIL(HX_ENOMEM, "out of memory");
    }
    size_t dim = c->dim, qd = (size_t)c->n_heads * c->head_dim,
           kvd = (size_t)c->n_kv_heads * c->head_dim, half = c->head_dim / 2, cs = g->ctsz;
    g->ldS = round8((size_t)max_ctx);
    g->qb = max_tokens < QB ? max_tokens : QB;
    g->wbuf_elems = wbuf_elems_for(c);
    st = dev_copy(g, &g->norm, cpu->norm, dim);
    for (int l = 0; l < c->n_layers && !st; l++) {
        const hx_layer *L = &cpu->layers[l];
        dlayer *D = &g->layers[l];
        st = dev_copy(g, &D->attn_norm, L->attn_norm, dim);
        if (!st) st = dev_copy(g, &D->mlp_norm, L->mlp_norm, dim);
        if (!st) st = dev_copy(g, &D->bq, L->bq, qd);
        if (!st) st = dev_copy(g, &D->bk, L->bk, kvd);
        if (!st) st = dev_copy(g, &D->bv, L->bv, kvd);
        if (!st) st = dev_copy(g, &D->bo, L->bo, dim);
    }
    if (!st) st = dev_copy(g, &g->rope_cos, cpu->rope_cos, (size_t)max_ctx * half);
    if (!st) st = dev_copy(g, &g->rope_sin, cpu->rope_sin, (size_t)max_ctx * half);
    size_t sz[NBUF];
    buffer_sizes(c, max_ctx, max_tokens, cs, sz);
    /* in the order of the enum */
    void **slot[NBUF] = {(void **)&g->x,      (void **)&g->tmp,  &g->xn,           &g->xf,
                         (void **)&g->q,      &g->qc,            &g->att,          (void **)&g->k,
                         (void **)&g->v,      &g->kc,            &g->vc,           (void **)&g->hg,
                         (void **)&g->hu,     &g->hc,            (void **)&g->S,   &g->P,
                         (void **)&g->logits, (void **)&g->states, &g->wbuf,      (void **)&g->ids,
                         (void **)&g->rowmap, (void **)&g->tgt};
    for (int i = 0; i < NBUF && !st; i++) st = dev_alloc(g, slot[i], sz[i]);
    if (!st) {
        /* the one-kernel attention of decode: the q row, the row's scores */
        int dev = 0, optin = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
        g->dec_optin = (size_t)optin;
        g->dec_smem = ((size_t)c->head_dim + max_ctx + 256) * sizeof(float);
        if (g->dec_smem > 48 * 1024 && g->dec_smem <= g->dec_optin) {
            cudaError_t e = decode_attention_smem((int)g->dec_smem);
            if (e != cudaSuccess) st = hxg_cuda_fail(e, "attention smem", __FILE__, __LINE__);
        }
    }
    /* weights: resident when all of them fit this model's share of the
     * free memory (keeping 1 GiB back), else streamed layer by layer */
    if (!st) {
        uint64_t wb = weight_dev_bytes(&cpu->embed);
        if (cpu->lm_head != &cpu->embed) wb += weight_dev_bytes(cpu->lm_head);
        for (int l = 0; l < c->n_layers; l++)
            for (int i = 0; i < 7; i++) wb += weight_dev_bytes(host_w(&cpu->layers[l], i));
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        uint64_t avail = fr > (1ull << 30) ? (fr - (1ull << 30)) / (uint64_t)(share > 0 ? share : 1) : 0;
        g->resident = wb <= avail;
        st = dw_upload(g, &g->embed, &cpu->embed, "model.embed_tokens");
        if (!st && cpu->lm_head != &cpu->embed) st = dw_upload(g, &g->head_own, cpu->lm_head, "lm_head");
        g->head = cpu->lm_head != &cpu->embed ? &g->head_own : &g->embed;
        for (int l = 0; l < c->n_layers && !st && g->resident; l++) st = layer_upload(g, l);
    }
    if (st) {
        hx_preerr("GPU model (%.1f MiB on the device so far)", g->bytes / 1048576.0);
        hxg_model_free(g);
        return st;
    }
    *out = g;
    return HX_OK;
}

/* Rows [o0, o1) of weight d as a matrix in dtype `dt` with row stride ld:
 * either the stored data itself, or expanded into the scratch buffer. */
static hx_status weight_rows(hxg_model *g, const dweight *d, int64_t o0, int64_t o1, int dt,
                             const void **W, int *ld)
{
    int64_t rows = o1 - o0, cols = d->host->cols;
    if (d->dense && d->dt == dt) {
        *W = (const char *)d->dense + (size_t)o0 * cols * dt_bytes(dt);
        *ld = (int)cols;
        return HX_OK;
    }
    if ((size_t)rows * cols > g->wbuf_elems)
        return HX_FAIL(HX_EINTERNAL, "weight block of %lld x %lld over the scratch buffer",
                       (long long)rows, (long long)cols);
    size_t n = (size_t)rows * cols;
    hx_status st;
    if (d->q) {
        if ((st = hxg_hxq_expand(d->q, o0, o1, g->wbuf, dt == DT_BF16 ? HXG_BF16 : HXG_F32, NULL)))
            return st;
    } else {
        const char *src = (const char *)d->dense + (size_t)o0 * cols * dt_bytes(d->dt);
        convert_any<<<hxg_grid_for(n), 256>>>(src, d->dt, g->wbuf, dt, n);
        HXG_LAUNCHED("convert");
    }
    *W = g->wbuf;
    *ld = (int)cols;
    return HX_OK;
}

/* y[T, ldy] (F32) = x[T, in] (compute dtype, row stride ldx) W[o0:o1]^T
 * (+ b[o0:o1]). Decode-sized T with an HXQ weight: the fused GEMV. */
static hx_status linear(hxg_model *g, const void *x, int ldx, int T, const dweight *d, int64_t o0,
                        int64_t o1, const float *b, float *y, int ldy)
{
    int out = (int)(o1 - o0), in = (int)d->host->cols;
    hx_status st;
    if (d->q && T <= DEC_MAX && o0 == 0 && o1 == d->q->rows && ldx % 4 == 0) {
        st = hxg_hxq_gemv(d->q, x, g->ct == DT_BF16 ? HXG_BF16 : HXG_F32, ldx, T, y, HXG_F32, ldy,
                          NULL);
        if (st) return st;
    } else {
        const void *W = NULL;
        int ldw = 0;
        if ((st = weight_rows(g, d, o0, o1, g->ct, &W, &ldw))) return st;
        if ((st = gemm(CUBLAS_OP_T, CUBLAS_OP_N, out, T, in, 1.f, W, g->ct, ldw, 0, x, g->ct, ldx, 0,
                       0.f, y, DT_F32, ldy, 0, 1)))
            return st;
    }
    if (b) {
        bias_kernel<<<hxg_grid_for((size_t)T * out), 256>>>(y, ldy, b + o0, T, out);
        HXG_LAUNCHED("bias");
    }
    return HX_OK;
}

/* Attention of one sequence: queries qc[n, qd] at positions pos0.., keys
 * and values K/V[pos0 + n, kvd] (compute dtype), output att[n, qd]. */
static hx_status attention(hxg_model *g, const void *qc, const void *K, const void *V, int n,
                           int pos0, void *att)
{
    const hx_model_config *c = &g->cfg;
    int nh = c->n_heads, kvh = c->n_kv_heads, hd = c->head_dim, rep = nh / kvh;
    int qd = nh * hd, kvd = kvh * hd;
    float scale = 1.0f / sqrtf((float)hd);
    size_t cs = g->ctsz;
    if (n <= DEC_MAX && g->dec_smem <= g->dec_optin) {
        HXG_CUDA(decode_attention(g->ct, qc, K, V, att, n, nh, kvh, hd, pos0, scale, g->dec_smem));
        return HX_OK;
    }
    const int QBk = g->qb; /* the S/P buffers hold nh blocks of qb rows */
    for (int q0 = 0; q0 < n; q0 += QBk) {
        int nq = n - q0 < QBk ? n - q0 : QBk;
        int Lk = pos0 + q0 + nq; /* keys visible to the block's last row */
        long long ldS = (long long)g->ldS;
        const char *Q = (const char *)qc + (size_t)q0 * qd * cs;
        hx_status st;
        /* S_h^T (Lk x nq) = K_g^T-view x Q_h, for the heads h = g*rep + r */
        for (int r = 0; r < rep; r++) {
            if ((st = gemm(CUBLAS_OP_T, CUBLAS_OP_N, Lk, nq, hd, scale, K, g->ct, kvd, hd,
                           Q + (size_t)r * hd * cs, g->ct, qd, (long long)rep * hd, 0.f,
                           g->S + (size_t)r * QBk * ldS, DT_F32, (int)ldS,
                           (long long)rep * QBk * ldS, kvh)))
                return st;
        }
        dim3 grid(nq, nh);
        softmax_rows<<<grid, 256>>>(g->S, g->ldS, (size_t)QBk * g->ldS, g->P, g->ct, pos0 + q0, Lk);
        HXG_LAUNCHED("softmax");
        /* O_h^T (hd x nq) = V_g^T-view x P_h^T-view */
        char *O = (char *)att + (size_t)q0 * qd * cs;
        for (int r = 0; r < rep; r++) {
            if ((st = gemm(CUBLAS_OP_N, CUBLAS_OP_N, hd, nq, Lk, 1.f, V, g->ct, kvd, hd,
                           (const char *)g->P + (size_t)r * QBk * ldS * cs, g->ct, (int)ldS,
                           (long long)rep * QBk * ldS, 0.f, O + (size_t)r * hd * cs, g->ct, qd,
                           (long long)rep * hd, kvh)))
                return st;
        }
    }
    return HX_OK;
}

/* Layer l over the T rows of g->x holding the sequences g->seqs; kv_cache:
 * keys/values go into the cache at their positions (one sequence). */
static hx_status layer_apply(hxg_model *g, int l, int T, int kv_cache)
{
    const hx_model_config *c = &g->cfg;
    dlayer *L = &g->layers[l];
    int dim = c->dim, hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd,
        hid = c->hidden;
    size_t cs = g->ctsz;
    hx_status st;
    if (!L->w[0].q && !L->w[0].dense && (st = layer_upload(g, l))) return st;
    rmsnorm_rows<<<T, 256>>>(g->x, dim, NULL, L->attn_norm, dim, c->rms_eps, g->xn, g->ct);
    HXG_LAUNCHED("rmsnorm");
    if ((st = linear(g, g->xn, dim, T, &L->w[WQ], 0, qd, L->bq, g->q, qd)) ||
        (st = linear(g, g->xn, dim, T, &L->w[WK], 0, kvd, L->bk, g->k, kvd)) ||
        (st = linear(g, g->xn, dim, T, &L->w[WV], 0, kvd, L->bv, g->v, kvd)))
        return st;
    for (int i = 0; i < g->nseq; i++) {
        const hx_seq *s = &g->seqs[i];
        size_t off = (size_t)s->off;
        char *qc = (char *)g->qc + off * qd * cs;
        char *kd, *vd;
        if (kv_cache) {
            size_t base = ((size_t)l * g->max_ctx + (size_t)s->pos0) * kvd * cs;
            kd = (char *)g->kcache + base;
            vd = (char *)g->vcache + base;
        } else {
            kd = (char *)g->kc + off * kvd * cs;
            vd = (char *)g->vc + off * kvd * cs;
        }
        rope_convert<<<hxg_grid_for((size_t)s->n * qd / 2), 256>>>(g->q + off * qd, qc, g->ct, s->n,
                                                              c->n_heads, hd, s->pos0, g->rope_cos,
                                                              g->rope_sin);
        HXG_LAUNCHED("rope q");
        rope_convert<<<hxg_grid_for((size_t)s->n * kvd / 2), 256>>>(g->k + off * kvd, kd, g->ct, s->n,
                                                               c->n_kv_heads, hd, s->pos0,
                                                               g->rope_cos, g->rope_sin);
        HXG_LAUNCHED("rope k");
        convert_any<<<hxg_grid_for((size_t)s->n * kvd), 256>>>(g->v + off * kvd, DT_F32, vd, g->ct,
                                                          (size_t)s->n * kvd);
        HXG_LAUNCHED("v");
        const char *K = kv_cache ? (const char *)g->kcache + (size_t)l * g->max_ctx * kvd * cs : kd;
        const char *V = kv_cache ? (const char *)g->vcache + (size_t)l * g->max_ctx * kvd * cs : vd;
        if ((st = attention(g, qc, K, V, s->n, s->pos0, (char *)g->att + off * qd * cs))) return st;
    }
    if ((st = linear(g, g->att, qd, T, &L->w[WO], 0, dim, L->bo, g->tmp, dim))) return st;
    add_kernel<<<hxg_grid_for((size_t)T * dim), 256>>>(g->x, g->tmp, (size_t)T * dim);
    HXG_LAUNCHED("residual");
    rmsnorm_rows<<<T, 256>>>(g->x, dim, NULL, L->mlp_norm, dim, c->rms_eps, g->xn, g->ct);
    HXG_LAUNCHED("rmsnorm");
    for (int t0 = 0; t0 < T; t0 += MLPC) {
        int n = T - t0 < MLPC ? T - t0 : MLPC;
        const char *xn = (const char *)g->xn + (size_t)t0 * dim * cs;
        if ((st = linear(g, xn, dim, n, &L->w[WG], 0, hid, NULL, g->hg, hid)) ||
            (st = linear(g, xn, dim, n, &L->w[WU], 0, hid, NULL, g->hu, hid)))
            return st;
        swiglu_convert<<<hxg_grid_for((size_t)n * hid), 256>>>(g->hg, g->hu, g->hc, g->ct,
                                                           (size_t)n * hid);
        HXG_LAUNCHED("swiglu");
        if ((st = linear(g, g->hc, hid, n, &L->w[WD], 0, dim, NULL, g->tmp + (size_t)t0 * dim, dim)))
            return st;
    }
    add_kernel<<<hxg_grid_for((size_t)T * dim), 256>>>(g->x, g->tmp, (size_t)T * dim);
    HXG_LAUNCHED("residual");
    if (!g->resident) {
        HXG_CUDA(cudaDeviceSynchronize()); /* the layer's weights are in use until here */
        for (int i = 0; i < 7; i++) dw_free(g, &L->w[i]);
    }
    return HX_OK;
}

/* x rows from token ids (already on the device in g->ids) */
static hx_status embed(hxg_model *g, int T)
{
    const dweight *e = &g->embed;
    int dim = g->cfg.dim;
    if (e->q)
        embed_hxq<<<T, 256>>>(e->q->indices, e->q->ld, e->q->codebook, e->q->row_ptr, e->q->sc_ent,
                              e->q->sc_val, g->ids, dim, g->x);
    else
        embed_dense<<<T, 256>>>(e->dense, e->dt, g->ids, dim, g->x);
    HXG_LAUNCHED("embed");
    return HX_OK;
}

extern "C" hx_status hxg_batch_begin(hxg_model *g, const int32_t *ids, const int *lens, int nseq)
{
    int T;
    hx_status st = hx_batch_check(&g->cfg, g->max_ctx, g->max_tokens, ids, lens, nseq, &T);
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
    HXG_CUDA(cudaMemcpy(g->ids, ids, (size_t)T * 4, cudaMemcpyHostToDevice));
    return embed(g, T);
}

extern "C" hx_status hxg_batch_layer(hxg_model *g, int l)
{
    if (l < 0 || l >= g->cfg.n_layers) return HX_FAIL(HX_EINVAL, "layer %d", l);
    return layer_apply(g, l, g->T, 0);
}

extern "C" hx_status hxg_batch_final(hxg_model *g, const int *rows, int nrows)
{
    if (nrows < 0 || nrows > g->T) return HX_FAIL(HX_EINVAL, "%d final rows of %d", nrows, g->T);
    g->nfinal = nrows;
    if (!nrows) return HX_OK;
    HXG_CUDA(cudaMemcpy(g->rowmap, rows, (size_t)nrows * 4, cudaMemcpyHostToDevice));
    int dim = g->cfg.dim;
    rmsnorm_rows<<<nrows, 256>>>(g->x, dim, g->rowmap, g->norm, dim, g->cfg.rms_eps, g->xf, g->ct);
    HXG_LAUNCHED("final norm");
    return HX_OK;
}

/* logits[r, v - v0] (F32, row stride VB) of packed final rows [r0, r0+n) */
static hx_status logits_block(hxg_model *g, int r0, int n, int v0, int v1)
{
    const void *W = NULL;
    int ldw = 0, dim = g->cfg.dim;
    hx_status st = weight_rows(g, g->head, v0, v1, g->ct, &W, &ldw);
    if (st) return st;
    return gemm(CUBLAS_OP_T, CUBLAS_OP_N, v1 - v0, n, dim, 1.f, W, g->ct, ldw, 0,
                (const char *)g->xf + (size_t)r0 * dim * g->ctsz, g->ct, dim, 0, 0.f, g->logits,
                DT_F32, VB, 0, 1);
}

extern "C" hx_status hxg_score(hxg_model *a, hxg_model *b, int nrows, const int32_t *tgt,
                               hxg_row_state *out)
{
    int V = a->cfg.vocab;
    if (nrows != a->nfinal || (b && (b->nfinal != nrows || b->cfg.vocab != V)))
        return HX_FAIL(HX_EINVAL, "scoring %d rows: the models hold %d and %d final rows", nrows,
                       a->nfinal, b ? b->nfinal : -1);
    hx_status st = HX_OK;
    for (int r0 = 0; r0 < nrows && !st; r0 += RB) {
        int n = nrows - r0 < RB ? nrows - r0 : RB;
        HXG_CUDA(cudaMemcpy(a->tgt, tgt + r0, (size_t)n * 4, cudaMemcpyHostToDevice));
        state_init<<<hxg_grid_for((size_t)n), 256>>>(a->states, n);
        HXG_LAUNCHED("state init");
        for (int v0 = 0; v0 < V && !st; v0 += VB) {
            int v1 = V - v0 < VB ? V : v0 + VB;
            if ((st = logits_block(a, r0, n, v0, v1))) break;
            if (b && (st = logits_block(b, r0, n, v0, v1))) break;
            fold_block<<<n, 256>>>(a->states, a->logits, b ? b->logits : NULL, VB, v0, v1 - v0,
                                   a->tgt);
            HXG_LAUNCHED("fold");
        }
        if (!st)
            HXG_CUDA(cudaMemcpy(out + r0, a->states, (size_t)n * sizeof *out, cudaMemcpyDeviceToHost));
    }
    return st;
}

/* ------------------------------------------------------------ generation */
static hx_status gen_step(hxg_model *g, const int32_t *ids, int n, int32_t *next)
{
    const hx_model_config *c = &g->cfg;
    hx_status st;
    if (g->pos + n > g->max_ctx || n > g->max_tokens)
        return HX_FAIL(HX_EINVAL, "%d tokens at position %d exceed the context of %d", n, g->pos,
                       g->max_ctx);
    g->seqs[0].off = 0;
    g->seqs[0].n = n;
    g->seqs[0].pos0 = g->pos;
    g->nseq = 1;
    g->T = n;
    HXG_CUDA(cudaMemcpy(g->ids, ids, (size_t)n * 4, cudaMemcpyHostToDevice));
    if ((st = embed(g, n))) return st;
    for (int l = 0; l < c->n_layers; l++)
        if ((st = layer_apply(g, l, n, 1))) return st;
    g->pos += n;
    /* the last row's logits, argmax on the device (g->tgt[0] is -1: no
     * target, set once by hxg_generate) */
    rmsnorm_rows<<<1, 256>>>(g->x + (size_t)(n - 1) * c->dim, c->dim, NULL, g->norm, c->dim,
                             c->rms_eps, g->xf, g->ct);
    HXG_LAUNCHED("final norm");
    state_init<<<1, 32>>>(g->states, 1);
    HXG_LAUNCHED("state init");
    for (int v0 = 0; v0 < c->vocab; v0 += VB) {
        int v1 = c->vocab - v0 < VB ? c->vocab : v0 + VB;
        if ((st = logits_block(g, 0, 1, v0, v1))) return st;
        fold_block<<<1, 256>>>(g->states, g->logits, NULL, VB, v0, v1 - v0, g->tgt);
        HXG_LAUNCHED("fold");
    }
    hxg_row_state s;
    HXG_CUDA(cudaMemcpy(&s, g->states, sizeof s, cudaMemcpyDeviceToHost));
    *next = s.aa;
    return HX_OK;
}

extern "C" hx_status hxg_generate(hxg_model *g, const int32_t *prompt, int n_prompt, int max_new,
                                  int32_t **out, int *n_out, hx_gen_stats *stats)
{
    const hx_model_config *c = &g->cfg;
    *out = NULL;
    *n_out = 0;
    memset(stats, 0, sizeof *stats);
    if (n_prompt < 1) return HX_FAIL(HX_EINVAL, "empty prompt");
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= c->vocab)
            return HX_FAIL(HX_EINVAL, "token id %d out of range (vocab %d)", prompt[i], c->vocab);
    if (!g->kcache) {
        size_t n = (size_t)c->n_layers * g->max_ctx * c->n_kv_heads * c->head_dim * g->ctsz;
        hx_status st = DEV_ALLOC(g, &g->kcache, n);
        if (!st) st = DEV_ALLOC(g, &g->vcache, n);
        if (st) return st;
    }
    if (!g->seqs && !(g->seqs = (hx_seq *)calloc(1, sizeof *g->seqs)))
        return HX_FAIL(HX_ENOMEM, "out of memory");
    g->pos = 0;
    const int32_t none = -1;
    HXG_CUDA(cudaMemcpy(g->tgt, &none, 4, cudaMemcpyHostToDevice));
    int32_t *gen = (int32_t *)malloc(((size_t)max_new + 1) * sizeof *gen);
    if (!gen) return HX_FAIL(HX_ENOMEM, "out of memory");
    int n = 0;
    int32_t next = 0;
    double t0 = hx_now();
    hx_status st = HX_OK;
    for (int p0 = 0; p0 < n_prompt && !st; p0 += g->max_tokens) {
        int k = n_prompt - p0 < g->max_tokens ? n_prompt - p0 : g->max_tokens;
        st = gen_step(g, prompt + p0, k, &next);
    }
    if (!st) {
        cudaDeviceSynchronize();
        stats->prefill_tokens = n_prompt;
        stats->prefill_s = hx_now() - t0;
    }
    t0 = hx_now();
    while (!st && n < max_new) {
        gen[n++] = next;
        int eos = 0;
        for (int i = 0; i < c->n_eos; i++) eos |= next == c->eos_ids[i];
        if (eos || g->pos >= g->max_ctx || n == max_new) break;
        st = gen_step(g, &next, 1, &next);
        if (!st) stats->decode_tokens++;
    }
    stats->decode_s = hx_now() - t0;
    if (st) {
        free(gen);
        return st;
    }
    *out = gen;
    *n_out = n;
    return HX_OK;
}
