/* forward.c - the transformer layer on the CPU: RMSNorm -> q/k/v
 * projections (+bias) -> RoPE -> causal grouped-query attention -> o
 * projection -> residual -> RMSNorm -> SwiGLU MLP -> residual, over the rows
 * of one or more sequences; the token-order forward pass (KV cache) and the
 * logits on top of it.
 *
 * Threading is ours, BLAS runs single-threaded inside each task (OpenBLAS's
 * own pool would spin while the non-BLAS parts run). A linear over many
 * rows converts a panel of the weight to float32 (all threads), then the
 * threads split the rows of x and multiply them with the whole panel, so
 * BLAS packs each row of x once per panel; over few rows (generation) it is
 * split into blocks of output rows, each task converting its block to a
 * private tile (unless the weight is stored as aligned F32) and
 * multiplying all T rows with it. Attention is split into (sequence, query
 * block, key/value group) tasks, each gathering the block's rows of the
 * group's heads, computing only the causal part of their score block
 * (sgemm), the softmax and the product with V (sgemm) in a private scratch
 * slot; the SwiGLU activation is split by rows.
 * The MLP runs in chunks of m->mlp_rows rows (bounded intermediates). */
#include "common/parallel.h"
#include "model/fastmath.h"
#include "model/model_internal.h"

#include "model/blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int acquire(int *busy, int n)
{
    for (int slot = 0;; slot = (slot + 1) % n) {
        int z = 0;
        if (__atomic_compare_exchange_n(&busy[slot], &z, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return slot;
    }
}

static void release_slot(int *busy, int slot) { __atomic_store_n(&busy[slot], 0, __ATOMIC_RELEASE); }

struct lin_ctx {
    hx_model *m;
    const float *x, *b;
    const hx_weight *W;
    int64_t o0;
    int T, ldy;
    float beta; /* 0: y =, 1: y += */
    float *y;
};

static void lin_fn(void *vc, uint64_t blk, uint64_t n0, uint64_t n1)
{
    (void)blk;
    const struct lin_ctx *c = vc;
    const hx_weight *W = c->W;
    int n = (int)(n1 - n0), in = (int)W->cols, slot = -1;
    const float *w = hx_weight_f32_direct(W);
    if (w) {
        w += (size_t)(c->o0 + (int64_t)n0) * in;
    } else {
        slot = acquire(c->m->tile_busy, c->m->nslots);
        float *tile = c->m->tiles + (size_t)slot * (HX_TILE_BYTES / sizeof(float));
        hx_weight_rows_f32(W, c->o0 + (int64_t)n0, c->o0 + (int64_t)n1, tile);
        w = tile;
    }
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->T, n, in, 1.0f, c->x, in, w, in, c->beta,
             c->y + n0, c->ldy);
    if (slot >= 0)
        release_slot(c->m->tile_busy, slot);
    if (c->b)
        for (int t = 0; t < c->T; t++)
            for (uint64_t o = n0; o < n1; o++)
                c->y[(size_t)t * c->ldy + o] += c->b[o];
}

/* Token split: threads take blocks of the T input rows against one shared
 * float32 panel of the weight (converted by all threads first), so every
 * input row is packed by BLAS once per panel, not once per block of output
 * rows. */
struct conv_ctx {
    const hx_weight *W;
    int64_t r0;
    int in;
    float *panel;
};

static void conv_fn(void *vc, uint64_t blk, uint64_t n0, uint64_t n1)
{
    (void)blk;
    const struct conv_ctx *c = vc;
    hx_weight_rows_f32(c->W, c->r0 + (int64_t)n0, c->r0 + (int64_t)n1, c->panel + n0 * (uint64_t)c->in);
}

struct tok_ctx {
    const float *x, *w, *b;
    int in, n, ldy;
    float beta;
    float *y;
};

static void tok_fn(void *vc, uint64_t blk, uint64_t t0, uint64_t t1)
{
    (void)blk;
    const struct tok_ctx *c = vc;
    float *y = c->y + t0 * (uint64_t)c->ldy;
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(t1 - t0), c->n, c->in, 1.0f,
             c->x + t0 * (uint64_t)c->in, c->in, c->w, c->in, c->beta, y, c->ldy);
    if (c->b)
        for (uint64_t t = 0; t < t1 - t0; t++)
            for (int o = 0; o < c->n; o++)
                y[t * (uint64_t)c->ldy + (uint64_t)o] += c->b[o];
}

