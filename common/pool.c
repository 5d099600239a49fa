/* pool.c - the persistent thread pool (pool.h): a queue of jobs (one per
 * hx_pool_run call) under one mutex; idle workers join the first queued job
 * that still has tasks and room for them, take task numbers from its atomic
 * counter, and leave when it has none left. The caller takes tasks from the
 * same counter, then unlinks its job and waits for the workers still in it. */
#include "common/pool.h"
#include "common/hx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct job {
    struct job *next;
    hx_pool_task_fn fn;
    void *ctx;
    uint64_t n;
    atomic_uint_fast64_t next_task;
    int max_workers; /* workers that may be in it at once */
    int joined;      /* workers in it now (under the pool's mutex) */
    pthread_cond_t done; /* joined dropped to 0 */
} job;

struct hx_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stop */
    job *head, *tail;
    int idle;            /* workers waiting on work */
    int stop, closed;    /* closed: grows no more (the default pool after exit) */
    pthread_t *tid;
    int nworkers, cap;
    atomic_int asked;    /* most workers ever asked for */
    hx_pool_setup_fn setup;
    hx_pool_teardown_fn teardown;
    void *arg;
};

typedef struct {
    hx_pool *p;
    int index;
} start_arg;

int hx_pool_threads(int threads)
{
    if (threads < 1)
        return 1;
    return threads > HX_POOL_MAX_THREADS ? HX_POOL_MAX_THREADS : threads;
}

/* under p->mu: the first queued job a worker may join */
static job *pick(hx_pool *p)
{
    for (job *j = p->head; j; j = j->next)
        if (j->joined < j->max_workers && atomic_load(&j->next_task) < j->n)
            return j;
    return NULL;
}

static void run_tasks(job *j, void *state)
{
    for (;;) {
        uint64_t i = atomic_fetch_add(&j->next_task, 1);
        if (i >= j->n)
            break;
        j->fn(j->ctx, i, state);
    }
}

static void *worker_main(void *arg)
{
    start_arg sa = *(start_arg *)arg;
    free(arg);
    hx_pool *p = sa.p;
    void *state = p->setup ? p->setup(p->arg, sa.index) : NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        job *j = NULL;
        while (!p->stop && !(j = pick(p))) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        if (!j)
            break;
        j->joined++;
        pthread_mutex_unlock(&p->mu);
        run_tasks(j, state);
        pthread_mutex_lock(&p->mu);
        if (--j->joined == 0)
            pthread_cond_signal(&j->done);
    }
    pthread_mutex_unlock(&p->mu);
    if (p->teardown)
        p->teardown(p->arg, state);
    return NULL;
}

/* under p->mu */
static int grow_locked(hx_pool *p, int workers)
{
    if (workers > HX_POOL_MAX_THREADS - 1)
        workers = HX_POOL_MAX_THREADS - 1;
    /* a failed pthread_create is not retried on every call: only when more
     * workers than ever before are asked for */
    if (p->closed || workers <= atomic_load(&p->asked))
        return p->nworkers;
    atomic_store(&p->asked, workers);
    if (workers > p->cap) {
        p->tid = hx_realloc(p->tid, (size_t)workers * sizeof *p->tid);
        p->cap = workers;
    }
    while (p->nworkers < workers) {
        start_arg *sa = hx_malloc(sizeof *sa);
        *sa = (start_arg){p, p->nworkers};
        if (pthread_create(&p->tid[p->nworkers], NULL, worker_main, sa) != 0) {
            free(sa);
            break; /* fewer workers: the callers run the rest */
        }
        p->nworkers++;
    }
    return p->nworkers;
}

