/* parallel.c - hx_parallel_blocks: threads pull block numbers from an atomic
 * counter; the block layout depends only on n and the block size. */
#include "common/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    hx_block_fn fn;
    void *ctx;
    uint64_t n, block, nblocks;
    atomic_uint_fast64_t next;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        uint64_t b = atomic_fetch_add(&j->next, 1);
        if (b >= j->nblocks)
            break;
        uint64_t lo = b * j->block, hi = lo + j->block;
        if (hi > j->n)
            hi = j->n;
        j->fn(j->ctx, b, lo, hi);
    }
    return NULL;
}

void hx_parallel_blocks(int threads, uint64_t n, uint64_t block, hx_block_fn fn, void *ctx)
{
    if (block == 0)
        block = 1;
    job j = {fn, ctx, n, block, (n + block - 1) / block, 0};
    if (threads < 1)
        threads = 1;
    if ((uint64_t)threads > j.nblocks)
        threads = (int)(j.nblocks ? j.nblocks : 1);
    pthread_t tid[256];
    if (threads > 256)
        threads = 256;
    int started = 0;
    for (int t = 1; t < threads; t++)
        if (pthread_create(&tid[started], NULL, worker, &j) == 0)
            started++;
    worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}

typedef struct {
    hx_range_fn fn;
    void *ctx;
    int t;
    uint64_t lo, hi;
} rjob;

static void *rworker(void *arg)
{
    rjob *j = arg;
    j->fn(j->ctx, j->t, j->lo, j->hi);
    return NULL;
}

void hx_parallel_ranges(int threads, uint64_t n, hx_range_fn fn, void *ctx)
{
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    rjob jobs[64];
    pthread_t tid[64];
    int started[64] = {0};
    for (int t = 0; t < threads; t++)
        jobs[t] = (rjob){fn, ctx, t, n * (uint64_t)t / (uint64_t)threads,
                         n * (uint64_t)(t + 1) / (uint64_t)threads};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, rworker, &jobs[t]) == 0;
    rworker(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            rworker(&jobs[t]);
    }
}

int hx_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
