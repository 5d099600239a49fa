/* ssm_load.c - the weights of the state-space families, in their stored
 * form like every other weight (model/weight.h): Mamba / Mamba2 layers
 * "backbone.layers.L.{norm,mixer.*}", Zamba2 "model.layers.L.{mamba,
 * input_layernorm}" for mamba layers and "model.layers.L.{mamba_decoder.*,
 * linear, shared_transformer.*}" for hybrid ones. The small parameters
 * (conv1d, A_log, D, dt biases, norms) become float32 arrays; A is kept
 * as -exp(A_log), as transformers computes it.
 *
 * Zamba2's shared blocks are one set of tensors used at several depths;
 * a checkpoint may store them under every hybrid layer that uses them or
 * under one only (save_pretrained drops aliases), so each is looked up
 * under the layers of its block in order. The j-th hybrid layer uses
 * block j % num_mem_blocks and adapter list entry j. */
#include "codec/dtype.h"
#include "model/model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static hx_status mat(const hx_st_model *st, hx_model *m, const char *name, int64_t rows, int64_t cols,
                     hx_weight *w)
{
    hx_status s = hx_weight_open(st, name, rows, cols, 0, w);
    if (!s && w->kind == HX_WEIGHT_HXQ)
        m->cfg.hxq_modules++;
    return s;
}

/* a parameter of n (= rows x cols) values as float32; optional ones may be absent */
static hx_status vec(const hx_st_model *st, const char *name, int64_t rows, int64_t cols, int optional,
                     float **out)
{
    *out = NULL;
    if (optional && !hx_weight_exists(st, name))
        return HX_OK;
    hx_weight w;
    hx_status s = hx_weight_open(st, name, rows, cols, 0, &w);
    if (s)
        return s;
    *out = hx_weight_vector_f32(&w);
    hx_weight_release(&w);
    hx_weight_close(&w);
    return HX_OK;
}

/* conv1d.weight [conv_dim, 1, d_conv] (always stored dense) as float32,
 * transposed to [d_conv][conv_dim] (the conv runs across channels) */
static hx_status conv(const hx_st_model *st, const char *name, int C, int K, float **out)
{
    const hx_st_tensor *t = hx_st_model_find(st, name);
    if (!t)
        return HX_FAIL(HX_ENOTFOUND, "tensor '%s' not found", name);
    if (!hx_dtype_is_float(t->dtype) || t->ndim != 3 || t->shape[0] != C || t->shape[1] != 1 ||
        t->shape[2] != K)
        return HX_FAIL(HX_EFORMAT, "tensor %s must be a float [%d, 1, %d]", name, C, K);
    float *w = hx_malloc((size_t)C * K * sizeof(float));
    hx_to_f32(t->dtype, t->data, w, (size_t)C * K);
    hx_st_release(t);
    *out = hx_malloc((size_t)C * K * sizeof(float));
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++)
            (*out)[(size_t)k * C + c] = w[(size_t)c * K + k];
    free(w);
    return HX_OK;
}

/* the mixer under prefix P ("backbone.layers.3.mixer") */
static hx_status mixer(const hx_st_model *st, hx_model *m, const char *P, hx_mixer *M)
{
    const hx_model_config *c = &m->cfg;
    const hx_ssm_config *s = &c->ssm;
    int mamba1 = c->arch == HX_ARCH_MAMBA;
    char n[600];
#define NM(suffix) (snprintf(n, sizeof n, "%s.%s", P, suffix), n)
    hx_status r;
    if ((r = mat(st, m, NM("in_proj.weight"), s->in_rows, c->dim, &M->in_proj)) ||
        (r = mat(st, m, NM("out_proj.weight"), c->dim, s->d_inner, &M->out_proj)) ||
        (r = vec(st, NM("in_proj.bias"), s->in_rows, 0, 1, &M->in_b)) ||
        (r = vec(st, NM("out_proj.bias"), c->dim, 0, 1, &M->out_b)) ||
        (r = conv(st, NM("conv1d.weight"), s->conv_dim, s->d_conv, &M->conv_w)) ||
        (r = vec(st, NM("conv1d.bias"), s->conv_dim, 0, !s->conv_bias, &M->conv_b)))
        return r;
    if (mamba1) {
        if ((r = mat(st, m, NM("x_proj.weight"), s->dt_rank + 2 * s->d_state, s->d_inner, &M->x_proj)) ||
            (r = mat(st, m, NM("dt_proj.weight"), s->d_inner, s->dt_rank, &M->dt_proj)) ||
            (r = vec(st, NM("dt_proj.bias"), s->d_inner, 0, 0, &M->dt_b)) ||
            (r = vec(st, NM("A_log"), s->d_inner, s->d_state, 0, &M->A)) ||
            (r = vec(st, NM("D"), s->d_inner, 0, 0, &M->D)))
            return r;
        for (size_t i = 0; i < (size_t)s->d_inner * s->d_state; i++)
            M->A[i] = -expf(M->A[i]);
    } else {
        if ((r = vec(st, NM("dt_bias"), s->n_heads, 0, 0, &M->dt_b)) ||
            (r = vec(st, NM("A_log"), s->n_heads, 0, 0, &M->A)) ||
            (r = vec(st, NM("D"), s->n_heads, 0, 0, &M->D)) ||
            (r = vec(st, NM("norm.weight"), s->d_inner, 0, 0, &M->gnorm)))
            return r;
        for (int i = 0; i < s->n_heads; i++)
            M->A[i] = -expf(M->A[i]);
    }
    /* a missing bias the config promises is an error, not a zero */
    if (s->proj_bias && (!M->in_b || !M->out_b))
        return HX_FAIL(HX_ENOTFOUND, "%s: use_bias is set but in_proj/out_proj biases are missing", P);
#undef NM
    return HX_OK;
}

