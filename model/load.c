/* load.c - builds an hx_model from a model directory: config, every weight
 * as F32 (dense BF16/F16/F32, or decoded from HXQ codebook + indices +
 * sidecar through hxq_load_f32), the RoPE tables and the KV cache. */
#include "codec/hxq.h"
#include "common/parallel.h"
#include "model/model_internal.h"

#include "model/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static hx_status get(const hx_st_model *st, hx_model *m, const char *name, int64_t d0, int64_t d1,
                     int optional, float **out)
{
    *out = NULL;
    int64_t shape[HX_ST_MAX_DIMS];
    int nd;
    int dense = hx_st_model_find(st, name) != NULL;
    if (optional && !dense) {
        /* an optional tensor (a bias) only exists dense */
        return HX_OK;
    }
    hx_status s = hxq_load_f32(st, name, out, shape, &nd);
    if (s)
        return s;
    int ok = d1 ? (nd == 2 && shape[0] == d0 && shape[1] == d1) : (nd == 1 && shape[0] == d0);
    if (!ok) {
        free(*out);
        *out = NULL;
        return HX_FAIL(HX_EFORMAT, "tensor %s has an unexpected shape", name);
    }
    if (!dense)
        m->cfg.hxq_modules++;
    return HX_OK;
}

/* An HXQ-compressed embedding table is rebuilt the way helix-substrate's
 * quantizer rebuilds nn.Embedding modules: codebook[indices], with the
 * sidecar ignored (reference section 2.4). hxzoo compress keeps embeddings
 * dense; this is for artifacts of the original pipeline. */
static hx_status get_embedding(const hx_st_model *st, hx_model *m, float **out)
{
    const hx_model_config *c = &m->cfg;
    const hx_st_tensor *cb = hx_st_model_find(st, "model.embed_tokens.codebook");
    const hx_st_tensor *ix = hx_st_model_find(st, "model.embed_tokens.indices");
    if (hx_st_model_find(st, "model.embed_tokens.weight") || !cb || !ix)
        return get(st, m, "model.embed_tokens.weight", c->vocab, c->dim, 0, out);
    if (cb->dtype != HX_DT_F32 || cb->ndim != 1 || cb->shape[0] < 1 || cb->shape[0] > HXQ_K_MAX ||
        ix->dtype != HX_DT_U8 || ix->ndim != 2 || ix->shape[0] != c->vocab || ix->shape[1] != c->dim)
        return HX_FAIL(HX_EFORMAT, "model.embed_tokens: bad HXQ codebook/indices");
    float cbuf[HXQ_K_MAX];
    memcpy(cbuf, cb->data, (size_t)cb->shape[0] * sizeof(float));
    *out = hx_malloc(ix->nelem * sizeof(float));
    m->cfg.hxq_modules++;
    hx_warn("model.embed_tokens is HXQ-compressed: decoded without its sidecar, like helix-substrate");
    return hxq_decode("model.embed_tokens", cbuf, (int)cb->shape[0], ix->data, (uint64_t)ix->shape[0],
                      (uint64_t)ix->shape[1], NULL, NULL, 0, *out);
}

static void rope_tables(hx_model *m)
{
    const hx_model_config *c = &m->cfg;
    int half = c->head_dim / 2;
    float *inv = hx_malloc((size_t)half * sizeof *inv);
    for (int i = 0; i < half; i++) {
        /* as transformers computes it: float32 pow and division */
        float e = (float)(2 * i) / (float)c->head_dim;
        inv[i] = 1.0f / powf((float)c->rope_theta, e);
        if (c->rope_type == HX_ROPE_LINEAR)
            inv[i] /= (float)c->rope_factor;
        else if (c->rope_type == HX_ROPE_LLAMA3) {
            double f = c->rope_factor, lo = c->rope_low_freq, hi = c->rope_high_freq;
            double old = c->rope_orig_max_pos;
            double lo_wl = old / lo, hi_wl = old / hi;
            double wl = 2 * M_PI / inv[i];
            double v = inv[i];
            if (wl > lo_wl)
                v = v / f;
            else if (wl >= hi_wl) {
                double s = (old / wl - lo) / (hi - lo);
                v = (1 - s) * v / f + s * v;
            }
            inv[i] = (float)v;
        }
    }
    m->rope_cos = hx_malloc((size_t)m->max_ctx * half * sizeof(float));
    m->rope_sin = hx_malloc((size_t)m->max_ctx * half * sizeof(float));
    for (int p = 0; p < m->max_ctx; p++)
        for (int i = 0; i < half; i++) {
            float a = (float)p * inv[i];
            m->rope_cos[(size_t)p * half + i] = cosf(a);
            m->rope_sin[(size_t)p * half + i] = sinf(a);
        }
    free(inv);
}

