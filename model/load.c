/* load.c - opens an hx_model on a model directory: config, every weight
 * opened in its stored form (model/weight.h: dense or HXQ, mapped, nothing
 * decoded), the small vectors (norms, biases) as float32, the RoPE tables
 * and the activation buffers of the model's family (the state-space
 * families' weights: ssm_load.c). The KV cache and the recurrent states are
 * allocated on the first token-order forward call (layer.c; layer-order
 * evaluation never needs them). */
#include "common/parallel.h"
#include "model/model_internal.h"

#include "model/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static hx_status mat(const hx_st_model *st, hx_model *m, const char *name, int64_t d0, int64_t d1,
                     int flags, hx_weight *w)
{
    hx_status s = hx_weight_open(st, name, d0, d1, flags, w);
    if (!s && w->kind == HX_WEIGHT_HXQ)
        m->cfg.hxq_modules++;
    return s;
}

/* A norm or bias as float32; optional ones (biases) only exist dense. */
static hx_status vec(const hx_st_model *st, const char *name, int64_t n, int optional, float **out)
{
    *out = NULL;
    if (optional && !hx_st_model_find(st, name))
        return HX_OK;
    hx_weight w;
    hx_status s = hx_weight_open(st, name, n, 0, 0, &w);
    if (s)
        return s;
    *out = hx_weight_vector_f32(&w);
    hx_weight_release(&w);
    hx_weight_close(&w);
    return HX_OK;
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

/* the names of the embeddings and the final norm in each family */
static void top_names(const hx_st_model *st, const hx_model_config *c, const char **embed,
                      const char **norm)
{
    switch (c->arch) {
    case HX_ARCH_MAMBA:
    case HX_ARCH_MAMBA2:
        *embed = hx_weight_exists(st, "backbone.embeddings.weight") ? "backbone.embeddings.weight"
                                                                    : "backbone.embedding.weight";
        *norm = "backbone.norm_f.weight";
        break;
    case HX_ARCH_ZAMBA2:
        *embed = "model.embed_tokens.weight";
        *norm = "model.final_layernorm.weight";
        break;
    default:
        *embed = "model.embed_tokens.weight";
        *norm = "model.norm.weight";
    }
}

static hx_status open_weights(const hx_st_model *st, hx_model *m)
{
    const hx_model_config *c = &m->cfg;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    hx_status s;
    const char *embed, *norm;
    top_names(st, c, &embed, &norm);
    int hxq_embed = !hx_st_model_find(st, embed) && hx_weight_exists(st, embed);
    /* An HXQ-compressed embedding table is rebuilt the way helix-substrate's
     * quantizer rebuilds nn.Embedding modules: codebook[indices], the
     * sidecar ignored (reference section 2.4). hxzoo compress keeps
     * embeddings dense; this is for artifacts of the original pipeline. */
    if ((s = mat(st, m, embed, c->vocab, c->dim, HX_WEIGHT_NO_SIDECAR, &m->embed)))
        return s;
    if (hxq_embed)
        hx_warn("%s is HXQ-compressed: decoded without its sidecar, like helix-substrate", embed);
    if ((s = vec(st, norm, c->dim, 0, &m->norm)))
        return s;
    m->lm_head = &m->embed;
    if (!c->tie_embeddings && hx_weight_exists(st, "lm_head.weight")) {
        if ((s = mat(st, m, "lm_head.weight", c->vocab, c->dim, 0, &m->lm_head_own)))
            return s;
        m->lm_head = &m->lm_head_own;
    }
    m->layers = hx_calloc((size_t)c->n_layers, sizeof *m->layers);
    if (c->arch != HX_ARCH_TRANSFORMER)
        return hx_ssm_open_weights(st, m);
    char n[256];
#define NAME(suffix) (snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix), n)
    for (int l = 0; l < c->n_layers; l++) {
        hx_layer *L = &m->layers[l];
        if ((s = vec(st, NAME("input_layernorm.weight"), c->dim, 0, &L->attn_norm)) ||
            (s = vec(st, NAME("post_attention_layernorm.weight"), c->dim, 0, &L->mlp_norm)) ||
            (s = vec(st, NAME("self_attn.q_proj.bias"), qd, 1, &L->bq)) ||
            (s = vec(st, NAME("self_attn.k_proj.bias"), kvd, 1, &L->bk)) ||
            (s = vec(st, NAME("self_attn.v_proj.bias"), kvd, 1, &L->bv)) ||
            (s = vec(st, NAME("self_attn.o_proj.bias"), c->dim, 1, &L->bo)) ||
            (s = mat(st, m, NAME("self_attn.q_proj.weight"), qd, c->dim, 0, &L->wq)) ||
            (s = mat(st, m, NAME("self_attn.k_proj.weight"), kvd, c->dim, 0, &L->wk)) ||
            (s = mat(st, m, NAME("self_attn.v_proj.weight"), kvd, c->dim, 0, &L->wv)) ||
            (s = mat(st, m, NAME("self_attn.o_proj.weight"), c->dim, qd, 0, &L->wo)) ||
            (s = mat(st, m, NAME("mlp.gate_proj.weight"), c->hidden, c->dim, 0, &L->wg)) ||
            (s = mat(st, m, NAME("mlp.up_proj.weight"), c->hidden, c->dim, 0, &L->wu)) ||
            (s = mat(st, m, NAME("mlp.down_proj.weight"), c->dim, c->hidden, 0, &L->wd)))
            return s;
    }
#undef NAME
    return HX_OK;
}

/* rows of the MLP intermediates held at once: about 96 MiB per buffer */
static int mlp_rows(const hx_model_config *c, int max_tokens)
{
    if (c->hidden <= 0) /* no MLP (Mamba, Mamba2) */
        return 1;
    long r = (96L << 20) / ((long)c->hidden * 4);
    r = r < 256 ? 256 : r;
    return r < max_tokens ? (int)r : max_tokens;
}

static int n_threads(void)
{
    int t = hx_ncpus();
    return t > HX_MAX_SLOTS ? HX_MAX_SLOTS : t;
}

/* float32 values of the activation buffers per row (token), besides the
 * MLP chunk and the per-thread scratch */
static uint64_t row_floats(const hx_model_config *c)
{
    uint64_t qd = (uint64_t)c->n_heads * c->head_dim, kvd = (uint64_t)c->n_kv_heads * c->head_dim;
    const hx_ssm_config *s = &c->ssm;
    uint64_t ssm = (uint64_t)s->in_rows + s->conv_dim + s->d_inner;
    switch (c->arch) {
    case HX_ARCH_MAMBA:
        return 2 * (uint64_t)c->dim + ssm + 2 * (uint64_t)s->d_inner + 2 * (uint64_t)s->dt_rank +
               2 * (uint64_t)s->d_state;
    case HX_ARCH_MAMBA2:
        return 2 * (uint64_t)c->dim + ssm;
    case HX_ARCH_ZAMBA2:
        return 4 * (uint64_t)c->dim + ssm + 2 * qd + 2 * kvd + (uint64_t)c->adapter_rank;
    default:
        return 2 * (uint64_t)c->dim + 2 * qd + 2 * kvd;
    }
}

static int has_attention(const hx_model_config *c)
{
    return c->arch == HX_ARCH_TRANSFORMER || c->arch == HX_ARCH_ZAMBA2;
}

uint64_t hx_model_buffer_bytes(const hx_model_config *c, int max_ctx, int max_tokens)
{
    uint64_t T = (uint64_t)max_tokens, att = has_attention(c);
    uint64_t fl = T * row_floats(c) + att * 2 * (uint64_t)mlp_rows(c, max_tokens) * c->hidden +
                  att * (uint64_t)n_threads() * hx_att_slot_floats(c, max_ctx) + att * 2 * (uint64_t)max_ctx * (c->head_dim / 2);
    return fl * 4 + (uint64_t)n_threads() * HX_TILE_BYTES;
}

double hx_model_flops_per_token(const hx_model_config *c)
{
    double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
    const hx_ssm_config *s = &c->ssm;
    double mixer = (double)c->dim * s->in_rows + (double)s->d_inner * c->dim + /* in, out */
                   (double)s->d_inner * s->d_state * 3 + (double)s->conv_dim * s->d_conv; /* scan, conv */
    double per_layer;
    switch (c->arch) {
    case HX_ARCH_MAMBA:
        per_layer = mixer + (double)s->d_inner * (s->dt_rank + 2.0 * s->d_state) + (double)s->dt_rank * s->d_inner;
        break;
    case HX_ARCH_MAMBA2:
        per_layer = mixer;
        break;
    case HX_ARCH_ZAMBA2: {
        double shared = 2.0 * c->dim * (qd + 2 * kvd) + qd * c->dim + 3.0 * c->dim * c->hidden +
                        (double)c->dim * c->dim;
        per_layer = mixer + shared * c->n_hybrid / c->n_layers;
        break;
    }
    default:
        per_layer = c->dim * (2 * qd + 2 * kvd) + 3.0 * c->dim * c->hidden;
    }
    return 2 * (per_layer * c->n_layers + (double)c->dim * c->vocab);
}

uint64_t hx_model_layer_bytes(const hx_model *m, int l)
{
    if (l == -1)
        return hx_weight_bytes(&m->embed);
    if (l == -2)
        return hx_weight_bytes(m->lm_head);
    if (m->cfg.arch != HX_ARCH_TRANSFORMER)
        return hx_ssm_layer_bytes(m, l);
    const hx_layer *L = &m->layers[l];
    return hx_weight_bytes(&L->wq) + hx_weight_bytes(&L->wk) + hx_weight_bytes(&L->wv) +
           hx_weight_bytes(&L->wo) + hx_weight_bytes(&L->wg) + hx_weight_bytes(&L->wu) +
           hx_weight_bytes(&L->wd);
}

hx_status hx_model_open(const char *dir, int max_ctx, int max_tokens, hx_model **out)
{
    *out = NULL;
    hx_model *m = hx_calloc(1, sizeof *m);
    hx_status s = hx_model_config_load(dir, &m->cfg);
    if (s) {
        free(m);
        return s;
    }
    m->max_ctx = max_ctx < 1 ? 1 : max_ctx;
    m->max_tokens = max_tokens < 1 ? 1 : max_tokens;
    m->threads = n_threads();
    m->nslots = m->threads;
    /* our own threads split the work; BLAS runs single-threaded inside */
    if ((s = hx_blas_init()) || (s = hx_st_model_open(dir, &m->st))) {
        free(m);
        return s;
    }
    if ((s = open_weights(m->st, m))) {
        hx_preerr("%s", dir);
        hx_model_free(m);
        return s;
    }
    const hx_model_config *c = &m->cfg;
    size_t T = (size_t)m->max_tokens, qd = (size_t)c->n_heads * c->head_dim;
    size_t kvd = (size_t)c->n_kv_heads * c->head_dim;
    m->mlp_rows = mlp_rows(c, m->max_tokens);
    m->x = hx_malloc(T * c->dim * sizeof(float));
    m->xn = hx_malloc(T * c->dim * sizeof(float));
    if (has_attention(c)) {
        m->q = hx_malloc(T * qd * sizeof(float));
        m->k = hx_malloc(T * kvd * sizeof(float));
        m->v = hx_malloc(T * kvd * sizeof(float));
        m->att = hx_malloc(T * qd * sizeof(float));
        m->hb = hx_malloc((size_t)m->mlp_rows * c->hidden * sizeof(float));
        m->hb2 = hx_malloc((size_t)m->mlp_rows * c->hidden * sizeof(float));
        m->scores = hx_malloc((size_t)m->nslots * hx_att_slot_floats(c, m->max_ctx) * sizeof(float));
        rope_tables(m);
    }
    if (c->arch != HX_ARCH_TRANSFORMER) {
        const hx_ssm_config *sc = &c->ssm;
        m->s_in = hx_malloc(T * (size_t)sc->in_rows * sizeof(float));
        m->s_conv = hx_malloc(T * (size_t)sc->conv_dim * sizeof(float));
        m->s_y = hx_malloc(T * (size_t)sc->d_inner * sizeof(float));
        if (c->arch == HX_ARCH_MAMBA) {
            m->s_xdbl = hx_malloc(T * (size_t)(sc->dt_rank + 2 * sc->d_state) * sizeof(float));
            m->s_dtin = hx_malloc(T * (size_t)sc->dt_rank * sizeof(float));
            m->s_dt = hx_malloc(T * (size_t)sc->d_inner * sizeof(float));
        }
    }
    if (c->arch == HX_ARCH_ZAMBA2) {
        m->x0 = hx_malloc(T * c->dim * sizeof(float));
        m->cat = hx_malloc(T * 2 * c->dim * sizeof(float));
        m->lora_t = hx_malloc(T * (size_t)c->adapter_rank * sizeof(float));
    }
    m->tiles = hx_malloc((size_t)m->nslots * HX_TILE_BYTES);
    *out = m;
    return HX_OK;
}

hx_status hx_model_load(const char *dir, int max_ctx, hx_model **out)
{
    return hx_model_open(dir, max_ctx, max_ctx, out);
}

void hx_model_free(hx_model *m)
{
    if (!m)
        return;
    if (m->cfg.arch != HX_ARCH_TRANSFORMER)
        hx_ssm_free(m);
    else if (m->layers)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            hx_layer *L = &m->layers[l];
            float *p[] = {L->attn_norm, L->mlp_norm, L->bq, L->bk, L->bv, L->bo};
            for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
                free(p[i]);
            hx_weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
            for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
                hx_weight_close(w[i]);
        }
    free(m->layers);
    hx_weight_close(&m->embed);
    hx_weight_close(&m->lm_head_own);
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
    free(m->tiles);
    float *ssm[] = {m->s_in, m->s_conv, m->s_y, m->s_xdbl, m->s_dtin, m->s_dt, m->x0, m->cat,
                    m->lora_t, m->conv_state, m->ssm_state};
    for (size_t i = 0; i < sizeof ssm / sizeof ssm[0]; i++)
        free(ssm[i]);
    free(m->batch);
    hx_st_model_close(m->st);
    free(m);
}

const hx_model_config *hx_model_cfg(const hx_model *m) { return &m->cfg; }
void hx_model_reset(hx_model *m) { m->pos = 0; }
int hx_model_pos(const hx_model *m) { return m->pos; }
