/* forward.c - the transformer forward pass on the CPU: embeddings, per
 * layer RMSNorm -> q/k/v projections (+bias) -> RoPE -> causal grouped-query
 * attention over the KV cache -> o projection -> residual -> RMSNorm ->
 * SwiGLU MLP -> residual, then the final RMSNorm.
 *
 * Threading is ours, BLAS runs single-threaded inside each task (OpenBLAS's
 * own pool would spin while the non-BLAS parts run): projections are split
 * into column blocks, each one sgemm; attention is split into (query block,
 * head) tasks, each computing only the causal part of its score block
 * (sgemm), the softmax and the product with V (sgemm) in a private scratch
 * slot; the SwiGLU activation is split by rows. */
#include "common/parallel.h"
#include "model/model_internal.h"

#include "model/blas.h"
#include <math.h>
#include <stdatomic.h>
#include <string.h>



struct lin_ctx {
    const float *x, *W, *b;
    int T, in, out;
    float *y;
};

static void lin_fn(void *vc, uint64_t blk, uint64_t n0, uint64_t n1)
{
    (void)blk;
    const struct lin_ctx *c = vc;
    int n = (int)(n1 - n0);
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->T, n, c->in, 1.0f, c->x, c->in,
                c->W + n0 * (size_t)c->in, c->in, 0.0f, c->y + n0, c->out);
    if (c->b)
        for (int t = 0; t < c->T; t++)
            for (uint64_t o = n0; o < n1; o++)
                c->y[(size_t)t * c->out + o] += c->b[o];
}

/* y[T, out] = x[T, in] * W[out, in]^T (+ b), output columns over threads */
static void linear(int threads, const float *x, int T, int in, const float *W, int out,
                   const float *b, float *y)
{
    struct lin_ctx c = {x, W, b, T, in, out, y};
    uint64_t chunk = ((uint64_t)out + 2 * threads - 1) / (2 * threads);
    chunk = (chunk + 15) / 16 * 16;
    if (chunk < 64)
        chunk = 64;
    hx_parallel_blocks(threads, (uint64_t)out, chunk, lin_fn, &c);
}

static void rmsnorm(const float *x, const float *w, int T, int dim, double eps, float *y)
{
    for (int t = 0; t < T; t++) {
        const float *a = x + (size_t)t * dim;
        float *o = y + (size_t)t * dim;
        double ss = 0;
        for (int i = 0; i < dim; i++)
            ss += (double)a[i] * a[i];
        float r = (float)(1.0 / sqrt(ss / dim + eps));
        for (int i = 0; i < dim; i++)
            o[i] = w[i] * (a[i] * r);
    }
}

static void rope(const hx_model *m, float *v, int T, int nheads, int pos0)
{
    int hd = m->cfg.head_dim, half = hd / 2;
    for (int t = 0; t < T; t++) {
        const float *c = m->rope_cos + (size_t)(pos0 + t) * half;
        const float *s = m->rope_sin + (size_t)(pos0 + t) * half;
        for (int h = 0; h < nheads; h++) {
            float *x = v + ((size_t)t * nheads + h) * hd;
            for (int i = 0; i < half; i++) {
                float a = x[i], b = x[i + half];
                x[i] = a * c[i] - b * s[i];
                x[i + half] = b * c[i] + a * s[i];
            }
        }
    }
}

/* exp(row - max) over keys [0, n), zeros after; returns 1 / sum */
static float softmax_row(float *row, int n, int ld)
{
    float mx = row[0];
    for (int j = 1; j < n; j++)
        mx = row[j] > mx ? row[j] : mx;
    float sum = 0;
    for (int j = 0; j < n; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
    }
    for (int j = n; j < ld; j++)
        row[j] = 0;
    return 1.0f / sum;
}

struct attn_ctx {
    hx_model *m;
    const float *K, *V;
    int T, pos0, nblocks;
    atomic_int *busy; /* one flag per scratch slot */
};

static void attn_fn(void *vc, uint64_t item, uint64_t b0, uint64_t b1)
{
    (void)b0;
    (void)b1;
    struct attn_ctx *c = vc;
    hx_model *m = c->m;
    const hx_model_config *cf = &m->cfg;
    int hd = cf->head_dim, nh = cf->n_heads, grp = nh / cf->n_kv_heads;
    int qd = nh * hd, kvd = cf->n_kv_heads * hd;
    /* heaviest (last) query blocks first */
    int blk = c->nblocks - 1 - (int)(item / (uint64_t)nh), h = (int)(item % (uint64_t)nh), g = h / grp;
    int r0 = blk * QBLOCK, rows = c->T - r0 < QBLOCK ? c->T - r0 : QBLOCK;
    int L = c->pos0 + r0 + rows; /* keys visible to the last row */
    int slot = 0;
    for (;; slot = (slot + 1) % m->nslots) {
        int z = 0;
        if (atomic_compare_exchange_strong(&c->busy[slot], &z, 1))
            break;
    }
    float *S = m->scores + (size_t)slot * QBLOCK * m->max_ctx;
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, L, hd, 1.0f / sqrtf((float)hd),
                m->q + (size_t)r0 * qd + (size_t)h * hd, qd, c->K + (size_t)g * hd, kvd, 0.0f, S, L);
    float inv[QBLOCK];
    for (int r = 0; r < rows; r++)
        inv[r] = softmax_row(S + (size_t)r * L, c->pos0 + r0 + r + 1, L);
    float *out = m->att + (size_t)r0 * qd + (size_t)h * hd;
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, L, 1.0f, S, L,
                c->V + (size_t)g * hd, kvd, 0.0f, out, qd);
    for (int r = 0; r < rows; r++) /* normalization after the product: hd, not L, columns */
        for (int i = 0; i < hd; i++)
            out[(size_t)r * qd + i] *= inv[r];
    atomic_store(&c->busy[slot], 0);
}

