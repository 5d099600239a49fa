/* engine.c - hx_eval_models: the layer-order evaluation of a plan on one
 * backend. Windows are packed, in order, into groups of at most
 * max_group_tokens tokens (estimate.c); each group is embedded on both
 * sides, taken through every layer (model then base, layer by layer), its
 * scored rows normed and packed; their logits are computed in blocks of
 * rows x vocabulary for both sides together and folded into per-row
 * log-sum-exp / target / KL / argmax states (reduce.c). Per-row results are
 * then summed in plan order, exactly as the window-by-window evaluator
 * did: window mean NLL times its weight, KL and top-1 over all rows. */
#include "common/parallel.h"
#include "common/progress.h"
#include "eval/backend_internal.h"
#include "gpu/gpu_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VBLOCK 4096   /* vocabulary entries per logits block */
#define RBLOCK 4096   /* scored rows per logits block */

typedef struct side {
    void *h;
    const hx_model_config *c;
    double seconds;
} side;

/* print the estimate; refuse when it cannot fit or the device is missing
 * (on CUDA: name receives the device's name) */
static hx_status check_plan(const hx_eval_estimate *e, const hx_engine_opts *o, char *name,
                            size_t name_len)
{
    if (e->device == HX_DEV_CUDA) {
        char desc[256];
        if (hxg_probe(name, name_len, desc, sizeof desc))
            return hx_preerr("no CUDA device"), HX_ENOTFOUND;
        hx_info("eval on %s, %s", desc, hx_compute_dtype_name(e->dtype));
    }
    hx_info("eval plan: %d group%s of <= %d tokens; peak ~%.2f GB (buffers %.2f GB, one layer of each "
            "model %.2f GB)%s",
            e->groups, e->groups == 1 ? "" : "s", e->max_group_tokens, e->peak / 1e9, e->buffers / 1e9,
            e->mapped / 1e9, e->device == HX_DEV_CUDA ? "" : "");
    if (e->seconds > 0)
        hx_info("eval estimate: %.3g TFLOP, ~%.0f s at %.0f GFLOP/s (sgemm rate measured here)",
                e->flops / 1e12, e->seconds, e->gflops);
    if (e->device_bytes)
        hx_info("eval estimate: %.2f GB of device memory", e->device_bytes / 1e9);
    uint64_t lim = o->mem_limit;
    const char *env = getenv("HXZOO_EVAL_MEM_LIMIT");
    if (env && *env)
        lim = strtoull(env, NULL, 10);
    if (!lim)
        lim = hx_mem_available() / 10 * 9;
    if (e->peak > lim)
        return HX_FAIL(HX_ENOMEM, "the evaluation needs about %.2f GB at its peak (buffers %.2f GB for "
                                  "groups of %d tokens + %.2f GB of weights), %.2f GB available",
                       e->peak / 1e9, e->buffers / 1e9, e->max_group_tokens, e->mapped / 1e9, lim / 1e9);
    return HX_OK;
}

