/* quant.c - the scalar quantizer: optimal k-level quantization of a sorted,
 * weighted point set (1-D k-means).
 *
 * In one dimension the optimal clusters are contiguous runs of the sorted
 * points, so the optimum is a dynamic programme over split points:
 *   D[m][j] = min_{i<j} D[m-1][i] + cost(i, j),
 * cost(i, j) = sum w x^2 - (sum w x)^2 / sum w over points [i, j), O(1) from
 * prefix sums. The optimal split index is monotone in j, so each row is
 * solved by divide and conquer in O(n log n): O(k n log n) overall
 * (hxq_fit_exact). For speed on large point sets, hxq_fit_fast merges the
 * points into at most `groups` runs (bounded both in weight and in value
 * span, so sparse tails keep their resolution), solves the DP exactly on
 * those, then runs Lloyd iterations on the full point set to a fixed point.
 * Values are shifted by their weighted mean before the prefix sums to keep
 * the cancellation in cost() small. */
#include "codec/hxq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double *W, *S1, *S2; /* prefix sums, n+1 entries */
    double shift;
} prefix;

static void prefix_build(prefix *pf, const hxq_point *p, size_t n)
{
    double tw = 0, ts = 0;
    for (size_t i = 0; i < n; i++) {
        tw += p[i].w;
        ts += p[i].s1;
    }
    pf->shift = tw > 0 ? ts / tw : 0;
    pf->W = hx_malloc((n + 1) * sizeof(double));
    pf->S1 = hx_malloc((n + 1) * sizeof(double));
    pf->S2 = hx_malloc((n + 1) * sizeof(double));
    pf->W[0] = pf->S1[0] = pf->S2[0] = 0;
    double sh = pf->shift;
    for (size_t i = 0; i < n; i++) {
        double s1 = p[i].s1 - p[i].w * sh;
        double s2 = p[i].s2 - 2 * sh * p[i].s1 + p[i].w * sh * sh;
        pf->W[i + 1] = pf->W[i] + p[i].w;
        pf->S1[i + 1] = pf->S1[i] + s1;
        pf->S2[i + 1] = pf->S2[i] + s2;
    }
}

static void prefix_free(prefix *pf)
{
    free(pf->W);
    free(pf->S1);
    free(pf->S2);
}

static inline double cost(const prefix *pf, size_t i, size_t j)
{
    double w = pf->W[j] - pf->W[i];
    if (w <= 0)
        return 0;
    double s = pf->S1[j] - pf->S1[i];
    double c = (pf->S2[j] - pf->S2[i]) - s * s / w;
    return c > 0 ? c : 0;
}

typedef struct {
    const prefix *pf;
    const double *prev;
    double *cur;
    uint32_t *arg;
} dprow;

/* cur[j] for j in [jl, jr], optimal i known to lie in [ol, orr]. */
static void dc(dprow *r, size_t jl, size_t jr, size_t ol, size_t orr)
{
    while (jl <= jr) {
        size_t mid = jl + (jr - jl) / 2;
        size_t hi = orr < mid - 1 ? orr : mid - 1;
        double best = INFINITY;
        size_t bi = ol;
        for (size_t i = ol; i <= hi; i++) {
            double v = r->prev[i] + cost(r->pf, i, mid);
            if (v < best) {
                best = v;
                bi = i;
            }
        }
        r->cur[mid] = best;
        r->arg[mid] = (uint32_t)bi;
        /* recurse on the smaller side, loop on the other */
        if (mid - jl < jr - mid) {
            if (mid > jl)
                dc(r, jl, mid - 1, ol, bi);
            jl = mid + 1;
            ol = bi;
        } else {
            if (mid < jr)
                dc(r, mid + 1, jr, bi, orr);
            if (mid == 0)
                break;
            jr = mid - 1;
            orr = bi;
        }
    }
}

static void centroids_from_starts(const hxq_point *p, size_t n, int k, const size_t *st,
                                  double *cent)
{
    for (int j = 0; j < k; j++) {
        size_t a = st[j], b = j + 1 < k ? st[j + 1] : n;
        double w = 0, s = 0;
        for (size_t i = a; i < b; i++) {
            w += p[i].w;
            s += p[i].s1;
        }
        cent[j] = w > 0 ? s / w : p[a].v;
    }
}