/* rows of x each thread needs before the token split pays (below it, the
 * weight packing each thread repeats costs more than x's) */
#define HX_SPLIT_MIN_ROWS 128

static int token_split(hx_model *m, const float *x, int T, const hx_weight *W, int64_t o0, int64_t o1,
                       const float *b, float *y, int ldy, float beta)
{
    int in = (int)W->cols, th = m->threads;
    const float *direct = hx_weight_f32_direct(W);
    int64_t cap = (int64_t)((uint64_t)m->nslots * HX_TILE_BYTES / sizeof(float) / (uint64_t)in);
    if (T < HX_SPLIT_MIN_ROWS * th || (!direct && cap < 64))
        return 0;
    cap = cap / 16 * 16;
    /* the panel spans every tile slot: take them all, in order (concurrent
     * callers of one model, e.g. hx_model_logits, wait here; slot holders
     * never wait for a second slot, so this cannot deadlock) */
    for (int s = 0; !direct && s < m->nslots; s++)
        for (int z = 0; !__atomic_compare_exchange_n(&m->tile_busy[s], &z, 1, 0, __ATOMIC_ACQUIRE,
                                                     __ATOMIC_RELAXED);
             z = 0)
            ;
    uint64_t tb = ((uint64_t)T + (uint64_t)th - 1) / (uint64_t)th;
    for (int64_t p0 = o0; p0 < o1; p0 += direct ? o1 - o0 : cap) {
        int64_t p1 = direct || o1 - p0 <= cap ? o1 : p0 + cap;
        const float *w = direct ? direct + (size_t)p0 * in : m->tiles;
        if (!direct) {
            struct conv_ctx cc = {W, p0, in, m->tiles};
            hx_parallel_blocks(th, (uint64_t)(p1 - p0), 32, conv_fn, &cc);
        }
        struct tok_ctx tc = {x, w, b ? b + (p0 - o0) : NULL, in, (int)(p1 - p0), ldy, beta, y + (p0 - o0)};
        hx_parallel_blocks(th, (uint64_t)T, tb, tok_fn, &tc);
    }
    for (int s = 0; !direct && s < m->nslots; s++)
        release_slot(m->tile_busy, s);
    return 1;
}

static void linear(hx_model *m, const float *x, int T, const hx_weight *W, int64_t o0, int64_t o1,
                   const float *b, float *y, int ldy, float beta)
{
    if (token_split(m, x, T, W, o0, o1, b ? b + o0 : NULL, y, ldy, beta))
        return;
    struct lin_ctx c = {m, x, b ? b + o0 : NULL, W, o0, T, ldy, beta, y};
    uint64_t out = (uint64_t)(o1 - o0), th = (uint64_t)m->threads;
    uint64_t chunk = (out + 2 * th - 1) / (2 * th);
    chunk = (chunk + 15) / 16 * 16;
    if (chunk < 64)
        chunk = 64;
    uint64_t cap = HX_TILE_BYTES / sizeof(float) / (uint64_t)W->cols; /* rows of one tile */
    if (cap >= 16)
        cap = cap / 16 * 16;
    if (chunk > cap)
        chunk = cap;
    hx_parallel_blocks(m->threads, out, chunk, lin_fn, &c);
}

void hx_linear(hx_model *m, const float *x, int T, const hx_weight *W, int64_t o0, int64_t o1,
               const float *b, float *y, int ldy)
{
    linear(m, x, T, W, o0, o1, b, y, ldy, 0.0f);
}

void hx_linear_acc(hx_model *m, const float *x, int T, const hx_weight *W, int64_t o0, int64_t o1,
                   float *y, int ldy)
{
    linear(m, x, T, W, o0, o1, NULL, y, ldy, 1.0f);
}

/* RMSNorm of each row; the squares are summed in double in hx_sum16's
 * fixed 16-lane order (the same on every vector width) */
