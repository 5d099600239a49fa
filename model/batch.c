/* batch.c - layer-order evaluation of a batch of independent sequences
 * (the CPU backend of the evaluation engine): embed all of them, take them
 * through one layer at a time and drop the layer's pages behind it, then
 * the final norm of the rows to be scored. */
#include "model/model_internal.h"

#include <stdlib.h>
#include <string.h>

hx_status hx_batch_check(const hx_model_config *c, int max_ctx, int max_tokens, const int32_t *ids,
                         const int *lens, int nseq, int *total)
{
    long T = 0;
    for (int i = 0; i < nseq; i++) {
        if (lens[i] < 1 || lens[i] > max_ctx)
            return HX_FAIL(HX_EINVAL, "batch sequence %d has %d tokens (context %d)", i, lens[i],
                           max_ctx);
        T += lens[i];
    }
    if (nseq < 1 || T > max_tokens)
        return HX_FAIL(HX_EINVAL, "batch of %ld tokens in %d sequences exceeds the %d rows allocated",
                       T, nseq, max_tokens);
    for (long t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab)
            return HX_FAIL(HX_EINVAL, "token id %d out of range (vocab %d)", ids[t], c->vocab);
    *total = (int)T;
    return HX_OK;
}

hx_status hx_model_batch_begin(hx_model *m, const int32_t *ids, const int *lens, int nseq)
{
    int T;
    hx_status s = hx_batch_check(&m->cfg, m->max_ctx, m->max_tokens, ids, lens, nseq, &T);
    if (s)
        return s;
    free(m->batch);
    m->batch = hx_calloc((size_t)nseq, sizeof *m->batch);
    int off = 0;
    for (int i = 0; i < nseq; i++) {
        m->batch[i] = (hx_seq){off, lens[i], 0, NULL, NULL};
        off += lens[i];
    }
    m->batch_n = nseq;
    m->batch_T = T;
    hx_embed_rows(m, ids, T);
    hx_weight_release(&m->embed);
    return HX_OK;
}

void hx_model_batch_layer(hx_model *m, int l)
{
    hx_apply_layer(m, l, m->batch_T, m->batch, m->batch_n, 0);
    hx_release_layer(m, l);
}

const float *hx_model_batch_final(hx_model *m, const int *rows, int nrows)
{
    const hx_model_config *c = &m->cfg;
    size_t d = (size_t)c->dim;
    /* rows ascending: packing forward never overwrites a row still needed */
    for (int r = 0; r < nrows; r++)
        hx_rmsnorm(m->x + (size_t)rows[r] * d, m->norm, 1, c->dim, c->rms_eps, m->xn + (size_t)r * d);
    return m->xn;
}
