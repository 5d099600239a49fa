/* test_codec.c - unit tests of the HXQ codec: the optimal quantizer against
 * brute force and exact DP, the encoder's statistics against an explicit
 * decode, determinism across thread counts, the 0.3.3-compatible sidecar,
 * F16/BF16 conversions, the decoder's validation and the routing table. */
#include "codec/encoder/encoder_internal.h"

#include "tests/unit/check_main.h"
#include <check.h>
#include <math.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */
static int cmpf(const void *a, const void *c)
{
    float x = *(const float *)a, y = *(const float *)c;
    return x < y ? -1 : x > y;
}

static uint64_t rng_state = 88172645463325252ull;
static void rng_seed(uint64_t s) { rng_state = s * 2654435761u + 1; }
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double nrand(void)
{
    return sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand());
}
/* Student-t with 5 degrees of freedom */
static double trand(void)
{
    double z = nrand(), c = 0;
    for (int i = 0; i < 5; i++) {
        double g = nrand();
        c += g * g;
    }
    return z / sqrt(c / 5);
}

static uint16_t *bf16_tensor(uint64_t n, int kind)
{
    uint16_t *b = malloc(n * 2);
    for (uint64_t i = 0; i < n; i++) {
        double v = kind == 0   ? trand() * 0.02
                   : kind == 1 ? nrand() * 0.05
                   : kind == 2 ? (urand() - 0.5)
                               : (urand() < 0.5 ? nrand() * 0.01 - 0.05 : nrand() * 0.02 + 0.05);
        b[i] = hx_f32_to_bf16((float)v);
    }
    return b;
}

static hxq_point *points_of(const double *v, const double *w, size_t n)
{
    hxq_point *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = (hxq_point){w[i], w[i] * v[i], w[i] * v[i] * v[i], v[i]};
    return p;
}

/* brute force optimal SSE over all ways to cut n points into k runs */
static double brute(const hxq_point *p, size_t n, int k, size_t start)
{
    if (k == 1) {
        double w = 0, s = 0, q = 0;
        for (size_t i = start; i < n; i++)
            w += p[i].w, s += p[i].s1, q += p[i].s2;
        return q - s * s / w;
    }
    double best = INFINITY;
    for (size_t e = start + 1; e + (size_t)(k - 1) <= n; e++) {
        double w = 0, s = 0, q = 0;
        for (size_t i = start; i < e; i++)
            w += p[i].w, s += p[i].s1, q += p[i].s2;
        double c = q - s * s / w + brute(p, n, k - 1, e);
        if (c < best)
            best = c;
    }
    return best;
}

/* -------------------------------------------------------------- tests */
START_TEST(dp_matches_brute_force)
{
    for (int trial = 0; trial < 30; trial++) {
        rng_seed((uint64_t)trial);
        size_t n = 6 + (size_t)(urand() * 7);
        int k = 2 + (int)(urand() * 3);
        double v[16], w[16];
        double x = 0;
        for (size_t i = 0; i < n; i++) {
            x += 0.01 + urand();
            v[i] = x;
            w[i] = 1 + floor(urand() * 5);
        }
        hxq_point *p = points_of(v, w, n);
        double cent[8];
        int used = hxq_fit_exact(p, n, k, cent, NULL);
        ck_assert_int_eq(used, k);
        double dp = hxq_points_sse(p, n, cent, used), bf = brute(p, n, k, 0);
        ck_assert_msg(fabs(dp - bf) <= 1e-9 * (1 + bf), "trial %d: dp %.12g brute %.12g", trial, dp, bf);
        free(p);
    }
}
END_TEST

/* the fast fit is within 1.01x of the exact optimum (the bound) */
START_TEST(fast_fit_near_optimal)
{
    for (int kind = 0; kind < 4; kind++) { /* Student-t, normal, uniform, bimodal */
        rng_seed(100 + (uint64_t)kind);
        const uint64_t n = 1 << 18;
        uint16_t *b = bf16_tensor(n, kind);
        /* histogram -> points */
        static uint64_t cnt[65536];
        memset(cnt, 0, sizeof cnt);
        for (uint64_t i = 0; i < n; i++)
            cnt[b[i]]++;
        double *v = malloc(65536 * sizeof *v), *w = malloc(65536 * sizeof *w);
        size_t m = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int t = 0; t < 32768; t++) {
                uint16_t key = pass == 0 ? (uint16_t)(0xFFFF - t) : (uint16_t)t;
                if (!cnt[key])
                    continue;
                double val = hx_bf16_to_f32(key);
                if (m && v[m - 1] == val) {
                    w[m - 1] += (double)cnt[key];
                    continue;
                }
                v[m] = val;
                w[m++] = (double)cnt[key];
            }
        hxq_point *p = points_of(v, w, m);
        double ce[256], cf[256];
        int ue = hxq_fit_exact(p, m, 256, ce, NULL), uf = hxq_fit_fast(p, m, 256, 30, cf, NULL);
        ck_assert_int_eq(ue, 256);
        ck_assert_int_eq(uf, 256);
        double se = hxq_points_sse(p, m, ce, 256), sf = hxq_points_sse(p, m, cf, 256);
        ck_assert_msg(sf <= se * 1.01, "kind %d: fast %.6g exact %.6g ratio %.5f", kind, sf, se, sf / se);
        ck_assert_msg(sf >= se * (1 - 1e-9), "fast beat the exact optimum: bug in one of them");
        free(p), free(v), free(w), free(b);
    }
}
END_TEST