/* the logits phase of one group: rows[] packed scored rows, tgt[] targets */
static hx_status score(const hx_backend *be, side *sd, int ns, int nrows, const int32_t *tgt,
                       double *nll_a, double *nll_b, double *kl, int *agree)
{
    int V = sd[0].c->vocab, threads = hx_ncpus();
    if (be->score) { /* on the device: only the row states come back */
        hx_row_state *st = hx_malloc((size_t)(nrows ? nrows : 1) * sizeof *st);
        void *h[2] = {sd[0].h, ns > 1 ? sd[1].h : NULL};
        double t0 = hx_now();
        hx_status s = be->score(h, ns, nrows, tgt, st);
        sd[0].seconds += hx_now() - t0;
        if (!s)
            hx_reduce_finish(st, nrows, ns > 1, nll_a, nll_b, kl, agree);
        free(st);
        return s;
    }
    int rb = nrows < RBLOCK ? nrows : RBLOCK;
    float *A = hx_malloc((size_t)rb * VBLOCK * sizeof(float));
    float *B = ns > 1 ? hx_malloc((size_t)rb * VBLOCK * sizeof(float)) : NULL;
    hx_row_state *st = hx_malloc((size_t)rb * sizeof *st);
    hx_status s = HX_OK;
    for (int r0 = 0; r0 < nrows && !s; r0 += rb) {
        int n = nrows - r0 < rb ? nrows - r0 : rb;
        hx_reduce_init(st, n);
        for (int v0 = 0; v0 < V && !s; v0 += VBLOCK) {
            int v1 = V - v0 < VBLOCK ? V : v0 + VBLOCK;
            float *out[2] = {A, B};
            for (int i = 0; i < ns && !s; i++) {
                double t0 = hx_now();
                s = be->logits(sd[i].h, r0, n, v0, v1, out[i]);
                sd[i].seconds += hx_now() - t0;
            }
            if (!s)
                hx_reduce_block(st, n, A, B, v0, v1, tgt + r0, threads);
        }
        if (!s)
            hx_reduce_finish(st, n, ns > 1, nll_a + r0, nll_b + r0, kl + r0, agree + r0);
    }
    free(A);
    free(B);
    free(st);
    return s;
}

