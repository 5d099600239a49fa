/* compress.c - whole-model compression: SRC_DIR (config.json + dense
 * safetensors, single or sharded) -> OUT_DIR in the HXQ layout that
 * helix-substrate 0.3.3 loads.
 *
 * Plan first (routing table, tied lm_head, output shards by estimated
 * size), then stream: one tensor at a time from the mmap'd source (pages
 * released after use), encoded and appended to the current shard by the
 * streaming safetensors writer. Each shard is written to a temp file and
 * renamed when complete; a state file records finished shards (with their
 * reports) under a fingerprint of the source and options, so an interrupted
 * run resumes at the first unfinished shard. config.json (with the
 * quantization_config), the shard index, the copied tokenizer/generation
 * files and hxq_receipt.json are written last, each atomically. */
#include "codec/hxq.h"
#include "common/parallel.h"

#include "common/pyjson.h"
#include "common/hash.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define HXQ_STATE_FILE ".hxq-state.json"
#define HXQ_RECEIPT_FILE "hxq_receipt.json"
/* HXQ_CODEC_VERSION: codec/hxq.h */

void hxq_options_default(hxq_options *o)
{
    memset(o, 0, sizeof *o);
    hxq_params_default(&o->params);
    o->params.threads = hx_ncpus();
    o->quant_method = "hxq";
}

void hxq_report_free(hxq_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->t[i].name);
    free(r->t);
    memset(r, 0, sizeof *r);
}

typedef struct {
    const hx_st_tensor *t;
    hxq_route_info ri;
    uint64_t est_bytes;
    int shard;
} plan_item;

static char *module_name(const char *name)
{
    size_t l = strlen(name);
    if (l > 7 && !strcmp(name + l - 7, ".weight"))
        return hx_asprintf("%.*s", (int)(l - 7), name);
    return hx_strdup(name);
}

static uint64_t sidecar_cap(const hxq_params *p, hxq_class cls, uint64_t n)
{
    if (p->compat_033)
        return (uint64_t)(cls == HXQ_CLASS_UNKNOWN ? 256 : 512);
    return (uint64_t)(p->sidecar_fraction * (double)n);
}

/* ---------------------------------------------------------------- config */
static hx_status read_config(const char *dir, cJSON **out)
{
    char *path = hx_path_join(dir, "config.json"), *txt;
    size_t len;
    hx_status st = hx_read_file(path, 16u << 20, &txt, &len);
    if (st) {
        free(path);
        return st;
    }
    cJSON *c = hx_pyjson_parse(txt, len);
    free(txt);
    if (!c || !cJSON_IsObject(c)) {
        cJSON_Delete(c);
        st = HX_FAIL(HX_EFORMAT, "%s: not a JSON object", path);
        free(path);
        return st;
    }
    free(path);
    *out = c;
    return HX_OK;
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

/* ----------------------------------------------------------- fingerprint */
static void fingerprint(const hx_st_model *m, const hxq_options *o, char hex[65])
{
    size_t cap = 4096, len = 0;
    char *buf = hx_malloc(cap);
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int need = snprintf(NULL, 0, __VA_ARGS__);                                                 \
        while (len + (size_t)need + 1 > cap)                                                       \
            buf = hx_realloc(buf, cap *= 2);                                                       \
        len += (size_t)snprintf(buf + len, cap - len, __VA_ARGS__);                                \
    } while (0)
    APPEND("%s k=%d frac=%.9g compat=%d fit=%d f16=%d shard=%llu qm=%s\n", HXQ_CODEC_VERSION,
           o->params.k, o->params.sidecar_fraction, o->params.compat_033, (int)o->params.fit,
           o->exact_f16, (unsigned long long)o->max_shard_bytes,
           o->quant_method ? o->quant_method : "hxq");
    for (size_t i = 0; i < hx_st_model_count(m); i++) {
        const hx_st_tensor *t = hx_st_model_at(m, i);
        APPEND("%s %s %llu %llu\n", t->name, hx_dtype_name(t->dtype),
               (unsigned long long)t->nbytes, (unsigned long long)t->offset);
    }
#undef APPEND
    hx_sha256_hex(buf, len, hex);
    free(buf);
}

