/* forward.c - the transformer forward pass on the CPU: embeddings, per
 * layer RMSNorm -> q/k/v projections (+bias) -> RoPE -> causal grouped-query
 * attention over the KV cache -> o projection -> residual -> RMSNorm ->
 * SwiGLU MLP -> residual, then the final RMSNorm. Projections are BLAS
 * sgemm calls; attention runs in blocks of query rows (only the causal part
 * of the score matrix is computed); softmax rows are spread over threads. */
#include "common/parallel.h"
#include "model/model_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define QBLOCK 128

/* y[T, out] = x[T, in] * W[out, in]^T (+ b) */
static void linear(const float *x, int T, int in, const float *W, int out, const float *b, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1.0f, x, in, W, in, 0.0f, y,
                out);
    if (b)
        for (int t = 0; t < T; t++)
            for (int o = 0; o < out; o++)
                y[(size_t)t * out + o] += b[o];
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

struct softmax_ctx {
    float *S;
    int ld, first_pos; /* absolute position of row 0 */
};

static void softmax_rows(void *vctx, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct softmax_ctx *c = vctx;
    for (uint64_t r = r0; r < r1; r++) {
        float *row = c->S + r * (size_t)c->ld;
        int n = c->first_pos + (int)r + 1; /* keys 0..pos inclusive */
        float mx = row[0];
        for (int j = 1; j < n; j++)
            mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
        for (int j = 0; j < n; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < n; j++)
            row[j] *= inv;
        for (int j = n; j < c->ld; j++)
            row[j] = 0;
    }
}

static void attention(hx_model *m, int l, int T, int pos0)
{
    const hx_model_config *c = &m->cfg;
    int hd = c->head_dim, nh = c->n_heads, nkv = c->n_kv_heads, grp = nh / nkv;
    int qd = nh * hd, kvd = nkv * hd;
    const float *K = m->kcache + (size_t)l * m->max_ctx * kvd;
    const float *V = m->vcache + (size_t)l * m->max_ctx * kvd;
    float scale = 1.0f / sqrtf((float)hd);
    for (int r0 = 0; r0 < T; r0 += QBLOCK) {
        int rows = T - r0 < QBLOCK ? T - r0 : QBLOCK;
        int L = pos0 + r0 + rows; /* keys visible to the last row */
        for (int h = 0; h < nh; h++) {
            int g = h / grp;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, L, hd, scale,
                        m->q + (size_t)r0 * qd + (size_t)h * hd, qd, K + (size_t)g * hd, kvd, 0.0f,
                        m->scores, L);
            struct softmax_ctx sc = {m->scores, L, pos0 + r0};
            if (rows * L >= 65536 && m->threads > 1)
                hx_parallel_blocks(m->threads, (uint64_t)rows, 16, softmax_rows, &sc);
            else
                softmax_rows(&sc, 0, 0, (uint64_t)rows);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, L, 1.0f, m->scores, L,
                        V + (size_t)g * hd, kvd, 0.0f, m->att + (size_t)r0 * qd + (size_t)h * hd, qd);
        }
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
        linear(m->xn, T, dim, L->wq, qd, L->bq, m->q);
        linear(m->xn, T, dim, L->wk, kvd, L->bk, m->k);
        linear(m->xn, T, dim, L->wv, kvd, L->bv, m->v);
        rope(m, m->q, T, c->n_heads, pos0);
        rope(m, m->k, T, c->n_kv_heads, pos0);
        size_t off = ((size_t)l * m->max_ctx + pos0) * kvd;
        memcpy(m->kcache + off, m->k, (size_t)T * kvd * sizeof(float));
        memcpy(m->vcache + off, m->v, (size_t)T * kvd * sizeof(float));
        attention(m, l, T, pos0);
        linear(m->att, T, qd, L->wo, dim, L->bo, m->xn);
        for (size_t i = 0; i < (size_t)T * dim; i++)
            m->x[i] += m->xn[i];
        rmsnorm(m->x, L->mlp_norm, T, dim, c->rms_eps, m->xn);
        linear(m->xn, T, dim, L->wg, c->hidden, NULL, m->hb);
        linear(m->xn, T, dim, L->wu, c->hidden, NULL, m->hb2);
        for (size_t i = 0; i < (size_t)T * c->hidden; i++) {
            float g = m->hb[i];
            m->hb[i] = g / (1.0f + expf(-g)) * m->hb2[i];
        }
        linear(m->hb, T, c->hidden, L->wd, dim, NULL, m->xn);
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
    linear(hidden, rows, m->cfg.dim, m->lm_head, m->cfg.vocab, NULL, logits);
}