int hx_pool_grow(hx_pool *p, int workers)
{
    pthread_mutex_lock(&p->mu);
    int n = grow_locked(p, workers);
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void pool_init(hx_pool *p, hx_pool_setup_fn setup, hx_pool_teardown_fn teardown, void *arg)
{
    *p = (hx_pool){.setup = setup, .teardown = teardown, .arg = arg};
    atomic_init(&p->asked, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
}

hx_pool *hx_pool_new(int workers, hx_pool_setup_fn setup, hx_pool_teardown_fn teardown, void *arg)
{
    hx_pool *p = hx_malloc(sizeof *p);
    pool_init(p, setup, teardown, arg);
    if (workers > 0)
        hx_pool_grow(p, workers);
    return p;
}

/* stop and join the workers; p stays usable (callers run everything) */
static void stop_workers(hx_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    int n = p->nworkers;
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++)
        pthread_join(p->tid[i], NULL);
    pthread_mutex_lock(&p->mu);
    p->nworkers = 0;
    free(p->tid);
    p->tid = NULL;
    p->cap = 0;
    pthread_mutex_unlock(&p->mu);
}

void hx_pool_free(hx_pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int hx_pool_workers(hx_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->nworkers;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void hx_pool_run(hx_pool *p, int threads, uint64_t n, hx_pool_task_fn fn, void *ctx)
{
    if (!n)
        return;
    threads = hx_pool_threads(threads);
    job j = {.fn = fn, .ctx = ctx, .n = n};
    atomic_init(&j.next_task, 0);
    /* the caller is one of the threads and takes at least one task */
    uint64_t mw = (uint64_t)threads - 1;
    j.max_workers = (int)(mw < n - 1 ? mw : n - 1);
    int queued = 0;
    if (p && j.max_workers > 0) {
        pthread_mutex_lock(&p->mu);
        if (p->nworkers > 0 && !p->stop) {
            pthread_cond_init(&j.done, NULL);
            if (p->tail)
                p->tail->next = &j;
            else
                p->head = &j;
            p->tail = &j;
            queued = 1;
            for (int k = 0; k < j.max_workers && k < p->idle; k++)
                pthread_cond_signal(&p->work);
        }
        pthread_mutex_unlock(&p->mu);
    }
    void *state = NULL;
    int have_state = 0;
    for (;;) {
        uint64_t i = atomic_fetch_add(&j.next_task, 1);
        if (i >= n)
            break;
        if (!have_state && p && p->setup) {
            state = p->setup(p->arg, -1);
            have_state = 1;
        }
        fn(ctx, i, state);
    }
    if (queued) {
        pthread_mutex_lock(&p->mu);
        job **pp = &p->head, *prev = NULL;
        while (*pp && *pp != &j) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (*pp) { /* not found: a child forked inside a task (empty queue, no workers) */
            *pp = j.next;
            if (p->tail == &j)
                p->tail = prev;
            while (j.joined > 0)
                pthread_cond_wait(&j.done, &p->mu);
        }
        pthread_mutex_unlock(&p->mu);
        pthread_cond_destroy(&j.done);
    }
    if (have_state && p->teardown)
        p->teardown(p->arg, state);
}

/* ---- the process-wide pool of the compute loops ---- */

static hx_pool g_default;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* at exit: join the workers unless a job is still running (exit() from a
 * task, or while another thread computes): then leave them, the process is
 * ending anyway */
static void default_at_exit(void)
{
    hx_pool *p = &g_default;
    pthread_mutex_lock(&p->mu);
    int busy = p->head != NULL;
    for (int i = 0; i < p->nworkers && !busy; i++)
        busy = pthread_equal(p->tid[i], pthread_self());
    p->closed = 1;
    pthread_mutex_unlock(&p->mu);
    if (!busy)
        stop_workers(p);
}

/* a forked child has none of the workers */
static void default_after_fork(void)
{
    pthread_mutex_init(&g_default.mu, NULL);
    pthread_cond_init(&g_default.work, NULL);
    g_default.head = g_default.tail = NULL;
    g_default.idle = 0;
    g_default.nworkers = 0;
    atomic_store(&g_default.asked, 0);
}

static void default_init(void)
{
    pool_init(&g_default, NULL, NULL, NULL);
    atexit(default_at_exit);
    pthread_atfork(NULL, NULL, default_after_fork);
}

hx_pool *hx_pool_default(int threads)
{
    pthread_once(&g_once, default_init);
    threads = hx_pool_threads(threads);
    /* the common case, a pool already as large: no lock */
    if (threads > 1 && threads - 1 > atomic_load(&g_default.asked))
        hx_pool_grow(&g_default, threads - 1);
    return &g_default;
}
