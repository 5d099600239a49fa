/* zamba2.c - the shared transformer block of Zamba2's hybrid layers, as
 * transformers' Zamba2AttentionDecoderLayer + Zamba2HybridLayer compute it:
 *   h = RMSNorm([x, embeddings])                     (2 dim wide)
 *   q, k, v = W h + B (A h)  (this use's LoRA adapters, when configured)
 *   RoPE (use_mem_rope), causal attention with scale 1/sqrt(head_dim / 2)
 *   a = RMSNorm(o_proj(attention))
 *   f = down(act(gate) * up), [gate, up] = gate_up(a) + B (A a)
 *   out = linear(f)         (the layer's own matrix; no residual here)
 * The caller (layer.c) adds out to the mixer block's input. In token order
 * each use of a block keeps its own KV cache. */
#include "common/parallel.h"
#include "model/model_internal.h"

#include <math.h>
#include <string.h>

/* y[T, out] += B[o0:o1] (A x) for up to two output ranges (gate_up's two
 * halves share one A x): the adapter's rank-wide intermediate in m->lora_t */
static void lora(hx_model *m, const hx_lora *a, const float *x, int T, int64_t o0, int64_t o1, float *y,
                 int64_t o2, float *y2, int ldy)
{
    if (!a->on)
        return;
    int r = (int)a->a.rows;
    hx_linear(m, x, T, &a->a, 0, r, NULL, m->lora_t, r);
    hx_linear_acc(m, m->lora_t, T, &a->b, o0, o1, y, ldy);
    if (y2)
        hx_linear_acc(m, m->lora_t, T, &a->b, o1, o2, y2, ldy);
}

static float act(hx_act a, float x)
{
    switch (a) {
    case HX_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case HX_ACT_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    default: return hx_silu(x);
    }
}

struct glu_ctx {
    float *g;
    const float *u;
    int hidden;
    hx_act a;
};

static void glu_fn(void *vc, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct glu_ctx *c = vc;
    for (size_t i = r0 * c->hidden; i < r1 * c->hidden; i++)
        c->g[i] = act(c->a, c->g[i]) * c->u[i];
}

void hx_zamba2_shared(hx_model *m, int l, int T, hx_seq *seqs, int nseq, int kv_cache, float *out)
{
    const hx_model_config *c = &m->cfg;
    const hx_layer *L = &m->layers[l];
    const hx_shared_block *B = &m->blocks[L->block];
    int dim = c->dim, d2 = 2 * dim, hid = c->hidden;
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    for (int t = 0; t < T; t++) {
        memcpy(m->cat + (size_t)t * d2, m->x + (size_t)t * dim, (size_t)dim * sizeof(float));
        memcpy(m->cat + (size_t)t * d2 + dim, m->x0 + (size_t)t * dim, (size_t)dim * sizeof(float));
    }
    hx_rmsnorm(m->cat, B->in_norm, T, d2, c->rms_eps, m->cat);
    hx_linear(m, m->cat, T, &B->wq, 0, qd, NULL, m->q, qd);
    hx_linear(m, m->cat, T, &B->wk, 0, kvd, NULL, m->k, kvd);
    hx_linear(m, m->cat, T, &B->wv, 0, kvd, NULL, m->v, kvd);
    lora(m, &L->aq, m->cat, T, 0, qd, m->q, 0, NULL, qd);
    lora(m, &L->ak, m->cat, T, 0, kvd, m->k, 0, NULL, kvd);
    lora(m, &L->av, m->cat, T, 0, kvd, m->v, 0, NULL, kvd);
    hx_attend(m, L->use, seqs, nseq, kv_cache, c->use_rope);
    hx_linear(m, m->att, T, &B->wo, 0, dim, NULL, out, dim);
    hx_rmsnorm(out, B->ff_norm, T, dim, c->rms_eps, out);
    for (int t0 = 0; t0 < T; t0 += m->mlp_rows) {
        int n = T - t0 < m->mlp_rows ? T - t0 : m->mlp_rows;
        const float *a = out + (size_t)t0 * dim;
        hx_linear(m, a, n, &B->wgu, 0, hid, NULL, m->hb, hid);
        hx_linear(m, a, n, &B->wgu, hid, 2 * (int64_t)hid, NULL, m->hb2, hid);
        lora(m, &L->agu, a, n, 0, hid, m->hb, 2 * (int64_t)hid, m->hb2, hid);
        struct glu_ctx g = {m->hb, m->hb2, hid, c->act};
        hx_parallel_blocks(m->threads, (uint64_t)n, 64, glu_fn, &g);
        hx_linear(m, m->hb, n, &B->wd, 0, dim, NULL, m->xn + (size_t)t0 * dim, dim);
    }
    hx_linear(m, m->xn, T, &L->linear, 0, dim, NULL, out, dim);
}