/* ------------------------------------------------------------- reports */
static cJSON *tensor_json(const hxq_tensor_report *t)
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

static int tensor_from_json(const cJSON *o, hxq_tensor_report *t)
{
    memset(t, 0, sizeof *t);
    const cJSON *nm = cJSON_GetObjectItem(o, "name"), *rt = cJSON_GetObjectItem(o, "route");
    if (!cJSON_IsString(nm) || !cJSON_IsString(rt))
        return -1;
    t->name = hx_strdup(nm->valuestring);
    for (int r = 0; r < 4; r++)
        if (!strcmp(hxq_route_name((hxq_route)r), rt->valuestring))
            t->route = (hxq_route)r;
    const char *cn = cJSON_GetStringValue(cJSON_GetObjectItem(o, "class"));
    for (int c = 0; c <= HXQ_CLASS_UNKNOWN; c++)
        if (cn && !strcmp(hxq_class_name((hxq_class)c), cn))
            t->cls = (hxq_class)c;
    const char *dn = cJSON_GetStringValue(cJSON_GetObjectItem(o, "dtype"));
    t->src_dtype = dn ? hx_dtype_parse(dn) : HX_DT_INVALID;
    const cJSON *sh = cJSON_GetObjectItem(o, "shape");
    int nd = cJSON_GetArraySize(sh);
    if (nd > HX_ST_MAX_DIMS)
        return -1;
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

static void report_add(hxq_report *r, const hxq_tensor_report *t)
{
    r->t = hx_realloc(r->t, (r->n + 1) * sizeof *r->t);
    r->t[r->n++] = *t;
}

/* --------------------------------------------------------------- state */
typedef struct {
    cJSON *root; /* {"fingerprint": "...", "shards": {file: {"bytes": n, "tensors": [...]}}} */
} state;

static void state_load(const char *out_dir, const char *fp, state *s)
{
    char *p = hx_path_join(out_dir, HXQ_STATE_FILE), *txt;
    size_t len;
    s->root = NULL;
    if (hx_read_file(p, 256u << 20, &txt, &len) == HX_OK) {
        cJSON *r = cJSON_ParseWithLength(txt, len);
        free(txt);
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(r, "fingerprint"));
        if (r && f && !strcmp(f, fp) && cJSON_IsObject(cJSON_GetObjectItem(r, "shards")))
            s->root = r;
        else {
            if (r)
                hx_info("previous partial run in %s used other inputs/options: starting over", out_dir);
            cJSON_Delete(r);
        }
    }
    hx_clearerr();
    free(p);
    if (!s->root) {
        s->root = cJSON_CreateObject();
        cJSON_AddStringToObject(s->root, "fingerprint", fp);
        cJSON_AddObjectToObject(s->root, "shards");
    }
}

static hx_status state_save(const char *out_dir, const state *s)
{
    char *p = hx_path_join(out_dir, HXQ_STATE_FILE);
    char *txt = cJSON_Print(s->root);
    hx_status st = hx_write_file_atomic(p, txt, strlen(txt));
    free(txt);
    free(p);
    return st;
}

/* ------------------------------------------------------------- writing */
typedef struct {
    const hxq_options *o;
    hx_progress *prog;
} wctx;

