/* layer.c - which layer function a model runs: the transformer layer
 * (forward.c), a Mamba or Mamba2 block (x += mixer(RMSNorm(x))), or a
 * Zamba2 layer (a "hybrid" one first runs its shared transformer block on
 * [x, embeddings] and adds the result to the mixer's input); the pages a
 * layer's weights drop after it; the token-order state of each family. */
#include "model/model_internal.h"

#include <stdlib.h>
#include <string.h>

float *hx_conv_state(hx_model *m, int l)
{
    const hx_ssm_config *s = &m->cfg.ssm;
    return m->conv_state ? m->conv_state + (size_t)l * (s->d_conv - 1) * s->conv_dim : NULL;
}

float *hx_ssm_state(hx_model *m, int l)
{
    const hx_ssm_config *s = &m->cfg.ssm;
    return m->ssm_state ? m->ssm_state + (size_t)l * s->d_inner * s->d_state : NULL;
}

void hx_alloc_state(hx_model *m)
{
    const hx_model_config *c = &m->cfg;
    size_t kvd = (size_t)c->n_kv_heads * c->head_dim;
    if (c->arch == HX_ARCH_TRANSFORMER || c->arch == HX_ARCH_ZAMBA2) {
        /* one cache per attention layer: every layer, or every use of a shared block */
        size_t n = (size_t)(c->arch == HX_ARCH_ZAMBA2 ? c->n_hybrid : c->n_layers) * m->max_ctx * kvd;
        if (!m->kcache && n) {
            m->kcache = hx_malloc(n * sizeof(float));
            m->vcache = hx_malloc(n * sizeof(float));
        }
    }
    if (c->arch != HX_ARCH_TRANSFORMER && !m->conv_state) {
        const hx_ssm_config *s = &c->ssm;
        m->conv_state = hx_calloc((size_t)c->n_layers * (s->d_conv - 1) * s->conv_dim + 1, sizeof(float));
        m->ssm_state = hx_calloc((size_t)c->n_layers * s->d_inner * s->d_state, sizeof(float));
    }
}

/* x += mixer(RMSNorm(x + add)) over the T rows (add: Zamba2's shared block
 * output, rows of dim floats, or NULL) */
static void ssm_block(hx_model *m, int l, int T, const hx_seq *seqs, int nseq, int carry,
                      const float *add)
{
    const hx_model_config *c = &m->cfg;
    size_t n = (size_t)T * c->dim;
    const float *in = m->x;
    if (add) {
        for (size_t i = 0; i < n; i++)
            m->xn[i] = m->x[i] + add[i];
        in = m->xn;
    }
    hx_rmsnorm(in, m->layers[l].attn_norm, T, c->dim, c->rms_eps, m->xn);
    if (carry && seqs[0].pos0 == 0) { /* a new sequence: its states start at zero */
        const hx_ssm_config *s = &c->ssm;
        memset(hx_conv_state(m, l), 0, (size_t)(s->d_conv - 1) * s->conv_dim * sizeof(float));
        memset(hx_ssm_state(m, l), 0, (size_t)s->d_inner * s->d_state * sizeof(float));
    }
    if (c->arch == HX_ARCH_MAMBA)
        hx_mamba_mixer(m, l, m->xn, T, seqs, nseq, carry, m->xn);
    else
        hx_mamba2_mixer(m, l, m->xn, T, seqs, nseq, carry, m->xn);
    for (size_t i = 0; i < n; i++)
        m->x[i] += m->xn[i];
}

void hx_apply_layer(hx_model *m, int l, int T, hx_seq *seqs, int nseq, int kv_cache)
{
    const hx_model_config *c = &m->cfg;
    switch (c->arch) {
    case HX_ARCH_TRANSFORMER:
        hx_layer_apply(m, l, T, seqs, nseq, kv_cache);
        break;
    case HX_ARCH_ZAMBA2:
        if (c->hybrid[l]) {
            hx_zamba2_shared(m, l, T, seqs, nseq, kv_cache, m->cat);
            ssm_block(m, l, T, seqs, nseq, kv_cache, m->cat);
            break;
        }
        /* fall through */
    default:
        ssm_block(m, l, T, seqs, nseq, kv_cache, NULL);
    }
}

void hx_release_layer(hx_model *m, int l)
{
    if (m->cfg.arch != HX_ARCH_TRANSFORMER) {
        hx_ssm_release_layer(m, l);
        return;
    }
    const hx_layer *L = &m->layers[l];
    const hx_weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        hx_weight_release(w[i]);
}