static double decoded_rel_mse(const hxq_encoded *e, const void *src, hx_dtype dt, hxq_stats *st)
{
    uint64_t n = e->rows * e->cols;
    float *r = malloc(n * sizeof *r);
    ck_assert_int_eq(hxq_decode("t", e->codebook, e->k, e->indices, e->rows, e->cols, e->sc_pos,
                                e->sc_val, e->sc_n, r),
                     HX_OK);
    hxq_compare(src, dt, r, n, st);
    free(r);
    return st->rel_mse;
}

/* the encoder's histogram statistics agree with an explicit decode */
START_TEST(encode_stats_match_decode)
{
    rng_seed(7);
    uint64_t rows = 300, cols = 1000;
    uint16_t *b = bf16_tensor(rows * cols, 0);
    hxq_params p;
    hxq_params_default(&p);
    p.threads = 2;
    hxq_encoded e;
    ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &e), HX_OK);
    hxq_stats st;
    decoded_rel_mse(&e, b, HX_DT_BF16, &st);
    ck_assert_msg(fabs(st.rel_mse - e.stats.rel_mse) <= 1e-6 * e.stats.rel_mse, "%g vs %g",
                  st.rel_mse, e.stats.rel_mse);
    ck_assert(fabs(st.cosine - e.stats.cosine) < 1e-12);
    ck_assert(fabs(st.max_abs_err - e.stats.max_abs_err) < 1e-9);
    ck_assert_uint_eq(e.sc_n, (uint64_t)(0.001 * rows * cols));
    for (uint64_t i = 1; i < e.sc_n; i++)
        ck_assert(e.sc_pos[i] > e.sc_pos[i - 1]);
    for (uint64_t i = 0; i < e.sc_n; i++) /* sidecar values are the exact originals */
        ck_assert(e.sc_val[i] == hx_bf16_to_f32(b[e.sc_pos[i]]));
    for (int j = 1; j < e.k; j++)
        ck_assert(e.codebook[j] >= e.codebook[j - 1]);
    hxq_encoded_free(&e);
    free(b);
}
END_TEST

/* without a sidecar, the codebook's MSE is within 1.01x of the exact optimal
 * 256-level quantizer; with the sidecar it is lower still */
START_TEST(encode_near_optimal_and_sidecar_helps)
{
    rng_seed(8);
    uint64_t rows = 256, cols = 1024;
    uint16_t *b = bf16_tensor(rows * cols, 0);
    hxq_params p;
    hxq_params_default(&p);
    p.sidecar_fraction = 0;
    hxq_encoded fast, exact, side;
    ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &fast), HX_OK);
    p.fit = HXQ_FIT_EXACT;
    ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &exact), HX_OK);
    ck_assert_uint_eq(fast.sc_n, 0);
    ck_assert_msg(fast.stats.rel_mse <= exact.stats.rel_mse * 1.01, "fast %g exact %g",
                  fast.stats.rel_mse, exact.stats.rel_mse);
    p.fit = HXQ_FIT_FAST;
    p.sidecar_fraction = 0.001;
    ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &side), HX_OK);
    ck_assert_msg(side.stats.rel_mse < 0.9 * fast.stats.rel_mse, "sidecar %g, none %g", side.stats.rel_mse, fast.stats.rel_mse);
    hxq_encoded_free(&fast), hxq_encoded_free(&exact), hxq_encoded_free(&side);
    free(b);
}
END_TEST