int hxq_fit_exact(const hxq_point *p, size_t n, int k, double *cent, size_t *starts)
{
    if (n == 0)
        return 0;
    if ((size_t)k >= n) {
        for (size_t i = 0; i < n; i++) {
            cent[i] = p[i].v;
            if (starts)
                starts[i] = i;
        }
        return (int)n;
    }
    prefix pf;
    prefix_build(&pf, p, n);
    double *prev = malloc((n + 1) * sizeof(double));
    double *cur = malloc((n + 1) * sizeof(double));
    uint32_t *arg = malloc((size_t)k * (n + 1) * sizeof(uint32_t));
    size_t *st = malloc((size_t)k * sizeof(size_t));
    if (!prev || !cur || !arg || !st) {
        free(prev);
        free(cur);
        free(arg);
        free(st);
        prefix_free(&pf);
        return -1;
    }
    for (size_t j = 0; j <= n; j++) {
        prev[j] = cost(&pf, 0, j);
        arg[j] = 0;
    }
    for (int m = 2; m <= k; m++) {
        /* m clusters over the first j points need j >= m */
        for (size_t j = 0; j < (size_t)m; j++)
            cur[j] = INFINITY;
        dprow r = {&pf, prev, cur, arg + (size_t)(m - 1) * (n + 1)};
        dc(&r, (size_t)m, n, (size_t)m - 1, n - 1);
        double *t = prev;
        prev = cur;
        cur = t;
    }
    size_t j = n;
    for (int m = k; m >= 1; m--) {
        size_t i = m > 1 ? arg[(size_t)(m - 1) * (n + 1) + j] : 0;
        st[m - 1] = i;
        j = i;
    }
    centroids_from_starts(p, n, k, st, cent);
    if (starts)
        memcpy(starts, st, (size_t)k * sizeof(size_t));
    free(prev);
    free(cur);
    free(arg);
    free(st);
    prefix_free(&pf);
    return k;
}

/* Lloyd iterations on sorted points with sorted centroids; clusters are
 * contiguous runs separated at the midpoints between centroids (a value on
 * a midpoint goes to the lower centroid). Stops at a fixed point. */
static void lloyd(const hxq_point *p, size_t n, int k, double *cent, size_t *st, int max_iter)
{
    size_t *ns = malloc((size_t)k * sizeof(size_t));
    if (!ns)
        return;
    for (int it = 0; it < max_iter; it++) {
        size_t i = 0;
        for (int j = 0; j < k; j++) {
            ns[j] = i;
            if (j + 1 < k) {
                double mid = 0.5 * (cent[j] + cent[j + 1]);
                while (i < n && p[i].v <= mid)
                    i++;
            } else {
                i = n;
            }
        }
        int changed = 0;
        for (int j = 0; j < k; j++) {
            size_t a = ns[j], b = j + 1 < k ? ns[j + 1] : n;
            if (b > a) {
                double w = 0, s = 0;
                for (size_t q = a; q < b; q++) {
                    w += p[q].w;
                    s += p[q].s1;
                }
                double c = s / w;
                if (c != cent[j])
                    changed = 1;
                cent[j] = c;
            }
            if (ns[j] != st[j])
                changed = 1;
            st[j] = ns[j];
        }
        if (!changed)
            break;
    }
    free(ns);
}

int hxq_fit_fast(const hxq_point *p, size_t n, int k, size_t groups, int max_iter, double *cent,
                 size_t *starts)
{
    if (n == 0)
        return 0;
    if ((size_t)k >= n || n <= groups)
        return hxq_fit_exact(p, n, k, cent, starts);
    double tw = 0;
    for (size_t i = 0; i < n; i++)
        tw += p[i].w;
    double wcap = tw / (double)groups * 2.0;
    double span = (p[n - 1].v - p[0].v) / (double)groups * 2.0;
    hxq_point *g = malloc((2 * groups + 2) * sizeof *g);
    size_t *gfirst = malloc((2 * groups + 2) * sizeof *gfirst);
    if (!g || !gfirst) {
        free(g);
        free(gfirst);
        return -1;
    }
    size_t ng = 0;
    for (size_t i = 0; i < n;) {
        hxq_point a = p[i];
        double v0 = p[i].v;
        gfirst[ng] = i;
        i++;
        while (i < n && a.w + p[i].w <= wcap && p[i].v - v0 <= span) {
            a.w += p[i].w;
            a.s1 += p[i].s1;
            a.s2 += p[i].s2;
            i++;
        }
        a.v = a.s1 / a.w;
        if (ng == 2 * groups + 1) { /* cannot happen with the caps above; be safe */
            g[ng - 1].w += a.w;
            g[ng - 1].s1 += a.s1;
            g[ng - 1].s2 += a.s2;
            g[ng - 1].v = g[ng - 1].s1 / g[ng - 1].w;
            continue;
        }
        g[ng++] = a;
    }
    size_t *gst = malloc((size_t)k * sizeof(size_t));
    size_t *st = malloc((size_t)k * sizeof(size_t));
    int used = gst && st ? hxq_fit_exact(g, ng, k, cent, gst) : -1;
    if (used > 0) {
        for (int j = 0; j < used; j++)
            st[j] = gfirst[gst[j]];
        lloyd(p, n, used, cent, st, max_iter);
        if (starts)
            memcpy(starts, st, (size_t)used * sizeof(size_t));
    }
    free(gst);
    free(st);
    free(g);
    free(gfirst);
    return used;
}

double hxq_points_sse(const hxq_point *p, size_t n, const double *cent, int k)
{
    double sse = 0;
    int j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j + 1 < k && p[i].v > 0.5 * (cent[j] + cent[j + 1]))
            j++;
        double c = cent[j];
        /* sum over the point's elements of (x - c)^2 */
        double e = p[i].s2 - 2 * c * p[i].s1 + c * c * p[i].w;
        sse += e > 0 ? e : 0;
    }
    return sse;
}