hx_status hx_eval_models(const char *model_dir, const char *base_dir, const hx_eval_plan *p,
                         const hx_engine_opts *o, hx_eval_result *r)
{
    memset(r, 0, sizeof *r);
    hx_eval_estimate est;
    hx_status s = hx_eval_estimate_pair(model_dir, base_dir, p, o, &est);
    if (s || (s = check_plan(&est, o, r->device_name, sizeof r->device_name)))
        return s;
    const hx_backend *be = est.device == HX_DEV_CUDA ? &hx_backend_cuda : &hx_backend_cpu;
    r->device = be->device;
    r->dtype = hx_compute_dtype_name(est.dtype);
    side sd[2] = {{0}};
    int ns = base_dir ? 2 : 1, T = est.max_group_tokens;
    const char *dirs[2] = {model_dir, base_dir};
    hx_backend_opts bo = {est.dtype, ns};
    for (int i = 0; i < ns && !s; i++) {
        s = be->open(dirs[i], p->max_len, T, &bo, &sd[i].h);
        if (!s)
            sd[i].c = be->config(sd[i].h);
    }
    if (!s && ns > 1 && sd[1].c->vocab != sd[0].c->vocab)
        s = HX_FAIL(HX_EINVAL, "model and base have different vocabularies (%d, %d)",
                    sd[0].c->vocab, sd[1].c->vocab);
    if (!s && ns > 1 && sd[1].c->n_layers != sd[0].c->n_layers)
        s = HX_FAIL(HX_EINVAL, "model and base have different depths (%d, %d layers)",
                    sd[0].c->n_layers, sd[1].c->n_layers);
    /* every id the plan feeds or scores must be a row of the model's
     * vocabulary (a tokenizer with more tokens than the model, say): the
     * reductions would otherwise score a target they never see */
    for (long i = 0; !s && i < p->n_ids; i++)
        if (p->ids[i] < 0 || p->ids[i] >= sd[0].c->vocab)
            s = HX_FAIL(HX_EINVAL, "token id %d at position %ld of the text is outside the model's "
                                   "vocabulary of %d (tokenizer and model do not match)",
                        p->ids[i], i, sd[0].c->vocab);
    int V = s ? 0 : sd[0].c->vocab, NL = s ? 0 : sd[0].c->n_layers;
    int32_t *ids = hx_malloc((size_t)T * sizeof *ids), *tgt = hx_malloc((size_t)T * sizeof *tgt);
    int *lens = hx_malloc((size_t)T * sizeof *lens), *rows = hx_malloc((size_t)T * sizeof *rows);
    double *nll_a = hx_malloc((size_t)T * sizeof(double)), *nll_b = hx_malloc((size_t)T * sizeof(double));
    double *kl = hx_malloc((size_t)T * sizeof(double));
    int *agree = hx_malloc((size_t)T * sizeof(int));
    double sum_m = 0, sum_b = 0, wsum = 0, kl_sum = 0;
    long agree_n = 0, scored = 0, fwd = 0;
    hx_progress pr;
    hx_progress_start(&pr, "eval", (uint64_t)est.groups * (uint64_t)(NL + 1));
    pr.draw = pr.draw && o->progress;
    double t_start = hx_now();
    (void)V;
    for (long w0 = 0, g = 0; w0 < p->n_windows && !s; g++) {
        /* the group: windows [w0, w1) */
        long w1 = w0;
        int ntok = 0, nseq = 0, nrows = 0;
        while (w1 < p->n_windows && (w1 == w0 || ntok + p->w[w1].n <= T)) {
            const hx_window *win = &p->w[w1];
            memcpy(ids + ntok, p->ids + win->begin, (size_t)win->n * sizeof *ids);
            for (int t = win->s0; t < win->s1; t++) {
                rows[nrows] = ntok + t;
                tgt[nrows++] = p->ids[win->begin + t + 1];
            }
            lens[nseq++] = win->n;
            ntok += win->n;
            w1++;
        }
        for (int i = 0; i < ns && !s; i++) {
            double t0 = hx_now();
            s = be->begin(sd[i].h, ids, lens, nseq);
            sd[i].seconds += hx_now() - t0;
        }
        for (int l = 0; l < NL && !s; l++) {
            double el = hx_now() - t_start;
            hx_progress_note(&pr, "group %ld/%d  layer %d/%d  %.0f tok/s", g + 1, est.groups, l + 1,
                             NL, el > 0 ? (double)(fwd * ns) / el : 0);
            for (int i = 0; i < ns && !s; i++) {
                double t0 = hx_now();
                s = be->layer(sd[i].h, l);
                sd[i].seconds += hx_now() - t0;
            }
            hx_progress_add(&pr, 1);
        }
        for (int i = 0; i < ns && !s; i++) {
            double t0 = hx_now();
            s = be->final(sd[i].h, rows, nrows);
            sd[i].seconds += hx_now() - t0;
        }
        if (!s) {
            hx_progress_note(&pr, "group %ld/%d  logits", g + 1, est.groups);
            s = score(be, sd, ns, nrows, tgt, nll_a, nll_b, kl, agree);
        }
        if (s)
            break;
        int k0 = 0;
        for (long w = w0; w < w1; w++) {
            const hx_window *win = &p->w[w];
            int k = win->s1 - win->s0;
            double wm = 0, wb = 0;
            for (int i = k0; i < k0 + k; i++) {
                wm += nll_a[i];
                if (ns > 1) {
                    wb += nll_b[i];
                    kl_sum += kl[i];
                    agree_n += agree[i];
                }
            }
            k0 += k;
            if (k > 0) {
                sum_m += wm / k * win->weight;
                sum_b += wb / k * win->weight;
                wsum += win->weight;
            }
            scored += k;
            fwd += win->n;
            r->n_windows_done++;
        }
        r->groups++;
        hx_progress_add(&pr, 1);
        w0 = w1;
    }
    hx_progress_end(&pr);
    r->seconds = hx_now() - t_start;
    r->n_scored_done = scored;
    r->model.seconds = sd[0].seconds;
    r->base.seconds = sd[1].seconds;
    if (!s && wsum > 0) {
        r->model.nll = sum_m / wsum;
        r->model.ppl = exp(r->model.nll);
        if (ns > 1) {
            r->have_base = 1;
            r->base.nll = sum_b / wsum;
            r->base.ppl = exp(r->base.nll);
            r->kld_mean = kl_sum / (double)scored;
            r->top1 = (double)agree_n / (double)scored;
        }
        r->tokens_per_s = r->seconds > 0 ? (double)fwd * ns / r->seconds : 0;
    }
    for (int i = 0; i < ns; i++)
        if (sd[i].h)
            be->close(sd[i].h);
    free(ids);
    free(tgt);
    free(lens);
    free(rows);
    free(nll_a);
    free(nll_b);
    free(kl);
    free(agree);
    r->peak_rss = hx_peak_rss();
    return s;
}
