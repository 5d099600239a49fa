/* cmd_decompress.c - `hxzoo decompress HXQ_DIR OUT_DIR`: rebuild the dense
 * model our decoder sees (compressed modules as F32 `.weight`, everything
 * else copied), with config.json minus its quantization_config. Used to
 * compare the original loader's logits with our own decoding. */
#include "cli/cli.h"
#include "codec/hxq.h"

#include "common/pyjson.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo decompress HXQ_DIR OUT_DIR\n\n"
               "Write the dense model that HXQ_DIR decodes to (compressed modules become F32\n"
               "weights, other tensors are copied, config.json loses quantization_config).\n");
}

static int has_suffix(const char *s, const char *suf, size_t *stem)
{
    size_t a = strlen(s), b = strlen(suf);
    if (a < b || strcmp(s + a - b, suf))
        return 0;
    *stem = a - b;
    return 1;
}

int cmd_decompress(int argc, char **argv)
{
    /* no options but --help, alone: every argument is positional */
    const hx_opt help[] = {HX_OPTE_HELP(0), HX_OPTE_END};
    if (argc == 2 && !strcmp(argv[1], "--help")) {
        const hx_opts spec = {.prog = "hxzoo decompress", .opts = help, .style = HX_OPTS_EXACT, .usage = usage};
        hx_opts_args args;
        return hx_opts_parse(&spec, argc, argv, &args);
    }
    if (argc != 3) {
        usage(stderr);
        return HX_EUSAGE;
    }
    const char *src = argv[1], *dst = argv[2];
    hx_st_model *m;
    hx_status st = hx_st_model_open(src, &m);
    if (!st)
        st = hx_mkdirs(dst);
    if (st) {
        fprintf(stderr, "hxzoo decompress: %s\n", hx_lasterr());
        return st;
    }
    size_t reserve = 1024;
    for (size_t i = 0; i < hx_st_model_count(m); i++)
        reserve += hx_st_header_bound(hx_st_model_at(m, i)->name, 8) + 16;
    char *out = hx_path_join(dst, "model.safetensors");
    hx_st_writer *w;
    st = hx_st_writer_open(out, reserve, &w);
    for (size_t i = 0; i < hx_st_model_count(m) && !st; i++) {
        const hx_st_tensor *t = hx_st_model_at(m, i);
        size_t stem;
        if (has_suffix(t->name, ".indices", &stem)) {
            char *mod = hx_asprintf("%.*s", (int)stem, t->name);
            char *wn = hx_asprintf("%s.weight", mod);
            float *buf;
            int64_t shape[8];
            int nd;
            st = hxq_load_f32(m, wn, &buf, shape, &nd);
            if (!st) {
                st = hx_st_writer_add(w, wn, HX_DT_F32, nd, shape, buf);
                free(buf);
            }
            free(mod);
            free(wn);
        } else if (has_suffix(t->name, ".codebook", &stem) ||
                   has_suffix(t->name, ".sidecar_positions", &stem) ||
                   has_suffix(t->name, ".sidecar_values", &stem)) {
            continue;
        } else {
            st = hx_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
        }
    }
    if (st)
        hx_st_writer_abort(w);
    else
        st = hx_st_writer_finish(w);
    free(out);
    hx_st_model_close(m);
    if (!st) {
        char *cp = hx_path_join(src, "config.json");
        cJSON *cfg;
        st = hx_pyjson_load(cp, 16u << 20, &cfg);
        free(cp);
        if (!st) {
            cJSON_DeleteItemFromObject(cfg, "quantization_config");
            char *js = hx_pyjson_print(cfg), *p = hx_path_join(dst, "config.json");
            st = hx_write_file_atomic(p, js, strlen(js));
            free(js);
            free(p);
            cJSON_Delete(cfg);
        }
    }
    static const char *const aux[] = {"tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                                      "special_tokens_map.json", "generation_config.json", NULL};
    for (int i = 0; aux[i] && !st; i++) {
        char *a = hx_path_join(src, aux[i]), *b = hx_path_join(dst, aux[i]);
        if (hx_file_exists(a))
            st = hx_copy_file_atomic(a, b);
        free(a);
        free(b);
    }
    if (st) {
        fprintf(stderr, "hxzoo decompress: %s: %s\n", hx_strerror(st), hx_lasterr());
        return st;
    }
    return 0;
}
