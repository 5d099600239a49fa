/* backend_cuda.c - the engine's CUDA backend: a CPU model opened for its
 * weights (stored form, mapped) and tables only, and a device side
 * (gpu/gpu_model.h) that uploads the weights as stored, runs the layers
 * and scores the final rows on the device. In a build without CUDA every
 * call refuses (gpu/stub.c). */
#include "eval/backend_internal.h"
#include "gpu/gpu_model.h"

#include <stdlib.h>

_Static_assert(sizeof(hx_row_state) == sizeof(hxg_row_state), "row state layouts must match");

typedef struct cuda_side {
    hx_model *m;
    hxg_model *g;
} cuda_side;

static void g_close(void *v)
{
    cuda_side *s = v;
    hxg_model_free(s->g);
    hx_model_free(s->m);
    free(s);
}

static hx_status g_open(const char *dir, int max_ctx, int max_tokens, const hx_backend_opts *o,
                        void **out)
{
    cuda_side *s = hx_calloc(1, sizeof *s);
    /* host buffers of one row: the CPU side only lends its weights */
    hx_status st = hx_model_open(dir, max_ctx, 1, &s->m);
    if (!st)
        st = hxg_model_create(s->m, max_ctx, max_tokens,
                              o->dtype == HX_DTYPE_BF16 ? HXG_COMPUTE_BF16 : HXG_COMPUTE_F32, o->share,
                              &s->g);
    if (st) {
        g_close(s);
        return st;
    }
    hx_info("  %s: %.2f GB on the device (weights %s)", dir, hxg_model_bytes(s->g) / 1e9,
            hxg_model_resident(s->g) ? "resident" : "streamed layer by layer");
    *out = s;
    return HX_OK;
}

static const hx_model_config *g_config(void *v) { return hx_model_cfg(((cuda_side *)v)->m); }

static hx_status g_begin(void *v, const int32_t *ids, const int *lens, int nseq)
{
    return hxg_batch_begin(((cuda_side *)v)->g, ids, lens, nseq);
}

static hx_status g_layer(void *v, int l) { return hxg_batch_layer(((cuda_side *)v)->g, l); }

static hx_status g_final(void *v, const int *rows, int nrows)
{
    return hxg_batch_final(((cuda_side *)v)->g, rows, nrows);
}

static hx_status g_score(void **sides, int ns, int nrows, const int32_t *tgt, hx_row_state *st)
{
    cuda_side *a = sides[0], *b = ns > 1 ? sides[1] : NULL;
    return hxg_score(a->g, b ? b->g : NULL, nrows, tgt, (hxg_row_state *)st);
}

static uint64_t g_device_bytes(const hx_model_config *c, int max_ctx, int max_tokens,
                               hx_compute_dtype dt)
{
    return hxg_model_buffer_bytes(c, max_ctx, max_tokens,
                                  dt == HX_DTYPE_BF16 ? HXG_COMPUTE_BF16 : HXG_COMPUTE_F32);
}

/* no host logits: the CUDA side scores on the device */
const hx_backend hx_backend_cuda = {"cuda",  g_open,  g_close, g_config,       g_begin,
                                    g_layer, g_final, NULL,    g_device_bytes, g_score};