/* identical bytes for 1 and 3 threads, BF16 and F32, over several blocks */
START_TEST(deterministic_across_threads)
{
    rng_seed(9);
    uint64_t rows = 1100, cols = 2048; /* > 2 blocks of 2^20 */
    uint16_t *b = bf16_tensor(rows * cols, 0);
    float *f = malloc(rows * cols * sizeof *f);
    for (uint64_t i = 0; i < rows * cols; i++)
        f[i] = (float)(trand() * 0.02);
    for (int dt = 0; dt < 2; dt++) {
        const void *src = dt ? (const void *)f : (const void *)b;
        hx_dtype d = dt ? HX_DT_F32 : HX_DT_BF16;
        hxq_params p;
        hxq_params_default(&p);
        hxq_encoded e1, e3;
        p.threads = 1;
        ck_assert_int_eq(hxq_encode("t", src, d, rows, cols, &p, &e1), HX_OK);
        p.threads = 3;
        ck_assert_int_eq(hxq_encode("t", src, d, rows, cols, &p, &e3), HX_OK);
        ck_assert(!memcmp(e1.codebook, e3.codebook, sizeof e1.codebook));
        ck_assert(!memcmp(e1.indices, e3.indices, rows * cols));
        ck_assert_uint_eq(e1.sc_n, e3.sc_n);
        ck_assert(!memcmp(e1.sc_pos, e3.sc_pos, e1.sc_n * 8));
        ck_assert(!memcmp(e1.sc_val, e3.sc_val, e1.sc_n * 4));
        hxq_encoded_free(&e1), hxq_encoded_free(&e3);
    }
    free(b);
    free(f);
}
END_TEST

/* The parallel histograms with more than two shares: the 16-bit histogram
 * (hist16) gives a thread a share only per 2^20 elements (min(threads,
 * n >> 20) shares), so the case above runs it in at most 2; the F32 one
 * (hist32) runs blocks of 2^20 in waves of `threads` blocks. 5 * 2^20 +
 * 4099 elements: hist16 in 1, 2 and 5 shares of unequal, odd lengths;
 * hist32 over 6 blocks in 6, 3 and 2 waves (the last block partial); the
 * index buffer's prefault thread (n >= 2^22); the sidecar's per-block
 * lists merged across 6 blocks. Every output byte must be the same. */
START_TEST(deterministic_parallel_histograms)
{
    rng_seed(12);
    uint64_t rows = 3, cols = 1748993; /* 5 * 2^20 + 4099 */
    uint64_t n = rows * cols;
    ck_assert_uint_eq(n, 5 * (1u << 20) + 4099);
    float *f = malloc(n * sizeof *f);
    uint16_t *b = malloc(n * sizeof *b);
    for (uint64_t i = 0; i < n; i++) {
        f[i] = (float)(trand() * 0.02);
        b[i] = hx_f32_to_bf16(f[i]);
    }
    const int threads[3] = {1, 2, 5};
    for (int dt = 0; dt < 2; dt++) {
        const void *src = dt ? (const void *)f : (const void *)b;
        hx_dtype d = dt ? HX_DT_F32 : HX_DT_BF16;
        hxq_params p;
        hxq_params_default(&p);
        hxq_encoded e[3];
        for (int k = 0; k < 3; k++) {
            p.threads = threads[k];
            ck_assert_int_eq(hxq_encode("t", src, d, rows, cols, &p, &e[k]), HX_OK);
        }
        ck_assert_uint_eq(e[0].sc_n, (uint64_t)(0.001 * (double)n)); /* a sidecar in every block */
        for (int k = 1; k < 3; k++) {
            ck_assert_msg(e[k].k == e[0].k && !memcmp(e[0].codebook, e[k].codebook, sizeof e[0].codebook),
                          "%s: codebook differs with %d threads", dt ? "F32" : "BF16", threads[k]);
            ck_assert_msg(!memcmp(e[0].indices, e[k].indices, n), "%s: indices differ with %d threads",
                          dt ? "F32" : "BF16", threads[k]);
            ck_assert_uint_eq(e[0].sc_n, e[k].sc_n);
            ck_assert_msg(!memcmp(e[0].sc_pos, e[k].sc_pos, e[0].sc_n * 8) &&
                              !memcmp(e[0].sc_val, e[k].sc_val, e[0].sc_n * 4),
                          "%s: sidecar differs with %d threads", dt ? "F32" : "BF16", threads[k]);
            ck_assert(!memcmp(&e[0].stats.rel_mse, &e[k].stats.rel_mse, sizeof(double)));
        }
        for (int k = 0; k < 3; k++)
            hxq_encoded_free(&e[k]);
    }
    free(b);
    free(f);
}
END_TEST

/* More threads than hx_parallel_ranges has shares (64): the 16-bit
 * histogram used to sum count arrays of every thread, the ones past the
 * 64th never cleared (garbage on a 128-core machine, whose default thread
 * count is its CPU count). 65 * 2^20 + 7 BF16 elements give hist16 its
 * full 64 shares; 100 threads must give the bytes of 1 thread. */
