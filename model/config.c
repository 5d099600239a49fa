/* config.c - reads a model directory's config.json into hx_model_config:
 * sizes, RMSNorm epsilon, RoPE base and scaling, embedding tying, BOS/EOS
 * ids and whether the weights are HXQ (quantization_config). */
#include "model/model.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static int geti(const cJSON *o, const char *k, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : def;
}

static double getd(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static hx_status parse(const cJSON *j, hx_model_config *c)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    if (!cJSON_IsString(mt))
        return HX_FAIL(HX_EFORMAT, "config.json: no model_type");
    snprintf(c->model_type, sizeof c->model_type, "%s", mt->valuestring);
    int qwen2 = !strcmp(mt->valuestring, "qwen2");
    if (!qwen2 && strcmp(mt->valuestring, "llama") && strcmp(mt->valuestring, "mistral"))
        return HX_FAIL(HX_EINVAL, "config.json: model_type %s is not supported (llama, qwen2, mistral)",
                       mt->valuestring);
    c->vocab = geti(j, "vocab_size", 0);
    c->dim = geti(j, "hidden_size", 0);
    c->n_layers = geti(j, "num_hidden_layers", 0);
    c->n_heads = geti(j, "num_attention_heads", 0);
    c->n_kv_heads = geti(j, "num_key_value_heads", c->n_heads);
    c->hidden = geti(j, "intermediate_size", 0);
    c->max_pos = geti(j, "max_position_embeddings", 2048);
    if (c->vocab <= 0 || c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->hidden <= 0 || c->n_heads % c->n_kv_heads)
        return HX_FAIL(HX_EFORMAT, "config.json: bad or missing sizes");
    c->head_dim = geti(j, "head_dim", c->dim / c->n_heads);
    if (c->head_dim <= 0 || c->head_dim % 2)
        return HX_FAIL(HX_EFORMAT, "config.json: bad head_dim");
    c->rms_eps = getd(j, "rms_norm_eps", 1e-6);
    c->rope_theta = getd(j, "rope_theta", 10000.0);
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(j, "tie_word_embeddings");
    c->tie_embeddings = cJSON_IsBool(tie) ? cJSON_IsTrue(tie) : 0;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
    c->rope_type = HX_ROPE_DEFAULT;
    if (cJSON_IsObject(rs)) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
        if (!cJSON_IsString(ty))
            ty = cJSON_GetObjectItemCaseSensitive(rs, "type");
        const char *t = cJSON_IsString(ty) ? ty->valuestring : "default";
        c->rope_factor = getd(rs, "factor", 1.0);
        if (!strcmp(t, "default")) {
        } else if (!strcmp(t, "linear"))
            c->rope_type = HX_ROPE_LINEAR;
        else if (!strcmp(t, "llama3")) {
            c->rope_type = HX_ROPE_LLAMA3;
            c->rope_low_freq = getd(rs, "low_freq_factor", 1.0);
            c->rope_high_freq = getd(rs, "high_freq_factor", 4.0);
            c->rope_orig_max_pos = geti(rs, "original_max_position_embeddings", 8192);
        } else
            return HX_FAIL(HX_EINVAL, "config.json: rope_scaling type %s is not supported", t);
    }
    const cJSON *bos = cJSON_GetObjectItemCaseSensitive(j, "bos_token_id");
    c->bos_id = cJSON_IsNumber(bos) ? (int)bos->valuedouble : -1;
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(j, "eos_token_id"), *e;
    c->n_eos = 0;
    if (cJSON_IsNumber(eos))
        c->eos_ids[c->n_eos++] = (int)eos->valuedouble;
    else
        cJSON_ArrayForEach(e, eos) if (cJSON_IsNumber(e) && c->n_eos < 8) c->eos_ids[c->n_eos++] =
            (int)e->valuedouble;
    c->hxq = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "quantization_config"));
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
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        return HX_FAIL(HX_EFORMAT, "%s/config.json: invalid JSON", dir);
    st = parse(j, c);
    cJSON_Delete(j);
    if (st)
        hx_preerr("%s", dir);
    return st;
}