static void attention(hx_model *m, int l, int T, int pos0)
{
    const hx_model_config *c = &m->cfg;
    int kvd = c->n_kv_heads * c->head_dim;
    atomic_int busy[HX_MAX_SLOTS];
    for (int i = 0; i < m->nslots; i++)
        atomic_init(&busy[i], 0);
    struct attn_ctx ac = {m, m->kcache + (size_t)l * m->max_ctx * kvd,
                          m->vcache + (size_t)l * m->max_ctx * kvd, T, pos0,
                          (T + QBLOCK - 1) / QBLOCK, busy};
    hx_parallel_blocks(m->threads, (uint64_t)ac.nblocks * c->n_heads, 1, attn_fn, &ac);
}

struct swiglu_ctx {
    float *g;
    const float *u;
    int hidden;
};

static void swiglu_fn(void *vc, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct swiglu_ctx *c = vc;
    for (size_t i = r0 * c->hidden; i < r1 * c->hidden; i++) {
        float g = c->g[i];
        c->g[i] = g / (1.0f + expf(-g)) * c->u[i];
    }
}

hx_status hx_model_forward(hx_model *m, const int32_t *ids, int T, float *hidden)
{
    const hx_model_config *c = &m->cfg;
    if (T < 1 || m->pos + T > m->max_ctx)
        return HX_FAIL(HX_EINVAL, "sequence of %d tokens at position %d exceeds the context of %d", T,
                       m->pos, m->max_ctx);
    int dim = c->dim, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    int pos0 = m->pos;
    for (int t = 0; t < T; t++) {
        if (ids[t] < 0 || ids[t] >= c->vocab)
            return HX_FAIL(HX_EINVAL, "token id %d out of range (vocab %d)", ids[t], c->vocab);
        memcpy(m->x + (size_t)t * dim, m->embed + (size_t)ids[t] * dim, (size_t)dim * sizeof(float));
    }
    for (int l = 0; l < c->n_layers; l++) {
        const hx_layer *L = &m->layers[l];
        rmsnorm(m->x, L->attn_norm, T, dim, c->rms_eps, m->xn);
        linear(m->threads, m->xn, T, dim, L->wq, qd, L->bq, m->q);
        linear(m->threads, m->xn, T, dim, L->wk, kvd, L->bk, m->k);
        linear(m->threads, m->xn, T, dim, L->wv, kvd, L->bv, m->v);
        rope(m, m->q, T, c->n_heads, pos0);
        rope(m, m->k, T, c->n_kv_heads, pos0);
        size_t off = ((size_t)l * m->max_ctx + pos0) * kvd;
        memcpy(m->kcache + off, m->k, (size_t)T * kvd * sizeof(float));
        memcpy(m->vcache + off, m->v, (size_t)T * kvd * sizeof(float));
        attention(m, l, T, pos0);
        linear(m->threads, m->att, T, qd, L->wo, dim, L->bo, m->xn);
        for (size_t i = 0; i < (size_t)T * dim; i++)
            m->x[i] += m->xn[i];
        rmsnorm(m->x, L->mlp_norm, T, dim, c->rms_eps, m->xn);
        linear(m->threads, m->xn, T, dim, L->wg, c->hidden, NULL, m->hb);
        linear(m->threads, m->xn, T, dim, L->wu, c->hidden, NULL, m->hb2);
        struct swiglu_ctx sg = {m->hb, m->hb2, c->hidden};
        hx_parallel_blocks(m->threads, (uint64_t)T, 64, swiglu_fn, &sg);
        linear(m->threads, m->hb, T, c->hidden, L->wd, dim, NULL, m->xn);
        for (size_t i = 0; i < (size_t)T * dim; i++)
            m->x[i] += m->xn[i];
    }
    m->pos += T;
    if (hidden)
        rmsnorm(m->x, m->norm, T, dim, c->rms_eps, hidden);
    return HX_OK;
}

void hx_model_logits(const hx_model *m, const float *hidden, int rows, float *logits)
{
    linear(m->threads, hidden, rows, m->cfg.dim, m->lm_head, m->cfg.vocab, NULL, logits);
}
