/* plan.c - the plan of hxzoo compress: what happens to each tensor of the
 * source model (the routing table of codec/route.c, the tied lm_head, non-
 * float tensors copied), the list of compressed modules, and the output
 * shards cut by estimated size. */
#include "compress/compress_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t sidecar_cap(const hxq_params *p, hxq_class cls, uint64_t n)
{
    if (p->compat_033)
        return (uint64_t)(cls == HXQ_CLASS_UNKNOWN ? 256 : 512);
    return (uint64_t)(p->sidecar_fraction * (double)n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void compress_plan_build(const hx_st_model *m, int tie, const hxq_options *o, compress_plan *p)
{
    memset(p, 0, sizeof *p);
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
            mods[nmods++] = hxq_module_name(t->name);
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
    p->items = plan;
    p->n = nt;
    p->nshards = nshards;
    p->mods = mods;
    p->nmods = nmods;
    p->total_src = total_src;
}

void compress_plan_free(compress_plan *p)
{
    for (size_t i = 0; i < p->nmods; i++)
        free(p->mods[i]);
    free(p->mods);
    free(p->items);
    memset(p, 0, sizeof *p);
}
