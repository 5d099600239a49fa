/* test_pool.c - the persistent thread pool (common/pool.h) and the parallel
 * loops on it (common/parallel.h): every task runs once, per-worker setup
 * and teardown, nested and concurrent calls, thread-count-independent
 * results. */
#include "common/parallel.h"
#include "common/pool.h"
#include "tests/unit/check_main.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void count_task(void *ctx, uint64_t i, void *state)
{
    (void)state;
    atomic_fetch_add((atomic_int *)ctx + i, 1);
}

START_TEST(every_task_once)
{
    const uint64_t n = 10007;
    atomic_int *hits = calloc(n, sizeof *hits);
    hx_pool *p = hx_pool_new(7, NULL, NULL, NULL);
    ck_assert_int_eq(hx_pool_workers(p), 7);
    const int threads[] = {1, 2, 5, 8, 64, 1000};
    for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
        memset(hits, 0, n * sizeof *hits);
        hx_pool_run(p, threads[k], n, count_task, hits);
        for (uint64_t i = 0; i < n; i++)
            ck_assert_msg(hits[i] == 1, "task %llu ran %d times with %d threads", (unsigned long long)i,
                          (int)hits[i], threads[k]);
    }
    hx_pool_run(p, 4, 0, count_task, hits); /* nothing to do */
    hx_pool_run(NULL, 4, 3, count_task, hits);
    ck_assert_int_eq(hits[0], 2);
    hx_pool_free(p);
    hx_pool_free(NULL);
    free(hits);
}
END_TEST

/* ---- per-worker state ---- */
typedef struct {
    atomic_int setups, teardowns, caller_setups, caller_teardowns;
    atomic_int bad;
} hooks;

typedef struct {
    pthread_t self;
    int worker;
    int tasks;
} wstate;

static void *setup_hook(void *arg, int worker)
{
    hooks *h = arg;
    atomic_fetch_add(worker < 0 ? &h->caller_setups : &h->setups, 1);
    wstate *s = calloc(1, sizeof *s);
    s->self = pthread_self();
    s->worker = worker;
    return s;
}

static void teardown_hook(void *arg, void *state)
{
    hooks *h = arg;
    wstate *s = state;
    if (!pthread_equal(s->self, pthread_self()))
        atomic_fetch_add(&h->bad, 1);
    atomic_fetch_add(s->worker < 0 ? &h->caller_teardowns : &h->teardowns, 1);
    free(s);
}

typedef struct {
    hooks *h;
    atomic_int *hits;
} state_ctx;

static void state_task(void *ctx, uint64_t i, void *state)
{
    state_ctx *c = ctx;
    wstate *s = state;
    if (!s || !pthread_equal(s->self, pthread_self()))
        atomic_fetch_add(&c->h->bad, 1);
    else
        s->tasks++;
    atomic_fetch_add(&c->hits[i], 1);
}

START_TEST(setup_once_per_worker)
{
    hooks h = {0};
    const uint64_t n = 5000;
    atomic_int *hits = calloc(n, sizeof *hits);
    hx_pool *p = hx_pool_new(4, setup_hook, teardown_hook, &h);
    ck_assert_int_eq(hx_pool_workers(p), 4);
    state_ctx c = {&h, hits};
    for (int r = 0; r < 20; r++)
        hx_pool_run(p, 5, n, state_task, &c);
    ck_assert_int_eq(hx_pool_grow(p, 6), 6);
    hx_pool_run(p, 7, n, state_task, &c);
    /* workers set up when they start, not per call */
    ck_assert_int_le(h.setups, 6);
    ck_assert_int_eq(h.teardowns, 0);
    /* the caller's state lives for one call */
    ck_assert_int_eq(h.caller_setups, h.caller_teardowns);
    ck_assert_int_le(h.caller_setups, 21);
    hx_pool_free(p);
    ck_assert_int_eq(h.setups, 6);
    ck_assert_int_eq(h.teardowns, 6);
    ck_assert_int_eq(h.bad, 0);
    for (uint64_t i = 0; i < n; i++)
        ck_assert_int_eq(hits[i], 21);
    /* no workers: the caller does everything, with a state of its own */
    memset(&h, 0, sizeof h);
    memset(hits, 0, n * sizeof *hits);
    p = hx_pool_new(0, setup_hook, teardown_hook, &h);
    hx_pool_run(p, 8, n, state_task, &c);
    hx_pool_free(p);
    ck_assert_int_eq(h.setups, 0);
    ck_assert_int_eq(h.caller_setups, 1);
    ck_assert_int_eq(h.caller_teardowns, 1);
    ck_assert_int_eq(h.bad, 0);
    for (uint64_t i = 0; i < n; i++)
        ck_assert_int_eq(hits[i], 1);
    free(hits);
}
END_TEST

/* ---- thread-count-independent results ---- */
typedef struct {
    const float *x;
    double *part;
} sum_ctx;

static atomic_int sum_calls; /* sum_block calls, and the widest block seen */
static atomic_ullong sum_widest;

static void sum_block(void *ctx, uint64_t b, uint64_t lo, uint64_t hi)
{
    sum_ctx *c = ctx;
    atomic_fetch_add(&sum_calls, 1);
    if (hi - lo > atomic_load(&sum_widest))
        atomic_store(&sum_widest, hi - lo);
    double s = 0;
    for (uint64_t i = lo; i < hi; i++)
        s += c->x[i] * 1.000001;
    c->part[b] = s;
}

