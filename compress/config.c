/* config.c - the non-weight files of hxzoo compress: the source's
 * config.json read (Python's JSON tokens, common/pyjson.h) and rewritten
 * with the quantization_config of the output, and the tokenizer,
 * generation and licence files copied as they are. */
#include "compress/compress_internal.h"
#include "common/pyjson.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

hx_status compress_read_config(const char *dir, cJSON **out)
{
    char *path = hx_path_join(dir, "config.json");
    cJSON *c;
    hx_status st = hx_pyjson_load(path, 16u << 20, &c);
    if (!st && !cJSON_IsObject(c)) {
        cJSON_Delete(c);
        st = HX_FAIL(HX_EFORMAT, "%s: not a JSON object", path);
    }
    free(path);
    *out = st ? NULL : c;
    return st;
}

static cJSON *quant_config(const hxq_options *o, char **mods, size_t nmods)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "quant_method", o->quant_method ? o->quant_method : "hxq");
    cJSON_AddNumberToObject(q, "codebook_size", o->params.k);
    cJSON_AddBoolToObject(q, "sidecar_enabled",
                          o->params.compat_033 || o->params.sidecar_fraction > 0);
    static const char *const exact[] = {"embed_tokens", "embed_positions", "wte", "wpe", "lm_head",
                                        "layernorm", "layer_norm", "norm", "backbone.embedding"};
    cJSON *ep = cJSON_AddArrayToObject(q, "exact_patterns");
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        cJSON_AddItemToArray(ep, cJSON_CreateString(exact[i]));
    cJSON *cm = cJSON_AddArrayToObject(q, "compressed_modules");
    for (size_t i = 0; i < nmods; i++)
        cJSON_AddItemToArray(cm, cJSON_CreateString(mods[i]));
    return q;
}

hx_status compress_write_config(const char *out_dir, cJSON *cfg, const hxq_options *o,
                                char **mods, size_t nmods)
{
    cJSON *q = quant_config(o, mods, nmods);
    cJSON_DeleteItemFromObject(cfg, "quantization_config");
    cJSON_AddItemToObject(cfg, "quantization_config", q);
    char *txt = hx_pyjson_print(cfg), *p = hx_path_join(out_dir, "config.json");
    hx_status st = hx_write_file_atomic(p, txt, strlen(txt));
    free(txt);
    free(p);
    return st;
}

/* ------------------------------------------------------- auxiliary files */
static const char *const AUX_FILES[] = {
    "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
    "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json",
    "chat_template.jinja", "chat_template.json", "preprocessor_config.json", NULL};
static const char *const AUX_GLOBS[] = {"*.py", "*.tiktoken", "LICENSE*", "NOTICE*", "USE_POLICY*", NULL};

hx_status compress_copy_aux(const char *src, const char *dst)
{
    hx_status st = HX_OK;
    for (int i = 0; AUX_FILES[i] && !st; i++) {
        char *a = hx_path_join(src, AUX_FILES[i]);
        if (hx_file_exists(a)) {
            char *b = hx_path_join(dst, AUX_FILES[i]);
            st = hx_copy_file_atomic(a, b);
            free(b);
        }
        free(a);
    }
    DIR *d = opendir(src);
    if (!d)
        return st;
    struct dirent *de;
    while (!st && (de = readdir(d))) {
        for (int g = 0; AUX_GLOBS[g]; g++)
            if (!fnmatch(AUX_GLOBS[g], de->d_name, 0)) {
                char *a = hx_path_join(src, de->d_name), *b = hx_path_join(dst, de->d_name);
                if (hx_file_exists(a))
                    st = hx_copy_file_atomic(a, b);
                free(a);
                free(b);
                break;
            }
    }
    closedir(d);
    return st;
}
