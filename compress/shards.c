/* shards.c - the output shards of hxzoo compress: each shard streamed by
 * the safetensors writer (to a temp file, renamed when complete), one
 * tensor at a time from the mmap'd source (pages released after use),
 * compressed tensors encoded (the small ones several at a time) and
 * written as codebook + indices + sidecar, the others copied (or turned
 * into F16 with --exact-f16); then the shard index of a sharded output. */
#include "compress/compress_internal.h"
#include "common/pool.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void enc_task(void *ctx, uint64_t i, void *state)
{
    (void)state;
    enc_run(&((enc_job *)ctx)[i]);
}

/* Encode jobs[0..n) concurrently (n <= threads), on the compute pool. */
static void enc_batch(enc_job *jobs, int n) { hx_pool_run(hx_pool_default(n), n, (uint64_t)n, enc_task, jobs); }

static hx_status write_encoded(hx_st_writer *w, const plan_item *pi, enc_job *j,
                               hxq_tensor_report *rep)
{
    const hx_st_tensor *t = pi->t;
    if (j->st) {
        hx_seterr("%s", j->err);
        return j->st;
    }
    hxq_encoded *e = &j->e;
    char *mod = hxq_module_name(t->name);
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

hx_status compress_write_shard(const char *path, const compress_plan *p, int shard,
                               const hxq_options *o, hx_progress *prog, hxq_report *rep,
                               cJSON *state_tensors, uint64_t *shard_bytes)
{
    const plan_item *plan = p->items;
    size_t np = p->n;
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
        const plan_item *pi = &plan[i];
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
        cJSON_AddItemToArray(state_tensors, compress_tensor_json(&tr));
        compress_report_add(rep, &tr);
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

/* ---------------------------------------------------------- shard index */
hx_status compress_index_add(cJSON *wmap, const char *path, const char *fname,
                             uint64_t *data_total)
{
    hx_st_file *f;
    hx_status st = hx_st_open(path, &f);
    if (st == HX_OK) {
        for (size_t i = 0; i < hx_st_count(f); i++) {
            const hx_st_tensor *t = hx_st_at(f, i);
            cJSON_AddStringToObject(wmap, t->name, fname);
            *data_total += t->nbytes;
        }
        hx_st_close(f);
    }
    return st;
}

hx_status compress_index_write(const char *out_dir, cJSON *wmap, uint64_t data_total)
{
    cJSON *idx = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(idx, "metadata");
    cJSON_AddNumberToObject(md, "total_size", (double)data_total);
    cJSON_AddItemToObject(idx, "weight_map", wmap);
    char *txt = cJSON_Print(idx), *p = hx_path_join(out_dir, "model.safetensors.index.json");
    hx_status st = hx_write_file_atomic(p, txt, strlen(txt));
    free(txt);
    free(p);
    cJSON_Delete(idx);
    return st;
}

void compress_remove_stale(const char *out_dir, int nshards)
{
    char *single = hx_path_join(out_dir, "model.safetensors");
    char *index = hx_path_join(out_dir, "model.safetensors.index.json");
    unlink(nshards > 1 ? single : index);
    free(single);
    free(index);
}
