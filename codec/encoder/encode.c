/* encode.c - hxq_encode (encoder.h): HXQ encoding of one 2-D tensor.
 *
 * 1. Histogram. BF16/F16 sources: a count per 16-bit pattern (every value
 *    of the tensor is one of them, so the fit below is on the exact value
 *    distribution), one count array per thread. F32 sources: buckets on the
 *    top 16 bits of the pattern for the fit and on the top 20 bits for the
 *    final refit (refit_fine), each with count, sum and sum of squares of
 *    its exact values; tensors of up to 2^18 values are sorted exactly
 *    instead (the distinct values are the fine points).
 * 2. Points: buckets in ascending value order, +0/-0 merged, non-finite
 *    values refused.
 * 3. Fit: the quantizer of quant.c on the points that the sidecar does not
 *    cover. The sidecar starts as the values farthest from the mean; then
 *    codebook refit and reselection by largest error alternate while the
 *    error drops by more than 0.1%. In --compat-0.3.3 mode the codebook is
 *    fitted on all values and the sidecar is 0.3.3's: two-tailed percentile
 *    outliers, the `cap` largest |w|, fp16 values. F32 sources: the codebook
 *    is then refitted on the fine points (refit_fine).
 * 4. Index pass (parallel over fixed blocks, reduced in block order, so the
 *    output is identical for any thread count): index per element via a
 *    64K lookup table (16-bit sources) or a binary search over centroid
 *    midpoints (F32), collecting sidecar positions and values in order. In
 *    the compress path the source pages are dropped behind it.
 * 5. Statistics: from the histogram for 16-bit sources (exact, no extra
 *    pass); one more pass for F32 sources. */
#include "codec/encoder/encoder_internal.h"
#include "common/parallel.h"

#include <math.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK (1u << 20) /* elements per parallel block */
#define NKEYS 65536
#define FINE_BITS 20 /* F32: buckets on the top 20 bits for the final refit */
#define NFINE (1u << FINE_BITS)
#define SMALL_F32 (1u << 18)              /* F32 tensors up to this size are sorted exactly */
#define PREFAULT_MAX ((size_t)16 << 20) /* index bytes prefaulted during the fit */

void hxq_params_default(hxq_params *p)
{
    memset(p, 0, sizeof *p);
    p->k = HXQ_K_MAX;
    p->sidecar_fraction = HXQ_DEFAULT_SIDECAR_FRACTION;
    p->compat_percentile = 99.9;
    p->compat_cap = 512;
    p->threads = 1;
    p->fit = HXQ_FIT_FAST;
}

void hxq_encoded_free(hxq_encoded *e)
{
    if (!e)
        return;
    free(e->indices);
    free(e->sc_pos);
    free(e->sc_val);
    e->indices = NULL;
    e->sc_pos = NULL;
    e->sc_val = NULL;
}

static inline uint16_t load16(const unsigned char *s, uint64_t i)
{
    uint16_t h;
    memcpy(&h, s + 2 * i, 2);
    return h;
}

static inline float loadf(const unsigned char *s, uint64_t i)
{
    float f;
    memcpy(&f, s + 4 * i, 4);
    return f;
}

static inline float key_value(hx_dtype dt, uint16_t key)
{
    return dt == HX_DT_F16 ? hx_f16_to_f32(key) : hx_bf16_to_f32(key);
}

/* ------------------------------------------------------------ histogram */
/* 16-bit: one pair of count arrays per thread over a contiguous share of
 * the tensor (integer counts: the total does not depend on the split). Two
 * interleaved arrays hide store-to-load forwarding stalls on runs of equal
 * values. */
typedef struct {
    const unsigned char *src;
    uint32_t *counts; /* threads x 2 x NKEYS */
} h16_ctx;

static void h16_range(void *vctx, int t, uint64_t lo, uint64_t hi)
{
    h16_ctx *c = vctx;
    uint32_t *h = c->counts + (size_t)t * 2 * NKEYS, *h2 = h + NKEYS;
    memset(h, 0, 2 * NKEYS * sizeof *h);
    uint64_t i = lo;
    if (((uintptr_t)c->src & 1) == 0) {
        const uint16_t *p16 = (const uint16_t *)(const void *)c->src;
        for (; i + 4 <= hi; i += 4) {
            h[p16[i]]++;
            h2[p16[i + 1]]++;
            h[p16[i + 2]]++;
            h2[p16[i + 3]]++;
        }
    }
    for (; i < hi; i++)
        h[load16(c->src, i)]++;
}

static void hist16(const unsigned char *src, uint64_t n, int threads, uint64_t *hist)
{
    /* a share of less than 1M elements is not worth a thread */
    uint64_t maxt = n >> 20 ? n >> 20 : 1;
    if ((uint64_t)threads > maxt)
        threads = (int)maxt;
    /* hx_parallel_ranges runs at most HX_PARALLEL_MAX_RANGES shares: more
     * arrays would be summed without ever being counted into (or cleared) */
    if (threads > HX_PARALLEL_MAX_RANGES)
        threads = HX_PARALLEL_MAX_RANGES;
    /* counts per thread fit in 32 bits: shares are below 2^32 elements */
    while ((n + (uint64_t)threads - 1) / (uint64_t)threads >= (1ull << 32) / 2)
        threads++;
    uint32_t *counts = hx_malloc((size_t)threads * 2 * NKEYS * sizeof *counts);
    h16_ctx c = {src, counts};
    hx_parallel_ranges(threads, n, h16_range, &c);
    memset(hist, 0, NKEYS * sizeof *hist);
    for (int t = 0; t < 2 * threads; t++)
        for (size_t k = 0; k < NKEYS; k++)
            hist[k] += counts[(size_t)t * NKEYS + k];
    free(counts);
}

