/* transfers.c - the client's parallel transfers on a common/pool.h pool
 * that the client keeps for its lifetime: each worker (and a calling
 * thread, for the length of its call) has its own libcurl handle, so a
 * handle's connections are kept alive across the tasks of a call and, for
 * the workers, across calls. Workers are started as calls need them, up to
 * the client's --jobs. */
#include "hub/client_internal.h"

#include "common/pool.h"

static void *curl_setup(void *arg, int worker)
{
    (void)worker;
    return hub_curl_new(arg);
}

static void curl_teardown(void *arg, void *state)
{
    (void)arg;
    curl_easy_cleanup(state);
}

typedef struct xfer_call {
    hub_task_fn fn;
    void *ud;
} xfer_call;

static void xfer_task(void *ctx, uint64_t i, void *state)
{
    xfer_call *x = ctx;
    x->fn(x->ud, (size_t)i, state);
}

void hub_transfers_run(hub_client *c, int threads, size_t ntasks, hub_task_fn fn, void *ud)
{
    if (!ntasks)
        return;
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > ntasks)
        threads = (int)ntasks;
    pthread_mutex_lock(&c->xfer_mu);
    if (!c->xfer)
        c->xfer = hx_pool_new(0, curl_setup, curl_teardown, c);
    hx_pool_grow(c->xfer, threads - 1);
    pthread_mutex_unlock(&c->xfer_mu);
    xfer_call x = {fn, ud};
    hx_pool_run(c->xfer, threads, ntasks, xfer_task, &x);
}

void hub_transfers_free(hub_client *c)
{
    hx_pool_free(c->xfer);
    c->xfer = NULL;
}