/* Zamba2: the first of the block's layers that stores `suffix` */
static const char *shared_name(const hx_st_model *st, const hx_model *m, int block, const char *suffix,
                               char *buf, size_t cap)
{
    const hx_model_config *c = &m->cfg;
    for (int l = 0, j = 0; l < c->n_layers; l++) {
        if (!c->hybrid[l])
            continue;
        if (j++ % c->n_mem_blocks != block)
            continue;
        snprintf(buf, cap, "model.layers.%d.shared_transformer.%s", l, suffix);
        if (hx_weight_exists(st, buf))
            return buf;
    }
    snprintf(buf, cap, "shared_transformer.%s (block %d)", suffix, block);
    return buf; /* not found: the open reports this name */
}

static hx_status shared_block(const hx_st_model *st, hx_model *m, int b, hx_shared_block *B)
{
    const hx_model_config *c = &m->cfg;
    int d = c->dim, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    char n[600];
#define SH(suffix) shared_name(st, m, b, suffix, n, sizeof n)
    hx_status r;
    if ((r = vec(st, SH("input_layernorm.weight"), 2 * d, 0, 0, &B->in_norm)) ||
        (r = vec(st, SH("pre_ff_layernorm.weight"), d, 0, 0, &B->ff_norm)) ||
        (r = mat(st, m, SH("self_attn.q_proj.weight"), qd, 2 * d, &B->wq)) ||
        (r = mat(st, m, SH("self_attn.k_proj.weight"), kvd, 2 * d, &B->wk)) ||
        (r = mat(st, m, SH("self_attn.v_proj.weight"), kvd, 2 * d, &B->wv)) ||
        (r = mat(st, m, SH("self_attn.o_proj.weight"), d, qd, &B->wo)) ||
        (r = mat(st, m, SH("feed_forward.gate_up_proj.weight"), 2 * (int64_t)c->hidden, d, &B->wgu)) ||
        (r = mat(st, m, SH("feed_forward.down_proj.weight"), d, c->hidden, &B->wd)))
        return r;
#undef SH
    return HX_OK;
}

static hx_status adapter(const hx_st_model *st, hx_model *m, int b, const char *list, int j, int64_t in,
                         int64_t out, hx_lora *a)
{
    char suf[200], n[600];
    int R = m->cfg.adapter_rank;
    hx_status r;
    snprintf(suf, sizeof suf, "%s.%d.0.weight", list, j);
    if ((r = mat(st, m, shared_name(st, m, b, suf, n, sizeof n), R, in, &a->a)))
        return r;
    snprintf(suf, sizeof suf, "%s.%d.1.weight", list, j);
    if ((r = mat(st, m, shared_name(st, m, b, suf, n, sizeof n), out, R, &a->b)))
        return r;
    a->on = 1;
    return HX_OK;
}

static hx_status zamba2_layer(const hx_st_model *st, hx_model *m, int l, int *use)
{
    const hx_model_config *c = &m->cfg;
    hx_layer *L = &m->layers[l];
    char p[300], n[600];
    hx_status r;
    if (!c->hybrid[l]) {
        snprintf(n, sizeof n, "model.layers.%d.input_layernorm.weight", l);
        if ((r = vec(st, n, c->dim, 0, 0, &L->attn_norm)))
            return r;
        snprintf(p, sizeof p, "model.layers.%d.mamba", l);
        return mixer(st, m, p, &L->mix);
    }
    int j = (*use)++, b = j % c->n_mem_blocks;
    int d2 = 2 * c->dim, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    L->use = j;
    L->block = b;
    snprintf(n, sizeof n, "model.layers.%d.mamba_decoder.input_layernorm.weight", l);
    if ((r = vec(st, n, c->dim, 0, 0, &L->attn_norm)))
        return r;
    snprintf(n, sizeof n, "model.layers.%d.linear.weight", l);
    if ((r = mat(st, m, n, c->dim, c->dim, &L->linear)))
        return r;
    snprintf(p, sizeof p, "model.layers.%d.mamba_decoder.mamba", l);
    if ((r = mixer(st, m, p, &L->mix)))
        return r;
    if (c->attn_adapter &&
        ((r = adapter(st, m, b, "self_attn.linear_q_adapter_list", j, d2, qd, &L->aq)) ||
         (r = adapter(st, m, b, "self_attn.linear_k_adapter_list", j, d2, kvd, &L->ak)) ||
         (r = adapter(st, m, b, "self_attn.linear_v_adapter_list", j, d2, kvd, &L->av))))
        return r;
    return adapter(st, m, b, "feed_forward.gate_up_proj_adapter_list", j, c->dim, 2 * (int64_t)c->hidden,
                   &L->agu);
}

