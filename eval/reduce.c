/* reduce.c - the logits reduction of the evaluation, one vocabulary block
 * at a time: running max and sum of exp (rescaled when the max grows) give
 * log-sum-exp; KL(base || model) = E_b[b - a] - lse(b) + lse(a), where
 * E_b[b - a] is accumulated with the same rescaling; the argmax keeps the
 * lowest index on ties. The exponentials are hx_exp_nonpos_d's (double,
 * vectorized), summed in double in a fixed 16-lane order per row (element
 * i in lane i % 16), so results depend neither on the thread count nor on
 * the vector width. */
#include "common/parallel.h"
#include "eval/backend_internal.h"
#include "model/fastmath.h"

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

/* max of x[0, n) (exact whatever the order: a vectorized pass), and
 * *at, its first index */
HX_MULTIVERSION HX_VECTORIZE static float block_max(const float *x, int n, int *at)
{
    float mx = x[0];
#pragma omp simd reduction(max : mx)
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    int a = 0;
    while (a < n && x[a] != mx) /* none equal: x[0] is a NaN */
        a++;
    *at = a < n ? a : 0;
    return mx;
}

/* sum of e^(x[i] - m) over [0, n), x[i] <= m */
HX_MULTIVERSION HX_VECTORIZE static double sum_exp(const float *x, int n, float m)
{
    double acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += hx_exp_nonpos_d((double)x[i + l] - m);
    for (int l = 0; i + l < n; l++)
        acc[l] += hx_exp_nonpos_d((double)x[i + l] - m);
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

/* *sum += sum of e^(b[i] - m), *u += sum of e^(b[i] - m) (b[i] - a[i]) */
HX_MULTIVERSION HX_VECTORIZE static void sum_exp_kl(const float *b, const float *a, int n, float m,
                                                    double *sum, double *u)
{
    double acc[16] = {0}, acu[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) {
            double e = hx_exp_nonpos_d((double)b[i + l] - m);
            acc[l] += e;
            acu[l] += e * ((double)b[i + l] - a[i + l]);
        }
    for (int l = 0; i + l < n; l++) {
        double e = hx_exp_nonpos_d((double)b[i + l] - m);
        acc[l] += e;
        acu[l] += e * ((double)b[i + l] - a[i + l]);
    }
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) {
            acc[l] += acc[l + w];
            acu[l] += acu[l + w];
        }
    *sum += acc[0];
    *u += acu[0];
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
        s->sa += sum_exp(a, V, s->ma);
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
        sum_exp_kl(b, a, V, s->mb, &s->sb, &s->u);
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
