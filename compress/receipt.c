/* receipt.c - the report of hxzoo compress: per tensor (route, class,
 * shape, bytes, quality statistics) as JSON and back (the resume state
 * keeps the reports of finished shards), the totals, and the receipt
 * OUT_DIR/hxq_receipt.json (hxq_report_json). */
#include "compress/compress_internal.h"

#include <stdlib.h>
#include <string.h>

void hxq_report_free(hxq_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->t[i].name);
    free(r->t);
    memset(r, 0, sizeof *r);
}

cJSON *compress_tensor_json(const hxq_tensor_report *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "route", hxq_route_name(t->route));
    cJSON_AddStringToObject(o, "class", hxq_class_name(t->cls));
    cJSON_AddStringToObject(o, "dtype", hx_dtype_name(t->src_dtype));
    cJSON *sh = cJSON_AddArrayToObject(o, "shape");
    for (int d = 0; d < t->ndim; d++)
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
    cJSON_AddNumberToObject(o, "src_bytes", (double)t->src_bytes);
    cJSON_AddNumberToObject(o, "out_bytes", (double)t->out_bytes);
    if (t->route == HXQ_ROUTE_COMPRESS) {
        const hxq_stats *s = &t->stats;
        cJSON_AddNumberToObject(o, "cosine", s->cosine);
        cJSON_AddNumberToObject(o, "rel_mse", s->rel_mse);
        cJSON_AddNumberToObject(o, "rel_mse_codebook_only", s->rel_mse_vq);
        cJSON_AddNumberToObject(o, "max_abs_err", s->max_abs_err);
        cJSON_AddNumberToObject(o, "sqnr_db", s->sqnr_db);
        cJSON_AddNumberToObject(o, "sidecar_n", (double)s->sidecar_n);
        cJSON_AddNumberToObject(o, "bits_per_weight", s->bits_per_weight);
        cJSON_AddNumberToObject(o, "levels_used", s->levels_used);
        cJSON_AddNumberToObject(o, "seconds", s->seconds);
    }
    return o;
}

int compress_tensor_from_json(const cJSON *o, hxq_tensor_report *t)
{
    memset(t, 0, sizeof *t);
    const cJSON *nm = cJSON_GetObjectItem(o, "name"), *rt = cJSON_GetObjectItem(o, "route");
    if (!cJSON_IsString(nm) || !cJSON_IsString(rt))
        return -1;
    t->name = hx_strdup(nm->valuestring);
    int ri = hx_name_index(hxq_route_names, rt->valuestring);
    if (ri >= 0)
        t->route = (hxq_route)ri;
    const char *cn = cJSON_GetStringValue(cJSON_GetObjectItem(o, "class"));
    int ci = cn ? hx_name_index(hxq_class_names, cn) : -1;
    if (ci >= 0)
        t->cls = (hxq_class)ci;
    const char *dn = cJSON_GetStringValue(cJSON_GetObjectItem(o, "dtype"));
    t->src_dtype = dn ? hx_dtype_parse(dn) : HX_DT_INVALID;
    const cJSON *sh = cJSON_GetObjectItem(o, "shape");
    int nd = cJSON_GetArraySize(sh);
    if (nd > HX_ST_MAX_DIMS) {
        free(t->name);
        t->name = NULL;
        return -1;
    }
    t->ndim = nd;
    t->nelem = 1;
    for (int d = 0; d < nd; d++) {
        t->shape[d] = (int64_t)cJSON_GetNumberValue(cJSON_GetArrayItem(sh, d));
        t->nelem *= (uint64_t)t->shape[d];
    }
    t->rows = nd > 0 ? t->shape[0] : 1;
    t->cols = nd > 1 ? t->shape[1] : -1;
#define NUM(field, key) t->field = cJSON_GetNumberValue(cJSON_GetObjectItem(o, key))
    t->src_bytes = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "src_bytes"));
    t->out_bytes = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "out_bytes"));
    if (t->route == HXQ_ROUTE_COMPRESS) {
        NUM(stats.cosine, "cosine");
        NUM(stats.rel_mse, "rel_mse");
        NUM(stats.rel_mse_vq, "rel_mse_codebook_only");
        NUM(stats.max_abs_err, "max_abs_err");
        NUM(stats.sqnr_db, "sqnr_db");
        NUM(stats.bits_per_weight, "bits_per_weight");
        NUM(stats.seconds, "seconds");
        t->stats.sidecar_n = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "sidecar_n"));
        t->stats.levels_used = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "levels_used"));
        t->stats.n = t->nelem;
    }