START_TEST(more_threads_than_shares)
{
    rng_seed(13);
    uint64_t rows = 7, cols = ((65ull << 20) + 7) / 7;
    uint64_t n = rows * cols;
    ck_assert_uint_ge(n, 65ull << 20);
    uint16_t *b = malloc(n * sizeof *b);
    ck_assert_ptr_nonnull(b);
    for (uint64_t i = 0; i < n; i++)
        b[i] = hx_f32_to_bf16((float)(trand() * 0.02));
    hxq_params p;
    hxq_params_default(&p);
    hxq_encoded e[2];
    const int threads[2] = {1, 100};
    for (int k = 0; k < 2; k++) {
        p.threads = threads[k];
        ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &e[k]), HX_OK);
    }
    ck_assert_msg(e[1].k == e[0].k && !memcmp(e[0].codebook, e[1].codebook, sizeof e[0].codebook),
                  "codebook differs with 100 threads");
    ck_assert_msg(!memcmp(e[0].indices, e[1].indices, n), "indices differ with 100 threads");
    ck_assert_uint_eq(e[0].sc_n, e[1].sc_n);
    ck_assert(!memcmp(e[0].sc_pos, e[1].sc_pos, e[0].sc_n * 8) && !memcmp(e[0].sc_val, e[1].sc_val, e[0].sc_n * 4));
    for (int k = 0; k < 2; k++)
        hxq_encoded_free(&e[k]);
    free(b);
}
END_TEST

/* A failed fit (out of memory; injected) must wait for the thread that
 * allocates the index buffer meanwhile and free that buffer: the thread
 * writes its result into the encoder's stack frame, and the encoder used
 * to return without joining it (5b175f8), leaking the buffer and leaving
 * the thread to write into a dead frame. 2^22 + 4096 BF16 elements, 2
 * threads: the thread runs; once it has finished (awaited here), the heap
 * must not hold its buffer (mallinfo2: no growth of n bytes). */
START_TEST(fit_failure_joins_index_thread)
{
    rng_seed(14);
    uint64_t rows = 4, cols = ((1u << 22) + 4096) / 4, n = rows * cols;
    uint16_t *b = malloc(n * sizeof *b);
    for (uint64_t i = 0; i < n; i++)
        b[i] = hx_f32_to_bf16((float)(trand() * 0.02));
    hxq_params p;
    hxq_params_default(&p);
    p.threads = 2;
    hxq_encoded e;
    unsigned started = hxq_idx_threads_started;
    struct mallinfo2 m0 = mallinfo2();
    hxq_fault_fit = 1;
    hx_status st = hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &e);
    hxq_fault_fit = 0;
    ck_assert_int_eq(st, HX_ENOMEM);
    ck_assert_msg(strstr(hx_lasterr(), "codebook fit failed"), "%s", hx_lasterr());
    unsigned s1 = __atomic_load_n(&hxq_idx_threads_started, __ATOMIC_ACQUIRE);
    ck_assert_uint_eq(s1, started + 1); /* the thread ran */
    while (__atomic_load_n(&hxq_idx_threads_done, __ATOMIC_ACQUIRE) != s1)
        sched_yield(); /* finished (at once when the encoder joined it) */
    struct mallinfo2 m1 = mallinfo2();
    size_t before = m0.uordblks + m0.hblkhd, after = m1.uordblks + m1.hblkhd;
    ck_assert_msg(after < before + n, "the index buffer (%llu bytes) was not freed: heap %zu -> %zu",
                  (unsigned long long)n, before, after);
    /* and the encoder works again */
    ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &e), HX_OK);
    hxq_encoded_free(&e);
    free(b);
}
END_TEST

/* F32 sources, on both of the encoder's paths: up to 2^18 elements
 * (SMALL_F32 in codec/encoder/encode.c) the distinct values themselves are the
 * fine points; above, 2^20 buckets of the bit pattern (count, sum, sum of
 * squares). The fit on the 16-bit buckets is refined by the windowed exact
 * DP on the fine points (refit_fine), then each centroid is moved to the
 * exact mean of the elements it codes. Checked against the exact DP
 * optimum over every distinct value (which cannot be beaten: a ratio below
 * 1 would mean the reference is wrong), and every used codebook entry
 * against the exact mean of its elements (within one float rounding), on a
 * normal and a bimodal tensor per path. Bound 1.001: measured here 1.000000
 * and 1.000006 (exact path), 1.000025 and 1.000109 (bucketed); 1.00000 to
 * 1.00013 over 12 seeds each of normal, Student-t and bimodal tensors per
 * path. The Lloyd polish used before gave 1.0067, 1.0408, 1.0110 and
 * 1.0475 here; no refit at all, 1.013 to 1.059. */
