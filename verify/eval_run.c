/* eval_run.c - runs an evaluation plan: for each window the model (and the
 * base model, in lockstep) is fed the window's ids from an empty cache, the
 * scored rows' logits are computed in small chunks (never the whole window
 * at once, never stored), and per-row NLL, KL(base || model) and top-1
 * agreement are reduced in row order (results independent of threads). */
#include "common/parallel.h"
#include "verify/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 128

struct rows_ctx {
    const float *lm, *lb; /* [ROWS, V] logits: model, base (or NULL) */
    const int32_t *tgt;
    int V;
    double *nll_m, *nll_b, *kl;
    int *agree;
};

static double lse(const float *x, int V, int *amax)
{
    float mx = x[0];
    int am = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > mx) {
            mx = x[i];
            am = i;
        }
    double s = 0;
    for (int i = 0; i < V; i++)
        s += exp((double)x[i] - mx);
    *amax = am;
    return mx + log(s);
}

static void rows_fn(void *vc, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct rows_ctx *c = vc;
    for (uint64_t r = r0; r < r1; r++) {
        const float *a = c->lm + r * (size_t)c->V;
        int am, ab;
        double za = lse(a, c->V, &am);
        c->nll_m[r] = za - a[c->tgt[r]];
        if (!c->lb)
            continue;
        const float *b = c->lb + r * (size_t)c->V;
        double zb = lse(b, c->V, &ab);
        c->nll_b[r] = zb - b[c->tgt[r]];
        double kl = 0;
        for (int i = 0; i < c->V; i++) {
            double lpb = b[i] - zb, lpa = a[i] - za;
            kl += exp(lpb) * (lpb - lpa);
        }
        c->kl[r] = kl;
        c->agree[r] = am == ab;
    }
}

static hx_status cpu_forward(void *side, const int32_t *ids, int n, float *hidden)
{
    hx_model_reset(side);
    return hx_model_forward(side, ids, n, hidden);
}

static hx_status cpu_logits(void *side, const float *hidden, int rows, float *logits)
{
    hx_model_logits(side, hidden, rows, logits);
    return HX_OK;
}

static const hx_eval_ops cpu_ops = {"cpu", cpu_forward, cpu_logits};

hx_status hx_eval_run(hx_model *model, hx_model *base, const hx_eval_plan *p, hx_eval_result *r)
{
    return hx_eval_run_ops(&cpu_ops, model, hx_model_cfg(model), base,
                           base ? hx_model_cfg(base) : NULL, p, r);
}

hx_status hx_eval_run_ops(const hx_eval_ops *ops, void *model, const hx_model_config *c, void *base,
                          const hx_model_config *bc, const hx_eval_plan *p, hx_eval_result *r)
{
    memset(r, 0, sizeof *r);
    r->device = ops->device;
    int V = c->vocab, D = c->dim, threads = hx_ncpus();
    if (base && bc->vocab != V)
        return HX_FAIL(HX_EINVAL, "model and base have different vocabularies (%d, %d)", V,
                       bc->vocab);
    int Db = base ? bc->dim : 0;
    float *hm = hx_malloc((size_t)p->max_len * D * sizeof(float));
    float *hb = base ? hx_malloc((size_t)p->max_len * Db * sizeof(float)) : NULL;
    float *lm = hx_malloc((size_t)ROWS * V * sizeof(float));
    float *lb = base ? hx_malloc((size_t)ROWS * V * sizeof(float)) : NULL;
    double nll_m[ROWS], nll_b[ROWS], kl[ROWS];
    int agree[ROWS];
    double sum_m = 0, sum_b = 0, wsum = 0, kl_sum = 0;
    long agree_n = 0, scored = 0;
    hx_status st = HX_OK;
    hx_progress pr;
    hx_progress_start(&pr, "eval", (uint64_t)p->n_windows);
    double t_start = hx_now();
    for (long w = 0; w < p->n_windows && !st; w++) {
        const hx_window *win = &p->w[w];
        double t0 = hx_now();
        st = ops->forward(model, p->ids + win->begin, win->n, hm);
        double t1 = hx_now();
        r->model.seconds += t1 - t0;
        if (!st && base) {
            st = ops->forward(base, p->ids + win->begin, win->n, hb);
            r->base.seconds += hx_now() - t1;
        }
        double wm = 0, wb = 0;
        for (int s = win->s0; s < win->s1 && !st; s += ROWS) {
            int rows = win->s1 - s < ROWS ? win->s1 - s : ROWS;
            double ta = hx_now();
            st = ops->logits(model, hm + (size_t)s * D, rows, lm);
            double tb = hx_now();
            r->model.seconds += tb - ta;
            if (!st && base) {
                st = ops->logits(base, hb + (size_t)s * Db, rows, lb);
                r->base.seconds += hx_now() - tb;
            }
            if (st)
                break;
            struct rows_ctx rc = {lm, lb, p->ids + win->begin + s + 1, V, nll_m, nll_b, kl, agree};
            hx_parallel_blocks(threads, (uint64_t)rows, 4, rows_fn, &rc);
            for (int i = 0; i < rows; i++) {
                wm += nll_m[i];
                if (base) {
                    wb += nll_b[i];
                    kl_sum += kl[i];
                    agree_n += agree[i];
                }
            }
        }
        int k = win->s1 - win->s0;
        if (k > 0) {
            sum_m += wm / k * win->weight;
            sum_b += wb / k * win->weight;
            wsum += win->weight;
        }
        scored += k;
        r->n_windows_done++;
        hx_progress_add(&pr, 1);
    }
    hx_progress_end(&pr);
    r->seconds = hx_now() - t_start;
    r->n_scored_done = scored;
    if (!st && wsum > 0) {
        r->model.nll = sum_m / wsum;
        r->model.ppl = exp(r->model.nll);
        if (base) {
            r->have_base = 1;
            r->base.nll = sum_b / wsum;
            r->base.ppl = exp(r->base.nll);
            r->kld_mean = kl_sum / (double)scored;
            r->top1 = (double)agree_n / (double)scored;
        }
        long fwd = 0;
        for (long w = 0; w < r->n_windows_done; w++)
            fwd += p->w[w].n;
        r->tokens_per_s = r->seconds > 0 ? (double)fwd * (base ? 2 : 1) / r->seconds : 0;
    }
    free(hm);
    free(hb);
    free(lm);
    free(lb);
    return st;
}