static hx_status write_dense(hx_st_writer *w, const hx_st_tensor *t, int to_f16, uint64_t *out_bytes)
{
    hx_dtype odt = to_f16 ? HX_DT_F16 : t->dtype;
    hx_status st = hx_st_writer_begin(w, t->name, odt, t->ndim, t->shape);
    if (st)
        return st;
    const size_t chunk = 16u << 20;
    size_t esz = hx_dtype_size(t->dtype);
    if (!to_f16 || t->dtype == HX_DT_F16) {
        const char *p = t->data;
        for (uint64_t off = 0; off < t->nbytes && !st; off += chunk) {
            size_t m = t->nbytes - off < chunk ? (size_t)(t->nbytes - off) : chunk;
            st = hx_st_writer_data(w, p + off, m);
        }
        *out_bytes = t->nbytes;
        return st;
    }
    size_t per = chunk / 4;
    float *f = hx_malloc(per * sizeof *f);
    uint16_t *h = hx_malloc(per * sizeof *h);
    uint64_t overflow = 0;
    for (uint64_t i = 0; i < t->nelem && !st; i += per) {
        size_t m = t->nelem - i < per ? (size_t)(t->nelem - i) : per;
        hx_to_f32(t->dtype, (const char *)t->data + i * esz, f, m);
        for (size_t j = 0; j < m; j++) {
            h[j] = hx_f32_to_f16(f[j]);
            if ((h[j] & 0x7c00) == 0x7c00 && (f[j] == f[j]) && f[j] < 3e38f && f[j] > -3e38f)
                overflow++;
        }
        st = hx_st_writer_data(w, h, m * 2);
    }
    if (overflow)
        hx_warn("%s: %llu values overflow F16 and become inf (--exact-f16)", t->name,
                (unsigned long long)overflow);
    free(f);
    free(h);
    *out_bytes = t->nelem * 2;
    return st;
}

static hxq_params params_for(const plan_item *pi, const hxq_options *o)
{
    hxq_params prm = o->params;
    if (prm.compat_033) {
        prm.compat_percentile = pi->ri.cls == HXQ_CLASS_ATTN_QK ? 99.95 : 99.9;
        prm.compat_cap = pi->ri.cls == HXQ_CLASS_UNKNOWN ? 256 : 512;
    }
    return prm;
}

/* Across-tensor parallelism: tensors too small to keep every thread busy
 * on their own (at most SMALL_TENSOR weights) are encoded several at a
 * time, one thread each, then written in plan order. */
#define SMALL_TENSOR (2u << 20)

typedef struct {
    const plan_item *pi;
    hxq_params prm;
    hxq_encoded e;
    hx_status st;
    char err[1024];
    int done;
} enc_job;

static void enc_run(enc_job *j)
{
    const hx_st_tensor *t = j->pi->t;
    hx_st_prefetch(t);
    j->st = hxq_encode(t->name, t->data, t->dtype, (uint64_t)t->shape[0], (uint64_t)t->shape[1],
                       &j->prm, &j->e);
    if (j->st)
        snprintf(j->err, sizeof j->err, "%s", hx_lasterr());
    j->done = 1;
}

static void *enc_thread(void *arg)
{
    enc_run(arg);
    return NULL;
}

/* Encode jobs[0..n) concurrently (n <= threads). */
static void enc_batch(enc_job *jobs, int n)
{
    pthread_t tid[64];
    int started = 0;
    for (int i = 1; i < n && i < 64; i++)
        if (pthread_create(&tid[started], NULL, enc_thread, &jobs[i]) == 0)
            started++;
        else
            enc_run(&jobs[i]);
    enc_run(&jobs[0]);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
}

static hx_status write_encoded(hx_st_writer *w, const plan_item *pi, enc_job *j,
                               hxq_tensor_report *rep)
{
    const hx_st_tensor *t = pi->t;
    if (j->st) {
        hx_seterr("%s", j->err);
        return j->st;
    }
    hxq_encoded *e = &j->e;
    char *mod = module_name(t->name);
    char *k_cb = hx_asprintf("%s.codebook", mod), *k_ix = hx_asprintf("%s.indices", mod);
    char *k_sp = hx_asprintf("%s.sidecar_positions", mod), *k_sv = hx_asprintf("%s.sidecar_values", mod);
    int64_t shk = e->k, shn = (int64_t)e->sc_n;
    hx_status st = hx_st_writer_add(w, k_cb, HX_DT_F32, 1, &shk, e->codebook);
    if (!st)
        st = hx_st_writer_add(w, k_ix, HX_DT_U8, 2, t->shape, e->indices);
    if (!st && e->sc_n) {
        st = hx_st_writer_add(w, k_sp, HX_DT_I64, 1, &shn, e->sc_pos);
        if (!st)
            st = hx_st_writer_add(w, k_sv, HX_DT_F32, 1, &shn, e->sc_val);
    }
    rep->stats = e->stats;
    rep->out_bytes = 4ull * (uint64_t)e->k + t->nelem + 12ull * e->sc_n;
    free(k_cb), free(k_ix), free(k_sp), free(k_sv), free(mod);
    hxq_encoded_free(e);
    return st;
}

