/* backend_cpu.c - the engine's CPU backend: model/'s layer-order API
 * (hx_model_batch_*), with the packed final rows kept for the logits. */
#include "eval/backend_internal.h"

#include <stdlib.h>

typedef struct cpu_side {
    hx_model *m;
    const float *hidden; /* packed scored rows after final */
} cpu_side;

static hx_status c_open(const char *dir, int max_ctx, int max_tokens, const hx_backend_opts *o,
                        void **out)
{
    (void)o; /* the CPU computes in float32 only (hx_compute_dtype_resolve) */
    cpu_side *s = hx_calloc(1, sizeof *s);
    hx_status st = hx_model_open(dir, max_ctx, max_tokens, &s->m);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return HX_OK;
}

static void c_close(void *v)
{
    cpu_side *s = v;
    hx_model_free(s->m);
    free(s);
}

static const hx_model_config *c_config(void *v) { return hx_model_cfg(((cpu_side *)v)->m); }

static hx_status c_begin(void *v, const int32_t *ids, const int *lens, int nseq)
{
    return hx_model_batch_begin(((cpu_side *)v)->m, ids, lens, nseq);
}

static hx_status c_layer(void *v, int l)
{
    hx_model_batch_layer(((cpu_side *)v)->m, l);
    return HX_OK;
}

static hx_status c_final(void *v, const int *rows, int nrows)
{
    cpu_side *s = v;
    s->hidden = hx_model_batch_final(s->m, rows, nrows);
    return HX_OK;
}

static hx_status c_logits(void *v, int r0, int nrows, int v0, int v1, float *out)
{
    cpu_side *s = v;
    const hx_model_config *c = hx_model_cfg(s->m);
    hx_model_logits_range(s->m, s->hidden + (size_t)r0 * c->dim, nrows, v0, v1, out);
    hx_model_release_head(s->m, v0, v1);
    return HX_OK;
}

static uint64_t c_device_bytes(const hx_model_config *c, int max_ctx, int max_tokens,
                               hx_compute_dtype dt)
{
    (void)c, (void)max_ctx, (void)max_tokens, (void)dt;
    return 0;
}

const hx_backend hx_backend_cpu = {"cpu",   c_open,   c_close,        c_config, c_begin,
                                   c_layer, c_final, c_logits, c_device_bytes, NULL};
