/* pool.h - worker pool for the client's parallel transfers (pool.c). */
#ifndef HX_HUB_POOL_H
#define HX_HUB_POOL_H

#include "hub/client_internal.h"

typedef void (*hub_task_fn)(void *ud, size_t task, CURL *h);
/* Run fn(ud, i, handle) for i in [0, ntasks) on `threads` threads. */
void hub_pool_run(hub_client *c, int threads, size_t ntasks, hub_task_fn fn, void *ud);

#endif
