/* generate.c - greedy decoding on top of the forward pass: prefill the
 * prompt, then feed back the argmax token until max_new or an EOS id. */
#include "model/model_internal.h"

#include <stdlib.h>
#include <string.h>

static int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

hx_status hx_model_generate(hx_model *m, const int32_t *prompt, int n_prompt, int max_new,
                            int32_t **out, int *n_out, hx_gen_stats *stats)
{
    hx_gen_stats dummy;
    if (!stats)
        stats = &dummy;
    memset(stats, 0, sizeof *stats);
    const hx_model_config *c = &m->cfg;
    *out = NULL;
    *n_out = 0;
    if (n_prompt < 1)
        return HX_FAIL(HX_EINVAL, "empty prompt");
    hx_model_reset(m);
    float *h = hx_malloc((size_t)n_prompt * c->dim * sizeof(float));
    float *logits = hx_malloc((size_t)c->vocab * sizeof(float));
    int32_t *gen = hx_malloc(((size_t)max_new + 1) * sizeof *gen);
    int n = 0;
    double t0 = hx_now();
    hx_status st = hx_model_forward(m, prompt, n_prompt, h);
    if (!st)
        hx_model_logits(m, h + (size_t)(n_prompt - 1) * c->dim, 1, logits);
    stats->prefill_tokens = n_prompt;
    stats->prefill_s = hx_now() - t0;
    t0 = hx_now();
    while (!st && n < max_new) {
        int32_t next = argmax(logits, c->vocab);
        gen[n++] = next;
        int eos = 0;
        for (int i = 0; i < c->n_eos; i++)
            eos |= next == c->eos_ids[i];
        if (eos || hx_model_pos(m) >= m->max_ctx || n == max_new)
            break;
        st = hx_model_forward(m, &next, 1, h);
        if (!st) {
            hx_model_logits(m, h, 1, logits);
            stats->decode_tokens++;
        }
    }
    stats->decode_s = hx_now() - t0;
    free(h);
    free(logits);
    if (st) {
        free(gen);
        return st;
    }
    *out = gen;
    *n_out = n;
    return HX_OK;
}