HX_MULTIVERSION HX_VECTORIZE void hx_rmsnorm(const float *x, const float *w, int T, int dim, double eps, float *y)
{
    for (int t = 0; t < T; t++) {
        const float *a = x + (size_t)t * dim;
        float *o = y + (size_t)t * dim;
        double acc[16] = {0};
        int i = 0;
        for (; i + 16 <= dim; i += 16)
            for (int l = 0; l < 16; l++)
                acc[l] += (double)a[i + l] * a[i + l];
        for (int l = 0; i + l < dim; l++)
            acc[l] += (double)a[i + l] * a[i + l];
        for (int k = 8; k >= 1; k /= 2)
            for (int l = 0; l < k; l++)
                acc[l] += acc[l + k];
        float r = (float)(1.0 / sqrt(acc[0] / dim + eps));
        for (int j = 0; j < dim; j++)
            o[j] = w[j] * (a[j] * r);
    }
}

void hx_rope(const hx_model *m, float *v, int T, int nheads, int pos0)
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

/* exp(row - max) over keys [0, n), zeros after; returns 1 / sum (the sum
 * in hx_sum16's fixed order: the same on every x86-64 level) */
HX_MULTIVERSION HX_VECTORIZE static float softmax_row(float *row, int n, int ld)
{
    float mx = row[0];
#pragma omp simd reduction(max : mx)
    for (int j = 1; j < n; j++)
        mx = row[j] > mx ? row[j] : mx;
    /* the exponentials and hx_sum16's lanes in one pass (same sum) */
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) {
            float e = hx_exp_nonpos(row[j + l] - mx);
            row[j + l] = e;
            acc[l] += e;
        }
    for (int l = 0; j + l < n; l++) {
        float e = hx_exp_nonpos(row[j + l] - mx);
        row[j + l] = e;
        acc[l] += e;
    }
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    float sum = acc[0];
    for (j = n; j < ld; j++)
        row[j] = 0;
    return 1.0f / sum;
}

/* one attention task: query block `blk` of sequence `seq`, for the heads
 * of one key/value group */
typedef struct { int seq, blk; } att_item;

struct key_cmp_ctx {
    const hx_seq *seqs;
    int qrows;
};

static int heavier(const void *x, const void *y, void *ctx)
{
    const struct key_cmp_ctx *kc = ctx;
    const att_item *a = x, *b = y;
    int ka = kc->seqs[a->seq].pos0 + a->blk * kc->qrows, kb = kc->seqs[b->seq].pos0 + b->blk * kc->qrows;
    if (ka != kb)
        return ka > kb ? -1 : 1;
    return a->seq != b->seq ? a->seq - b->seq : a->blk - b->blk;
}

struct attn_ctx {
    hx_model *m;
    const hx_seq *seqs;
    const att_item *items;
    int *busy; /* one flag per scratch slot */
    int qrows; /* query rows per head of a task */
};

/* Rows (j, r) of a task are head g*grp + j, query row r of the block: with
 * one head per group they are read from q and written to att in place;
 * otherwise gathered into the slot first (one product for the group) and
 * scattered back. */
static void attn_fn(void *vc, uint64_t item, uint64_t b0, uint64_t b1)
{
    (void)b0;
    (void)b1;
    struct attn_ctx *c = vc;
    hx_model *m = c->m;
    const hx_model_config *cf = &m->cfg;
    int hd = cf->head_dim, nkv = cf->n_kv_heads, grp = cf->n_heads / nkv;
    int qd = cf->n_heads * hd, kvd = nkv * hd;
    const att_item *it = &c->items[item / (uint64_t)nkv];
    const hx_seq *s = &c->seqs[it->seq];
    int g = (int)(item % (uint64_t)nkv);
    int r0 = it->blk * c->qrows, rows = s->n - r0 < c->qrows ? s->n - r0 : c->qrows, R = grp * rows;
    int L = s->pos0 + r0 + rows; /* keys visible to the last row */
    int slot = acquire(c->busy, m->nslots);
    float *S = m->scores + (size_t)slot * hx_att_slot_floats(cf, m->max_ctx);
    float *Q = S + (size_t)R * L, *O = Q + (size_t)R * hd, *inv = O + (size_t)R * hd;
    size_t row0 = (size_t)s->off + r0;
    const float *q = m->q + row0 * qd + (size_t)g * grp * hd;
    int ldq = qd;
    if (grp > 1) {
        for (int j = 0; j < grp; j++)
            for (int r = 0; r < rows; r++)
                memcpy(Q + ((size_t)j * rows + r) * hd, q + (size_t)r * qd + (size_t)j * hd, (size_t)hd * sizeof(float));
        q = Q;
        ldq = hd;
    }
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, L, hd, cf->attn_scale, q, ldq,
             s->K + (size_t)g * hd, kvd, 0.0f, S, L);
    for (int j = 0; j < grp; j++)
        for (int r = 0; r < rows; r++)
            inv[j * rows + r] = softmax_row(S + ((size_t)j * rows + r) * L, s->pos0 + r0 + r + 1, L);
    float *out = m->att + row0 * qd + (size_t)g * grp * hd;
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, hd, L, 1.0f, S, L, s->V + (size_t)g * hd, kvd,
             0.0f, grp > 1 ? O : out, grp > 1 ? hd : qd);
    /* normalization after the product: hd, not L, columns */
    for (int j = 0; j < grp; j++)
        for (int r = 0; r < rows; r++) {
            const float *o = grp > 1 ? O + ((size_t)j * rows + r) * hd : out + (size_t)r * qd;
            float *d = out + (size_t)r * qd + (size_t)j * hd, f = inv[j * rows + r];
            for (int i = 0; i < hd; i++)
                d[i] = o[i] * f;
        }
    release_slot(c->busy, slot);
}