static hx_status write_shard(const char *path, plan_item *plan, size_t np, int shard,
                             const hxq_options *o, hx_progress *prog, hxq_report *rep,
                             cJSON *state_tensors, uint64_t *shard_bytes)
{
    size_t reserve = 256;
    for (size_t i = 0; i < np; i++) {
        if (plan[i].shard != shard || plan[i].ri.route == HXQ_ROUTE_DROP)
            continue;
        size_t l = strlen(plan[i].t->name) + 32;
        reserve += plan[i].ri.route == HXQ_ROUTE_COMPRESS ? 4 * hx_st_header_bound(plan[i].t->name, 2) + 4 * l
                                                          : hx_st_header_bound(plan[i].t->name, plan[i].t->ndim);
    }
    hx_st_writer *w;
    hx_status st = hx_st_writer_open(path, reserve, &w);
    if (st)
        return st;
    enc_job *jobs = hx_calloc(np ? np : 1, sizeof *jobs);
    for (size_t i = 0; i < np && !st; i++) {
        plan_item *pi = &plan[i];
        if (pi->shard != shard || pi->ri.route == HXQ_ROUTE_DROP)
            continue;
        const hx_st_tensor *t = pi->t;
        hxq_tensor_report tr = {0};
        tr.name = hx_strdup(t->name);
        tr.route = pi->ri.route;
        tr.cls = pi->ri.cls;
        tr.src_dtype = t->dtype;
        tr.rows = t->ndim > 0 ? t->shape[0] : 1;
        tr.cols = t->ndim > 1 ? t->shape[1] : -1;
        tr.ndim = t->ndim;
        memcpy(tr.shape, t->shape, sizeof tr.shape);
        tr.nelem = t->nelem;
        tr.src_bytes = t->nbytes;
        if (pi->ri.route == HXQ_ROUTE_COMPRESS) {
            if (!jobs[i].done) {
                /* encode this tensor, and with it the next small ones */
                int threads = o->params.threads > 0 ? o->params.threads : 1;
                int nb = 0;
                enc_job *batch = hx_calloc((size_t)threads, sizeof *batch);
                size_t idx[64];
                for (size_t q = i; q < np && nb < threads && nb < 64; q++) {
                    const plan_item *pq = &plan[q];
                    if (pq->shard != shard || pq->ri.route != HXQ_ROUTE_COMPRESS)
                        continue;
                    int small = pq->t->nelem <= SMALL_TENSOR;
                    if (nb > 0 && !small)
                        break;
                    batch[nb].pi = pq;
                    batch[nb].prm = params_for(pq, o);
                    batch[nb].prm.release_source = 1; /* an mmap of the source file */
                    idx[nb++] = q;
                    if (!small)
                        break; /* a large tensor uses every thread by itself */
                }
                if (nb > 1)
                    for (int b = 0; b < nb; b++)
                        batch[b].prm.threads = 1;
                enc_batch(batch, nb);
                for (int b = 0; b < nb; b++)
                    jobs[idx[b]] = batch[b];
                free(batch);
            }
            st = write_encoded(w, pi, &jobs[i], &tr);
        } else
            st = write_dense(w, t,
                             o->exact_f16 && pi->ri.route == HXQ_ROUTE_EXACT &&
                                 hx_dtype_is_float(t->dtype),
                             &tr.out_bytes);
        hx_st_release(t);
        if (st) {
            hx_preerr("%s", t->name);
            free(tr.name);
            break;
        }
        cJSON_AddItemToArray(state_tensors, tensor_json(&tr));
        report_add(rep, &tr);
        hx_progress_add(prog, t->nbytes);
    }
    for (size_t i = 0; i < np; i++) /* encoded ahead but not written (error) */
        if (jobs[i].done)
            hxq_encoded_free(&jobs[i].e);
    free(jobs);
    if (st) {
        hx_st_writer_abort(w);
        return st;
    }
    *shard_bytes = hx_st_writer_bytes(w);
    return hx_st_writer_finish(w);
}

