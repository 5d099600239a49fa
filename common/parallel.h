/* parallel.h - the parallel-for of the compute loops, on the process-wide
 * persistent thread pool (common/pool.h: workers created once, the thread
 * cap HX_POOL_MAX_THREADS applied there). Work is split into fixed-size
 * blocks (independent of the thread count) handed out in order, so code
 * that keeps one partial result per block and reduces them in block order
 * gets bit-identical results whatever the number of threads. Both calls
 * may be made from several threads at once and from inside a block (nested
 * calls run on the caller and whatever workers are free). */
#ifndef HX_PARALLEL_H
#define HX_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* fn(ctx, block, begin, end) for every block of [0, n) of size `block`. */
typedef void (*hx_block_fn)(void *ctx, uint64_t block, uint64_t begin, uint64_t end);

void hx_parallel_blocks(int threads, uint64_t n, uint64_t block, hx_block_fn fn, void *ctx);

/* fn(ctx, t, begin, end) once per share t in [0, min(threads, 64)) on a
 * contiguous share of [0, n) (shares may be empty). Only for work whose
 * result does not depend on how [0, n) is split (integer counts, disjoint
 * writes). */
#define HX_PARALLEL_MAX_RANGES 64
typedef void (*hx_range_fn)(void *ctx, int t, uint64_t begin, uint64_t end);
void hx_parallel_ranges(int threads, uint64_t n, hx_range_fn fn, void *ctx);

/* Number of online CPUs (at least 1). */
int hx_ncpus(void);

#endif