void hx_attention(hx_model *m, const hx_seq *seqs, int nseq)
{
    int qrows = hx_att_qrows(&m->cfg), nitems = 0;
    for (int i = 0; i < nseq; i++)
        nitems += (seqs[i].n + qrows - 1) / qrows;
    att_item stack[64], *items = nitems <= 64 ? stack : hx_malloc((size_t)nitems * sizeof *items);
    int k = 0;
    for (int i = 0; i < nseq; i++)
        for (int blk = 0; blk < (seqs[i].n + qrows - 1) / qrows; blk++)
            items[k++] = (att_item){i, blk};
    /* heaviest (most keys) blocks first */
    struct key_cmp_ctx kc = {seqs, qrows};
    qsort_r(items, (size_t)k, sizeof *items, heavier, &kc);
    int busy[HX_MAX_SLOTS] = {0};
    struct attn_ctx ac = {m, seqs, items, busy, qrows};
    hx_parallel_blocks(m->threads, (uint64_t)k * m->cfg.n_kv_heads, 1, attn_fn, &ac);
    if (items != stack)
        free(items);
}

struct swiglu_ctx {
    float *g;
    const float *u;
    int hidden;
};

/* g = silu(g) * u over [0, n): sigmoid from e^-|g| (hx_exp_nonpos) */
HX_MULTIVERSION HX_VECTORIZE static void swiglu_rows(float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = g[i], e = hx_exp_nonpos(x < 0 ? x : -x);
        g[i] = (x < 0 ? x * e : x) / (1.0f + e) * u[i];
    }
}

static void swiglu_fn(void *vc, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct swiglu_ctx *c = vc;
    size_t at = r0 * (size_t)c->hidden;
    swiglu_rows(c->g + at, c->u + at, (r1 - r0) * (size_t)c->hidden);
}

void hx_attend(hx_model *m, int cache, hx_seq *seqs, int nseq, int kv_cache, int rope)
{
    const hx_model_config *c = &m->cfg;
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    for (int i = 0; i < nseq; i++) {
        hx_seq *s = &seqs[i];
        if (rope) {
            hx_rope(m, m->q + (size_t)s->off * qd, s->n, c->n_heads, s->pos0);
            hx_rope(m, m->k + (size_t)s->off * kvd, s->n, c->n_kv_heads, s->pos0);
        }
        if (kv_cache) {
            float *kc = m->kcache + (size_t)cache * m->max_ctx * kvd;
            float *vc = m->vcache + (size_t)cache * m->max_ctx * kvd;
            memcpy(kc + (size_t)s->pos0 * kvd, m->k + (size_t)s->off * kvd, (size_t)s->n * kvd * sizeof(float));
            memcpy(vc + (size_t)s->pos0 * kvd, m->v + (size_t)s->off * kvd, (size_t)s->n * kvd * sizeof(float));
            s->K = kc;
            s->V = vc;
        } else {
            s->K = m->k + (size_t)s->off * kvd;
            s->V = m->v + (size_t)s->off * kvd;
        }
    }
    hx_attention(m, seqs, nseq);
}