hx_status hx_ssm_open_weights(const hx_st_model *st, hx_model *m)
{
    const hx_model_config *c = &m->cfg;
    hx_status r;
    if (c->arch == HX_ARCH_ZAMBA2) {
        m->blocks = hx_calloc((size_t)c->n_mem_blocks, sizeof *m->blocks);
        /* the blocks some hybrid layer uses (the j-th uses j % num_mem_blocks) */
        for (int b = 0; b < c->n_mem_blocks && b < c->n_hybrid; b++)
            if ((r = shared_block(st, m, b, &m->blocks[b])))
                return r;
        for (int l = 0, use = 0; l < c->n_layers; l++)
            if ((r = zamba2_layer(st, m, l, &use)))
                return r;
        return HX_OK;
    }
    char p[300];
    for (int l = 0; l < c->n_layers; l++) {
        hx_layer *L = &m->layers[l];
        snprintf(p, sizeof p, "backbone.layers.%d.norm.weight", l);
        if ((r = vec(st, p, c->dim, 0, 0, &L->attn_norm)))
            return r;
        snprintf(p, sizeof p, "backbone.layers.%d.mixer", l);
        if ((r = mixer(st, m, p, &L->mix)))
            return r;
    }
    return HX_OK;
}

/* every matrix of layer l (the shared block's too, for a hybrid layer) */
static int weights_of(const hx_model *m, int l, const hx_weight **w)
{
    const hx_layer *L = &m->layers[l];
    int n = 0;
    w[n++] = &L->mix.in_proj, w[n++] = &L->mix.out_proj;
    if (m->cfg.arch == HX_ARCH_MAMBA)
        w[n++] = &L->mix.x_proj, w[n++] = &L->mix.dt_proj;
    if (m->cfg.arch == HX_ARCH_ZAMBA2 && m->cfg.hybrid[l]) {
        const hx_shared_block *B = &m->blocks[L->block];
        w[n++] = &L->linear;
        w[n++] = &B->wq, w[n++] = &B->wk, w[n++] = &B->wv, w[n++] = &B->wo, w[n++] = &B->wgu, w[n++] = &B->wd;
        const hx_lora *a[] = {&L->aq, &L->ak, &L->av, &L->agu};
        for (int i = 0; i < 4; i++)
            if (a[i]->on)
                w[n++] = &a[i]->a, w[n++] = &a[i]->b;
    }
    return n;
}

uint64_t hx_ssm_layer_bytes(const hx_model *m, int l)
{
    const hx_weight *w[24];
    int n = weights_of(m, l, w);
    uint64_t b = 0;
    for (int i = 0; i < n; i++)
        b += hx_weight_bytes(w[i]);
    return b;
}

void hx_ssm_release_layer(hx_model *m, int l)
{
    const hx_weight *w[24];
    int n = weights_of(m, l, w);
    for (int i = 0; i < n; i++)
        hx_weight_release(w[i]);
}

static void free_mixer(hx_mixer *M)
{
    hx_weight_close(&M->in_proj);
    hx_weight_close(&M->out_proj);
    hx_weight_close(&M->x_proj);
    hx_weight_close(&M->dt_proj);
    float *p[] = {M->in_b, M->out_b, M->dt_b, M->conv_w, M->conv_b, M->A, M->D, M->gnorm};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
}

void hx_ssm_free(hx_model *m)
{
    if (m->layers)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            hx_layer *L = &m->layers[l];
            free_mixer(&L->mix);
            free(L->attn_norm);
            hx_weight_close(&L->linear);
            hx_lora *a[] = {&L->aq, &L->ak, &L->av, &L->agu};
            for (int i = 0; i < 4; i++)
                hx_weight_close(&a[i]->a), hx_weight_close(&a[i]->b);
        }
    if (m->blocks)
        for (int b = 0; b < m->cfg.n_mem_blocks && b < m->cfg.n_hybrid; b++) {
            hx_shared_block *B = &m->blocks[b];
            free(B->in_norm);
            free(B->ff_norm);
            hx_weight *w[] = {&B->wq, &B->wk, &B->wv, &B->wo, &B->wgu, &B->wd};
            for (int i = 0; i < 6; i++)
                hx_weight_close(w[i]);
        }
    free(m->blocks);
}