/* F32 buckets: key = top FINE_BITS bits of the pattern. Per bucket count,
 * sum and sum of squares of the exact values, accumulated per block in
 * waves and reduced in block order (thread-count independent). */
typedef struct {
    const unsigned char *src;
    uint32_t *cnt;
    double *s1, *s2;
} h32_ctx;

static void h32_block(void *vctx, uint64_t b, uint64_t lo, uint64_t hi)
{
    h32_ctx *c = vctx;
    uint32_t *cn = c->cnt + (size_t)b * NFINE;
    double *s1 = c->s1 + (size_t)b * NFINE, *s2 = c->s2 + (size_t)b * NFINE;
    memset(cn, 0, NFINE * sizeof *cn);
    memset(s1, 0, NFINE * sizeof *s1);
    memset(s2, 0, NFINE * sizeof *s2);
    for (uint64_t i = lo; i < hi; i++) {
        uint32_t u;
        memcpy(&u, c->src + 4 * i, 4);
        float f;
        memcpy(&f, &u, 4);
        uint32_t k = u >> (32 - FINE_BITS);
        cn[k]++;
        s1[k] += f;
        s2[k] += (double)f * f;
    }
}

static void hist32(const unsigned char *src, uint64_t n, int threads, uint64_t *cnt, double *s1,
                   double *s2)
{
    memset(cnt, 0, NFINE * sizeof *cnt);
    memset(s1, 0, NFINE * sizeof *s1);
    memset(s2, 0, NFINE * sizeof *s2);
    uint64_t nblocks = (n + BLOCK - 1) / BLOCK;
    uint64_t wave = (uint64_t)threads;
    uint32_t *bc = hx_malloc((size_t)wave * NFINE * sizeof *bc);
    double *b1 = hx_malloc((size_t)wave * NFINE * sizeof *b1);
    double *b2 = hx_malloc((size_t)wave * NFINE * sizeof *b2);
    for (uint64_t b0 = 0; b0 < nblocks; b0 += wave) {
        uint64_t nb = nblocks - b0 < wave ? nblocks - b0 : wave;
        uint64_t lo = b0 * BLOCK, hi = (b0 + nb) * BLOCK;
        if (hi > n)
            hi = n;
        h32_ctx c = {src + 4 * lo, bc, b1, b2};
        hx_parallel_blocks(threads, hi - lo, BLOCK, h32_block, &c);
        for (uint64_t b = 0; b < nb; b++)
            for (size_t k = 0; k < NFINE; k++) {
                uint32_t cc = bc[(size_t)b * NFINE + k];
                if (!cc)
                    continue;
                cnt[k] += cc;
                s1[k] += b1[(size_t)b * NFINE + k];
                s2[k] += b2[(size_t)b * NFINE + k];
            }
    }
    free(bc);
    free(b1);
    free(b2);
}

/* F32: the fine buckets that are non-empty, in ascending value order, each
 * tagged with its 16-bit bucket (for the sidecar selection). */
typedef struct {
    hxq_point *p;
    uint32_t *coarse;
    size_t n;
} finepoints;

static void build_fine(const uint64_t *cnt, const double *s1, const double *s2, finepoints *fp)
{
    size_t m = 0;
    for (size_t k = 0; k < NFINE; k++)
        m += cnt[k] != 0;
    fp->p = hx_malloc((m ? m : 1) * sizeof *fp->p);
    fp->coarse = hx_malloc((m ? m : 1) * sizeof *fp->coarse);
    fp->n = 0;
    const uint32_t half = NFINE / 2;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t t = 0; t < half; t++) {
            uint32_t key = pass == 0 ? NFINE - 1 - t : t;
            if (!cnt[key])
                continue;
            double w = (double)cnt[key];
            fp->p[fp->n] = (hxq_point){w, s1[key], s2[key], s1[key] / w};
            fp->coarse[fp->n] = key >> (FINE_BITS - 16);
            fp->n++;
        }
}

static int cmp_f32(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Small F32 tensors: sort the values; each distinct value is a fine point,
 * aggregated into the 16-bit buckets (cnt/s1/s2) as well. */
static void exact_fine(const unsigned char *src, uint64_t n, uint64_t *cnt, double *s1, double *s2,
                       finepoints *fp)
{
    float *v = hx_malloc(n * sizeof *v);
    memcpy(v, src, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_f32);
    fp->p = hx_malloc(n * sizeof *fp->p);
    fp->coarse = hx_malloc(n * sizeof *fp->coarse);
    fp->n = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = v[i];
        uint32_t u;
        memcpy(&u, &v[i], 4);
        uint32_t key = u >> 16;
        if (x == 0)
            key = 0; /* -0 and +0 are one value */
        cnt[key]++;
        s1[key] += x;
        s2[key] += x * x;
        if (fp->n && fp->p[fp->n - 1].v == x) {
            hxq_point *q = &fp->p[fp->n - 1];
            q->w += 1;
            q->s1 += x;
            q->s2 += x * x;
            continue;
        }
        fp->p[fp->n] = (hxq_point){1, x, x * x, x};
        fp->coarse[fp->n] = key;
        fp->n++;
    }
    free(v);
}

/* ---------------------------------------------------------------- points */
/* Keys in ascending value order: negative patterns from the most negative
 * (0xFFFF side) down to -0, then +0 upwards. Non-finite keys are skipped
 * (and refused by the caller if present). */
static int key_finite(hx_dtype dt, uint16_t key)
{
    if (dt == HX_DT_F16)
        return (key & 0x7c00) != 0x7c00;
    return (key & 0x7f80) != 0x7f80; /* BF16 and F32 top halves */
}

typedef struct {
    hxq_point *p;
    size_t n;
    int32_t *pt_of_key; /* key -> point index, -1 if empty */
} pointset;

