/* server_internal.h - what the files of hub/server/ share: the server
 * object, the per-request context, the limits on what a request may carry
 * (docs/HUB.md "Limits"), response helpers (respond.c), access control
 * (auth.c), fault injection (fault.c) and the route handlers (read.c,
 * write.c, lfs.c, multipart.c); daemon.c runs the daemon and routes. */
#ifndef HX_HUB_SERVER_INTERNAL_H
#define HX_HUB_SERVER_INTERNAL_H

#include "common/buf.h"
#include "common/hash.h"
#include "common/io.h"
#include "hub/proto/proto.h"
#include "hub/server/server.h"
#include "hub/server/store_internal.h"

#include <cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- limits (docs/HUB.md "Limits" says why each value) ----
 * Request bodies: a body longer than its route's limit is answered 413 at
 * the headers when Content-Length says so, else (chunked) it is counted,
 * not kept, and answered 413 at its end. */
#define SRV_BODY_SMALL ((size_t)1 << 20)      /* create/delete/settings/branch/tag/verify, LFS batch, completion */
#define SRV_BODY_PREUPLOAD ((size_t)4 << 20)  /* <= 1000 files of path + 512-byte sample */
#define SRV_BODY_PATHS ((size_t)8 << 20)      /* paths-info: <= 2000 paths of <= 1000 characters */
#define SRV_BODY_DEFAULT ((size_t)16 << 20)   /* any other body (validate-yaml carries a README) */
#define SRV_COMMIT_LINE ((size_t)16 << 20)    /* one NDJSON line, or a legacy JSON commit: a regular
                                                 file (< 10 MiB) in base64 plus its path */
#define SRV_COMMIT_OPS 100000                 /* operations in one commit (the Hub: < 100k files a repo) */
#define SRV_JSON_VALUES 100000                /* JSON values in one body or line (parse tree ~64 B each) */
#define SRV_LFS_MAX_SIZE ((uint64_t)500 << 30)/* one LFS object (the Hub's hard limit: 500 GB a file) */
#define SRV_MP_MAX_PARTS 10000                /* parts of a multipart upload (S3's limit) */
#define SRV_URL_TTL 86400                     /* lifetime of a signed LFS URL, seconds */
#define SRV_MAX_CONNECTIONS 128               /* default cap on concurrent connections */

typedef struct srv_token {
    char *token, *user;
    int write;
    char **orgs;
    size_t norgs;
} srv_token;

typedef struct srv_faults {
    int every_429, every_500, drop_every, dropup_every, slow_every, slow_ms, corrupt_every, lie_size;
    int commit_lost; /* first N commits: applied, then the connection drops */
    uint64_t drop_after, dropup_after;
    int max; /* at most this many faults in total (0 = unlimited) */
    atomic_ulong nreq, nbody, nbig, nup, ncommit; /* nbig: bodies longer than drop_after */
    atomic_int fired;
} srv_faults;

struct hub_server {
    struct MHD_Daemon *d;
    hub_store *st;
    int port;
    srv_token *toks;
    size_t ntoks;
    int open_mode;
    srv_faults f;
    uint64_t mp_chunk;
    unsigned max_conn;   /* concurrent connections (MHD_OPTION_CONNECTION_LIMIT) */
    atomic_uint nconn;   /* connections open now */
    /* multipart uploads in progress: SHA-256 of the parts in order as they
     * complete (multipart.c) */
    pthread_mutex_t mp_mu;
    pthread_cond_t mp_cv;
    struct srv_mp *mps;
};

/* Per-request state that lives across the MHD access-handler calls.
 * BODY_MEM keeps the body (up to max bytes); BODY_LFS_* stream it into
 * a file; BODY_COMMIT parses an NDJSON commit line by line as it arrives
 * (write.c); BODY_DISCARD counts it and keeps nothing (a request
 * already answered or refused at its headers). */
enum { BODY_MEM = 0, BODY_LFS_PUT, BODY_LFS_PART, BODY_COMMIT, BODY_DISCARD };
typedef struct srv_commit_in srv_commit_in;
typedef struct srv_conn {
    int kind;
    hx_buf body;          /* BODY_MEM: the body (limit max + 1) */
    size_t max;
    int too_big;
    uint64_t seen;        /* body bytes received, whatever the kind */
    int answered;         /* a response was queued at the headers */
    srv_commit_in *cm;    /* BODY_COMMIT: the operations parsed so far */
    /* streamed uploads */
    int fd;
    char *tmp;
    hx_hasher h;
    int hashing;
    uint64_t got, expect, offset;
    char oid[65];
    int part;
    hub_server *srv;
    int mp_writer;        /* counted as a writer of its part (multipart.c) */
    hx_gather g;         /* received, not yet written (lfs.c) */
    int upload_err;       /* 0, or HTTP status to answer */
    char upload_msg[256];
    /* faults decided on the first call */
    int fault;            /* 0, 429, 500 */
    int drop_up;          /* drop the connection after dropup_after bytes */
} srv_conn;

