/* pool.h - the persistent thread pool: workers are created once and reused,
 * each with optional per-worker state (setup hook, e.g. one libcurl handle
 * per worker), and every call hands them a numbered list of tasks.
 *
 * hx_pool_run(p, threads, n, fn, ctx) runs fn(ctx, i, state) exactly once
 * for every i in [0, n), on the calling thread and on at most threads - 1
 * idle workers of p, and returns when all n have run (their writes are then
 * visible to the caller). Tasks are taken in increasing order from a shared
 * counter; which thread runs which task is not fixed, so callers that need
 * thread-count-independent results keep one result per task and reduce them
 * in task order (common/parallel.h).
 *
 * Calls may come from any number of threads at once: each call is one job
 * in the pool's queue and idle workers join the queued jobs, so concurrent
 * callers share the workers instead of waiting for each other. A call made
 * from inside a task (nested) is just another job: its caller runs its
 * tasks and free workers help, so it cannot deadlock. A worker that could
 * not be started (pthread_create failed) is simply missing: the callers run
 * the tasks no worker takes.
 *
 * The caller runs tasks too; in a pool with a setup hook it runs them with
 * a state of its own, made by the hook on the calling thread (worker index
 * -1) when it takes its first task and torn down before hx_pool_run
 * returns. */
#ifndef HX_POOL_H
#define HX_POOL_H

#include <stdint.h>

/* The most threads one call may use (the caller included) and the most
 * workers + 1 a pool may have; hx_pool_threads() is the one place that
 * applies it. */
#define HX_POOL_MAX_THREADS 256

typedef struct hx_pool hx_pool;

/* Called once in each worker thread when it starts (worker = 0, 1, ...; -1
 * on a calling thread); returns that thread's state. */
typedef void *(*hx_pool_setup_fn)(void *arg, int worker);
/* Called once with each state setup returned, on the same thread, when the
 * pool is freed (a worker's) or when the call ends (a caller's). */
typedef void (*hx_pool_teardown_fn)(void *arg, void *state);
/* One task: i in [0, n); state is the running thread's setup state (NULL
 * without a setup hook). */
typedef void (*hx_pool_task_fn)(void *ctx, uint64_t i, void *state);

/* threads clamped to [1, HX_POOL_MAX_THREADS]: the thread cap of every
 * parallel loop. */
int hx_pool_threads(int threads);

/* A pool of `workers` threads (clamped to [0, HX_POOL_MAX_THREADS - 1];
 * fewer if some cannot be started). setup and teardown may be NULL; arg is
 * passed to both. Never fails. */
hx_pool *hx_pool_new(int workers, hx_pool_setup_fn setup, hx_pool_teardown_fn teardown, void *arg);
/* Stop and join the workers (each runs teardown on its state). No call may
 * be running on p. NULL is fine. */
void hx_pool_free(hx_pool *p);
/* Workers actually running. */
int hx_pool_workers(hx_pool *p);
/* Start more workers so that p has at least `workers` (clamped as above);
 * returns how many it has. */
int hx_pool_grow(hx_pool *p, int workers);

/* fn(ctx, i, state) once for every i in [0, n), on the caller and at most
 * threads - 1 workers of p (threads clamped by hx_pool_threads). p may be
 * NULL: all on the caller. */
void hx_pool_run(hx_pool *p, int threads, uint64_t n, hx_pool_task_fn fn, void *ctx);

/* The process-wide pool of the compute loops (no setup hook), grown on each
 * use to threads - 1 workers (threads clamped by hx_pool_threads). It is
 * created on first use and freed at exit (atexit; not when exit() comes
 * while a job is still running or from one of its workers: the process is
 * ending anyway). */
hx_pool *hx_pool_default(int threads);

#endif