static void build_points(hx_dtype dt, const uint64_t *cnt, const double *s1, const double *s2,
                         pointset *ps)
{
    ps->p = hx_malloc(NKEYS * sizeof *ps->p);
    ps->pt_of_key = hx_malloc(NKEYS * sizeof *ps->pt_of_key);
    for (size_t k = 0; k < NKEYS; k++)
        ps->pt_of_key[k] = -1;
    ps->n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < 32768; t++) {
            uint16_t key = pass == 0 ? (uint16_t)(0xFFFF - t) : (uint16_t)t;
            if (!cnt[key] || !key_finite(dt, key))
                continue;
            double w = (double)cnt[key], a, b;
            if (s1) {
                a = s1[key];
                b = s2[key];
            } else {
                double v = key_value(dt, key);
                a = w * v;
                b = w * v * v;
            }
            double v = a / w;
            if (ps->n && ps->p[ps->n - 1].v == v && !s1) { /* -0 and +0 */
                hxq_point *q = &ps->p[ps->n - 1];
                q->w += w;
                q->s1 += a;
                q->s2 += b;
            } else {
                ps->p[ps->n++] = (hxq_point){w, a, b, v};
            }
            ps->pt_of_key[key] = (int32_t)(ps->n - 1);
        }
    }
}

/* ------------------------------------------------------------------ fit */
static int fit(const hxq_params *prm, const hxq_point *p, size_t n, double *cent)
{
    if (prm->fit == HXQ_FIT_EXACT)
        return hxq_fit_exact(p, n, prm->k, cent, NULL);
    return hxq_fit_fast(p, n, prm->k, 30, cent, NULL);
}

/* F32: the fit on the fine points, from the codebook fitted on the 16-bit
 * buckets. That codebook's boundaries can only sit on 16-bit bucket edges
 * (a few buckets per level where the levels are dense), which misplaces
 * levels between regions of the distribution by up to a few clusters; a
 * Lloyd polish only moves them back locally (it left 1.002-1.048x of the
 * exact optimum). Instead: the windowed exact DP (quant.c) on the 20-bit
 * buckets, each boundary's window reaching the boundaries two clusters away
 * (repeated while a boundary stops on a window edge), then once more with
 * four (the wider window from the start can stop in a worse local optimum;
 * from the first result it finds the rest); for small tensors, whose fine
 * points are the distinct values, then the same DP on those within +-12
 * values. With the final exact means, measured 1.00000-1.00013x of the
 * exact optimum over the distinct values (normal, Student-t, bimodal),
 * for 8-17 ms more than the Lloyd polish took (50 ms less at 2^18 values).
 * --exact-fit: the exact DP on the fine points. */
static int refine_24(const hxq_point *p, size_t n, int k, double *cent)
{
    int u = hxq_fit_refine(p, n, k, cent, 2);
    return u == k ? hxq_fit_refine(p, n, k, cent, 4) : u;
}

static int refit_fine(const hxq_params *prm, hxq_point *p, size_t n, int distinct, int k,
                      double *cent)
{
    if (prm->fit == HXQ_FIT_EXACT)
        return hxq_fit_exact(p, n, k, cent, NULL);
    if (!distinct)
        return refine_24(p, n, k, cent);
    /* the distinct values merged by the top FINE_BITS bits of their pattern
     * (runs of equal keys are contiguous in value order) */
    hxq_point *b = hx_malloc((n ? n : 1) * sizeof *b);
    size_t m = 0, run = 0;
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        float f = (float)p[i].v;
        uint32_t u;
        memcpy(&u, &f, 4);
        u >>= 32 - FINE_BITS;
        if (m && u == last) {
            b[m - 1].w += p[i].w;
            b[m - 1].s1 += p[i].s1;
            b[m - 1].s2 += p[i].s2;
            run++;
            continue;
        }
        if (run)
            b[m - 1].v = b[m - 1].s1 / b[m - 1].w;
        b[m++] = p[i];
        last = u;
        run = 0;
    }
    if (run)
        b[m - 1].v = b[m - 1].s1 / b[m - 1].w;
    int u = refine_24(b, m, k, cent);
    free(b);
    if (u != k)
        return u;
    return hxq_fit_warm(p, n, k, cent, 12);
}

/* index of the nearest centroid (ties -> lower) for a sorted codebook */
static inline int nearest(const double *cent, int k, double v)
{
    int lo = 0, hi = k - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v <= 0.5 * (cent[mid] + cent[mid + 1]))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static double point_err(const hxq_point *p, double c)
{
    double e = p->s2 - 2 * c * p->s1 + c * c * p->w;
    return e > 0 ? e : 0;
}

/* Optimal-mode sidecar: choose points (whole, plus at most one partial)
 * with the largest per-element error, alternating with the fit. Writes
 * take[i] = elements of point i in the sidecar. Returns the sidecar count. */
typedef struct {
    size_t i;
    double e;
} perr;