#undef NUM
    return 0;
}

void compress_report_add(hxq_report *r, const hxq_tensor_report *t)
{
    r->t = hx_realloc(r->t, (r->n + 1) * sizeof *r->t);
    r->t[r->n++] = *t;
}

void compress_report_totals(hxq_report *r)
{
    double cs = 0;
    size_t nc = 0;
    r->min_cosine = 1;
    r->src_bytes = r->out_bytes = r->compressed_params = r->exact_params = 0;
    for (size_t i = 0; i < r->n; i++) {
        const hxq_tensor_report *t = &r->t[i];
        r->src_bytes += t->src_bytes;
        r->out_bytes += t->out_bytes;
        uint64_t ne = t->nelem; /* every dimension: conv1d kernels are [C, 1, K] */
        if (t->route == HXQ_ROUTE_COMPRESS) {
            r->compressed_params += ne;
            cs += t->stats.cosine;
            nc++;
            if (t->stats.cosine < r->min_cosine)
                r->min_cosine = t->stats.cosine;
        } else {
            r->exact_params += ne;
        }
    }
    r->mean_cosine = nc ? cs / (double)nc : 1;
    if (!nc)
        r->min_cosine = 1;
}

/* -------------------------------------------------------------- receipt */
char *hxq_report_json(const hxq_report *r, const hxq_options *o, const char *src_dir)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "hxq");
    cJSON_AddStringToObject(j, "codec", HXQ_CODEC_VERSION);
    cJSON_AddStringToObject(j, "source", src_dir);
    if (o->command_line)
        cJSON_AddStringToObject(j, "command", o->command_line);
    cJSON *op = cJSON_AddObjectToObject(j, "options");
    cJSON_AddNumberToObject(op, "k", o->params.k);
    cJSON_AddNumberToObject(op, "sidecar_fraction", o->params.sidecar_fraction);
    cJSON_AddBoolToObject(op, "compat_0_3_3", o->params.compat_033);
    cJSON_AddStringToObject(op, "fit", o->params.fit == HXQ_FIT_EXACT ? "exact" : "fast");
    cJSON_AddBoolToObject(op, "exact_f16", o->exact_f16);
    cJSON_AddNumberToObject(op, "threads", o->params.threads);
    cJSON *tot = cJSON_AddObjectToObject(j, "totals");
    cJSON_AddNumberToObject(tot, "tensors", (double)r->n);
    cJSON_AddNumberToObject(tot, "src_bytes", (double)r->src_bytes);
    cJSON_AddNumberToObject(tot, "out_bytes", (double)r->out_bytes);
    cJSON_AddNumberToObject(tot, "ratio", r->out_bytes ? (double)r->src_bytes / (double)r->out_bytes : 0);
    cJSON_AddNumberToObject(tot, "compressed_params", (double)r->compressed_params);
    cJSON_AddNumberToObject(tot, "exact_params", (double)r->exact_params);
    cJSON_AddNumberToObject(tot, "min_cosine", r->min_cosine);
    cJSON_AddNumberToObject(tot, "mean_cosine", r->mean_cosine);
    cJSON_AddNumberToObject(tot, "shards", r->shards);
    cJSON_AddNumberToObject(tot, "seconds", r->seconds);
    cJSON_AddNumberToObject(tot, "weights_per_second",
                            r->seconds > 0 ? (double)(r->compressed_params + r->exact_params) / r->seconds : 0);
    cJSON_AddNumberToObject(tot, "peak_rss_bytes", (double)r->peak_rss);
    cJSON *arr = cJSON_AddArrayToObject(j, "tensors");
    for (size_t i = 0; i < r->n; i++)
        cJSON_AddItemToArray(arr, compress_tensor_json(&r->t[i]));
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    return s;
}

hx_status compress_write_receipt(const char *out_dir, const hxq_report *r, const hxq_options *o,
                                 const char *src_dir)
{
    char *txt = hxq_report_json(r, o, src_dir), *p = hx_path_join(out_dir, HXQ_RECEIPT_FILE);
    hx_status st = hx_write_file_atomic(p, txt, strlen(txt));
    free(txt);
    free(p);
    return st;
}
