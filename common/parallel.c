/* parallel.c - hx_parallel_blocks / hx_parallel_ranges on the process-wide
 * persistent pool (common/pool.h): one pool task per block (or share); the
 * block layout depends only on n and the block size. */
#include "common/parallel.h"
#include "common/pool.h"

#include <unistd.h>

typedef struct {
    hx_block_fn fn;
    void *ctx;
    uint64_t n, block;
} blocks_job;

static void block_task(void *arg, uint64_t b, void *state)
{
    (void)state;
    const blocks_job *j = arg;
    uint64_t lo = b * j->block, hi = lo + j->block;
    if (hi > j->n)
        hi = j->n;
    j->fn(j->ctx, b, lo, hi);
}

void hx_parallel_blocks(int threads, uint64_t n, uint64_t block, hx_block_fn fn, void *ctx)
{
    if (block == 0)
        block = 1;
    blocks_job j = {fn, ctx, n, block};
    uint64_t nblocks = (n + block - 1) / block;
    threads = hx_pool_threads(threads);
    if ((uint64_t)threads > nblocks)
        threads = (int)(nblocks ? nblocks : 1);
    hx_pool_run(hx_pool_default(threads), threads, nblocks, block_task, &j);
}

typedef struct {
    hx_range_fn fn;
    void *ctx;
    uint64_t n, shares;
} ranges_job;

static void range_task(void *arg, uint64_t t, void *state)
{
    (void)state;
    const ranges_job *j = arg;
    j->fn(j->ctx, (int)t, j->n * t / j->shares, j->n * (t + 1) / j->shares);
}

void hx_parallel_ranges(int threads, uint64_t n, hx_range_fn fn, void *ctx)
{
    threads = hx_pool_threads(threads);
    if (threads > HX_PARALLEL_MAX_RANGES)
        threads = HX_PARALLEL_MAX_RANGES;
    ranges_job j = {fn, ctx, n, (uint64_t)threads};
    hx_pool_run(hx_pool_default(threads), threads, (uint64_t)threads, range_task, &j);
}

int hx_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