static int cmp_perr(const void *a, const void *b)
{
    const perr *x = a, *y = b;
    if (x->e != y->e)
        return x->e > y->e ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

static uint64_t select_sidecar(const hxq_params *prm, const pointset *ps, uint64_t budget,
                               double *cent, int *used, uint64_t *take)
{
    size_t n = ps->n;
    hxq_point *rest = hx_malloc((n ? n : 1) * sizeof *rest);
    uint64_t *cur = hx_calloc(n ? n : 1, sizeof *cur);
    perr *order = hx_malloc((n ? n : 1) * sizeof *order);
    double best_obj = INFINITY;
    uint64_t best_total = 0;
    double c_try[HXQ_K_MAX];
    memset(take, 0, n * sizeof *take);
    *used = 0;
    if (budget == 0) {
        *used = fit(prm, ps->p, n, cent);
        goto done;
    }
    double tw = 0, ts = 0;
    for (size_t i = 0; i < n; i++) {
        tw += ps->p[i].w;
        ts += ps->p[i].s1;
    }
    double mean = tw > 0 ? ts / tw : 0;
    for (int round = 0; round < 12; round++) {
        /* per-element error of each point: against the current codebook, or
         * in the first round, distance from the mean (the extremes first;
         * the rounds then trade them for whatever the codebook codes worst) */
        int kk = *used;
        for (size_t i = 0; i < n; i++) {
            double c = round == 0 ? mean : cent[nearest(cent, kk, ps->p[i].v)];
            order[i].i = i;
            order[i].e = point_err(&ps->p[i], c) / ps->p[i].w;
        }
        qsort(order, n, sizeof *order, cmp_perr);
        memset(cur, 0, n * sizeof *cur);
        uint64_t left = budget, total = 0;
        for (size_t r = 0; r < n && left; r++) {
            const hxq_point *q = &ps->p[order[r].i];
            if (order[r].e <= 0)
                break;
            uint64_t w = (uint64_t)q->w;
            uint64_t t = w <= left ? w : left;
            cur[order[r].i] = t;
            left -= t;
            total += t;
            if (t < w)
                break; /* the one partial point */
        }
        /* fit on what the sidecar leaves */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t w = (uint64_t)ps->p[i].w - cur[i];
            if (!w)
                continue;
            double f = (double)w / ps->p[i].w;
            rest[m++] = (hxq_point){(double)w, ps->p[i].s1 * f, ps->p[i].s2 * f, ps->p[i].v};
        }
        int u;
        /* the first round fits from scratch; later rounds move little: warm
         * start from the best codebook so far */
        if (prm->fit == HXQ_FIT_EXACT || *used < prm->k || round == 0) {
            u = fit(prm, rest, m, c_try);
        } else {
            memcpy(c_try, cent, (size_t)*used * sizeof *c_try);
            u = hxq_fit_warm(rest, m, *used, c_try, 12);
        }
        if (u <= 0)
            break;
        double obj = hxq_points_sse(rest, m, c_try, u);
        hx_debug("sidecar round %d: %llu entries, sse %.9g", round, (unsigned long long)total, obj);
        if (obj < best_obj) {
            int small_gain = obj > best_obj * 0.999;
            best_obj = obj;
            best_total = total;
            memcpy(take, cur, n * sizeof *take);
            memcpy(cent, c_try, (size_t)u * sizeof *cent);
            *used = u;
            if (small_gain)
                break;
        } else {
            break;
        }
    }
done:
    free(rest);
    free(cur);
    free(order);
    return best_total;
}

/* -------------------------------------------------------- percentile (compat) */
/* numpy's default "linear" percentile of the whole tensor. The order
 * statistics come from the points (16-bit) or an exact collection pass
 * (F32 buckets). */
typedef struct {
    const unsigned char *src;
    uint64_t n;
    hx_dtype dt;
    const pointset *ps;
} tensor_view;

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* value of rank r (0-based) in sorted order */
static float order_stat(const tensor_view *tv, uint64_t r)
{
    const pointset *ps = tv->ps;
    uint64_t acc = 0;
    for (size_t i = 0; i < ps->n; i++) {
        uint64_t w = (uint64_t)ps->p[i].w;
        if (r < acc + w) {
            if (tv->dt != HX_DT_F32)
                return (float)ps->p[i].v;
            /* F32: collect the values of this point's bucket(s) and sort */
            size_t cap = (size_t)w, m = 0;
            float *vals = hx_malloc(cap * sizeof *vals);
            for (uint64_t e = 0; e < tv->n && m < cap; e++) {
                uint32_t u;
                memcpy(&u, tv->src + 4 * e, 4);
                if (ps->pt_of_key[u >> 16] == (int32_t)i) {
                    float f;
                    memcpy(&f, &u, 4);
                    vals[m++] = f;
                }
            }
            qsort(vals, m, sizeof *vals, cmp_float);
            float out = vals[r - acc];
            free(vals);
            return out;
        }
        acc += w;
    }
    return (float)ps->p[ps->n - 1].v;
}

static double percentile(const tensor_view *tv, double q)
{
    double vi = (q / 100.0) * (double)(tv->n - 1);
    uint64_t lo = (uint64_t)floor(vi);
    uint64_t hi = lo + 1 < tv->n ? lo + 1 : tv->n - 1;
    double g = vi - (double)lo;
    float a = order_stat(tv, lo), b = order_stat(tv, hi);
    float d = b - a;
    return g >= 0.5 ? (double)b - (double)d * (1 - g) : (double)a + (double)d * g;
}

/* ------------------------------------------------------------ index pass */
/* a sidecar candidate: position and exact value (kept together so the
 * source is not read again after the index pass has dropped its pages) */
typedef struct {
    int64_t pos;
    float v;
} scent;

/* The index buffer (one byte per weight) for large tensors: 2 MB aligned
 * with transparent huge pages requested (one fault per 2 MB instead of one
 * per 4 KB); prefaulted by a helper thread while the fit runs, else first
 * touched by the index pass. */
static uint8_t *alloc_indices(uint64_t n, int prefault)
{
    if (n < (1u << 22))
        return malloc(n);
    size_t al = (size_t)2 << 20, sz = ((size_t)n + al - 1) & ~(al - 1);
    void *p = aligned_alloc(al, sz);
    if (!p)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, sz, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
    /* at most PREFAULT_MAX: the rest is touched by the index pass while it
     * drops the source pages behind it, keeping the peak near the source */
    if (prefault)
        madvise(p, sz < PREFAULT_MAX ? sz : PREFAULT_MAX, MADV_POPULATE_WRITE);
#endif
    return p;
}

typedef struct {
    uint64_t n;
    uint8_t *buf;
    int threaded;
} idx_alloc;