START_TEST(f32_near_optimal)
{
    const struct { uint64_t rows, cols; int bimodal; double bound; } cases[4] = {
        {64, 512, 0, 1.001},  /* 32,768 elements: exact path */
        {64, 512, 1, 1.001},
        {520, 512, 0, 1.001}, /* 266,240 > 2^18: bucketed path */
        {520, 512, 1, 1.001},
    };
    for (int c = 0; c < 4; c++) {
        rng_seed(10);
        uint64_t rows = cases[c].rows, cols = cases[c].cols, n = rows * cols;
        ck_assert(c >= 2 ? n > (1u << 18) : n <= (1u << 18));
        float *f = malloc(n * sizeof *f);
        for (uint64_t i = 0; i < n; i++)
            f[i] = (float)(!cases[c].bimodal ? nrand() * 0.05
                           : urand() < 0.5   ? nrand() * 0.01 - 0.05
                                             : nrand() * 0.02 + 0.05);
        hxq_params p;
        hxq_params_default(&p);
        p.sidecar_fraction = 0;
        hxq_encoded e;
        ck_assert_int_eq(hxq_encode("t", f, HX_DT_F32, rows, cols, &p, &e), HX_OK);
        ck_assert_uint_eq(e.sc_n, 0);
        /* every used entry: the exact mean of the elements it codes */
        double sum[256] = {0}, cnt[256] = {0};
        for (uint64_t i = 0; i < n; i++)
            sum[e.indices[i]] += f[i], cnt[e.indices[i]]++;
        int used = 0;
        for (int j = 0; j < e.k; j++) {
            if (!cnt[j])
                continue;
            used++;
            float want = (float)(sum[j] / cnt[j]);
            ck_assert_msg(fabsf(e.codebook[j] - want) <= nextafterf(fabsf(want), INFINITY) - fabsf(want),
                          "n %llu: entry %d is %.9g, the mean of its %.0f elements is %.9g",
                          (unsigned long long)n, j, e.codebook[j], cnt[j], want);
        }
        ck_assert_int_eq(used, 256);
        /* exact optimum over sorted distinct values */
        double *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
        float *s = malloc(n * sizeof *s);
        memcpy(s, f, n * sizeof *s);
        qsort(s, n, sizeof *s, cmpf);
        size_t m = 0;
        for (uint64_t i = 0; i < n; i++) {
            if (m && v[m - 1] == s[i]) {
                w[m - 1]++;
                continue;
            }
            v[m] = s[i];
            w[m++] = 1;
        }
        hxq_point *pt = points_of(v, w, m);
        double ce[256];
        hxq_fit_exact(pt, m, 256, ce, NULL);
        double opt = hxq_points_sse(pt, m, ce, 256), w2 = 0;
        for (uint64_t i = 0; i < n; i++)
            w2 += (double)f[i] * f[i];
        hxq_stats st;
        decoded_rel_mse(&e, f, HX_DT_F32, &st);
        double ratio = st.rel_mse / (opt / w2);
        ck_assert_msg(ratio <= cases[c].bound, "n %llu: ours %g optimal %g ratio %.5f > %.3f",
                      (unsigned long long)n, st.rel_mse, opt / w2, ratio, cases[c].bound);
        ck_assert_msg(ratio >= 1 - 1e-9, "n %llu: ours %g beat the exact optimum %g", (unsigned long long)n,
                      st.rel_mse, opt / w2);
        free(pt), free(v), free(w), free(s), free(f);
        hxq_encoded_free(&e);
    }
}
END_TEST

/* --compat-0.3.3: two-tailed percentile candidates, 512 largest |w|, fp16 */
START_TEST(compat_sidecar_selection)
{
    rng_seed(11);
    uint64_t rows = 512, cols = 1024, n = rows * cols;
    uint16_t *b = bf16_tensor(n, 0);
    hxq_params p;
    hxq_params_default(&p);
    p.compat_033 = 1;
    p.compat_percentile = 99.9;
    p.compat_cap = 512;
    hxq_encoded e;
    ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, rows, cols, &p, &e), HX_OK);
    ck_assert_uint_eq(e.sc_n, 512);
    /* reference: sort values, numpy linear percentile, candidates, top |w| */
    float *s = malloc(n * sizeof *s);
    for (uint64_t i = 0; i < n; i++)
        s[i] = hx_bf16_to_f32(b[i]);
    qsort(s, n, sizeof *s, cmpf);
    double vi = 0.999 * (double)(n - 1);
    uint64_t lo_i = (uint64_t)floor(vi);
    double g = vi - (double)lo_i;
    float d = s[lo_i + 1] - s[lo_i];
    double hi = g >= 0.5 ? (double)s[lo_i + 1] - (double)d * (1 - g) : (double)s[lo_i] + (double)d * g;
    float minabs = INFINITY;
    for (uint64_t i = 0; i < e.sc_n; i++) {
        float v = hx_bf16_to_f32(b[e.sc_pos[i]]);
        ck_assert(e.sc_val[i] == hx_f16_to_f32(hx_f32_to_f16(v)));
        ck_assert(fabsf(v) > 0);
        if (fabsf(v) < minabs)
            minabs = fabsf(v);
        if (i)
            ck_assert(e.sc_pos[i] > e.sc_pos[i - 1]);
    }
    /* everything outside the sidecar has |w| <= the smallest kept |w| */
    uint64_t bigger = 0;
    for (uint64_t i = 0; i < n; i++)
        if (fabsf(hx_bf16_to_f32(b[i])) > minabs)
            bigger++;
    ck_assert_uint_le(bigger, 512);
    ck_assert(minabs > hi * 0.5); /* the kept ones are genuine tail values */
    free(s);
    hxq_encoded_free(&e);
    free(b);
}
END_TEST

