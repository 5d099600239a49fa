/* client_internal.h - internals shared by the client files of hub/: the client
 * object (config.c), the HTTP layer with retries (http.c), cache layout
 * helpers (cache.c), the answer parsers
 * (http.c, repo_api.c, cache.c, upload.c) and LFS object upload (lfs.c). */
#ifndef HX_HUB_CLIENT_INTERNAL_H
#define HX_HUB_CLIENT_INTERNAL_H

#include "hub/hub.h"
#include "common/buf.h"
#include "common/hash.h"
#include "common/io.h"
#include "common/pool.h"
#include "common/progress.h"
#include "hub/proto/proto.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>


struct hub_client {
    char *endpoint;   /* no trailing slash */
    char *token;      /* never logged */
    char *cache_dir;
    char *hf_home;
    int offline, jobs, progress, json;
    double retry_base;   /* seconds; first backoff step */
    int max_retries;
    long stall_timeout;  /* seconds without a byte before giving up */
    hx_progress prog;    /* transfers: the files display (common/progress.h) */
    hx_pool *xfer;       /* transfers.c: workers with their own libcurl handles */
    pthread_mutex_t xfer_mu;
};

/* ---- http.c ---- */
typedef struct hub_http_req {
    const char *method;       /* GET HEAD POST PUT DELETE */
    const char *url;
    const char *content_type;
    const char *accept;
    const void *body;         /* in-memory body */
    size_t body_len;
    int body_file;            /* 1: the body is [body_off, +body_flen) of body_fd */
    int body_fd;              /* (read with pread, so retries replay it) */
    uint64_t body_off, body_flen;
    const char *range;        /* "bytes=a-b" */
    int follow;               /* follow redirects (auth only to the endpoint) */
    int retry;                /* retry 408/429/5xx/transport errors */
    size_t max_resp;          /* cap on an in-memory body; 0 = 64 MiB */
    /* Upload progress: body bytes sent beyond *prog_sent (replays after a
     * retry count once) go to progress slot prog_slot (when prog_sent). */
    uint64_t *prog_sent;
    int prog_slot;
    /* Streamed 2xx body: return 0 to continue, non-zero to abort. */
    int (*sink)(void *ctx, const void *buf, size_t n);
    void *sink_ctx;
} hub_http_req;

typedef struct hub_http_resp {
    long status;
    char *body;               /* non-streamed or error body, NUL-terminated */
    size_t len;
    char *etag, *linked_etag, *repo_commit, *location, *error_code, *error_msg, *link_next, *content_range;
    int64_t linked_size, content_length;
    double retry_after;       /* seconds to wait (Retry-After / RateLimit), < 0 none */
    int transport_error;      /* curl failed (connection, timeout, cut) */
    int sink_aborted;
    char curl_msg[256];
} hub_http_resp;

CURL *hub_curl_new(hub_client *c);
hx_status hub_http(hub_client *c, CURL *h, const hub_http_req *rq, hub_http_resp *rs);
void hub_http_resp_free(hub_http_resp *rs);
/* Is this answer worth retrying (429/5xx/408/transport)? */
int hub_http_retryable(const hub_http_resp *rs);
/* Sleep before retry number `attempt` (0-based), honouring Retry-After. */
void hub_http_backoff(hub_client *c, int attempt, const hub_http_resp *rs);
/* Turn a non-2xx answer into an hx_status + message about `what`. */
hx_status hub_http_error(const hub_http_resp *rs, const char *what);
/* GET/POST returning parsed JSON (NULL body = GET). */
hx_status hub_api_json(hub_client *c, CURL *h, const char *method, const char *url, const char *ctype,
                       const char *body, size_t blen, int retry, long *status, cJSON **out, const char *what);
char *hub_repo_api(hub_client *c, const char *repo); /* <ep>/api/models/<repo> */

/* ---- answer parsers: what the client reads from one answer's body or
 * header line. The client's own code paths, named here so that the fuzz
 * targets (tests/fuzz/) can feed them without a server. ---- */