int hxq_fault_fit;
unsigned hxq_idx_threads_started, hxq_idx_threads_done;

static void *idx_alloc_run(void *arg)
{
    idx_alloc *a = arg;
    a->buf = alloc_indices(a->n, 1);
    __atomic_fetch_add(&hxq_idx_threads_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

typedef struct {
    const unsigned char *src;
    hx_dtype dt;
    const uint16_t *lut16; /* index | flag << 8 */
    const uint8_t *flag;   /* per key: 1 = sidecar (whole), 2 = partial */
    const double *cent;    /* F32 sources: sorted centroids */
    int k;
    double lo, hi;         /* compat: outlier thresholds (strict) */
    int compat;
    int release;           /* drop source pages after each block (file mappings) */
    uint8_t *idx;
    /* per block outputs */
    scent **pos;
    uint64_t *npos, *cappos;
    scent **ppos;          /* partial-point candidates */
    uint64_t *nppos, *capp;
    double (*acc)[HXQ_K_MAX][2]; /* F32: per block sum and count per index */
} ipass_ctx;

static void push(scent **a, uint64_t *n, uint64_t *cap, int64_t pos, float val)
{
    scent v = {pos, val};
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *a = hx_realloc(*a, *cap * sizeof **a);
    }
    (*a)[(*n)++] = v;
}

/* Drop the whole pages inside [p, p+n) of a read-only file mapping; they
 * are read back from the page cache if touched again. */
static void drop_pages(const unsigned char *p, uint64_t n)
{
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    if (e > a)
        madvise((void *)a, e - a, MADV_DONTNEED);
}

/* a 16-bit element whose key is flagged: a sidecar entry (whole value), a
 * candidate of the partially taken value, or (compat) a percentile test */
static void flagged16(ipass_ctx *c, uint64_t b, uint64_t i, uint16_t key)
{
    if (c->compat) {
        double v = key_value(c->dt, key);
        if (v < c->lo || v > c->hi)
            push(&c->pos[b], &c->npos[b], &c->cappos[b], (int64_t)i, (float)v);
    } else if (c->flag[key] == 1) {
        push(&c->pos[b], &c->npos[b], &c->cappos[b], (int64_t)i, key_value(c->dt, key));
    } else {
        push(&c->ppos[b], &c->nppos[b], &c->capp[b], (int64_t)i, key_value(c->dt, key));
    }
}

static void ipass_block(void *vctx, uint64_t b, uint64_t lo, uint64_t hi)
{
    ipass_ctx *c = vctx;
    if (c->dt != HX_DT_F32) {
        const uint16_t *lut = c->lut16;
        uint8_t *idx = c->idx;
        uint64_t i = lo;
        /* fast path: 8 elements at a time, sidecar flags checked together */
        if (((uintptr_t)c->src & 1) == 0) {
            const uint16_t *p16 = (const uint16_t *)(const void *)c->src;
            for (; i + 8 <= hi; i += 8) {
                uint16_t e0 = lut[p16[i]], e1 = lut[p16[i + 1]], e2 = lut[p16[i + 2]],
                         e3 = lut[p16[i + 3]], e4 = lut[p16[i + 4]], e5 = lut[p16[i + 5]],
                         e6 = lut[p16[i + 6]], e7 = lut[p16[i + 7]];
                uint64_t packed = (uint64_t)(uint8_t)e0 | (uint64_t)(uint8_t)e1 << 8 |
                                  (uint64_t)(uint8_t)e2 << 16 | (uint64_t)(uint8_t)e3 << 24 |
                                  (uint64_t)(uint8_t)e4 << 32 | (uint64_t)(uint8_t)e5 << 40 |
                                  (uint64_t)(uint8_t)e6 << 48 | (uint64_t)(uint8_t)e7 << 56;
                memcpy(idx + i, &packed, 8);
                if (__builtin_expect(((e0 | e1 | e2 | e3 | e4 | e5 | e6 | e7) >> 8) != 0, 0))
                    for (uint64_t q = i; q < i + 8; q++)
                        if (lut[p16[q]] >> 8)
                            flagged16(c, b, q, p16[q]);
            }
        }
        for (; i < hi; i++) {
            uint16_t key = load16(c->src, i);
            uint16_t e = lut[key];
            idx[i] = (uint8_t)e;
            if (__builtin_expect(e >> 8, 0))
                flagged16(c, b, i, key);
        }
        if (c->release)
            drop_pages(c->src + 2 * lo, 2 * (hi - lo));
        return;
    }
    double (*acc)[2] = c->acc[b];
    memset(acc, 0, sizeof c->acc[b]);
    for (uint64_t i = lo; i < hi; i++) {
        uint32_t u;
        memcpy(&u, c->src + 4 * i, 4);
        float f;
        memcpy(&f, &u, 4);
        int j = nearest(c->cent, c->k, f);
        c->idx[i] = (uint8_t)j;
        uint8_t fl = c->flag[u >> 16];
        int side = 0;
        if (c->compat) {
            if (f < c->lo || f > c->hi) {
                push(&c->pos[b], &c->npos[b], &c->cappos[b], (int64_t)i, f);
                side = 1;
            }
        } else if (fl == 1) {
            push(&c->pos[b], &c->npos[b], &c->cappos[b], (int64_t)i, f);
            side = 1;
        } else if (fl == 2) {
            push(&c->ppos[b], &c->nppos[b], &c->capp[b], (int64_t)i, f);
            side = 2; /* may or may not end up in the sidecar: counted below */
        }
        if (side != 1) {
            acc[j][0] += f;
            acc[j][1] += 1;
        }
    }
}

/* ------------------------------------------------------------ compat cap */

static int cmp_cap(const void *a, const void *b)
{
    const scent *x = a, *y = b;
    float ax = fabsf(x->v), ay = fabsf(y->v);
    if (ax != ay)
        return ax > ay ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

static int cmp_pos(const void *a, const void *b)
{
    const scent *x = a, *y = b;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}


/* ----------------------------------------------------------------- stats */
static void finish_stats(hxq_encoded *out, double sw2, double swr, double sr2, double se,
                         double se_vq, double maxe)
{
    hxq_stats *s = &out->stats;
    s->n = out->rows * out->cols;
    s->cosine = (sw2 > 0 && sr2 > 0) ? swr / (sqrt(sw2) * sqrt(sr2)) : (sw2 == sr2 ? 1.0 : 0.0);
    s->rel_mse = sw2 > 0 ? se / sw2 : 0;
    s->rel_mse_vq = sw2 > 0 ? se_vq / sw2 : 0;
    s->max_abs_err = maxe;
    s->sqnr_db = se > 0 ? 10 * log10(sw2 / se) : INFINITY;
    s->sidecar_n = out->sc_n;
    double bytes = (double)s->n + 4.0 * out->k + 12.0 * (double)out->sc_n;
    s->bits_per_weight = s->n ? bytes * 8 / (double)s->n : 0;
}

/* ---------------------------------------------------------------- encode */
hx_status hxq_encode(const char *name, const void *src_v, hx_dtype dt, uint64_t rows,
                     uint64_t cols, const hxq_params *prm, hxq_encoded *out)
{
    double t0 = hx_now();
    const unsigned char *src = src_v;
    memset(out, 0, sizeof *out);
    out->rows = rows;
    out->cols = cols;
    uint64_t n = rows * cols;
    if (dt != HX_DT_BF16 && dt != HX_DT_F16 && dt != HX_DT_F32)
        return HX_FAIL(HX_EINVAL, "tensor '%s': cannot encode dtype %s (BF16, F16, F32 only)",
                       name, hx_dtype_name(dt));
    if (prm->k < 2 || prm->k > HXQ_K_MAX)
        return HX_FAIL(HX_EINVAL, "k must be in [2, %d], got %d", HXQ_K_MAX, prm->k);
    if (n == 0)
        return HX_FAIL(HX_EINVAL, "tensor '%s' is empty", name);
    int threads = prm->threads > 0 ? prm->threads : 1;

    uint64_t *cnt = hx_malloc(NKEYS * sizeof *cnt);
    double *s1 = NULL, *s2 = NULL;
    finepoints fine = {NULL, NULL, 0};
    if (dt == HX_DT_F32 && n <= SMALL_F32) {
        /* small F32 tensors: the exact distinct values (sorted) are the fine
         * points; the 16-bit buckets aggregate them */
        s1 = hx_calloc(NKEYS, sizeof *s1);
        s2 = hx_calloc(NKEYS, sizeof *s2);
        memset(cnt, 0, NKEYS * sizeof *cnt);
        exact_fine(src, n, cnt, s1, s2, &fine);
    } else if (dt == HX_DT_F32) {
        uint64_t *fc = hx_malloc(NFINE * sizeof *fc);
        double *f1 = hx_malloc(NFINE * sizeof *f1), *f2 = hx_malloc(NFINE * sizeof *f2);
        hist32(src, n, threads, fc, f1, f2);
        s1 = hx_calloc(NKEYS, sizeof *s1);
        s2 = hx_calloc(NKEYS, sizeof *s2);
        memset(cnt, 0, NKEYS * sizeof *cnt);
        for (size_t k = 0; k < NFINE; k++) {
            size_t c = k >> (FINE_BITS - 16);
            cnt[c] += fc[k];
            s1[c] += f1[k];
            s2[c] += f2[k];
        }
        build_fine(fc, f1, f2, &fine);
        free(fc);
        free(f1);
        free(f2);
    } else {
        hist16(src, n, threads, cnt);
    }
    uint64_t nonfinite = 0;
    for (size_t k = 0; k < NKEYS; k++)
        if (cnt[k] && !key_finite(dt, (uint16_t)k))
            nonfinite += cnt[k];
    if (nonfinite) {
        free(cnt);
        free(s1);
        free(s2);
        return HX_FAIL(HX_EFORMAT, "tensor '%s' has %llu non-finite values (NaN/Inf); refusing to encode",
                       name, (unsigned long long)nonfinite);
    }
    double t_hist = hx_now();
    /* while the (single-threaded) fit runs, another thread allocates and
     * prefaults the index buffer: the kernel's page zeroing overlaps it */
    idx_alloc ia = {n, NULL, 0};
    pthread_t ia_tid;
    ia.threaded = threads > 1 && n >= (1u << 22) && pthread_create(&ia_tid, NULL, idx_alloc_run, &ia) == 0;
    if (ia.threaded)
        __atomic_fetch_add(&hxq_idx_threads_started, 1, __ATOMIC_RELAXED);
    pointset ps;
    build_points(dt, cnt, s1, s2, &ps);

    double cent[HXQ_K_MAX];
    int used = 0;
    uint64_t *take = hx_calloc(ps.n, sizeof *take);
    uint64_t budget = (uint64_t)floor(prm->sidecar_fraction * (double)n);
    double cmp_lo = 0, cmp_hi = 0;
    if (__atomic_load_n(&hxq_fault_fit, __ATOMIC_RELAXED)) {
        used = -1; /* as a fit that ran out of memory */
    } else if (prm->compat_033) {
        used = fit(prm, ps.p, ps.n, cent);
        tensor_view tv = {src, n, dt, &ps};
        cmp_lo = percentile(&tv, 100.0 - prm->compat_percentile);
        cmp_hi = percentile(&tv, prm->compat_percentile);
    } else {
        select_sidecar(prm, &ps, budget, cent, &used, take);
    }
    if (used > 1 && fine.n) {
        /* F32: refit on the fine points (boundaries at 1/2048 relative
         * resolution or exact, instead of the 16-bit buckets' 1/128),
         * leaving out what the sidecar takes */
        size_t m = 0;
        for (size_t i = 0; i < fine.n; i++) {
            int32_t pi = ps.pt_of_key[fine.coarse[i]];
            double keep = 1.0;
            if (pi >= 0 && take[pi])
                keep = 1.0 - (double)take[pi] / ps.p[pi].w;
            if (keep <= 0)
                continue;
            hxq_point q = fine.p[i];
            q.w *= keep;
            q.s1 *= keep;
            q.s2 *= keep;
            fine.p[m++] = q;
        }
        int u = refit_fine(prm, fine.p, m, n <= SMALL_F32, used, cent);
        if (u > 0)
            used = u;
        else /* out of memory in the DP: the 16-bit buckets' fit stays */
            hx_warn("%s: the fine refit failed (out of memory); keeping the coarse codebook", name);
    }
    free(fine.p);
    free(fine.coarse);
    if (used <= 0) {
        free(cnt);
        free(s1);
        free(s2);
        free(ps.p);
        free(ps.pt_of_key);
        free(take);
        if (ia.threaded) { /* it writes into ia, on this frame: wait for it */
            pthread_join(ia_tid, NULL);
            free(ia.buf);
        }
        return HX_FAIL(HX_ENOMEM, "tensor '%s': codebook fit failed (out of memory)", name);
    }

    double t_fit = hx_now();
    /* lookup tables (16-bit sources: key -> index) and sidecar flags */
    uint8_t *lut = hx_calloc(NKEYS, 1), *flag = hx_calloc(NKEYS, 1);
    /* nearest centroid of every point by one merge of the two sorted lists
     * (a value on a midpoint goes to the lower index, as in nearest()) */
    uint8_t *pt_idx = hx_malloc(ps.n ? ps.n : 1);
    for (size_t i = 0, j = 0; i < ps.n; i++) {
        while (j + 1 < (size_t)used && ps.p[i].v > 0.5 * (cent[j] + cent[j + 1]))
            j++;
        pt_idx[i] = (uint8_t)j;
    }
    for (size_t k = 0; k < NKEYS; k++) {
        int32_t pi = ps.pt_of_key[k];
        if (pi < 0)
            continue;
        if (dt != HX_DT_F32)
            lut[k] = pt_idx[pi];
        if (prm->compat_033) {
            double v = ps.p[pi].v;
            /* F32 buckets straddle the thresholds: check per element */
            if (dt == HX_DT_F32 || v < cmp_lo || v > cmp_hi)
                flag[k] = 1;
        } else if (take[pi]) {
            flag[k] = take[pi] == (uint64_t)ps.p[pi].w ? 1 : 2;
        }
    }
    free(pt_idx);
    if (prm->compat_033 && dt == HX_DT_F32)
        memset(flag, 1, NKEYS); /* every element is tested against lo/hi */

    uint64_t nblocks = (n + BLOCK - 1) / BLOCK;
    ipass_ctx ic = {0};
    ic.src = src;
    ic.dt = dt;
    ic.flag = flag;
    uint16_t *lut16 = hx_malloc(NKEYS * sizeof *lut16);
    for (size_t k = 0; k < NKEYS; k++)
        lut16[k] = (uint16_t)(lut[k] | (flag[k] << 8));
    ic.lut16 = lut16;
    ic.cent = cent;
    ic.k = used;
    ic.lo = cmp_lo;
    ic.hi = cmp_hi;
    ic.compat = prm->compat_033;
    ic.release = prm->release_source && dt != HX_DT_F32;
    if (ia.threaded)
        pthread_join(ia_tid, NULL);
    else
        ia.buf = alloc_indices(n, 0);
    ic.idx = ia.buf;
    if (!ic.idx) {
        free(cnt), free(s1), free(s2), free(ps.p), free(ps.pt_of_key), free(take), free(lut),
            free(flag);
        return HX_FAIL(HX_ENOMEM, "tensor '%s': cannot allocate %llu bytes of indices", name,
                       (unsigned long long)n);
    }
    ic.pos = hx_calloc(nblocks, sizeof *ic.pos);
    ic.npos = hx_calloc(nblocks, sizeof *ic.npos);
    ic.cappos = hx_calloc(nblocks, sizeof *ic.cappos);
    ic.ppos = hx_calloc(nblocks, sizeof *ic.ppos);
    ic.nppos = hx_calloc(nblocks, sizeof *ic.nppos);
    ic.capp = hx_calloc(nblocks, sizeof *ic.capp);
    if (dt == HX_DT_F32)
        ic.acc = hx_malloc(nblocks * sizeof *ic.acc);
    hx_parallel_blocks(threads, n, BLOCK, ipass_block, &ic);
    double t_idx = hx_now();

    /* the partial point: first `quota` occurrences in position order */
    uint64_t quota = 0;
    int32_t partial_pt = -1;
    for (size_t i = 0; i < ps.n; i++)
        if (take[i] && take[i] < (uint64_t)ps.p[i].w) {
            quota = take[i];
            partial_pt = (int32_t)i;
        }
    uint64_t total = 0;
    for (uint64_t b = 0; b < nblocks; b++)
        total += ic.npos[b];
    uint64_t qleft = quota;
    for (uint64_t b = 0; b < nblocks; b++) {
        uint64_t np = ic.nppos[b] < qleft ? ic.nppos[b] : qleft;
        total += np;
        qleft -= np;
    }
    scent *sc = hx_malloc((total ? total : 1) * sizeof *sc);
    uint64_t m = 0;
    qleft = quota;
    for (uint64_t b = 0; b < nblocks; b++) {
        /* merge the two ascending lists of this block */
        uint64_t a = 0, p = 0, np = ic.nppos[b] < qleft ? ic.nppos[b] : qleft;
        qleft -= np;
        while (a < ic.npos[b] || p < np) {
            if (p >= np || (a < ic.npos[b] && ic.pos[b][a].pos < ic.ppos[b][p].pos))
                sc[m++] = ic.pos[b][a++];
            else
                sc[m++] = ic.ppos[b][p++];
        }
        free(ic.pos[b]);
        free(ic.ppos[b]);
    }
    if (prm->compat_033) {
        /* cap: keep the largest |w| (ties: lower position), then position order;
         * values rounded through fp16 as 0.3.3 stores them */
        if (prm->compat_cap > 0 && m > (uint64_t)prm->compat_cap) {
            qsort(sc, m, sizeof *sc, cmp_cap);
            m = (uint64_t)prm->compat_cap;
            qsort(sc, m, sizeof *sc, cmp_pos);
        }
        for (uint64_t i = 0; i < m; i++)
            sc[i].v = hx_f16_to_f32(hx_f32_to_f16(sc[i].v));
    }

    /* F32: move each centroid to the exact mean of the elements it codes
     * (the indices stay; the error can only go down). Reduced in block
     * order, so independent of the thread count. */
    if (dt == HX_DT_F32) {
        double sum[HXQ_K_MAX] = {0}, c_n[HXQ_K_MAX] = {0};
        for (uint64_t b = 0; b < nblocks; b++)
            for (int j = 0; j < used; j++) {
                sum[j] += ic.acc[b][j][0];
                c_n[j] += ic.acc[b][j][1];
            }
        /* partial-point elements that were not taken were not accumulated;
         * leave centroids of those indices alone if affected */
        (void)partial_pt;
        for (int j = 0; j < used; j++)
            if (c_n[j] > 0)
                cent[j] = sum[j] / c_n[j];
        free(ic.acc);
    }

    /* codebook (padded with the largest centroid so it stays sorted) */
    out->k = prm->no_pad ? used : prm->k;
    for (int j = 0; j < out->k; j++)
        out->codebook[j] = (float)cent[j < used ? j : used - 1];
    out->indices = ic.idx;
    out->sc_n = m;
    out->sc_pos = hx_malloc((m ? m : 1) * sizeof *out->sc_pos);
    out->sc_val = hx_malloc((m ? m : 1) * sizeof *out->sc_val);
    for (uint64_t i = 0; i < m; i++) {
        out->sc_pos[i] = sc[i].pos;
        out->sc_val[i] = sc[i].v;
    }

    /* statistics */
    double sw2 = 0, swr = 0, sr2 = 0, se = 0, se_vq = 0, maxe = 0;
    if (dt != HX_DT_F32) {
        /* exact from the histogram: every element of a key has the same value */
        uint64_t *in_sc = NULL;
        if (prm->compat_033) {
            in_sc = hx_calloc(NKEYS, sizeof *in_sc);
            for (uint64_t i = 0; i < m; i++)
                in_sc[load16(src, (uint64_t)sc[i].pos)]++;
        }
        for (size_t k = 0; k < NKEYS; k++) {
            if (!cnt[k])
                continue;
            double v = key_value(dt, (uint16_t)k), w = (double)cnt[k];
            double c = out->codebook[lut[k]];
            double ns;
            if (in_sc)
                ns = (double)in_sc[k];
            else {
                int32_t pi = ps.pt_of_key[k];
                /* split the point's sidecar share over its keys (+0/-0) */
                double pw = ps.p[pi].w;
                ns = pw > 0 ? (double)take[pi] * (w / pw) : 0;
            }
            double nq = w - ns;
            double scv = v;
            if (in_sc && ns > 0)
                scv = hx_f16_to_f32(hx_f32_to_f16((float)v));
            sw2 += w * v * v;
            swr += nq * v * c + ns * v * scv;
            sr2 += nq * c * c + ns * scv * scv;
            se += nq * (v - c) * (v - c) + ns * (v - scv) * (v - scv);
            se_vq += w * (v - c) * (v - c);
            if (nq > 0 && fabs(v - c) > maxe)
                maxe = fabs(v - c);
            if (ns > 0 && fabs(v - scv) > maxe)
                maxe = fabs(v - scv);
        }
        free(in_sc);
    } else {
        /* F32: one pass, walking the (ascending) sidecar positions alongside */
        uint64_t q = 0;
        for (uint64_t i = 0; i < n; i++) {
            double v = loadf(src, i), c = out->codebook[out->indices[i]], r = c;
            if (q < m && (uint64_t)sc[q].pos == i)
                r = sc[q++].v;
            sw2 += v * v;
            swr += v * r;
            sr2 += r * r;
            se += (v - r) * (v - r);
            se_vq += (v - c) * (v - c);
            if (fabs(v - r) > maxe)
                maxe = fabs(v - r);
        }
    }
    finish_stats(out, sw2, swr, sr2, se, se_vq, maxe);
    out->stats.levels_used = used;
    out->stats.seconds = hx_now() - t0;
    hx_debug("%s: %zu points; histogram %.1f ms, fit %.1f ms, indices %.1f ms, rest %.1f ms", name,
             ps.n, (t_hist - t0) * 1e3, (t_fit - t_hist) * 1e3, (t_idx - t_fit) * 1e3,
             (hx_now() - t_idx) * 1e3);

    free(sc);
    free(ic.pos);
    free(ic.npos);
    free(ic.cappos);
    free(ic.ppos);
    free(ic.nppos);
    free(ic.capp);
    free(lut);
    free(lut16);
    free(flag);
    free(take);
    free(ps.p);
    free(ps.pt_of_key);
    free(cnt);
    free(s1);
    free(s2);
    return HX_OK;
}
