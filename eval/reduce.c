/* reduce.c - the logits reduction of the evaluation, one vocabulary block
 * at a time: running max and sum of exp (rescaled when the max grows) give
 * log-sum-exp; KL(base || model) = E_b[b - a] - lse(b) + lse(a), where
 * E_b[b - a] is accumulated with the same rescaling; the argmax keeps the
 * lowest index on ties. Sums are in double, in vocabulary order per row,
 * so results do not depend on the thread count. */
#include "common/parallel.h"
#include "eval/backend.h"

#include <math.h>

void hx_reduce_init(hx_row_state *s, int n)
{
    for (int r = 0; r < n; r++)
        s[r] = (hx_row_state){-INFINITY, -INFINITY, 0, 0, -1, -1, 0, 0, 0};
}

struct red_ctx {
    hx_row_state *s;
    const float *A, *B;
    int v0, v1;
    const int32_t *tgt;
};

/* fold x[0, n) into running max *m, sum *sum (and argmax *am) */
static float block_max(const float *x, int n, int *at)
{
    float mx = x[0];
    int a = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > mx) {
            mx = x[i];
            a = i;
        }
    *at = a;
    return mx;
}

static void red_fn(void *vc, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct red_ctx *c = vc;
    int V = c->v1 - c->v0;
    for (uint64_t r = r0; r < r1; r++) {
        hx_row_state *s = &c->s[r];
        const float *a = c->A + r * (size_t)V, *b = c->B ? c->B + r * (size_t)V : NULL;
        int at;
        float mx = block_max(a, V, &at);
        if (mx > s->ma) {
            s->sa *= exp((double)s->ma - mx);
            s->ma = mx;
            s->aa = c->v0 + at;
        }
        double sa = 0;
        for (int i = 0; i < V; i++)
            sa += exp((double)a[i] - s->ma);
        s->sa += sa;
        int t = c->tgt[r] - c->v0;
        if (t >= 0 && t < V)
            s->ta = a[t], s->tb = b ? b[t] : 0;
        if (!b)
            continue;
        mx = block_max(b, V, &at);
        if (mx > s->mb) {
            double f = exp((double)s->mb - mx);
            s->sb *= f;
            s->u *= f;
            s->mb = mx;
            s->ab = c->v0 + at;
        }
        double sb = 0, u = 0;
        for (int i = 0; i < V; i++) {
            double e = exp((double)b[i] - s->mb);
            sb += e;
            u += e * ((double)b[i] - a[i]);
        }
        s->sb += sb;
        s->u += u;
    }
}

void hx_reduce_block(hx_row_state *s, int n, const float *A, const float *B, int v0, int v1,
                     const int32_t *tgt, int threads)
{
    struct red_ctx c = {s, A, B, v0, v1, tgt};
    hx_parallel_blocks(threads, (uint64_t)n, 4, red_fn, &c);
}

void hx_reduce_finish(const hx_row_state *s, int n, int have_base, double *nll_a, double *nll_b,
                      double *kl, int *agree)
{
    for (int r = 0; r < n; r++) {
        double za = s[r].ma + log(s[r].sa);
        nll_a[r] = za - s[r].ta;
        if (!have_base)
            continue;
        double zb = s[r].mb + log(s[r].sb);
        nll_b[r] = zb - s[r].tb;
        kl[r] = s[r].u / s[r].sb - zb + za;
        agree[r] = s[r].aa == s[r].ab;
    }
}