typedef struct srv_req {
    hub_server *srv;
    struct MHD_Connection *c;
    const char *method;
    char *path;   /* raw (still percent-encoded) path, no query */
    char *query;  /* raw query string or "" */
    srv_conn *cx;
    const srv_token *tok;
    int anon, bad_token;
    const char *user; /* token user, "user" in open mode */
    char *base;   /* "http://host[:port]" as the client addressed us */
} srv_req;

/* ---- respond.c ---- */
enum MHD_Result srv_send(srv_req *r, int status, struct MHD_Response *resp);
enum MHD_Result srv_json(srv_req *r, int status, cJSON *j); /* takes j */
enum MHD_Result srv_err(srv_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
enum MHD_Result srv_text(srv_req *r, int status, const char *ctype, const char *text);
/* Query parameter (decoded, first occurrence) or NULL; caller frees. */
char *srv_query(const srv_req *r, const char *key);
/* All values of key (also key[]); returns count, fills up to max. */
size_t srv_query_all(const srv_req *r, const char *key, char **vals, size_t max);
int srv_query_bool(const srv_req *r, const char *key);
const char *srv_header(const srv_req *r, const char *name);
/* Serve [whole or Range of] a file with extra headers already on the
 * response; applies the drop/corrupt faults to GET bodies. */
enum MHD_Result srv_send_file(srv_req *r, const char *path, uint64_t size, const char *etag,
                              const char *repo_commit, const char *filename);
cJSON *srv_body_json(srv_req *r); /* NULL when missing, malformed or over SRV_JSON_VALUES values */
/* Parse JSON text of len bytes that has at most max_values values (counted
 * before parsing, so that a small text cannot expand into a huge parse
 * tree); NULL when malformed or over. */
cJSON *srv_json_parse(const char *txt, size_t len, size_t max_values);
/* Is v a JSON number that is an integer in [lo, hi]? (NaN, infinities,
 * fractions and values out of range are not; checked before converting.) */
int srv_json_uint(const cJSON *v, uint64_t lo, uint64_t hi, uint64_t *out);
/* A decimal unsigned integer of at most 20 digits, nothing else, <= hi. */
int srv_parse_u64(const char *s, uint64_t hi, uint64_t *out);
/* Resolve rev (branch, tag or commit) of a repo and load that commit;
 * on failure *ret holds the 404/500 answer already sent. */
int srv_load_rev(srv_req *r, const char *type, const char *repo, const char *rev, st_commit *c,
                 enum MHD_Result *ret);
/* The access check (read, or write: auth.c srv_access) and srv_load_rev in one step. */
int srv_open_rev(srv_req *r, const char *type, const char *repo, const char *rev, int write, st_commit *c,
                 enum MHD_Result *ret);

/* ---- auth.c ---- */
hx_status srv_tokens_load(hub_server *s, const char *path);
void srv_tokens_free(hub_server *s);
void srv_identify(srv_req *r);
/* May the caller read/write repo? Returns 1; or 0 after queueing the
 * Hub's answer into *ret. */
int srv_access(srv_req *r, const st_repo *repo, int write, enum MHD_Result *ret);
/* `write` of srv_access and the calls below: 1 write, 0 read of file
 * content, SRV_READ_META read of metadata (a gated repo's info and
 * listings are readable by anyone). */
#define SRV_READ_META (-1)
/* May the caller create/write repos under namespace ns? */
int srv_may_write_ns(srv_req *r, const char *ns);
/* Load repo + access check in one step; on failure *ret holds the answer
 * already sent (404 to outsiders, 401/403). */
int srv_open_repo(srv_req *r, const char *type, const char *id, st_repo *repo, int write,
                  enum MHD_Result *ret);
/* The same when the handler needs only the verdict, not the repo. */
int srv_check_repo(srv_req *r, const char *type, const char *id, int write, enum MHD_Result *ret);

/* ---- fault.c ---- */
hx_status srv_faults_parse(srv_faults *f, const char *spec);
/* Does event number n (1-based) of a class with period `every` get a
 * fault? Counts against the max budget. */
int srv_fault_hit(srv_faults *f, unsigned long n, int every);
/* log that fault KIND was injected ("fault injected: 429"): tests check
 * that the faults they configured fired */
void srv_fault_fired(const char *kind);
extern const char *srv_fault_env;

/* ---- read.c: the read side of the API ---- */
enum MHD_Result srv_h_whoami(srv_req *r);
enum MHD_Result srv_h_validate_yaml(srv_req *r); /* POST /api/validate-yaml */
enum MHD_Result srv_h_repo_info(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_tree(srv_req *r, const char *type, const char *repo, const char *rev, const char *path);
enum MHD_Result srv_h_paths_info(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_refs(srv_req *r, const char *type, const char *repo);
enum MHD_Result srv_h_commits(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_resolve(srv_req *r, const char *type, const char *repo, const char *rev, const char *path,
                              int raw);
enum MHD_Result srv_h_lfs_object(srv_req *r, const char *oid);

/* ---- write.c: the write side of the API ---- */
enum MHD_Result srv_h_create_repo(srv_req *r);
enum MHD_Result srv_h_delete_repo(srv_req *r);
enum MHD_Result srv_h_settings(srv_req *r, const char *type, const char *repo);
enum MHD_Result srv_h_preupload(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_commit(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_branch(srv_req *r, const char *type, const char *repo, const char *name);
enum MHD_Result srv_h_tag(srv_req *r, const char *type, const char *repo, const char *name);

/* ---- lfs.c: LFS batch, uploads, completion, verify ---- */
enum MHD_Result srv_h_lfs_batch(srv_req *r, const char *type, const char *repo);
/* Streamed upload bodies: called on the first call to set up, per chunk
 * and at the end. */
int srv_lfs_upload_begin(srv_req *r, const char *what, const char *oid, int part);
void srv_lfs_upload_data(srv_req *r, const char *data, size_t n);
enum MHD_Result srv_lfs_upload_end(srv_req *r);
enum MHD_Result srv_h_lfs_complete(srv_req *r, const char *oid);
enum MHD_Result srv_h_lfs_verify(srv_req *r, const char *oid);
/* The chunk size of an object of `size` bytes: the server's chunk, made
 * larger when the object would have more than SRV_MP_MAX_PARTS parts. */
uint64_t srv_mp_chunk_for(const hub_server *s, uint64_t size);

/* ---- daemon.c ---- */
void srv_conn_free(srv_conn *cx);

/* ---- multipart.c: the object's SHA-256 in part order ---- */
void srv_mp_part_begin(srv_conn *cx, uint64_t size, uint64_t chunk);
void srv_mp_part_end(srv_conn *cx, int ok);
/* A part upload that did not finish: release its multipart state. */
void srv_mp_abandon(srv_conn *cx);
void srv_mp_wait_room(srv_conn *cx, uint64_t off); /* backpressure before writing at off */
/* 1 and sha set when every part was hashed in order; 0: hash the file */
int srv_mp_take_hash(hub_server *s, const char *oid, uint64_t size, char sha[65]);
void srv_mp_free_all(hub_server *s);

/* ---- signed LFS URLs (lfs.c; docs/HUB.md "Security") ----
 * An HMAC-SHA256 with the store's secret over the operation ("get", "up",
 * "mp", "verify"), the repo (type/id), the object id, its size and chunk,
 * and an expiry time. */
/* The query of a signed URL (without '?'): repo=..&size=..&chunk=..&exp=..&sig=..;
 * caller frees. */
char *srv_sign_query(hub_server *s, const char *op, const char *type, const char *repo, const char *oid,
                     uint64_t size, uint64_t chunk);
/* Check the signature in the request's query for op and oid: NULL when it
 * is valid (then *size and *chunk are filled when not NULL), else why not
 * ("missing", "expired", ...). */
const char *srv_sig_verify(srv_req *r, const char *op, const char *oid, uint64_t *size, uint64_t *chunk);

/* ---- streamed NDJSON commits (write.c) ---- */
/* Set up at the headers of POST .../commit/REV (after the access check). */
void srv_commit_in_begin(srv_req *r);
/* Feed body bytes: complete lines are parsed, regular file contents stored. */
void srv_commit_in_data(srv_req *r, const char *data, size_t n);
void srv_commit_in_free(srv_commit_in *cm);

#endif