void hx_layer_apply(hx_model *m, int l, int T, hx_seq *seqs, int nseq, int kv_cache)
{
    const hx_model_config *c = &m->cfg;
    const hx_layer *L = &m->layers[l];
    int dim = c->dim, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    hx_rmsnorm(m->x, L->attn_norm, T, dim, c->rms_eps, m->xn);
    hx_linear(m, m->xn, T, &L->wq, 0, qd, L->bq, m->q, qd);
    hx_linear(m, m->xn, T, &L->wk, 0, kvd, L->bk, m->k, kvd);
    hx_linear(m, m->xn, T, &L->wv, 0, kvd, L->bv, m->v, kvd);
    hx_attend(m, l, seqs, nseq, kv_cache, 1);
    hx_linear(m, m->att, T, &L->wo, 0, dim, L->bo, m->xn, dim);
    for (size_t i = 0; i < (size_t)T * dim; i++)
        m->x[i] += m->xn[i];
    hx_rmsnorm(m->x, L->mlp_norm, T, dim, c->rms_eps, m->xn);
    for (int t0 = 0; t0 < T; t0 += m->mlp_rows) {
        int n = T - t0 < m->mlp_rows ? T - t0 : m->mlp_rows;
        float *xn = m->xn + (size_t)t0 * dim;
        hx_linear(m, xn, n, &L->wg, 0, c->hidden, NULL, m->hb, c->hidden);
        hx_linear(m, xn, n, &L->wu, 0, c->hidden, NULL, m->hb2, c->hidden);
        struct swiglu_ctx sg = {m->hb, m->hb2, c->hidden};
        hx_parallel_blocks(m->threads, (uint64_t)n, 64, swiglu_fn, &sg);
        /* this chunk of xn is consumed: the down projection goes there */
        hx_linear(m, m->hb, n, &L->wd, 0, dim, NULL, xn, dim);
    }
    for (size_t i = 0; i < (size_t)T * dim; i++)
        m->x[i] += m->xn[i];
}

void hx_embed_rows(hx_model *m, const int32_t *ids, int T)
{
    int dim = m->cfg.dim;
    for (int t = 0; t < T; t++)
        hx_weight_rows_f32(&m->embed, ids[t], ids[t] + 1, m->x + (size_t)t * dim);
    if (m->x0) /* Zamba2's shared blocks also read the embeddings */
        memcpy(m->x0, m->x, (size_t)T * dim * sizeof(float));
}

hx_status hx_model_forward(hx_model *m, const int32_t *ids, int T, float *hidden)
{
    const hx_model_config *c = &m->cfg;
    if (T < 1 || m->pos + T > m->max_ctx || T > m->max_tokens)
        return HX_FAIL(HX_EINVAL, "sequence of %d tokens at position %d exceeds the context of %d", T,
                       m->pos, m->max_ctx < m->max_tokens ? m->max_ctx : m->max_tokens);
    for (int t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab)
            return HX_FAIL(HX_EINVAL, "token id %d out of range (vocab %d)", ids[t], c->vocab);
    hx_alloc_state(m);
    hx_embed_rows(m, ids, T);
    hx_seq s = {0, T, m->pos, NULL, NULL};
    for (int l = 0; l < c->n_layers; l++)
        hx_apply_layer(m, l, T, &s, 1, 1);
    m->pos += T;
    if (hidden)
        hx_rmsnorm(m->x, m->norm, T, c->dim, c->rms_eps, hidden);
    return HX_OK;
}

void hx_model_logits(const hx_model *m, const float *hidden, int rows, float *logits)
{
    /* const in the API: only the tile slots are used, which are ours */
    hx_linear((hx_model *)m, hidden, rows, m->lm_head, 0, m->cfg.vocab, NULL, logits, m->cfg.vocab);
}

void hx_model_logits_range(hx_model *m, const float *hidden, int rows, int v0, int v1, float *logits)
{
    hx_linear(m, hidden, rows, m->lm_head, v0, v1, NULL, logits, v1 - v0);
}

void hx_model_release_head(hx_model *m, int v0, int v1)
{
    hx_weight_release_rows(m->lm_head, v0, v1);
}
