/* cmd_inspect.c - `hxzoo inspect FILE|DIR`: show a safetensors file's
 * header, or a model directory's tensors, config and HXQ summary (which
 * modules are compressed, with their codebook/indices/sidecar tensors
 * checked for the dtypes and shapes the loader needs). */
#include "cli/cli.h"
#include "codec/safetensors.h"

#include "common/pyjson.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo inspect FILE.safetensors|MODEL_DIR [--tensors]\n\n"
               "Print the tensors of a safetensors file, or summarise a model directory\n"
               "(config, shards, HXQ modules with their bits per weight).\n"
               "  --tensors   list every tensor of a model directory too\n");
}

static void shape_str(const hx_st_tensor *t, char *buf, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int d = 0; d < t->ndim && o < n; d++)
        o += (size_t)snprintf(buf + o, n - o, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static void print_tensor(const hx_st_tensor *t)
{
    char sh[128];
    shape_str(t, sh, sizeof sh);
    printf("  %-60s %-5s %-22s %12llu\n", t->name, hx_dtype_name(t->dtype), sh,
           (unsigned long long)t->nbytes);
}

static int inspect_file(const char *path)
{
    hx_st_file *f;
    hx_status st = hx_st_open(path, &f);
    if (st) {
        fprintf(stderr, "hxzoo inspect: %s\n", hx_lasterr());
        return st;
    }
    printf("%s: %zu tensors, %llu bytes\n", path, hx_st_count(f),
           (unsigned long long)hx_st_file_size(f));
    for (size_t i = 0; i < hx_st_count(f); i++)
        print_tensor(hx_st_at(f, i));
    hx_st_close(f);
    return 0;
}

static int check_module(const hx_st_model *m, const char *mod, uint64_t *idx_bytes, uint64_t *extra,
                        uint64_t *nweights)
{
    char k[1024];
    snprintf(k, sizeof k, "%s.codebook", mod);
    const hx_st_tensor *cb = hx_st_model_find(m, k);
    snprintf(k, sizeof k, "%s.indices", mod);
    const hx_st_tensor *ix = hx_st_model_find(m, k);
    snprintf(k, sizeof k, "%s.sidecar_positions", mod);
    const hx_st_tensor *sp = hx_st_model_find(m, k);
    snprintf(k, sizeof k, "%s.sidecar_values", mod);
    const hx_st_tensor *sv = hx_st_model_find(m, k);
    snprintf(k, sizeof k, "%s.weight", mod);
    const hx_st_tensor *w = hx_st_model_find(m, k);
    int bad = 0;
    if (!cb || cb->dtype != HX_DT_F32 || cb->ndim != 1) {
        printf("  BAD %s: codebook missing or not F32 1-D\n", mod);
        bad = 1;
    }
    if (!ix || ix->dtype != HX_DT_U8 || ix->ndim != 2) {
        printf("  BAD %s: indices missing or not U8 2-D\n", mod);
        bad = 1;
    }
    if (!sp != !sv || (sp && (sp->dtype != HX_DT_I64 || sv->dtype != HX_DT_F32 || sp->nelem != sv->nelem))) {
        printf("  BAD %s: sidecar tensors inconsistent\n", mod);
        bad = 1;
    }
    if (w) {
        printf("  BAD %s: a dense .weight is present too\n", mod);
        bad = 1;
    }
    if (!bad) {
        *idx_bytes += ix->nbytes;
        *extra += cb->nbytes + (sp ? sp->nbytes + sv->nbytes : 0);
        *nweights += ix->nelem;
    }
    return bad;
}

static int inspect_dir(const char *dir, int list)
{
    hx_st_model *m;
    hx_status st = hx_st_model_open(dir, &m);
    if (st) {
        fprintf(stderr, "hxzoo inspect: %s\n", hx_lasterr());
        return st;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < hx_st_model_count(m); i++)
        total += hx_st_model_at(m, i)->nbytes;
    printf("%s: %zu tensors in %zu file(s), %.1f MB of tensor data\n", dir, hx_st_model_count(m),
           hx_st_model_nshards(m), total / 1e6);
    char *cp = hx_path_join(dir, "config.json");
    cJSON *cfg = NULL;
    (void)hx_pyjson_load(cp, 16u << 20, &cfg); /* none or not JSON: no summary */
    free(cp);
    int bad = 0;
    if (cfg) {
        const char *mt = cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "model_type"));
        cJSON *arch = cJSON_GetArrayItem(cJSON_GetObjectItem(cfg, "architectures"), 0);
        printf("model_type: %s, architecture: %s\n", mt ? mt : "?",
               arch && cJSON_IsString(arch) ? arch->valuestring : "?");
        cJSON *q = cJSON_GetObjectItem(cfg, "quantization_config");
        if (q) {
            const char *qm = cJSON_GetStringValue(cJSON_GetObjectItem(q, "quant_method"));
            cJSON *cm = cJSON_GetObjectItem(q, "compressed_modules");
            printf("quantization_config: quant_method=%s, %d compressed modules\n", qm ? qm : "?",
                   cJSON_GetArraySize(cm));
            uint64_t ib = 0, ex = 0, nw = 0;
            cJSON *e;
            cJSON_ArrayForEach(e, cm)
            {
                if (cJSON_IsString(e))
                    bad |= check_module(m, e->valuestring, &ib, &ex, &nw);
            }
            if (nw)
                printf("HXQ weights: %llu, %.4f bits/weight (indices + codebooks + sidecars)\n",
                       (unsigned long long)nw, (ib + ex) * 8.0 / (double)nw);
            printf("modules check: %s\n", bad ? "PROBLEMS (see above)" : "ok");
        } else {
            printf("not quantized (no quantization_config)\n");
        }
        cJSON_Delete(cfg);
    }
    if (list)
        for (size_t i = 0; i < hx_st_model_count(m); i++)
            print_tensor(hx_st_model_at(m, i));
    hx_st_model_close(m);
    return bad ? HX_EFORMAT : 0;
}

int cmd_inspect(int argc, char **argv)
{
    int list = 0;
    const hx_opt opts[] = {HX_OPTE_FLAG("tensors", 0, &list, 1), HX_OPTE_HELP(0), HX_OPTE_END};
    const hx_opts spec = {.prog = "hxzoo inspect", .opts = opts, .style = HX_OPTS_GNU, .min_pos = 1,
                          .max_pos = 1, .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    const char *p = args.v[0];
    return hx_dir_exists(p) ? inspect_dir(p, list) : inspect_file(p);
}
