/* pool.c - a tiny worker pool for parallel transfers: N threads, each with
 * its own reused libcurl handle (keep-alive connections), pull task
 * indices from a shared counter until all are done. */
#include "hub/pool.h"

#include <stdlib.h>

typedef struct pool_ctx {
    hub_client *c;
    size_t ntasks;
    atomic_size_t next;
    hub_task_fn fn;
    void *ud;
} pool_ctx;

static void *worker(void *arg)
{
    pool_ctx *p = arg;
    CURL *h = hub_curl_new(p->c);
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->ntasks)
            break;
        p->fn(p->ud, i, h);
    }
    curl_easy_cleanup(h);
    return NULL;
}

void hub_pool_run(hub_client *c, int threads, size_t ntasks, hub_task_fn fn, void *ud)
{
    if (!ntasks)
        return;
    pool_ctx p = {.c = c, .ntasks = ntasks, .fn = fn, .ud = ud};
    atomic_init(&p.next, 0);
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > ntasks)
        threads = (int)ntasks;
    pthread_t *t = hx_calloc((size_t)threads, sizeof *t);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, &p) != 0)
            abort();
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    free(t);
}