static hx_status load_weights(const hx_st_model *st, hx_model *m)
{
    const hx_model_config *c = &m->cfg;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    hx_status s;
    if ((s = get_embedding(st, m, &m->embed)) ||
        (s = get(st, m, "model.norm.weight", c->dim, 0, 0, &m->norm)))
        return s;
    if (c->tie_embeddings || (!hx_st_model_find(st, "lm_head.weight") &&
                                                    !hx_st_model_find(st, "lm_head.codebook")))
        m->lm_head = m->embed;
    else if ((s = get(st, m, "lm_head.weight", c->vocab, c->dim, 0, &m->lm_head)))
        return s;
    m->layers = hx_calloc((size_t)c->n_layers, sizeof *m->layers);
    char n[256];
#define W(field, suffix, d0, d1, opt)                                                     \
    do {                                                                                  \
        snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix);                           \
        if ((s = get(st, m, n, d0, d1, opt, &L->field)))                                  \
            return s;                                                                     \
    } while (0)
    for (int l = 0; l < c->n_layers; l++) {
        hx_layer *L = &m->layers[l];
        W(attn_norm, "input_layernorm.weight", c->dim, 0, 0);
        W(mlp_norm, "post_attention_layernorm.weight", c->dim, 0, 0);
        W(wq, "self_attn.q_proj.weight", qd, c->dim, 0);
        W(wk, "self_attn.k_proj.weight", kvd, c->dim, 0);
        W(wv, "self_attn.v_proj.weight", kvd, c->dim, 0);
        W(wo, "self_attn.o_proj.weight", c->dim, qd, 0);
        W(bq, "self_attn.q_proj.bias", qd, 0, 1);
        W(bk, "self_attn.k_proj.bias", kvd, 0, 1);
        W(bv, "self_attn.v_proj.bias", kvd, 0, 1);
        W(bo, "self_attn.o_proj.bias", c->dim, 0, 1);
        W(wg, "mlp.gate_proj.weight", c->hidden, c->dim, 0);
        W(wu, "mlp.up_proj.weight", c->hidden, c->dim, 0);
        W(wd, "mlp.down_proj.weight", c->dim, c->hidden, 0);
    }
#undef W
    return HX_OK;
}

hx_status hx_model_load(const char *dir, int max_ctx, hx_model **out)
{
    hx_model *m = hx_calloc(1, sizeof *m);
    hx_status s = hx_model_config_load(dir, &m->cfg);
    if (s) {
        free(m);
        return s;
    }
    if (max_ctx < 1)
        max_ctx = 1;
    m->max_ctx = max_ctx;
    m->threads = hx_ncpus();
    if (m->threads > HX_MAX_SLOTS)
        m->threads = HX_MAX_SLOTS;
    m->nslots = m->threads;
    /* our own threads split the work; BLAS runs single-threaded inside */
    if ((s = hx_blas_init())) {
        free(m);
        return s;
    }
    hx_st_model *st;
    if ((s = hx_st_model_open(dir, &st))) {
        free(m);
        return s;
    }
    s = load_weights(st, m);
    hx_st_model_close(st);
    if (s) {
        hx_preerr("%s", dir);
        hx_model_free(m);
        return s;
    }
    const hx_model_config *c = &m->cfg;
    size_t T = (size_t)max_ctx, qd = (size_t)c->n_heads * c->head_dim;
    size_t kvd = (size_t)c->n_kv_heads * c->head_dim;
    m->kcache = hx_malloc((size_t)c->n_layers * T * kvd * sizeof(float));
    m->vcache = hx_malloc((size_t)c->n_layers * T * kvd * sizeof(float));
    m->x = hx_malloc(T * c->dim * sizeof(float));
    m->xn = hx_malloc(T * c->dim * sizeof(float));
    m->q = hx_malloc(T * qd * sizeof(float));
    m->k = hx_malloc(T * kvd * sizeof(float));
    m->v = hx_malloc(T * kvd * sizeof(float));
    m->att = hx_malloc(T * qd * sizeof(float));
    m->hb = hx_malloc(T * c->hidden * sizeof(float));
    m->hb2 = hx_malloc(T * c->hidden * sizeof(float));
    m->scores = hx_malloc((size_t)m->nslots * QBLOCK * T * sizeof(float));
    rope_tables(m);
    *out = m;
    return HX_OK;
}

void hx_model_free(hx_model *m)
{
    if (!m)
        return;
    if (m->layers)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            hx_layer *L = &m->layers[l];
            float *p[] = {L->attn_norm, L->mlp_norm, L->wq, L->wk, L->wv, L->wo, L->bq,
                          L->bk, L->bv, L->bo, L->wg, L->wu, L->wd};
            for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
                free(p[i]);
        }
    free(m->layers);
    if (m->lm_head != m->embed)
        free(m->lm_head);
    free(m->embed);
    free(m->norm);
    free(m->kcache);
    free(m->vcache);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m->x);
    free(m->xn);
    free(m->q);
    free(m->k);
    free(m->v);
    free(m->att);
    free(m->hb);
    free(m->hb2);
    free(m->scores);
    free(m);
}

const hx_model_config *hx_model_cfg(const hx_model *m) { return &m->cfg; }
void hx_model_reset(hx_model *m) { m->pos = 0; }
int hx_model_pos(const hx_model *m) { return m->pos; }