/* ------------------------------------------------------- auxiliary files */
static const char *const AUX_FILES[] = {
    "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
    "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json",
    "chat_template.jinja", "chat_template.json", "preprocessor_config.json", NULL};
static const char *const AUX_GLOBS[] = {"*.py", "*.tiktoken", "LICENSE*", "NOTICE*", "USE_POLICY*", NULL};

static hx_status copy_aux(const char *src, const char *dst)
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
        cJSON_AddItemToArray(arr, tensor_json(&r->t[i]));
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    return s;
}

static void finish_totals(hxq_report *r)
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One writer per output directory: an exclusive lock on OUT_DIR/.hxq-lock
 * (released by the kernel if the process dies). Holding it, leftover temp
 * files of an interrupted run ("NAME.tmp.PID.N") can be removed safely. */
static hx_status lock_out_dir(const char *out_dir, int *fd_out)
{
    char *lp = hx_path_join(out_dir, ".hxq-lock");
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(lp);
    if (fd < 0)
        return HX_FAIL(HX_EIO, "%s: cannot create the lock file: %s", out_dir, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return HX_FAIL(HX_EIO, "%s: another hxzoo compress is writing this directory", out_dir);
    }
    DIR *d = opendir(out_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *t = strstr(de->d_name, ".tmp.");
        if (!t || !t[5] || strspn(t + 5, "0123456789.") != strlen(t + 5))
            continue;
        char *p = hx_path_join(out_dir, de->d_name);
        hx_info("removing %s (left by an interrupted run)", p);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    *fd_out = fd;
    return HX_OK;
}

/* ------------------------------------------------------------ compress */
hx_status hxq_compress(const char *src_dir, const char *out_dir, const hxq_options *o,
                       hxq_report *rep)
{
    double t0 = hx_now();
    int lock_fd = -1;
    memset(rep, 0, sizeof *rep);
    if (!strcmp(src_dir, out_dir))
        return HX_FAIL(HX_EINVAL, "output directory must differ from the source directory");
    cJSON *cfg;
    hx_status st = read_config(src_dir, &cfg);
    if (st)
        return st;
    if (cJSON_GetObjectItem(cfg, "quantization_config")) {
        cJSON_Delete(cfg);
        return HX_FAIL(HX_EINVAL, "%s is already quantized (config.json has a quantization_config)",
                       src_dir);
    }
    int tie = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "tie_word_embeddings"));
    hx_st_model *m;
    if ((st = hx_st_model_open(src_dir, &m))) {
        cJSON_Delete(cfg);
        return st;
    }
    size_t nt = hx_st_model_count(m);
    plan_item *plan = hx_calloc(nt ? nt : 1, sizeof *plan);
    /* tied: an embedding and an lm_head of equal shape (0.3.3 rule) */
    const hx_st_tensor *emb = NULL, *head = NULL;
    for (size_t i = 0; i < nt; i++) {
        const hx_st_tensor *t = hx_st_model_at(m, i);
        size_t l = strlen(t->name);
        int is_w = l > 7 && !strcmp(t->name + l - 7, ".weight");
        if (is_w && strstr(t->name, "embed") && !emb)
            emb = t;
        if (is_w && strstr(t->name, "lm_head") && !head)
            head = t;
    }
    int tied = tie && emb && head && emb->ndim == head->ndim &&
               !memcmp(emb->shape, head->shape, sizeof(int64_t) * (size_t)emb->ndim);
    char **mods = hx_malloc((nt ? nt : 1) * sizeof *mods);
    size_t nmods = 0;
    uint64_t total_est = 0, total_src = 0;
    for (size_t i = 0; i < nt; i++) {
        const hx_st_tensor *t = hx_st_model_at(m, i);
        plan[i].t = t;
        plan[i].ri = hxq_route_tensor(t->name, t->ndim, t->shape, tied, o->params.compat_033);
        if (plan[i].ri.route == HXQ_ROUTE_COMPRESS && !hx_dtype_is_float(t->dtype)) {
            plan[i].ri.route = HXQ_ROUTE_COPY;
            plan[i].ri.rule = "not a float tensor: copied";
        }
        switch (plan[i].ri.route) {
        case HXQ_ROUTE_COMPRESS:
            plan[i].est_bytes = t->nelem + 4u * (uint64_t)o->params.k +
                                12u * sidecar_cap(&o->params, plan[i].ri.cls, t->nelem);
            mods[nmods++] = module_name(t->name);
            break;
        case HXQ_ROUTE_EXACT:
            plan[i].est_bytes = o->exact_f16 && hx_dtype_is_float(t->dtype) ? t->nelem * 2 : t->nbytes;
            break;
        case HXQ_ROUTE_COPY:
            plan[i].est_bytes = t->nbytes;
            break;
        case HXQ_ROUTE_DROP:
            plan[i].est_bytes = 0;
            break;
        }
        if (plan[i].ri.deviates_033)
            hx_info("note: %s: %s", t->name, plan[i].ri.rule);
        total_est += plan[i].est_bytes;
        total_src += t->nbytes;
    }
    qsort(mods, nmods, sizeof *mods, cmp_str);
    int nshards = 1;
    if (o->max_shard_bytes && total_est > o->max_shard_bytes) {
        uint64_t acc = 0;
        int s = 0;
        for (size_t i = 0; i < nt; i++) {
            if (acc && acc + plan[i].est_bytes > o->max_shard_bytes) {
                s++;
                acc = 0;
            }
            plan[i].shard = s;
            acc += plan[i].est_bytes;
        }
        nshards = s + 1;
    }
    if ((st = hx_mkdirs(out_dir)))
        goto out;
    if ((st = lock_out_dir(out_dir, &lock_fd)))
        goto out;
    char fp[65];
    fingerprint(m, o, fp);
    state stt;
    if (o->force) {
        stt.root = cJSON_CreateObject();
        cJSON_AddStringToObject(stt.root, "fingerprint", fp);
        cJSON_AddObjectToObject(stt.root, "shards");
    } else {
        state_load(out_dir, fp, &stt);
    }
    cJSON *shards_js = cJSON_GetObjectItem(stt.root, "shards");
    hx_progress prog;
    hx_progress_start(&prog, "compress", total_src);
    cJSON *wmap = cJSON_CreateObject();
    uint64_t data_total = 0;
    /* test hook: stop (as if killed) after this many shards were written */
    const char *stop_env = getenv("HXZOO_TEST_STOP_AFTER_SHARDS");
    int stop_after = stop_env ? atoi(stop_env) : -1, written = 0;
    for (int s = 0; s < nshards && !st; s++) {
        if (stop_after >= 0 && written >= stop_after) {
            st = HX_FAIL(HX_EIO, "stopped after %d shard(s) (HXZOO_TEST_STOP_AFTER_SHARDS)", written);
            break;
        }
        char *fname = nshards == 1 ? hx_strdup("model.safetensors")
                                   : hx_asprintf("model-%05d-of-%05d.safetensors", s + 1, nshards);
        char *path = hx_path_join(out_dir, fname);
        cJSON *done = cJSON_GetObjectItem(shards_js, fname);
        struct stat sb;
        uint64_t bytes = 0;
        if (done && stat(path, &sb) == 0 &&
            (uint64_t)sb.st_size == (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(done, "bytes"))) {
            hx_info("resume: %s already complete", fname);
            const cJSON *arr = cJSON_GetObjectItem(done, "tensors"), *e;
            cJSON_ArrayForEach(e, arr)
            {
                hxq_tensor_report tr;
                if (tensor_from_json(e, &tr) == 0)
                    report_add(rep, &tr);
            }
            for (size_t i = 0; i < nt; i++)
                if (plan[i].shard == s)
                    hx_progress_add(&prog, plan[i].t->nbytes);
            bytes = (uint64_t)sb.st_size;
        } else {
            if (done)
                cJSON_DeleteItemFromObject(shards_js, fname);
            cJSON *entry = cJSON_CreateObject();
            cJSON *tarr = cJSON_AddArrayToObject(entry, "tensors");
            st = write_shard(path, plan, nt, s, o, &prog, rep, tarr, &bytes);
            if (st) {
                cJSON_Delete(entry);
            } else {
                cJSON_AddNumberToObject(entry, "bytes", (double)bytes);
                cJSON_AddItemToObject(shards_js, fname, entry);
                st = state_save(out_dir, &stt);
                written++;
            }
        }
        if (!st && nshards > 1) {
            hx_st_file *f;
            if ((st = hx_st_open(path, &f)) == HX_OK) {
                for (size_t i = 0; i < hx_st_count(f); i++) {
                    const hx_st_tensor *t = hx_st_at(f, i);
                    cJSON_AddStringToObject(wmap, t->name, fname);
                    data_total += t->nbytes;
                }
                hx_st_close(f);
            }
        }
        free(path);
        free(fname);
    }
    hx_progress_end(&prog);
    if (!st && nshards > 1) {
        cJSON *idx = cJSON_CreateObject();
        cJSON *md = cJSON_AddObjectToObject(idx, "metadata");
        cJSON_AddNumberToObject(md, "total_size", (double)data_total);
        cJSON_AddItemToObject(idx, "weight_map", wmap);
        wmap = NULL;
        char *txt = cJSON_Print(idx), *p = hx_path_join(out_dir, "model.safetensors.index.json");
        st = hx_write_file_atomic(p, txt, strlen(txt));
        free(txt);
        free(p);
        cJSON_Delete(idx);
    }
    cJSON_Delete(wmap);
    if (!st) {
        /* a stale single-file output must not shadow the shard index, and
         * vice versa */
        char *single = hx_path_join(out_dir, "model.safetensors");
        char *index = hx_path_join(out_dir, "model.safetensors.index.json");
        unlink(nshards > 1 ? single : index);
        free(single);
        free(index);
        cJSON *q = quant_config(o, mods, nmods);
        cJSON_DeleteItemFromObject(cfg, "quantization_config");
        cJSON_AddItemToObject(cfg, "quantization_config", q);
        char *txt = hx_pyjson_print(cfg), *p = hx_path_join(out_dir, "config.json");
        st = hx_write_file_atomic(p, txt, strlen(txt));
        free(txt);
        free(p);
    }
    if (!st)
        st = copy_aux(src_dir, out_dir);
    if (!st) {
        rep->shards = nshards;
        rep->seconds = hx_now() - t0;
        rep->peak_rss = hx_peak_rss();
        finish_totals(rep);
        char *txt = hxq_report_json(rep, o, src_dir), *p = hx_path_join(out_dir, HXQ_RECEIPT_FILE);
        st = hx_write_file_atomic(p, txt, strlen(txt));
        free(txt);
        free(p);
    }
    if (!st) { /* done: neither the state nor the lock file belongs in the result */
        char *p = hx_path_join(out_dir, HXQ_STATE_FILE), *l = hx_path_join(out_dir, ".hxq-lock");
        unlink(p);
        unlink(l);
        free(p);
        free(l);
    }
    cJSON_Delete(stt.root);
out:
    if (lock_fd >= 0)
        close(lock_fd); /* releases the lock; the lock file itself stays (harmless) */
    for (size_t i = 0; i < nmods; i++)
        free(mods[i]);
    free(mods);
    free(plan);
    hx_st_model_close(m);
    cJSON_Delete(cfg);
    return st;
}
