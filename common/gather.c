/* gather.c - collects streamed bytes into pieces aligned to file offsets
 * (io.h), for the Hub client's downloads and the Hub server's uploads:
 * whole page-cache folios are written, never a partial one that the file
 * system would first zero. */
#include "common/io.h"

#include <string.h>

size_t hx_gather_put(hx_gather *g, uint64_t block, uint64_t at, const void *p, size_t n, int *full)
{
    if (!g->n)
        g->off = at;
    size_t room = (size_t)(block - g->off % block) - g->n;
    size_t take = n < room ? n : room;
    memcpy(g->buf + g->n, p, take);
    g->n += take;
    *full = take == room;
    return take;
}