/* the largest file size a listing may claim: 1 TiB (the Hub stores at most
 * 50 GB per LFS object) */
#define HUB_MAX_FILE_SIZE 1099511627776.0
/* One response header line ("Name: value\r\n") into rs (http.c). */
void hub_http_header(hub_http_resp *rs, const char *line, size_t n);
/* The repo info of a revision (GET .../revision/REV): its "sha". */
hx_status hub_parse_revision(const cJSON *j, const char *what, char commit[41]);
/* One page of a tree listing (a JSON array): its files appended to out
 * (*cap: allocated entries), each validated (safe path, git oid, size at
 * most HUB_MAX_FILE_SIZE, lfs record). */
hx_status hub_parse_tree_page(const char *body, size_t len, const char *what, hub_listing *out, size_t *cap);
/* A whole listing: sorted by path, no path twice, no file that is also a
 * folder; frees it on failure. */
hx_status hub_listing_check(hub_listing *out, const char *what);
/* The cached listing of a commit (cache.c: trees/<commit>.json), with the
 * checks of a listing from the server (commit left empty). */
hx_status hub_parse_cached_tree(const char *txt, size_t len, const char *what, hub_listing *l);
/* The answer to a commit (upload.c): its "commitOid". */
hx_status hub_parse_commit_answer(const char *body, size_t len, const char *what, char commit[41]);
/* The answer to one preupload call for files paths[0, n) of the given
 * sizes, as upload.c reads it (each local file's SHA-256 is 64 'a', its git
 * SHA-1 40 'b'); *nchanged: the files to send. */
hx_status hub_preupload_answer_check(const char *body, size_t len, const char *const *paths, const uint64_t *sizes,
                                     size_t n, size_t *nchanged);

/* ---- cache.c ---- */
char *hub_cache_repo_dir(hub_client *c, const char *repo); /* <cache>/models--org--name */
hx_status hub_cache_prepare(hub_client *c, const char *repo);
hx_status hub_cache_write_ref(hub_client *c, const char *repo, const char *rev, const char *commit);
int hub_cache_read_ref(hub_client *c, const char *repo, const char *rev, char commit[41]);
/* relative symlink snapshots/<commit>/<path> -> ../../blobs/<blob> */
hx_status hub_cache_link(hub_client *c, const char *repo, const char *commit, const char *path, const char *blob);
hx_status hub_cache_write_tree(hub_client *c, const char *repo, const hub_listing *l);
hx_status hub_cache_read_tree(hub_client *c, const char *repo, const char *commit, hub_listing *l);
hx_status hub_cache_no_exist(hub_client *c, const char *repo, const char *commit, const char *path);
/* flock the blob's lock file; returns fd (close to release) or -1. */
int hub_cache_lock(hub_client *c, const char *repo, const char *blob);

/* ---- lfs.c: LFS object upload ---- */
typedef struct hub_lfs_obj {
    const char *path; /* repo path (for messages) */
    const char *full; /* local file */
    char sha256[65];
    uint64_t size;
} hub_lfs_obj;

/* Negotiate and upload objs (skipping those the server has), in parallel. */
hx_status hub_lfs_upload(hub_client *c, const char *repo, const char *rev, const hub_lfs_obj *objs, size_t n,
                         uint64_t *bytes_sent, size_t *uploaded);

/* The answer to one LFS batch call for objs[0, n), as hub_lfs_upload reads
 * it (every action parsed, then discarded); for the fuzz targets. */
hx_status hub_lfs_batch_answer_check(const char *body, size_t len, const hub_lfs_obj *objs, size_t n);


/* ---- transfers.c ---- */
typedef void (*hub_task_fn)(void *ud, size_t task, CURL *h);
/* Run fn(ud, i, handle) for i in [0, ntasks) on at most `threads` threads
 * (the caller included), each with its own libcurl handle. */
void hub_transfers_run(hub_client *c, int threads, size_t ntasks, hub_task_fn fn, void *ud);
/* Stop the workers and close their handles (hub_client_free). */
void hub_transfers_free(hub_client *c);

#endif
