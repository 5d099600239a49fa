/* config.c - reads a model directory's config.json into hx_model_config:
 * the layer family (transformer, Mamba, Mamba2, Zamba2) and its sizes,
 * norm epsilons, RoPE base and scaling, embedding tying, BOS/EOS ids and
 * whether the weights are HXQ (quantization_config). Field names and
 * defaults are transformers 4.57's (MambaConfig, Mamba2Config,
 * Zamba2Config). Every size is range-checked before it is used. */
#include "model/model.h"

#include "common/pyjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZE (1 << 24) /* any single dimension */

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* an integer field within [0, MAX_SIZE]; def when absent; -1 when present
 * but not such an integer (the caller's range check then fails) */
static int geti(const cJSON *o, const char *k, int def)
{
    const cJSON *v = item(o, k);
    if (!v || cJSON_IsNull(v))
        return def;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= MAX_SIZE) ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    return (int)v->valuedouble;
}

static double getd(const cJSON *o, const char *k, double def)
{
    const cJSON *v = item(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static int getb(const cJSON *o, const char *k, int def)
{
    const cJSON *v = item(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static int in_vocab(const cJSON *v, int vocab)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < vocab;
}

static hx_status rope_scaling(const cJSON *j, hx_model_config *c)
{
    const cJSON *rs = item(j, "rope_scaling");
    c->rope_type = HX_ROPE_DEFAULT;
    if (!cJSON_IsObject(rs))
        return HX_OK;
    const cJSON *ty = item(rs, "rope_type");
    if (!cJSON_IsString(ty))
        ty = item(rs, "type");
    const char *t = cJSON_IsString(ty) ? ty->valuestring : "default";
    c->rope_factor = getd(rs, "factor", 1.0);
    if (!strcmp(t, "default"))
        return HX_OK;
    if (!strcmp(t, "linear")) {
        c->rope_type = HX_ROPE_LINEAR;
        return HX_OK;
    }
    if (!strcmp(t, "llama3")) {
        c->rope_type = HX_ROPE_LLAMA3;
        c->rope_low_freq = getd(rs, "low_freq_factor", 1.0);
        c->rope_high_freq = getd(rs, "high_freq_factor", 4.0);
        c->rope_orig_max_pos = geti(rs, "original_max_position_embeddings", 8192);
        return HX_OK;
    }
    return HX_FAIL(HX_EINVAL, "config.json: rope_scaling type %s is not supported", t);
}

static hx_status act_of(const cJSON *j, const char *def, hx_act *a)
{
    const cJSON *v = item(j, "hidden_act");
    const char *s = cJSON_IsString(v) ? v->valuestring : def;
    if (!strcmp(s, "silu") || !strcmp(s, "swish"))
        *a = HX_ACT_SILU;
    else if (!strcmp(s, "gelu"))
        *a = HX_ACT_GELU;
    else if (!strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_new") || !strcmp(s, "gelu_fast"))
        *a = HX_ACT_GELU_TANH;
    else
        return HX_FAIL(HX_EINVAL, "config.json: hidden_act %s is not supported", s);
    return HX_OK;
}

static hx_status transformer(const cJSON *j, hx_model_config *c)
{
    c->n_heads = geti(j, "num_attention_heads", 0);
    c->n_kv_heads = geti(j, "num_key_value_heads", c->n_heads);
    c->hidden = geti(j, "intermediate_size", 0);
    if (c->n_heads <= 0 || c->n_kv_heads <= 0 || c->hidden <= 0 || c->n_heads % c->n_kv_heads)
        return HX_FAIL(HX_EFORMAT, "config.json: bad or missing attention/MLP sizes");
    c->head_dim = geti(j, "head_dim", c->dim / c->n_heads);
    c->rms_eps = getd(j, "rms_norm_eps", 1e-6);
    return act_of(j, "silu", &c->act);
}

/* Mamba-1 (MambaConfig) */
static hx_status mamba(const cJSON *j, hx_model_config *c)
{
    hx_ssm_config *s = &c->ssm;
    int expand = geti(j, "expand", 2);
    s->d_inner = geti(j, "intermediate_size",
                      expand > 0 && (long)expand * c->dim <= MAX_SIZE ? expand * c->dim : -1);
    s->d_state = geti(j, "state_size", 16);
    s->d_conv = geti(j, "conv_kernel", 4);
    const cJSON *r = item(j, "time_step_rank");
    s->dt_rank = cJSON_IsString(r) && !strcmp(r->valuestring, "auto") ? (c->dim + 15) / 16
                                                                       : geti(j, "time_step_rank", (c->dim + 15) / 16);
    s->conv_bias = getb(j, "use_conv_bias", 1);
    s->proj_bias = getb(j, "use_bias", 0);
    s->conv_dim = s->d_inner;
    s->in_rows = 2 * s->d_inner;
    c->rms_eps = getd(j, "layer_norm_epsilon", 1e-5);
    if (s->d_inner <= 0 || s->d_state <= 0 || s->d_conv <= 0 || s->d_conv > HX_MAX_CONV || s->d_state > HX_MAX_STATE || s->dt_rank <= 0)
        return HX_FAIL(HX_EFORMAT, "config.json: bad Mamba sizes (intermediate %d, state %d, conv %d, "
                                   "time_step_rank %d)", s->d_inner, s->d_state, s->d_conv, s->dt_rank);
    return HX_OK;
}

/* time_step_limit [lo, hi] (hi may be Infinity, written by Python) */
static void dt_limit(const cJSON *j, hx_ssm_config *s)
{
    s->dt_min = 0;
    s->dt_max = INFINITY;
    const cJSON *l = item(j, "time_step_limit");
    if (cJSON_IsArray(l) && cJSON_GetArraySize(l) == 2) {
        const cJSON *a = cJSON_GetArrayItem(l, 0), *b = cJSON_GetArrayItem(l, 1);
        if (cJSON_IsNumber(a))
            s->dt_min = a->valuedouble;
        if (cJSON_IsNumber(b))
            s->dt_max = b->valuedouble;
    }
}

static hx_status mamba2_sizes(hx_model_config *c, const char *what)
{
    hx_ssm_config *s = &c->ssm;
    if (s->n_heads <= 0 || s->head_dim <= 0 || s->n_groups <= 0 || s->d_state <= 0 || s->d_conv <= 0 ||
        s->d_conv > HX_MAX_CONV || s->d_state > HX_MAX_STATE ||
        s->d_inner <= 0 || s->n_heads % s->n_groups || (long)s->n_heads * s->head_dim != s->d_inner ||
        s->d_inner % s->n_groups)
        return HX_FAIL(HX_EFORMAT, "config.json: bad %s sizes (intermediate %d = %d heads x %d, %d groups, "
                                   "state %d, conv %d)", what, s->d_inner, s->n_heads, s->head_dim,
                       s->n_groups, s->d_state, s->d_conv);
    /* n_groups <= n_heads <= d_inner and d_state <= HX_MAX_STATE bound
     * these, but in long against MAX_SIZE all the same */
    long conv = (long)s->d_inner + 2L * s->n_groups * s->d_state;
    long in = 2L * s->d_mlp + s->d_inner + conv + s->n_heads;
    if (conv > MAX_SIZE || in > MAX_SIZE)
        return HX_FAIL(HX_EFORMAT, "config.json: %s conv/projection sizes exceed %d", what, MAX_SIZE);
    s->conv_dim = (int)conv;
    s->in_rows = (int)in;
    return HX_OK;
}

/* Mamba-2 (Mamba2Config) */
static hx_status mamba2(const cJSON *j, hx_model_config *c)
{
    hx_ssm_config *s = &c->ssm;
    int expand = geti(j, "expand", 2);
    s->n_heads = geti(j, "num_heads", 128);
    s->head_dim = geti(j, "head_dim", 64);
    s->n_groups = geti(j, "n_groups", 8);
    s->d_state = geti(j, "state_size", 128);
    s->d_conv = geti(j, "conv_kernel", 4);
    s->d_inner = expand > 0 && (long)expand * c->dim <= MAX_SIZE ? expand * c->dim : -1;
    s->conv_bias = getb(j, "use_conv_bias", 1);
    s->proj_bias = getb(j, "use_bias", 0);
    dt_limit(j, s);
    c->rms_eps = getd(j, "layer_norm_epsilon", 1e-5);
    s->norm_eps = c->rms_eps;
    s->norm_group = s->d_inner; /* transformers' MambaRMSNormGated: over the whole vector */
    if (!getb(j, "rms_norm", 1))
        return HX_FAIL(HX_EINVAL, "config.json: Mamba2 with rms_norm false is not supported");
    return mamba2_sizes(c, "Mamba2");
}

/* Zamba2 (Zamba2Config): a Mamba-2 stack; "hybrid" layers first run one of
 * num_mem_blocks shared transformer blocks on [hidden, embeddings]. */
static hx_status zamba2(const cJSON *j, hx_model_config *c)
{
    hx_ssm_config *s = &c->ssm;
    int expand = geti(j, "mamba_expand", 2);
    s->d_inner = expand > 0 && (long)expand * c->dim <= MAX_SIZE ? expand * c->dim : -1;
    s->n_heads = geti(j, "n_mamba_heads", 8);
    s->head_dim = s->n_heads > 0 && s->d_inner > 0 ? s->d_inner / s->n_heads : -1;
    s->n_groups = geti(j, "mamba_ngroups", 1);
    s->d_state = geti(j, "mamba_d_state", 64);
    s->d_conv = geti(j, "mamba_d_conv", 4);
    s->conv_bias = 1; /* Zamba2's conv1d always has a bias */
    s->proj_bias = getb(j, "add_bias_linear", 0);
    /* transformers clamps softplus(dt + dt_bias) below at time_step_min only */
    s->dt_min = getd(j, "time_step_min", 0.001);
    s->dt_max = INFINITY;
    s->norm_eps = 1e-5;
    c->rms_eps = getd(j, "rms_norm_eps", 1e-5);
    hx_status st = mamba2_sizes(c, "Zamba2");
    if (st)
        return st;
    s->norm_group = s->d_inner / s->n_groups;
    if (s->proj_bias)
        return HX_FAIL(HX_EINVAL, "config.json: Zamba2 with add_bias_linear is not supported");
    c->n_heads = geti(j, "num_attention_heads", 32);
    c->n_kv_heads = geti(j, "num_key_value_heads", c->n_heads);
    c->hidden = geti(j, "intermediate_size", c->dim <= MAX_SIZE / 4 ? 4 * c->dim : -1);
    if (c->n_heads <= 0 || c->n_kv_heads <= 0 || c->hidden <= 0 || c->n_heads % c->n_kv_heads ||
        (2 * c->dim) % c->n_heads)
        return HX_FAIL(HX_EFORMAT, "config.json: bad Zamba2 attention/MLP sizes");
    c->head_dim = 2 * c->dim / c->n_heads;
    c->attn_scale = (float)(1.0 / sqrt(c->head_dim / 2.0));
    /* sizes transformers derives but a config may also state: they must agree */
    int ahd = geti(j, "attention_head_dim", c->head_dim), mhd = geti(j, "mamba_headdim", s->head_dim);
    if (ahd != c->head_dim || mhd != s->head_dim)
        return HX_FAIL(HX_EFORMAT, "config.json: attention_head_dim %d / mamba_headdim %d disagree with "
                                   "the sizes (2 x hidden / heads = %d, intermediate / mamba heads = %d)",
                       ahd, mhd, c->head_dim, s->head_dim);
    c->n_mem_blocks = geti(j, "num_mem_blocks", 1);
    c->adapter_rank = geti(j, "adapter_rank", 128);
    c->attn_adapter = getb(j, "use_shared_attention_adapter", 0);
    c->use_rope = getb(j, "use_mem_rope", 0);
    if (getb(j, "use_long_context", 0))
        return HX_FAIL(HX_EINVAL, "config.json: Zamba2 use_long_context is not supported");
    if (c->n_mem_blocks <= 0 || c->adapter_rank <= 0)
        return HX_FAIL(HX_EFORMAT, "config.json: bad num_mem_blocks / adapter_rank");
    const cJSON *types = item(j, "layers_block_type"), *e;
    if (!cJSON_IsArray(types) || cJSON_GetArraySize(types) != c->n_layers)
        return HX_FAIL(HX_EFORMAT, "config.json: layers_block_type must list the %d layers", c->n_layers);
    int l = 0;
    cJSON_ArrayForEach(e, types)
    {
        const char *t = cJSON_GetStringValue(e);
        if (!t || (strcmp(t, "mamba") && strcmp(t, "hybrid")))
            return HX_FAIL(HX_EFORMAT, "config.json: layers_block_type[%d] is neither mamba nor hybrid", l);
        c->hybrid[l] = !strcmp(t, "hybrid");
        c->n_hybrid += c->hybrid[l];
        l++;
    }
    const cJSON *ids = item(j, "hybrid_layer_ids");
    if (cJSON_IsArray(ids)) { /* when stated, the same layers */
        int k = 0, bad = cJSON_GetArraySize(ids) != c->n_hybrid;
        cJSON_ArrayForEach(e, ids)
        {
            while (!bad && k < c->n_layers && !c->hybrid[k])
                k++;
            bad |= !cJSON_IsNumber(e) || e->valuedouble != k;
            k++;
        }
        if (bad)
            return HX_FAIL(HX_EFORMAT, "config.json: hybrid_layer_ids disagrees with layers_block_type");
    }
    return act_of(j, "gelu", &c->act);
}

int hx_arch_of(const char *t, hx_arch *a)
{
    if (!strcmp(t, "qwen2") || !strcmp(t, "llama") || !strcmp(t, "mistral"))
        *a = HX_ARCH_TRANSFORMER;
    else if (!strcmp(t, "mamba"))
        *a = HX_ARCH_MAMBA;
    else if (!strcmp(t, "mamba2"))
        *a = HX_ARCH_MAMBA2;
    else if (!strcmp(t, "zamba2"))
        *a = HX_ARCH_ZAMBA2;
    else
        return -1;
    return 0;
}

static hx_status parse(const cJSON *j, hx_model_config *c)
{
    const cJSON *mt = item(j, "model_type");
    if (!cJSON_IsString(mt))
        return HX_FAIL(HX_EFORMAT, "config.json: no model_type");
    snprintf(c->model_type, sizeof c->model_type, "%s", mt->valuestring);
    const char *t = mt->valuestring;
    if (hx_arch_of(t, &c->arch))
        return HX_FAIL(HX_EINVAL, "config.json: model_type %s is not supported (llama, qwen2, mistral, "
                                  "mamba, mamba2, zamba2)", t);
    c->vocab = geti(j, "vocab_size", 0);
    c->dim = geti(j, "hidden_size", 0);
    c->n_layers = geti(j, "num_hidden_layers", 0);
    c->max_pos = geti(j, "max_position_embeddings", 2048);
    if (c->vocab <= 0 || c->dim <= 0 || c->n_layers <= 0 || c->n_layers > HX_MAX_LAYERS || c->max_pos < 0)
        return HX_FAIL(HX_EFORMAT, "config.json: bad or missing sizes (vocab_size, hidden_size, "
                                   "num_hidden_layers <= %d)", HX_MAX_LAYERS);
    hx_status st;
    switch (c->arch) {
    case HX_ARCH_TRANSFORMER: st = transformer(j, c); break;
    case HX_ARCH_MAMBA: st = mamba(j, c); break;
    case HX_ARCH_MAMBA2: st = mamba2(j, c); break;
    default: st = zamba2(j, c); break;
    }
    if (st)
        return st;
    if (c->arch == HX_ARCH_TRANSFORMER || c->arch == HX_ARCH_ZAMBA2) {
        if (c->head_dim <= 0 || c->head_dim % 2)
            return HX_FAIL(HX_EFORMAT, "config.json: bad head_dim");
        if (c->attn_scale == 0)
            c->attn_scale = 1.0f / sqrtf((float)c->head_dim); /* as transformers, in float */
        c->rope_theta = getd(j, "rope_theta", 10000.0);
        if ((st = rope_scaling(j, c)))
            return st;
    }
    /* Mamba's config has no tie_word_embeddings key: PretrainedConfig's
     * default (true) applies, as for Zamba2; Mamba2Config's is false */
    c->tie_embeddings = getb(j, "tie_word_embeddings", c->arch == HX_ARCH_MAMBA || c->arch == HX_ARCH_ZAMBA2);
    /* special ids outside the vocabulary (a Zamba2-2.7B-instruct revision
     * says bos 32001 / eos 32002 for 32000 ids) are ignored, never used as
     * rows */
    const cJSON *bos = item(j, "bos_token_id"), *eos = item(j, "eos_token_id"), *e;
    c->bos_id = in_vocab(bos, c->vocab) ? (int)bos->valuedouble : -1;
    c->n_eos = 0;
    if (in_vocab(eos, c->vocab))
        c->eos_ids[c->n_eos++] = (int)eos->valuedouble;
    else
        cJSON_ArrayForEach(e, eos) if (in_vocab(e, c->vocab) && c->n_eos < 8) c->eos_ids[c->n_eos++] =
            (int)e->valuedouble;
    c->hxq = cJSON_IsObject(item(j, "quantization_config"));
    return HX_OK;
}

hx_status hx_model_config_load(const char *dir, hx_model_config *c)
{
    memset(c, 0, sizeof *c);
    char *p = hx_path_join(dir, "config.json"), *text;
    size_t len;
    hx_status st = hx_read_file(p, 16u << 20, &text, &len);
    free(p);
    if (st)
        return st;
    cJSON *j = hx_pyjson_parse(text, len);
    free(text);
    if (!j)
        return HX_FAIL(HX_EFORMAT, "%s/config.json: invalid JSON", dir);
    st = parse(j, c);
    cJSON_Delete(j);
    if (st)
        hx_preerr("%s", dir);
    return st;
}