static double blocks_sum(int threads, const float *x, uint64_t n, uint64_t block)
{
    uint64_t b1 = block ? block : 1, nb = (n + b1 - 1) / b1; /* block 0 means 1 */
    double *part = calloc(nb ? nb : 1, sizeof *part);
    sum_ctx c = {x, part};
    hx_parallel_blocks(threads, n, block, sum_block, &c);
    double s = 0;
    for (uint64_t b = 0; b < nb; b++)
        s += part[b];
    free(part);
    return s;
}

START_TEST(blocks_identical_across_threads)
{
    const uint64_t n = 1000003;
    float *x = malloc(n * sizeof *x);
    uint32_t r = 12345;
    for (uint64_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)((double)r / 4294967296.0 - 0.5) * 1e3f;
    }
    double ref = blocks_sum(1, x, n, 997);
    const int threads[] = {2, 5, 64, 300};
    for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
        double s = blocks_sum(threads[k], x, n, 997);
        ck_assert_msg(!memcmp(&s, &ref, sizeof s), "sum with %d threads differs", threads[k]);
    }
    /* nothing to do: no call; block 0 means blocks of 1: ten calls of one element */
    atomic_store(&sum_calls, 0);
    blocks_sum(4, x, 0, 16);
    ck_assert_int_eq(atomic_load(&sum_calls), 0);
    atomic_store(&sum_calls, 0);
    atomic_store(&sum_widest, 0);
    blocks_sum(4, x, 10, 0);
    ck_assert_int_eq(atomic_load(&sum_calls), 10);
    ck_assert_uint_eq(atomic_load(&sum_widest), 1);
    free(x);
}
END_TEST

typedef struct {
    atomic_int *hits;
    atomic_int calls;
    atomic_int max_t;
} range_ctx;

static void range_fn(void *ctx, int t, uint64_t lo, uint64_t hi)
{
    range_ctx *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    int m = atomic_load(&c->max_t);
    while (t > m && !atomic_compare_exchange_weak(&c->max_t, &m, t))
        ;
    for (uint64_t i = lo; i < hi; i++)
        atomic_fetch_add(&c->hits[i], 1);
}

START_TEST(ranges_cover_once)
{
    const uint64_t n = 1000;
    const int threads[] = {1, 3, 64, 100};
    const int shares[] = {1, 3, 64, 64};
    for (size_t k = 0; k < 4; k++) {
        range_ctx c = {calloc(n, sizeof(atomic_int)), 0, 0};
        hx_parallel_ranges(threads[k], n, range_fn, &c);
        ck_assert_int_eq(c.calls, shares[k]);
        ck_assert_int_eq(c.max_t, shares[k] - 1);
        for (uint64_t i = 0; i < n; i++)
            ck_assert_int_eq(c.hits[i], 1);
        free(c.hits);
    }
    range_ctx c = {calloc(1, sizeof(atomic_int)), 0, 0};
    hx_parallel_ranges(8, 0, range_fn, &c); /* 8 empty shares */
    ck_assert_int_eq(c.calls, 8);
    free(c.hits);
}
END_TEST

/* ---- nested and concurrent calls ---- */
typedef struct {
    atomic_llong total;
} nest_ctx;

static void inner_block(void *ctx, uint64_t b, uint64_t lo, uint64_t hi)
{
    (void)b;
    nest_ctx *c = ctx;
    long long s = 0;
    for (uint64_t i = lo; i < hi; i++)
        s += (long long)i;
    atomic_fetch_add(&c->total, s);
}

static void outer_block(void *ctx, uint64_t b, uint64_t lo, uint64_t hi)
{
    (void)b;
    (void)lo;
    (void)hi;
    hx_parallel_blocks(4, 1000, 7, inner_block, ctx);
}

START_TEST(nested_calls_complete)
{
    nest_ctx c = {0};
    hx_parallel_blocks(4, 64, 1, outer_block, &c);
    ck_assert_int_eq(c.total, 64LL * (999LL * 1000 / 2));
    /* two threads outside, four inside: the inner calls find the workers busy */
    nest_ctx c2 = {0};
    hx_parallel_blocks(2, 16, 1, outer_block, &c2);
    ck_assert_int_eq(c2.total, 16LL * (999LL * 1000 / 2));
}
END_TEST

static void *concurrent_caller(void *arg)
{
    long long *bad = arg;
    for (int r = 0; r < 100; r++) {
        nest_ctx c = {0};
        hx_parallel_blocks(1 + r % 6, 5000 + (uint64_t)r, 13, inner_block, &c);
        long long n = 5000 + r;
        if (c.total != (n - 1) * n / 2)
            (*bad)++;
    }
    return NULL;
}

START_TEST(concurrent_callers_complete)
{
    pthread_t t[8];
    long long bad[8] = {0};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, concurrent_caller, &bad[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(bad[i], 0);
    }
}
END_TEST

START_TEST(default_pool_grows)
{
    hx_pool *p = hx_pool_default(3);
    ck_assert_int_ge(hx_pool_workers(p), 2);
    ck_assert_ptr_eq(hx_pool_default(9), p);
    ck_assert_int_ge(hx_pool_workers(p), 8);
    ck_assert_ptr_eq(hx_pool_default(2), p); /* never shrinks */
    ck_assert_int_ge(hx_pool_workers(p), 8);
    ck_assert_int_eq(hx_pool_threads(0), 1);
    ck_assert_int_eq(hx_pool_threads(100000), HX_POOL_MAX_THREADS);
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_task_once);
    tcase_add_test(tc, setup_once_per_worker);
    tcase_add_test(tc, blocks_identical_across_threads);
    tcase_add_test(tc, ranges_cover_once);
    tcase_add_test(tc, nested_calls_complete);
    tcase_add_test(tc, concurrent_callers_complete);
    tcase_add_test(tc, default_pool_grows);
    suite_add_tcase(s, tc);
    return s;
}