START_TEST(f16_conversions)
{
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00)
            continue;
        float f = hx_f16_to_f32((uint16_t)h);
        ck_assert_uint_eq(hx_f32_to_f16(f), h);
    }
    ck_assert_uint_eq(hx_f32_to_f16(65504.0f), 0x7bff);
    ck_assert_uint_eq(hx_f32_to_f16(65520.0f), 0x7c00); /* rounds to inf */
    ck_assert_uint_eq(hx_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
    ck_assert_uint_eq(hx_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);
    ck_assert_uint_eq(hx_f32_to_f16(5.9604644775390625e-08f), 0x0001);
    ck_assert_uint_eq(hx_f32_to_bf16(1.0f), 0x3f80);
    ck_assert(hx_bf16_to_f32(0xc000) == -2.0f);
}
END_TEST

START_TEST(decode_rejects_bad_indices_and_positions)
{
    float cb[4] = {0, 1, 2, 3}, out[6];
    uint8_t idx[6] = {0, 1, 2, 3, 4, 0};
    ck_assert_int_eq(hxq_decode("m", cb, 4, idx, 2, 3, NULL, NULL, 0, out), HX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "position 4"));
    idx[4] = 1;
    int64_t pos[1] = {6};
    float val[1] = {9};
    ck_assert_int_eq(hxq_decode("m", cb, 4, idx, 2, 3, pos, val, 1, out), HX_EFORMAT);
    pos[0] = 5;
    ck_assert_int_eq(hxq_decode("m", cb, 4, idx, 2, 3, pos, val, 1, out), HX_OK);
    ck_assert(out[5] == 9 && out[4] == 1);
}
END_TEST

START_TEST(refuses_nonfinite)
{
    uint16_t b[512];
    for (int i = 0; i < 512; i++)
        b[i] = hx_f32_to_bf16((float)i);
    b[100] = 0x7fc0;
    hxq_params p;
    hxq_params_default(&p);
    hxq_encoded e;
    ck_assert_int_eq(hxq_encode("x.weight", b, HX_DT_BF16, 16, 32, &p, &e), HX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "x.weight"));
}
END_TEST

/* fewer distinct values than levels: lossless, codebook padded and sorted */
START_TEST(low_cardinality_is_lossless)
{
    uint16_t b[1024];
    for (int i = 0; i < 1024; i++)
        b[i] = hx_f32_to_bf16((float)(i % 7) - 3);
    hxq_params p;
    hxq_params_default(&p);
    hxq_encoded e;
    ck_assert_int_eq(hxq_encode("t", b, HX_DT_BF16, 32, 32, &p, &e), HX_OK);
    ck_assert_int_eq(e.k, 256);
    ck_assert_int_eq(e.stats.levels_used, 7);
    ck_assert(e.stats.rel_mse == 0);
    for (int j = 1; j < 256; j++)
        ck_assert(e.codebook[j] >= e.codebook[j - 1]);
    hxq_encoded_free(&e);
}
END_TEST

