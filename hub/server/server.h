/* server.h - a Hugging Face Hub compatible HTTP server (libmicrohttpd)
 * over the on-disk store of hub/server/store.c: the download endpoints (repo
 * info, tree, paths-info, refs, commits, resolve with LFS redirects and
 * Range), the publish endpoints (create repo, preupload, LFS batch with
 * basic and multipart transfers, NDJSON commits, branches, tags), tokens
 * with read/write roles, private and gated repos, and fault injection for
 * tests. Used by `hxzoo serve` and by in-process tests. */
#ifndef HX_HUB_SERVER_SERVER_H
#define HX_HUB_SERVER_SERVER_H

#include "common/hx.h"

#include <stdint.h>

typedef struct hub_server_opts {
    const char *root;        /* store directory (created if missing) */
    const char *host;        /* bind address, default "127.0.0.1" */
    int port;                /* 0 = pick a free port */
    const char *tokens_file; /* NULL = open mode: any token reads/writes */
    const char *faults;      /* fault spec (see docs/HUB.md); NULL = none */
    uint64_t multipart_chunk;/* LFS objects larger than this go multipart;
                                0 = default 64 MiB */
    int threads;             /* unused with thread-per-connection; 0 */
    unsigned max_connections;/* concurrent connections; 0 = $HXZOO_SERVE_MAX_CONNECTIONS,
                                else 128 (docs/HUB.md "Limits") */
} hub_server_opts;

typedef struct hub_server hub_server;

hx_status hub_server_start(const hub_server_opts *o, hub_server **out);
int hub_server_port(const hub_server *s);
/* Connections open now, including ones being torn down (tests wait for 0:
 * the server has finished with every request). */
unsigned hub_server_connections(const hub_server *s);
void hub_server_stop(hub_server *s);

/* Put a local folder into the store as one commit on `branch` of repo
 * (created if missing, private if asked). Files matching the default
 * .gitattributes patterns or ≥ 10 MB become LFS objects. */
hx_status hub_server_import(const char *root, const char *dir, const char *repo, const char *branch,
                            int private_, const char *message, char commit[41]);

#endif