START_TEST(routing_table)
{
    int64_t sq[2] = {64, 64}, tiny[2] = {8, 8}, v1[1] = {64}, c3[3] = {64, 1, 4};
    struct {
        const char *name;
        int nd;
        const int64_t *sh;
        int tied;
        hxq_route want;
    } cases[] = {
        {"model.layers.0.self_attn.q_proj.weight", 2, sq, 0, HXQ_ROUTE_COMPRESS},
        {"model.layers.0.mlp.down_proj.weight", 2, sq, 0, HXQ_ROUTE_COMPRESS},
        {"model.layers.0.self_attn.q_proj.bias", 1, v1, 0, HXQ_ROUTE_EXACT},
        {"model.layers.0.input_layernorm.weight", 1, v1, 0, HXQ_ROUTE_EXACT},
        {"model.embed_tokens.weight", 2, sq, 0, HXQ_ROUTE_EXACT},
        {"lm_head.weight", 2, sq, 0, HXQ_ROUTE_EXACT},
        {"lm_head.weight", 2, sq, 1, HXQ_ROUTE_DROP},
        {"model.layers.0.tiny.weight", 2, tiny, 0, HXQ_ROUTE_EXACT},
        {"backbone.layers.0.mixer.A_log", 2, sq, 0, HXQ_ROUTE_COPY},
        {"backbone.layers.0.mixer.D", 1, v1, 0, HXQ_ROUTE_COPY},
        {"backbone.layers.0.mixer.conv1d.weight", 3, c3, 0, HXQ_ROUTE_EXACT},
        {"transformer.wte.weight", 2, sq, 0, HXQ_ROUTE_EXACT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hxq_route_info ri = hxq_route_tensor(cases[i].name, cases[i].nd, cases[i].sh, cases[i].tied, 0);
        ck_assert_msg(ri.route == cases[i].want, "%s: got %s (%s)", cases[i].name,
                      hxq_route_name(ri.route), ri.rule);
    }
    ck_assert_int_eq(hxq_classify("model.layers.3.self_attn.k_proj.weight", 2), HXQ_CLASS_ATTN_QK);
    ck_assert_int_eq(hxq_classify("model.layers.3.self_attn.o_proj.weight", 2), HXQ_CLASS_ATTN_VO);
    ck_assert_int_eq(hxq_classify("model.layers.3.mlp.up_proj.weight", 2), HXQ_CLASS_FFN);
    ck_assert_int_eq(hxq_classify("model.layers.3.mamba.x_proj.weight", 2), HXQ_CLASS_UNKNOWN);
}
END_TEST

/* The state-space families' tensor names (tests/fixtures/tiny-{mamba,
 * mamba2,zamba2} and their full-size counterparts) against 0.3.3's
 * should_compress, with our one deviation (2-D non-.weight: copied), and
 * 0.3.3's tensor classes (tensor_policy.py patterns are anchored on
 * "layers.N.", so Zamba2's shared attention is UNKNOWN there). */
START_TEST(routing_ssm)
{
    int64_t in1[2] = {256, 64}, x1[2] = {40, 128}, dt1[2] = {128, 8}, out1[2] = {64, 128},
            alog2[2] = {128, 16}, v128[1] = {128}, v8[1] = {8}, conv[3] = {128, 1, 4},
            emb[2] = {384, 64}, zin[2] = {260, 48}, zlin[2] = {48, 48}, za0[2] = {8, 96},
            za1[2] = {96, 8}, zsmall[2] = {4, 48}, zq[2] = {96, 96}, odd[3] = {4, 8, 8};
    struct {
        const char *name;
        int nd;
        const int64_t *sh;
        int tied;
        hxq_route want;
        int deviates;
    } cases[] = {
        /* Mamba (backbone.*, mixer with biases) */
        {"backbone.embeddings.weight", 2, emb, 1, HXQ_ROUTE_EXACT, 0},
        {"backbone.layers.0.norm.weight", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        {"backbone.layers.0.mixer.in_proj.weight", 2, in1, 0, HXQ_ROUTE_COMPRESS, 0},
        {"backbone.layers.0.mixer.in_proj.bias", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        {"backbone.layers.0.mixer.conv1d.weight", 3, conv, 0, HXQ_ROUTE_EXACT, 0},
        {"backbone.layers.0.mixer.conv1d.bias", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        {"backbone.layers.0.mixer.x_proj.weight", 2, x1, 0, HXQ_ROUTE_COMPRESS, 0},
        {"backbone.layers.0.mixer.dt_proj.weight", 2, dt1, 0, HXQ_ROUTE_COMPRESS, 0},
        {"backbone.layers.0.mixer.dt_proj.bias", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        {"backbone.layers.0.mixer.A_log", 2, alog2, 0, HXQ_ROUTE_COPY, 1}, /* 0.3.3: compress (D11) */
        {"backbone.layers.0.mixer.D", 1, v128, 0, HXQ_ROUTE_COPY, 0},
        {"backbone.layers.0.mixer.out_proj.weight", 2, out1, 0, HXQ_ROUTE_COMPRESS, 0},
        {"backbone.norm_f.weight", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        {"lm_head.weight", 2, emb, 1, HXQ_ROUTE_DROP, 0},
        /* Mamba2 (1-D A_log, dt_bias, gated norm, untied head) */
        {"backbone.embedding.weight", 2, emb, 0, HXQ_ROUTE_EXACT, 0},
        {"backbone.layers.2.mixer.A_log", 1, v8, 0, HXQ_ROUTE_COPY, 0},
        {"backbone.layers.2.mixer.dt_bias", 1, v8, 0, HXQ_ROUTE_COPY, 0},
        {"backbone.layers.2.mixer.norm.weight", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        {"lm_head.weight", 2, emb, 0, HXQ_ROUTE_EXACT, 0},
        /* Zamba2 */
        {"model.embed_tokens.weight", 2, emb, 1, HXQ_ROUTE_EXACT, 0},
        {"model.final_layernorm.weight", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        {"model.layers.0.mamba.in_proj.weight", 2, zin, 0, HXQ_ROUTE_COMPRESS, 0},
        {"model.layers.0.mamba.conv1d.weight", 3, conv, 0, HXQ_ROUTE_EXACT, 0},
        {"model.layers.0.mamba.dt_bias", 1, v8, 0, HXQ_ROUTE_COPY, 0},
        {"model.layers.1.mamba_decoder.mamba.out_proj.weight", 2, zlin, 0, HXQ_ROUTE_COMPRESS, 0},
        {"model.layers.1.linear.weight", 2, zlin, 0, HXQ_ROUTE_COMPRESS, 0},
        {"model.layers.1.shared_transformer.self_attn.q_proj.weight", 2, zq, 0, HXQ_ROUTE_COMPRESS, 0},
        {"model.layers.1.shared_transformer.self_attn.linear_q_adapter_list.0.0.weight", 2, za0, 0,
         HXQ_ROUTE_COMPRESS, 0},
        {"model.layers.1.shared_transformer.self_attn.linear_v_adapter_list.2.1.weight", 2, za1, 0,
         HXQ_ROUTE_COMPRESS, 0},
        {"model.layers.1.shared_transformer.feed_forward.gate_up_proj_adapter_list.0.0.weight", 2, zsmall,
         0, HXQ_ROUTE_EXACT, 0}, /* 192 < 256 elements */
        {"model.layers.1.shared_transformer.input_layernorm.weight", 1, v128, 0, HXQ_ROUTE_EXACT, 0},
        /* a 3-D weight that is not conv1d: 0.3.3 compresses it, unloadable */
        {"model.layers.0.mixer.experts.weight", 3, odd, 0, HXQ_ROUTE_COPY, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hxq_route_info ri = hxq_route_tensor(cases[i].name, cases[i].nd, cases[i].sh, cases[i].tied, 0);
        ck_assert_msg(ri.route == cases[i].want && ri.deviates_033 == cases[i].deviates,
                      "%s: got %s%s (%s)", cases[i].name, hxq_route_name(ri.route),
                      ri.deviates_033 ? " (deviates)" : "", ri.rule);
    }
    struct {
        const char *name;
        int nd;
        hxq_class want;
    } cls[] = {
        {"backbone.layers.0.mixer.in_proj.weight", 2, HXQ_CLASS_FFN},
        {"backbone.layers.0.mixer.out_proj.weight", 2, HXQ_CLASS_FFN},
        {"backbone.layers.0.mixer.x_proj.weight", 2, HXQ_CLASS_UNKNOWN},
        {"backbone.layers.0.mixer.dt_proj.weight", 2, HXQ_CLASS_UNKNOWN},
        {"backbone.layers.0.mixer.A_log", 2, HXQ_CLASS_UNKNOWN},
        {"backbone.layers.0.mixer.D", 1, HXQ_CLASS_NORM},
        {"backbone.embeddings.weight", 2, HXQ_CLASS_EMBEDDING},
        {"backbone.embedding.weight", 2, HXQ_CLASS_EMBEDDING},
        {"model.layers.0.mamba.in_proj.weight", 2, HXQ_CLASS_UNKNOWN},
        {"model.layers.1.linear.weight", 2, HXQ_CLASS_UNKNOWN},
        {"model.layers.1.shared_transformer.self_attn.q_proj.weight", 2, HXQ_CLASS_UNKNOWN},
        {"model.layers.1.shared_transformer.feed_forward.down_proj.weight", 2, HXQ_CLASS_UNKNOWN},
        {"model.layers.11.self_attn.q_proj.weight", 2, HXQ_CLASS_ATTN_QK},
        {"model.layers.x.self_attn.q_proj.weight", 2, HXQ_CLASS_UNKNOWN},
        {"model.layers.2.mlp.down_proj.weight", 2, HXQ_CLASS_FFN},
        {"model.layers.2.foo_norm.weight", 2, HXQ_CLASS_NORM},
        {"model.layers.2.foo.norm.weight", 2, HXQ_CLASS_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cls / sizeof cls[0]; i++)
        ck_assert_msg(hxq_classify(cls[i].name, cls[i].nd) == cls[i].want, "%s: got %s", cls[i].name,
                      hxq_class_name(hxq_classify(cls[i].name, cls[i].nd)));
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, dp_matches_brute_force);
    tcase_add_test(tc, fast_fit_near_optimal);
    tcase_add_test(tc, encode_stats_match_decode);
    tcase_add_test(tc, encode_near_optimal_and_sidecar_helps);
    tcase_add_test(tc, deterministic_across_threads);
    tcase_add_test(tc, deterministic_parallel_histograms);
    tcase_add_test(tc, more_threads_than_shares);
    tcase_add_test(tc, fit_failure_joins_index_thread);
    tcase_add_test(tc, f32_near_optimal);
    tcase_add_test(tc, compat_sidecar_selection);
    tcase_add_test(tc, f16_conversions);
    tcase_add_test(tc, decode_rejects_bad_indices_and_positions);
    tcase_add_test(tc, refuses_nonfinite);
    tcase_add_test(tc, low_cardinality_is_lossless);
    tcase_add_test(tc, routing_table);
    tcase_add_test(tc, routing_ssm);
    suite_add_tcase(s, tc);
    return s;
}
